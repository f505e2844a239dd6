"""``laborbridge solve``: the optimizer alone, on two CSV files.

EDGES.csv has ``worker_id, job_id, score``; CAPACITIES.csv has ``job_id, openings`` and optionally
``enterprise_id, enterprise_capacity`` (empty capacity = no cap). Writes ``assignments.csv``
(``worker_id, job_id, enterprise_id, score``) and ``run.json`` to ``--out``. Heavy imports happen
inside the command so ``--help`` stays fast.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app

EDGE_FIELDS = ("worker_id", "job_id", "score")
CAPACITY_FIELDS = ("job_id", "openings")


def _input_error(reason: str, file: Path, row: int | None = None, field: str | None = None) -> Exception:
    from matcher.errors import InputError

    return InputError(reason, file=str(file), row=row, field=field)


def _rows(path: Path, required: tuple[str, ...]):
    """Yield ``(row_number, dict)``; the header is row 1."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise _input_error(f"cannot open: {exc.strerror}", path) from exc
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [f for f in required if f not in header]
        if missing:
            raise _input_error(f"missing column(s) {', '.join(missing)}", path, row=1)
        reader.fieldnames = header
        for n, row in enumerate(reader, start=2):
            yield n, {k: (v or "").strip() for k, v in row.items() if k is not None}


def read_capacities(path: Path):
    """Jobs in file order: ids, openings, enterprise index per job, enterprise ids and capacities."""
    job_ids: dict[str, int] = {}
    openings: list[int] = []
    ent_ids: dict[str, int] = {}
    ent_cap: list[int] = []
    job_ent: list[int] = []
    for n, row in _rows(path, CAPACITY_FIELDS):
        job = row["job_id"]
        if not job:
            raise _input_error("empty job_id", path, n, "job_id")
        if job in job_ids:
            raise _input_error(f"duplicate job_id {job!r}", path, n, "job_id")
        try:
            value = int(row["openings"])
        except ValueError:
            raise _input_error(
                f"openings {row['openings']!r} is not an integer", path, n, "openings"
            ) from None
        if value < 0:
            raise _input_error(f"openings {value} is negative", path, n, "openings")
        ent = row.get("enterprise_id", "")
        if ent:
            raw = row.get("enterprise_capacity", "")
            try:
                cap = int(raw) if raw else -1
            except ValueError:
                raise _input_error(
                    f"enterprise_capacity {raw!r} is not an integer", path, n, "enterprise_capacity"
                ) from None
            if cap < -1:
                raise _input_error(f"enterprise_capacity {cap} is negative", path, n, "enterprise_capacity")
            if ent not in ent_ids:
                ent_ids[ent] = len(ent_cap)
                ent_cap.append(cap)
            elif raw and ent_cap[ent_ids[ent]] != cap:
                raise _input_error(
                    f"enterprise {ent!r} has capacity {ent_cap[ent_ids[ent]]} on an earlier row",
                    path,
                    n,
                    "enterprise_capacity",
                )
        job_ids[job] = len(openings)
        openings.append(value)
        job_ent.append(ent_ids[ent] if ent else -1)
    return job_ids, openings, job_ent, list(ent_ids), ent_cap


def read_edges(path: Path, job_ids: dict[str, int]):
    """Worker ids in order of first appearance, and the edge arrays."""
    worker_ids: dict[str, int] = {}
    ew: list[int] = []
    ej: list[int] = []
    es: list[float] = []
    seen: dict[tuple[int, int], int] = {}
    for n, row in _rows(path, EDGE_FIELDS):
        worker, job = row["worker_id"], row["job_id"]
        if not worker:
            raise _input_error("empty worker_id", path, n, "worker_id")
        if job not in job_ids:
            raise _input_error(f"job_id {job!r} is not in the capacities file", path, n, "job_id")
        try:
            score = float(row["score"])
        except ValueError:
            raise _input_error(f"score {row['score']!r} is not a number", path, n, "score") from None
        if not math.isfinite(score) or score < 0:
            raise _input_error(f"score {score} must be finite and >= 0", path, n, "score")
        w = worker_ids.setdefault(worker, len(worker_ids))
        pair = (w, job_ids[job])
        if pair in seen:
            raise _input_error(
                f"duplicate edge ({worker!r}, {job!r}), first on row {seen[pair]}", path, n, "job_id"
            )
        seen[pair] = n
        ew.append(w)
        ej.append(pair[1])
        es.append(score)
    return worker_ids, ew, ej, es


def _sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for p in paths:
        digest.update(p.read_bytes())
    return digest.hexdigest()


@app.command("solve")
def solve_command(
    edges: Annotated[Path, typer.Argument(help="CSV with worker_id, job_id, score.")],
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
) -> None:
    """Solve an optimal placement from candidate edges and job capacities (optimizer only)."""
    import numpy as np

    from matcher.csvsafe import csv_writer
    from matcher.versions import package_versions
    from optimizer import PlacementProblem, SolveOptions, solve

    if mode not in ("score", "count"):
        raise typer.BadParameter("must be 'score' or 'count'", param_hint="--mode")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    job_ids, openings, job_ent, ent_names, ent_cap = read_capacities(capacities)
    worker_ids, ew, ej, es = read_edges(edges, job_ids)
    has_ent = bool(ent_names)
    problem = PlacementProblem(
        len(worker_ids),
        len(job_ids),
        np.array(ew, np.int32),
        np.array(ej, np.int32),
        np.array(es, np.float64),
        np.array(openings, np.int64),
        job_enterprise=np.array(job_ent, np.int32) if has_ent else None,
        enterprise_capacity=np.array(ent_cap, np.int64) if has_ent else None,
    )
    seconds["read"] = time.perf_counter() - t0
    result = solve(problem, SolveOptions(mode=mode, time_limit_s=time_limit))  # type: ignore[arg-type]
    seconds.update({f"solve.{k}": v for k, v in result.stage_seconds.items()})

    t1 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    workers = list(worker_ids)
    jobs = list(job_ids)
    sel = np.flatnonzero(result.edge_selected)
    with (out / "assignments.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv_writer(fh)
        writer.writerow(["worker_id", "job_id", "enterprise_id", "score"])
        for e in sel[np.argsort(problem.edge_worker[sel], kind="stable")].tolist():
            j = ej[e]
            writer.writerow(
                [workers[ew[e]], jobs[j], ent_names[job_ent[j]] if job_ent[j] >= 0 else "", repr(es[e])]
            )
    seconds["write"] = time.perf_counter() - t1
    run = {
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "n_workers": problem.n_workers,
        "n_jobs": problem.n_jobs,
        "n_openings": int(problem.job_openings.sum()),
        "n_placed": result.n_placed,
        "solver": result.solver,
        "mode": mode,
        "reasons": result.reason_counts(),
        "seconds": seconds,
        "input_sha256": _sha256(edges, capacities),
        "versions": package_versions(("laborbridge", "numpy", "scipy", "ortools")),
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
