"""Benchmark the optimizer against HiGHS, the baselines, and the cost of each side rule.

Run::

    python -m benchmarks.bench_optimizer --sizes S M --out benchmarks/results/optimizer.json

Sizes: XS = 2k × 400 (default for side rules, whose MIP is slow), S = 10k workers × 2k jobs,
M = 100k × 20k, L = 1M × 100k, each worker with k = 50 random
candidate jobs (seeded, generated vectorised). Figures are ratios against HiGHS in the same
process (DESIGN.md §5). The LP is skipped at L; baselines and side rules run at ``--rules-size``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from benchmarks import write_json
from optimizer import (
    PlacementProblem,
    SolveOptions,
    blocking_pairs,
    greedy,
    lp_reference,
    solve,
    stable_matching,
)

SIZES = {"XS": (2_000, 400), "S": (10_000, 2_000), "M": (100_000, 20_000), "L": (1_000_000, 100_000)}
K = 50


def instance(
    n_workers: int, n_jobs: int, k: int = K, seed: int = 0, quality: float = 0.0
) -> dict[str, np.ndarray]:
    """Random sparse instance as arrays: ``k`` distinct jobs per worker, openings ≈ 0.8 workers.

    Scores are uniform on [0, 1) and independent; with ``quality`` > 0 that share of each score is
    a quality of the job that every worker sees alike (``quality * q_j + (1 - quality) * u``), so
    workers' best edges crowd onto the same jobs, as real scores do."""
    rng = np.random.default_rng(seed)
    jobs = np.sort(rng.integers(0, n_jobs, size=(n_workers, k), dtype=np.int32), axis=1)
    keep = np.ones(jobs.shape, dtype=bool)
    keep[:, 1:] = jobs[:, 1:] != jobs[:, :-1]
    ew = np.broadcast_to(np.arange(n_workers, dtype=np.int32)[:, None], jobs.shape)[keep]
    ej = jobs[keep]
    del jobs, keep
    high = max(round(1.6 * n_workers / n_jobs), 2)  # openings uniform on [1, high): mean ≈ 0.8 W / J
    out = {
        "edge_worker": np.ascontiguousarray(ew),
        "edge_job": ej,
        "edge_score": rng.random(ej.size),
        "job_openings": rng.integers(1, high, n_jobs).astype(np.int64),
    }
    if quality > 0:  # its own stream: the edges, openings and uniform parts stay those of quality 0
        job_quality = np.random.default_rng([seed, 1]).random(n_jobs)
        out["edge_score"] = quality * job_quality[ej] + (1 - quality) * out["edge_score"]
    return out


