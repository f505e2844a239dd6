"""``laborbridge solve`` as a user runs it: the whole process on CSV files, against HiGHS.

    python -m benchmarks.bench_solve_cli --out benchmarks/results/solve_cli.json \
        [--workers 30000 --jobs 6000 --k 30 --read-workers 40000 --read-jobs 8000 --read-k 25]

Two instances from :func:`benchmarks.bench_optimizer.instance` (seeded, scores with 6 decimals as
a CSV would hold them), written as ``edges.csv`` and ``capacities.csv``:

- ``whole``: W × J × k (30k × 6k × 30 = 900k edges): the wall time of the whole ``laborbridge solve``
  process (start-up, reading, the flow, writing) against HiGHS's LP (:func:`optimizer.lp_reference`)
  on the same problem in this process: target ratio <= 0.15;
- ``read``: about 1M edges: the command's own ``read`` stage against its flow (``solve.solve_flow``):
  target ratio <= 0.3; and the row reader (``csv.DictReader``, the fallback that names bad rows) on
  the same files, for reference.

``--job-quality Q`` makes that share of every score a quality of the job all workers see alike:
their best edges crowd onto the same jobs, as real scores do (the solver's two-phase pruned flow
then gives way to the full graph, :mod:`optimizer.prune`).

Both commands run without ``--prices`` (the default). The objectives of the command and HiGHS
must agree (same instance): the result says whether they do. Beside the wall times, ``whole`` has
CPU seconds (the command process's user + sys, HiGHS's process time) and their ratio: a diagnostic
that other processes on the machine move less than wall time; the target is on wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from benchmarks.bench_optimizer import instance, machine

_DECIMALS = 6


def write_instance(
    folder: Path, n_workers: int, n_jobs: int, k: int, seed: int, quality: float = 0.0
) -> dict[str, Any]:
    """``edges.csv`` and ``capacities.csv`` for the seeded instance; returns its arrays (scores as
    written)."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    arrays = instance(n_workers, n_jobs, k=k, seed=seed, quality=quality)
    arrays["edge_score"] = np.round(arrays["edge_score"], _DECIMALS)
    workers = np.char.add("w", np.arange(n_workers).astype(str))
    jobs = np.char.add("j", np.arange(n_jobs).astype(str))
    edges = pa.table(
        {
            "worker_id": pa.array(workers[arrays["edge_worker"]]),
            "job_id": pa.array(jobs[arrays["edge_job"]]),
            "score": pa.array(np.char.mod(f"%.{_DECIMALS}f", arrays["edge_score"])),
        }
    )
    options = pa_csv.WriteOptions(quoting_style="none")
    pa_csv.write_csv(edges, folder / "edges.csv", write_options=options)
    caps = pa.table({"job_id": pa.array(jobs), "openings": pa.array(arrays["job_openings"])})
    pa_csv.write_csv(caps, folder / "capacities.csv", write_options=options)
    return arrays


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run_command(folder: Path) -> dict[str, Any]:
    """``laborbridge solve`` in a fresh process: wall and CPU seconds, and its run.json."""
    out = folder / "out"
    cmd = [sys.executable, "-c", "from api.cli import main; main()", "solve"]
    cmd += [str(folder / "edges.csv"), str(folder / "capacities.csv"), "--out", str(out), "--json"]
    # As installed: pip compiles a package's modules at install, so the command runs from bytecode.
    # A PYTHONDONTWRITEBYTECODE in the caller's environment would make every timed run compile the
    # project's modules again (about 40 ms here); the first run writes them and the fastest counts.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"solve failed: {proc.stderr.strip()[-2000:]}")
    return {"wall_s": wall, "cpu_s": _children_cpu() - cpu0, "run": json.loads(proc.stdout)}


def highs(arrays: dict[str, Any], n_workers: int, n_jobs: int) -> tuple[float, float, float]:
    """HiGHS's LP on the same problem: ``(seconds, CPU seconds, objective)``."""
    from optimizer import PlacementProblem, lp_reference

    problem = PlacementProblem(n_workers, n_jobs, **arrays)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    objective, _ = lp_reference(problem)
    return time.perf_counter() - t0, time.process_time() - cpu0, objective


def row_reader_seconds(folder: Path) -> float:
    """The row reader (csv.DictReader) on the same two files."""
    from api.cli._solve_input import read_capacities_rows, read_edges_rows

    t0 = time.perf_counter()
    caps = read_capacities_rows(folder / "capacities.csv")
    read_edges_rows(folder / "edges.csv", caps.job_ids)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both measurements and write the JSON; returns the result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/solve_cli.json"))
    ap.add_argument("--workers", type=int, default=30_000)
    ap.add_argument("--jobs", type=int, default=6_000)
    ap.add_argument("--k", type=int, default=30)
    ap.add_argument("--read-workers", type=int, default=40_000)
    ap.add_argument("--read-jobs", type=int, default=8_000)
    ap.add_argument("--read-k", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=2, help="command runs; the fastest counts")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--job-quality",
        type=float,
        default=0.0,
        help="share of each score that is a quality of the job seen alike by every worker (0: independent)",
    )
    args = ap.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "solve_cli", "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench_solve_cli_") as tmp:
        folder = Path(tmp) / "whole"
        folder.mkdir()
        arrays = write_instance(folder, args.workers, args.jobs, args.k, args.seed, args.job_quality)
        runs = [run_command(folder) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["wall_s"])
        lp_s, lp_cpu, lp_obj = highs(arrays, args.workers, args.jobs)
        cpu = min(r["cpu_s"] for r in runs)
        obj = best["run"]["objective"]
        result["whole"] = {
            "n_workers": args.workers,
            "n_jobs": args.jobs,
            "n_edges": int(arrays["edge_job"].size),
            "job_quality": args.job_quality,
            "command_wall_s": [r["wall_s"] for r in runs],
            "command_stage_seconds": best["run"]["seconds"],
            "highs_seconds": lp_s,
            "ratio_command_over_highs": best["wall_s"] / lp_s,
            "target_ratio": 0.15,
            "command_cpu_s": [r["cpu_s"] for r in runs],
            "highs_cpu_seconds": lp_cpu,
            "ratio_cpu_command_over_highs": cpu / lp_cpu,
            "objective": obj,
            "highs_objective": lp_obj,
            "objective_equal_rel_1e9": abs(obj - lp_obj) <= 1e-9 * abs(lp_obj),
            "status": best["run"]["status"],
        }
        del arrays
        folder = Path(tmp) / "read"
        folder.mkdir()
        arrays = write_instance(
            folder, args.read_workers, args.read_jobs, args.read_k, args.seed + 1, args.job_quality
        )
        runs = [run_command(folder) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["run"]["seconds"]["read"])
        sec = best["run"]["seconds"]
        rows_s = row_reader_seconds(folder)
        result["read"] = {
            "n_workers": args.read_workers,
            "n_jobs": args.read_jobs,
            "n_edges": int(arrays["edge_job"].size),
            "edges_csv_bytes": (folder / "edges.csv").stat().st_size,
            "read_seconds": sec["read"],
            "flow_seconds": sec["solve.solve_flow"],
            "ratio_read_over_flow": sec["read"] / sec["solve.solve_flow"],
            "target_ratio": 0.3,
            "row_reader_seconds": rows_s,
            "speedup_over_row_reader": rows_s / sec["read"],
            "command_wall_s": best["wall_s"],
            "command_stage_seconds": sec,
        }
    for part in ("whole", "read"):
        print(part, json.dumps(result[part], default=str), file=sys.stderr)
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
