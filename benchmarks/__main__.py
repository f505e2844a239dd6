"""``python -m benchmarks``: run the benchmarks and regenerate ``BENCHMARKS.md``.

python -m benchmarks --scale S            # every registered benchmark (make bench)
python -m benchmarks optimizer            # one, at scale S
python -m benchmarks candidates --scale T -- --ks 5 10   # extra arguments for the script
python -m benchmarks candidates --label 20k -- --workers 20000 --jobs 4000   # a variant: candidates_20k.json
python -m benchmarks --list
python -m benchmarks --report-only        # BENCHMARKS.md from the JSON already there
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.harness import REGISTRY, RESULTS_DIR, SCALES, resolve, run_all, run_benchmark
from benchmarks.report import DEFAULT_OUT, write_report


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all); see --list")
    p.add_argument("--scale", choices=SCALES, default="S")
    p.add_argument("--skip", nargs="*", default=[], help="benchmarks to leave out of a full run")
    p.add_argument("--label", default=None, help="a variant of one benchmark: writes <name>_<label>.json")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--report", type=Path, default=DEFAULT_OUT, help="where BENCHMARKS.md goes")
    p.add_argument("--no-report", action="store_true")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default: none)")
    p.add_argument("--list", action="store_true", help="list the registered benchmarks and exit")
    args = p.parse_args(argv)

    if args.list:
        for b in REGISTRY.values():
            mark = "" if b.available() else "  (module missing)"
            print(f"{b.name:<11} benchmarks.{b.module:<17} {b.summary}{mark}")
        return 0
    try:
        names = [resolve(n).name for n in args.names]
    except KeyError as exc:
        p.error(str(exc.args[0]))
    failed = 0
    if not args.report_only:
        if len(names) == 1:
            envs = [
                run_benchmark(
                    REGISTRY[names[0]],
                    args.scale,
                    results_dir=args.results_dir,
                    extra=extra,
                    label=args.label,
                    timeout_s=args.timeout,
                )
            ]
        else:
            if extra or args.label:
                p.error("extra arguments after -- and --label need exactly one benchmark name")
            envs = run_all(
                args.scale,
                names=names or None,
                skip=args.skip,
                results_dir=args.results_dir,
                timeout_s=args.timeout,
            )
        failed = sum(e["status"] not in ("ok", "missing") for e in envs)
        for e in envs:
            print(f"{e['benchmark']:<11} {e['status']:<8} {e.get('wall_s', 0):8.1f} s")
    if not args.no_report:
        path = write_report(args.results_dir, args.report)
        print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
