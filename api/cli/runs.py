"""``laborbridge runs list|show|diff|outcomes``: recorded placement runs and what changed between them.

``--db`` names the store (default: ``LABORBRIDGE_DB_URL``, else ``sqlite:///data/laborbridge.db``);
runs placed from a data folder are in that folder's ``sqlite:///<DATA_DIR>/runs.db``. A run is
named by its id, a unique prefix of it, ``latest`` or ``latest~N``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli._app import app

runs_app = typer.Typer(help="Recorded placement runs: list, show, diff, outcomes.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

DbOption = Annotated[
    str | None, typer.Option("--db", help="Store URL (default: settings, then data/laborbridge.db).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def store_url(db: str | None) -> str:
    """``db``, else the settings' store, else ``sqlite:///data/laborbridge.db``."""
    from api.settings import get_settings
    from matcher.store import default_db_url

    return db or get_settings().db_url or default_db_url("data")


def _engine(db: str | None) -> Any:
    from matcher.store import open_engine

    return open_engine(store_url(db))


def _console() -> Any:
    from rich.console import Console

    return Console()


@runs_app.command("list")
def list_cmd(
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The newest recorded runs."""
    from rich.table import Table

    from api.cli._words import words
    from matcher.store.runs_repo import list_runs

    engine = _engine(db)
    rows = list_runs(engine, limit)
    engine.dispose()
    if as_json:
        print(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    w = words()
    t = Table(title=w("runs.title"))
    for col in ("id", "created", "kind", "status", "placed", "workers", "objective", "input", "model"):
        t.add_column(w(f"runs.{col}"))
    for r in rows:
        t.add_row(
            r["run_id"],
            f"{r['created_at']:%Y-%m-%d %H:%M:%S}",
            w(f"runs.kind.{r['kind']}"),
            r["status"],
            f"{r['n_placed']:,}",
            f"{r['n_workers']:,}",
            f"{r['objective']:.4f}",
            r["input_sha256"][:12],
            r["model"],
        )
    _console().print(t)


@runs_app.command("show")
def show_cmd(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix, latest or latest~N.")],
    db: DbOption = None,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Show this many assignments.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """A run's parameters, inputs, versions, solver answer and first assignments with explanations."""
    from rich.table import Table

    from matcher.store.runs_repo import get_run, run_assignments, run_unplaced

    engine = _engine(db)
    header = get_run(engine, run)
    placed = run_assignments(engine, header["run_id"])
    unplaced = run_unplaced(engine, header["run_id"])
    engine.dispose()
    if as_json:
        out = {**header, "assignments": placed[:workers], "unplaced": unplaced[:workers]}
        print(json.dumps(out, default=str, ensure_ascii=False, indent=2))
        return
    t = Table(title=f"run {header['run_id']}", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    s = header["summary"]
    for name, value in (
        ("created (UTC)", f"{header['created_at']:%Y-%m-%d %H:%M:%S}"),
        ("kind", header["kind"] + (f" of {header['base_run_id']}" if header["base_run_id"] else "")),
        ("status", f"{header['status']} ({header['solver']})"),
        ("objective / bound", f"{header['objective']:.6f} / {header['bound']:.6f} (gap {header['gap']:.2e})"),
        (
            "placed",
            f"{header['n_placed']:,} of {header['n_workers']:,} workers; {header['n_openings']:,} openings",
        ),
        ("unplaced reasons", ", ".join(f"{k} {v:,}" for k, v in s.get("unplaced_reasons", {}).items())),
        ("input sha256", header["input_sha256"]),
        ("assignment sha256", header["assignment_sha256"]),
        ("model", header["model"]),
        ("parameters", json.dumps(header["params"], ensure_ascii=False)),
        ("versions", ", ".join(f"{k} {v}" for k, v in header["versions"].items())),
    ):
        t.add_row(name, str(value))
    _console().print(t)
    if workers and placed:
        a = Table(title=f"first {min(workers, len(placed))} assignments")
        for col in ("worker", "job", "enterprise", "score", "why"):
            a.add_column(col)
        for r in placed[:workers]:
            a.add_row(
                r["worker_id"], r["job_id"], r["enterprise_id"], f"{r['score']:.4f}", r["explanation_zh"]
            )
        _console().print(a)


@runs_app.command("diff")
def diff_cmd(
    run_a: Annotated[str, typer.Argument(help="The earlier run.")],
    run_b: Annotated[str, typer.Argument(help="The later run.")],
    db: DbOption = None,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Show this many changed workers.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """What changed between two runs (workers newly placed, unplaced, moved) and why."""

    from matcher.runs.diff import diff_runs
    from matcher.store.runs_repo import get_run, run_assignments, run_unplaced

    engine = _engine(db)
    ha, hb = get_run(engine, run_a), get_run(engine, run_b)
    d = diff_runs(
        ha,
        hb,
        run_assignments(engine, ha["run_id"]),
        run_assignments(engine, hb["run_id"]),
        run_unplaced(engine, hb["run_id"]),
    )
    engine.dispose()
    if as_json:
        print(json.dumps(d.to_dict(), default=str, ensure_ascii=False, indent=2))
        return
    _print_diff(d, ha, hb, workers)


def _print_diff(d: Any, ha: dict[str, Any], hb: dict[str, Any], workers: int) -> None:
    """The diff as two tables, in the command line's language (``LABORBRIDGE_LANG``)."""
    from rich.table import Table

    from api.cli._words import cli_lang, words

    zh = cli_lang() == "zh"
    w = words()
    c = _console()
    t = Table(title=f"{d.run_a} → {d.run_b}", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    same = (
        w("diff.same")
        if d.same_input
        else w("diff.changed", a=ha["input_sha256"][:12], b=hb["input_sha256"][:12])
    )
    t.add_row(w("diff.input"), same)
    for k, v in d.params_changed.items():
        t.add_row(w("diff.parameter", name=k), f"{v['a']} → {v['b']}")
    if d.model_changed:
        t.add_row(w("diff.model"), f"{d.model_changed['a']} → {d.model_changed['b']}")
    for k, v in d.versions_changed.items():
        t.add_row(w("diff.version", name=k), f"{v['a']} → {v['b']}")
    objective = f"{d.objective_a:.6f} → {d.objective_b:.6f} ({d.objective_b - d.objective_a:+.6f})"
    t.add_row(w("diff.objective"), objective)
    t.add_row(w("diff.placed"), f"{d.placed_a:,} → {d.placed_b:,} ({d.placed_b - d.placed_a:+,})")
    for k, n in d.counts().items():
        t.add_row(w(f"diff.{k}"), f"{n:,}")
    c.print(t)
    if d.identical:
        c.print(w("diff.identical"))
        return
    table = Table(title=w("diff.changes", n=min(workers, len(d.changes)), total=f"{len(d.changes):,}"))
    for col in ("worker", "change", "job_a", "job_b", "score_change", "why"):
        table.add_column(w(f"diff.{col}"))
    for ch in d.changes[:workers]:
        why = (ch.why_zh or ch.why) if zh else ch.why
        table.add_row(
            ch.worker_id,
            w(f"diff.{ch.change}"),
            ch.job_a or "",
            ch.job_b or "",
            f"{ch.score_change:+.4f}",
            why,
        )
    c.print(table)


@runs_app.command("outcomes")
def outcomes_cmd(
    run: Annotated[str, typer.Argument(help="The run whose placements the outcomes follow up.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV/XLSX: worker_id, started, started_on, left_after_days, "
            "employed_3m, employed_6m (Chinese headers accepted)."
        ),
    ],
    db: DbOption = None,
) -> None:
    """Record placement outcomes (started; left after N days; employed at 3 and 6 months)."""
    from matcher.runs.followup import read_outcomes
    from matcher.store.runs_repo import record_outcomes, resolve_run_id

    engine = _engine(db)
    run_id = resolve_run_id(engine, run)
    n = record_outcomes(engine, run_id, read_outcomes(file))
    engine.dispose()
    print(f"recorded {n:,} outcomes of run {run_id}")
