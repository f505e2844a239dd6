"""``laborbridge solve``: the optimizer alone, on two CSV files.

EDGES.csv has ``worker_id, job_id, score``; CAPACITIES.csv has ``job_id, openings`` and optionally
``enterprise_id, enterprise_capacity`` (empty capacity = no cap). Both are read columnar
(:mod:`api.cli._solve_input`). Writes ``assignments.csv`` (``worker_id, job_id, enterprise_id,
score``, the score as written in EDGES.csv) and ``run.json`` to ``--out``; shadow prices only with
``--prices``. Heavy imports happen inside the command so ``--help`` stays fast.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli._app import app

if TYPE_CHECKING:
    import numpy as np

    from api.cli._solve_input import Capacities, Edges
    from optimizer import PlacementResult

_SCORE_HELP = (
    "CSV with worker_id, job_id, score. Scores must be finite and >= 0, the largest at most "
    "min(1e15, 4.6e18 / (workers + jobs)) (else a one-line error); an edge with score 0 is never "
    "used in score mode."
)


def _sha256(*paths: Path) -> str:
    """SHA-256 of the files one after the other, read 1 MiB at a time into one buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    for p in paths:
        with p.open("rb") as fh:
            while size := fh.readinto(buffer):
                digest.update(view[:size])
    return digest.hexdigest()


def _sha256_started(*paths: Path) -> Callable[[], str]:
    """:func:`_sha256` of ``paths`` begun on a thread; the returned function waits for the digest
    (or raises the thread's error). hashlib releases the GIL for each block, so the hash runs beside
    the writing of the outputs instead of after it."""
    import threading

    done: list[str] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            done.append(_sha256(*paths))
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=work, name="input-sha256", daemon=True)
    thread.start()

    def result() -> str:
        thread.join()
        if failed:
            raise failed[0]
        return done[0]

    return result


@app.command("solve")
def solve_command(
    edges: Annotated[Path, typer.Argument(help=_SCORE_HELP)],
    capacities: Annotated[
        Path, typer.Argument(help="CSV with job_id, openings[, enterprise_id, enterprise_capacity].")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for assignments.csv and run.json.")],
    mode: Annotated[
        str, typer.Option("--mode", help="score: maximise total score; count: most placed first.")
    ] = "score",
    as_json: Annotated[bool, typer.Option("--json", help="Print run.json to stdout.")] = False,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit", min=0.1, help="Seconds for side-rule solves; the best assignment found is kept."
        ),
    ] = None,
    prices: Annotated[
        bool,
        typer.Option(
            "--prices/--no-prices",
            help="Compute shadow prices (where one more opening helps most) into prices.csv.",
        ),
    ] = False,
) -> None:
    """Solve an optimal placement from candidate edges and job capacities (optimizer only).

    Scores must be >= 0; a zero-score edge is never used in score mode.
    """
    import numpy as np

    from api.cli._solve_input import read_solve_inputs
    from matcher.versions import package_versions
    from optimizer import PlacementProblem, SolveOptions, solve

    # One command per process: what start-up built lives to the end, so the collector need not
    # scan it again (a full collection of it cost tens of ms while the outputs were written).
    gc.freeze()
    if mode not in ("score", "count"):
        raise typer.BadParameter("must be 'score' or 'count'", param_hint="--mode")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    found, caps = read_solve_inputs(edges, capacities)
    n_zero = 0
    if mode == "score":  # a zero-score edge adds nothing: never place anyone on one
        keep = found.score > 0
        n_zero = int(keep.size - keep.sum())
        if n_zero:
            found = found.subset(np.flatnonzero(keep))
    has_ent = bool(caps.enterprise_ids)
    problem = PlacementProblem(
        len(found.worker_ids),
        len(caps.job_ids),
        found.worker,
        found.job,
        found.score,
        caps.openings,
        job_enterprise=caps.job_enterprise if has_ent else None,
        enterprise_capacity=caps.enterprise_capacity if has_ent else None,
    )
    seconds["read"] = time.perf_counter() - t0
    options = SolveOptions(mode=mode, time_limit_s=time_limit, shadow_prices=prices)  # type: ignore[arg-type]
    result = solve(problem, options)
    seconds.update({f"solve.{k}": v for k, v in result.stage_seconds.items()})

    t1 = time.perf_counter()
    input_sha256 = _sha256_started(edges, capacities)
    out.mkdir(parents=True, exist_ok=True)
    sel = np.flatnonzero(result.edge_selected)
    sel = sel[np.argsort(problem.edge_worker[sel], kind="stable")]
    _write_assignments(out / "assignments.csv", found, caps, sel)
    if prices:
        _write_prices(out / "prices.csv", caps, result)
    seconds["write"] = time.perf_counter() - t1
    run: dict[str, Any] = {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "n_workers": problem.n_workers,
        "n_jobs": problem.n_jobs,
        "n_openings": int(problem.job_openings.sum()),
        "n_placed": result.n_placed,
        "n_zero_score_edges_unused": n_zero,
        "solver": result.solver,
        "mode": mode,
        "reasons": result.reason_counts(),
        "seconds": seconds,
        "input_sha256": input_sha256(),
        "versions": package_versions(("laborbridge", "numpy", "scipy", "ortools", "pyarrow")),
    }
    (out / "run.json").write_text(json.dumps(run, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(run, indent=2, sort_keys=True))
    else:
        typer.echo(
            f"{result.status}: placed {result.n_placed} of {problem.n_workers} workers into "
            f"{run['n_openings']} openings, objective {result.objective:.6g} (gap {result.gap:.1e}, "
            f"{result.solver}); wrote {out / 'assignments.csv'} and {out / 'run.json'}"
        )


def _write_assignments(path: Path, found: Edges, caps: Capacities, sel: np.ndarray) -> None:
    """One row per placed worker, the score as written in the edges file (column by column: each
    id is guarded against formula injection once, not once per row)."""
    import numpy as np

    from matcher.csvsafe import Coded, csv_writer, write_columns

    jobs = found.job[sel]
    ents = caps.job_enterprise[jobs]
    no_ent = len(caps.enterprise_ids)  # the blank label after the enterprises
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv_writer(fh)
        writer.writerow(["worker_id", "job_id", "enterprise_id", "score"])
        write_columns(
            writer,
            [
                Coded(found.worker_ids, found.worker[sel]),
                Coded(caps.job_ids, jobs),
                Coded([*caps.enterprise_ids, ""], np.where(ents >= 0, ents, no_ent)),
                found.texts(sel),
            ],
        )


def _write_prices(path: Path, caps: Capacities, result: PlacementResult) -> None:
    """Shadow prices: each job's, then each enterprise's (blank where it has none)."""
    from matcher.csvsafe import csv_writer

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv_writer(fh)
        writer.writerow(["kind", "id", "shadow_price"])
        writer.writerows(
            ["job", j, repr(float(p))] for j, p in zip(caps.job_ids, result.job_shadow_price, strict=True)
        )
        if result.enterprise_shadow_price is not None:
            writer.writerows(
                ["enterprise", k, repr(float(p))]
                for k, p in zip(caps.enterprise_ids, result.enterprise_shadow_price, strict=True)
            )
