"""Import benchmark: 100,000 workers and 20,000 jobs, read, validated and stored.

    python -m benchmarks.bench_import --out benchmarks/results/import.json [--workers N --jobs M]

Each phase runs in a fresh child process so its peak memory (max RSS) is its own:

- ``reference``: ``csv.DictReader`` over the same files, doing nothing with the rows: the floor
  any CSV import pays, measured in the same run on the same machine;
- ``ingest``: :func:`matcher.ingest.ingest` (encoding detection, header mapping, validation);
- ``import``: :func:`matcher.store.import_paths` into a new SQLite store (ingest + write);
- ``reimport``: the same files again (idempotent: nothing written).

Figures are rows/s and peak RSS, plus each phase's time as a ratio to the reference.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import write_json

KEY = b"benchmark-key-not-secret-0123456789"


def _write_inputs(folder: str, n_workers: int, n_jobs: int, seed: int) -> int:
    """Input CSVs from the project's sample generator; returns the rows written."""
    from matcher.sample.generate import generate_sample, write_sample

    data = generate_sample(n_workers, n_jobs, seed=seed)
    write_sample(data, folder, truth=False)
    return n_workers + n_jobs


def _input_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.csv"))


def _phase_reference(folder: str) -> int:
    n = 0
    for path in _input_files(Path(folder)):
        with path.open(encoding="utf-8", newline="") as fh:
            for _ in csv.DictReader(fh):
                n += 1
    return n


def _phase_ingest(folder: str) -> int:
    from matcher.ingest import ingest

    result = ingest([folder])
    return sum(result.counts().values())


def _phase_import(folder: str, url: str) -> int:
    from matcher.store import import_paths

    report = import_paths(url, [folder], key=KEY)
    assert not report.rejected, report.rejected[:3]
    return report.total_imported


PHASES = {
    "generate": _write_inputs,
    "reference": _phase_reference,
    "ingest": _phase_ingest,
    "import": _phase_import,
    "reimport": _phase_import,
}


def _child(phase: str, args: tuple, conn: Any) -> None:
    fn = PHASES[phase]
    t0 = time.perf_counter()
    rows = fn(*args)
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    conn.send({"rows": rows, "seconds": seconds, "peak_rss_mib": peak_kib / 1024})
    conn.close()


def run_phase(phase: str, *args: Any) -> dict[str, Any]:
    """Run one phase in a fresh (spawned) process; its rows, seconds and peak RSS."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(phase, args, child))
    proc.start()
    out = parent.recv()
    proc.join()
    out["rows_per_s"] = out["rows"] / out["seconds"]
    return out


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("sqlalchemy", "alembic", "pydantic", "openpyxl", "charset-normalizer")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its JSON; returns the result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/import.json"))
    ap.add_argument("--workers", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        folder = Path(tmp) / "inputs"
        # In a child too: Linux keeps a parent's peak RSS in a child's ru_maxrss across exec.
        run_phase("generate", str(folder), args.workers, args.jobs, args.seed)
        sizes = {}
        for p in _input_files(folder):
            with p.open(encoding="utf-8") as fh:
                sizes[p.stem] = {"rows": sum(1 for _ in fh) - 1, "bytes": p.stat().st_size}
        url = f"sqlite:///{Path(tmp) / 'store' / 'laborbridge.db'}"
        phases = {
            "reference": run_phase("reference", str(folder)),
            "ingest": run_phase("ingest", str(folder)),
            "import": run_phase("import", str(folder), url),
            "reimport": run_phase("reimport", str(folder), url),
        }
    ref = phases["reference"]
    for name, ph in phases.items():
        ph["time_ratio_to_reference"] = ph["seconds"] / ref["seconds"]
        ph["memory_ratio_to_reference"] = ph["peak_rss_mib"] / ref["peak_rss_mib"]
        line = f"{name:<10} {ph['rows']:>8,} rows {ph['seconds']:7.2f} s {ph['rows_per_s']:>10,.0f} rows/s"
        print(
            f"{line} peak {ph['peak_rss_mib']:7.1f} MiB x{ph['time_ratio_to_reference']:.1f}", file=sys.stderr
        )
    result = {
        "benchmark": "import",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": mp.cpu_count(),
        },  # fmt: skip
        "versions": _versions(),
        "inputs": {"generator": "matcher.sample.generate.generate_sample", "seed": args.seed, "files": sizes},
        "reference": "csv.DictReader over the same files, rows discarded (same run, same machine)",
        "phases": phases,
    }
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
