"""Rich progress bars (with ETA) for the long stages of a command, on standard error."""

from __future__ import annotations

from typing import Any

from matcher.placement.progress import Progress


class RichProgress(Progress):
    """One bar per stage: a known total shows done/total, rate and ETA; an unknown one a spinner."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bars

        self.bars = Bars(
            SpinnerColumn(),
            TextColumn("{task.description:<15}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task: Any = None
        self.total: int | None = None

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()
        self.bars.stop()

    def start(self, stage: str, total: int | None = None) -> None:
        self.finish()
        self.total = total
        self.task = self.bars.add_task(stage, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.bars.advance(self.task, n)

    def finish(self) -> None:
        if self.task is not None:
            total = self.total if self.total is not None else 1
            self.bars.update(self.task, total=total, completed=total)
            self.task = None


def progress_for(quiet: bool) -> Any:
    """A context manager giving a :class:`Progress`: rich bars, or silence when ``quiet``."""
    from contextlib import nullcontext

    return nullcontext(Progress()) if quiet else RichProgress()