def machine() -> dict[str, object]:
    """Where and with what the figures were measured (load matters: the machine may be shared)."""
    from importlib import metadata

    versions = {}
    for name in ("numpy", "scipy", "ortools"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "versions": versions,
    }


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def core(size: str, with_lp: bool) -> dict[str, object]:
    """Flow end to end (problem built from arrays) vs HiGHS LP on the same instance.

    ``flow_seconds``: the default solve without shadow prices (at >= 500k edges the exact
    two-phase pruned flow of :mod:`optimizer.prune`). Below L also: the same with shadow prices
    (always the full graph), and the full-graph solve at the safe integer scale 1e12, whose
    objective the default one must match.
    """
    w, j = SIZES[size]
    arrays = instance(w, j)
    t0 = time.perf_counter()
    problem = PlacementProblem(w, j, **arrays)
    result = solve(problem, SolveOptions(shadow_prices=False))
    flow_s = time.perf_counter() - t0
    out: dict[str, object] = {
        "n_workers": w,
        "n_jobs": j,
        "n_edges": problem.n_edges,
        "n_openings": int(problem.job_openings.sum()),
        "flow_seconds": flow_s,
        "flow_stage_seconds": result.stage_seconds,
        "objective": result.objective,
        "bound": result.bound,
        "n_placed": result.n_placed,
        "scale": result.scale,
        "proven_rel_gap": result.gap,  # includes the integer rounding: optimum - objective <= gap·objective
        "peak_rss_gib_after_flow": _rss_gib(),
    }
    if size != "L":
        t1 = time.perf_counter()
        priced = solve(problem, SolveOptions(shadow_prices=True))
        out.update(
            flow_seconds_full_graph_with_prices=time.perf_counter() - t1,
            stage_seconds_full_graph_with_prices=priced.stage_seconds,
            objective_rel_diff_vs_full_graph=abs(result.objective - priced.objective) / abs(priced.objective),
        )
        t1 = time.perf_counter()
        exact = solve(problem, SolveOptions(shadow_prices=True, scale=10**12))
        out.update(
            flow_seconds_full_graph_scale_1e12=time.perf_counter() - t1,
            objective_scale_1e12=exact.objective,
            objective_rel_diff_vs_scale_1e12=abs(result.objective - exact.objective) / abs(exact.objective),
        )
    if with_lp:
        t1 = time.perf_counter()
        lp_obj, _ = lp_reference(problem)
        lp_s = time.perf_counter() - t1
        out.update(
            lp_seconds=lp_s,
            lp_objective=lp_obj,
            objective_rel_diff=abs(result.objective - lp_obj) / max(abs(lp_obj), 1e-12),
            objective_equal_rel_1e9=abs(result.objective - lp_obj) <= 1e-9 * abs(lp_obj),
            time_ratio_flow_over_highs=flow_s / lp_s,
        )
    if size != "L":
        out["baselines"] = baselines(problem, result)
    return out


def baselines(problem: PlacementProblem, best) -> dict[str, object]:
    """Greedy and stable matching: loss in objective and in workers placed."""
    out: dict[str, object] = {"optimal_blocking_pairs": blocking_pairs(problem, best.assignment)}
    for name, fn in (("greedy", greedy), ("stable_matching", stable_matching)):
        t0 = time.perf_counter()
        r = fn(problem)
        out[name] = {
            "seconds": time.perf_counter() - t0,
            "objective": r.objective,
            "objective_loss_rel": (best.objective - r.objective) / best.objective,
            "placed": r.n_placed,
            "placed_loss": best.n_placed - r.n_placed,
            "blocking_pairs": blocking_pairs(problem, r.assignment),
        }
    return out


