"""Stage progress of a long run: the :class:`Progress` the CLI draws as bars, and the timer of each stage.

Encoding and retrieval run in chunks so a progress bar can show an ETA; chunking does not change any
result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Progress:
    """Stage progress: ``start`` a stage (``total`` work units, ``None`` when unknown), ``advance``.

    This base class ignores everything; the CLI subclasses it with rich progress bars.
    """

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins."""

    def advance(self, n: int = 1) -> None:
        """``n`` more units of the current stage are done."""

    def finish(self) -> None:
        """The current stage is done."""


class _CallbackProgress(Progress):
    """Adapts a plain ``callback(stage_name)`` to :class:`Progress`."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback

    def start(self, stage: str, total: int | None = None) -> None:
        self.callback(stage)


def as_progress(progress: Progress | Callable[[str], None] | None) -> Progress:
    """A :class:`Progress` for ``progress`` (a Progress, a ``callback(stage)``, or ``None``)."""
    if progress is None:
        return Progress()
    if isinstance(progress, Progress):
        return progress
    return _CallbackProgress(progress)


class StageTimer:
    def __init__(self, progress: Progress) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Progress]:
        self.progress.start(name, total)
        t0 = time.perf_counter()
        yield self.progress
        self.seconds[name] = round(time.perf_counter() - t0, 3)
        self.progress.finish()
