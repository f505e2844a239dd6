"""The sample generator: vectorised generation and CSV writing, against the csv module.

    python -m benchmarks.bench_generate --workers 1000000 --jobs 100000 --out benchmarks/results/generate.json

Measured in one process on the same seeded data (``matcher.sample.generate``, the generator behind
``laborbridge sample``):

- ``generate``: :func:`generate_sample` (every column drawn as numpy arrays);
- ``write``: :func:`write_sample` (the four input tables and ``truth.csv``);
- ``reference``: the same cells written row by row with ``csv.writer`` — the floor a plain CSV
  writer pays. Its files are compared byte for byte with ``write``'s.

Figures: seconds, rows/s and each time as a ratio to the reference; the issue's target is 1M workers
and 100k jobs generated in under a minute (``meets_target_1m_under_60s`` at that size).
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from matcher.sample.generate import BLANK_IF_NEGATIVE, HEADERS, TABLES, generate_sample, write_sample

TARGET = {"workers": 1_000_000, "jobs": 100_000, "seconds": 60.0}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_cells(name: str, arr: np.ndarray) -> list[Any]:
    """A column as Python values for ``csv.writer`` (the same text :func:`write_sample` writes)."""
    if arr.dtype == bool:
        return ["true" if v else "false" for v in arr.tolist()]
    if arr.dtype.kind in "iu" and name in BLANK_IF_NEGATIVE:
        return ["" if v < 0 else v for v in arr.tolist()]
    return arr.tolist()


def write_reference(data: Any, out_dir: Path) -> None:
    """Every table with ``csv.writer``, row by row (minimal quoting, ``\\n`` line ends)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        cols = data.table(name)
        header = HEADERS[name]
        cells = [_plain_cells(c, cols[c]) for c in header]
        with (out_dir / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            wr = csv.writer(fh, lineterminator="\n")
            wr.writerow(header)
            wr.writerows(zip(*cells, strict=True))


def run(n_workers: int, n_jobs: int, seed: int, year: int) -> dict[str, Any]:
    """Generate, write, and write again with the csv module; times, ratios and identity."""
    t0 = time.perf_counter()
    data = generate_sample(n_workers, n_jobs, seed=seed, year=year)
    gen_s = time.perf_counter() - t0
    peak_after_generate = _peak_mib()
    n_rows = {name: len(next(iter(data.table(name).values()))) for name in TABLES}
    with tempfile.TemporaryDirectory(prefix="lb-bench-gen-") as tmp:
        ours, ref = Path(tmp) / "ours", Path(tmp) / "ref"
        t0 = time.perf_counter()
        write_sample(data, ours)
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_reference(data, ref)
        ref_s = time.perf_counter() - t0
        identical = {n: filecmp.cmp(ours / f"{n}.csv", ref / f"{n}.csv", shallow=False) for n in TABLES}
        size = sum((ours / f"{n}.csv").stat().st_size for n in TABLES)
    rows = sum(n_rows.values())
    at_target = n_workers >= TARGET["workers"] and n_jobs >= TARGET["jobs"]
    return {
        "sizes": {"workers": n_workers, "jobs": n_jobs, "rows_by_table": n_rows, "bytes_written": size},
        "generate": {
            "seconds": round(gen_s, 3),
            "rows_per_s": round(rows / gen_s),
            "time_ratio_to_reference": round(gen_s / ref_s, 3),
        },
        "write": {
            "seconds": round(write_s, 3),
            "rows_per_s": round(rows / write_s),
            "time_ratio_to_reference": round(write_s / ref_s, 3),
            "speedup_vs_reference": round(ref_s / write_s, 2),
        },
        "reference": {
            "what": "csv.writer over the same cells, row by row",
            "seconds": round(ref_s, 3),
            "rows_per_s": round(rows / ref_s),
        },
        "generate_plus_write_seconds": round(gen_s + write_s, 3),
        "files_identical_to_reference": identical,
        "peak_rss_mib_after_generate": round(peak_after_generate, 1),
        "peak_rss_mib": round(_peak_mib(), 1),
        "target": TARGET,
        "meets_target_1m_under_60s": (gen_s < TARGET["seconds"]) if at_target else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=1_000_000)
    p.add_argument("--jobs", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/generate.json"))
    args = p.parse_args(argv)
    result = {
        "benchmark": "generate",
        "generator": "matcher.sample.generate.generate_sample / write_sample",
        "seed": args.seed,
        "year": args.year,
        **run(args.workers, args.jobs, args.seed, args.year),
    }
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("generate", "write", "reference")}, indent=1))
    return result


if __name__ == "__main__":
    main()