def side_rules(
    size: str, seed: int = 1, time_limit_s: float = 120.0, only: list[str] | None = None
) -> dict[str, object]:
    """Time and objective of each side rule alone, against the plain flow, at ``size``.

    ``dorm_beds`` is the realistic case (a job's workers all need a bed, or none do: a flow);
    ``dorm_beds_crossing`` draws the need per edge (the sets cross: MIP).
    """
    w, j = SIZES[size]
    arrays = instance(w, j, seed=seed)
    rng = np.random.default_rng(seed)
    n_ent, n_county, n_district = max(j // 5, 1), 20, 16
    job_ent = rng.integers(0, n_ent, j).astype(np.int32)
    ent_open = np.bincount(job_ent, weights=arrays["job_openings"], minlength=n_ent)
    county = rng.integers(0, n_county, w).astype(np.int32)
    district = rng.integers(0, n_district, j).astype(np.int32)
    paired = {d: frozenset({2 * d % n_county, (2 * d + 1) % n_county}) for d in range(n_district)}
    base = PlacementProblem(w, j, **arrays)
    plain = solve(base, SolveOptions(shadow_prices=False))
    ew_c, ej_d = county[arrays["edge_worker"]], district[arrays["edge_job"]]
    per_d = [
        int((plain.edge_selected & (ej_d == d) & np.isin(ew_c, list(paired[d]))).sum())
        for d in range(n_district)
    ]
    groups = np.where(rng.random(w) < 0.05, rng.integers(0, w // 60 + 1, w), -1).astype(np.int32)
    variants = {
        "enterprise_capacity": (
            {"job_enterprise": job_ent, "enterprise_capacity": (0.7 * ent_open).astype(np.int64)},
            {},
        ),
        "dorm_beds": (
            {
                "job_enterprise": job_ent,
                "enterprise_capacity": np.full(n_ent, -1),
                "enterprise_dorm_beds": (0.3 * ent_open).astype(np.int64),
                "edge_needs_dorm": (rng.random(j) < 0.5)[arrays["edge_job"]],
            },
            {},
        ),
        "dorm_beds_crossing": (
            {
                "job_enterprise": job_ent,
                "enterprise_capacity": np.full(n_ent, -1),
                "enterprise_dorm_beds": (0.3 * ent_open).astype(np.int64),
                "edge_needs_dorm": rng.random(base.n_edges) < 0.5,
            },
            {},
        ),
        "district_targets": (
            {
                "worker_county": county,
                "job_district": district,
                "district_targets": {d: int(per_d[d] * 1.2) + 1 for d in range(n_district)},
                "district_paired_counties": paired,
            },
            {},
        ),
        "county_fairness": ({"worker_county": county, "county_min_share": 0.9}, {}),
        "groups": (
            {"job_enterprise": job_ent, "enterprise_capacity": np.full(n_ent, -1), "worker_group": groups},
            {},
        ),
        "priority_lexicographic": ({"worker_unemployed": rng.random(w) < 0.6}, {"priority": "lexicographic"}),
        "priority_weighted": (
            {"worker_unemployed": rng.random(w) < 0.6},
            {"priority": "weighted", "priority_weight": 0.2},
        ),
        "count_mode": ({}, {"mode": "count"}),
    }
    out: dict[str, object] = {
        "size": size,
        "plain": {"seconds": plain.wall_s, "objective": plain.objective, "placed": plain.n_placed},
    }
    out["time_limit_s"] = time_limit_s
    for name, (extra, opts) in variants.items():
        if only and name not in only:
            continue
        problem = PlacementProblem(w, j, **arrays, **extra)
        t0 = time.perf_counter()
        r = solve(problem, SolveOptions(shadow_prices=False, time_limit_s=time_limit_s, **opts))
        out[name] = {
            "seconds": time.perf_counter() - t0,
            "time_ratio_vs_plain": (time.perf_counter() - t0) / plain.wall_s,
            "solver": r.solver,
            "status": r.status,
            "gap": r.gap,
            "objective": r.objective,
            "bound": r.bound,
            "total_score": r.total_score,
            "stage_seconds": r.stage_seconds,
            "score_cost_rel": (plain.objective - r.total_score) / plain.objective,
            "placed": r.n_placed,
            "rules": r.rules,
            "relaxed": [x.as_dict() for x in r.relaxed][:5],
        }
        print(
            f"side rule {size} {name}: {out[name]['seconds']:.1f} s, {r.solver}, {r.status}, gap {r.gap:.2e}",
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", choices=sorted(SIZES), default=["S"])
    parser.add_argument(
        "--lp-sizes", nargs="*", default=["XS", "S", "M"], help="sizes that also run the HiGHS LP reference"
    )
    parser.add_argument("--rules-size", nargs="+", choices=sorted(SIZES) + ["none"], default=["XS"])
    parser.add_argument("--rules", nargs="+", default=None, help="only these side rules (default: all)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="side-rule time limit, seconds")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/optimizer.json"))
    args = parser.parse_args(argv)
    report: dict[str, object] = {"k_edges_per_worker": K, **machine(), "sizes": {}}
    for size in args.sizes:
        report["sizes"][size] = core(size, with_lp=size in args.lp_sizes)  # type: ignore[index]
        print(json.dumps({size: report["sizes"][size]}, indent=1, default=str), flush=True)  # type: ignore[index]
    sizes = [s for s in args.rules_size if s != "none"]
    if sizes:
        report["side_rules"] = {
            s: side_rules(s, time_limit_s=args.time_limit, only=args.rules) for s in sizes
        }
        print(json.dumps(report["side_rules"], indent=1, default=str), flush=True)
    write_json(args.out, report)


if __name__ == "__main__":
    main()
