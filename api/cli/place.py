"""``laborbridge place``: a batch placement from a data folder."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app


@app.command("place")
def place(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder to write assignments.csv, unplaced.csv, candidates.csv, run.json."
        ),
    ],
    data_dir: Annotated[
        Path | None,
        typer.Argument(help="Folder with workers, enterprises, jobs [, pairings] (CSV/XLSX/JSON). Or --db."),
    ] = None,
    k: Annotated[
        int, typer.Option("--k", min=1, max=2000, help="Candidate jobs per worker offered to the solver.")
    ] = 50,
    year: Annotated[
        int | None, typer.Option("--year", help="Reference year for ages (default: this year).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Embedding model name or path (default: settings).")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="score: maximise total score; count: most placements first.")
    ] = "score",
    cache_dir: Annotated[str | None, typer.Option("--cache-dir", help="Embedding cache folder.")] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Read the records from this store (SQLAlchemy URL).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print run.json to standard output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Place workers into jobs optimally and write the assignment, the unplaced and the candidates."""
    from api.settings import get_settings
    from matcher.dataset import load_folder
    from matcher.errors import ConfigError
    from matcher.placement import PlaceOptions, run_placement, write_run

    if mode not in ("score", "count"):
        raise ConfigError(f"--mode must be 'score' or 'count', not {mode!r}")
    settings = get_settings()
    options = PlaceOptions(
        year=year or dt.date.today().year,
        k=k,
        model=model or settings.model,
        cache_dir=cache_dir or settings.cache_dir,
        mode=mode,
    )

    def progress(stage: str) -> None:
        if not quiet and not as_json:
            print(f"… {stage}", file=sys.stderr, flush=True)

    if (data_dir is None) == (db is None):
        raise ConfigError("give either DATA_DIR or --db URL (exactly one)")
    progress("load")
    if db is not None:
        from matcher.store import load_dataset

        ds = load_dataset(db)
    else:
        assert data_dir is not None
        ds = load_folder(data_dir)
    for err in ds.rejected[:20]:
        print(f"rejected: {err}", file=sys.stderr)
    if len(ds.rejected) > 20:
        print(f"rejected: … and {len(ds.rejected) - 20} more (see rejected.csv)", file=sys.stderr)
    run = run_placement(ds, options, progress)
    summary = write_run(run, out)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    _print_summary(summary, out)


def _print_summary(s: dict, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="laborbridge placement", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    rows = [
        ("workers", f"{s['n_workers']:,}"),
        ("jobs", f"{s['n_jobs']:,}"),
        ("openings", f"{s['n_openings']:,}"),
        ("candidates", f"{s['n_candidates']:,} (k={s['k']})"),
        ("placed", f"{s['n_placed']:,} ({s['n_placed'] / max(s['n_workers'], 1):.1%})"),
        ("objective", f"{s['objective']:.6f}"),
        ("bound", f"{s['bound']:.6f}"),
        ("solver status", f"{s['status']} ({s['solver']})"),
        ("model", s["model"]),
        ("rejected rows", str(s["n_rejected_rows"])),
    ]
    rows += [(f"seconds: {k}", f"{v:.2f}") for k, v in s["seconds"].items()]
    rows.append(("output", str(out)))
    for a, b in rows:
        table.add_row(a, b)
    Console().print(table)
