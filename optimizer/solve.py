"""Entry point: :func:`solve` a :class:`PlacementProblem` to a :class:`PlacementResult`.

Order of work: validate → canonical edge order (so the same problem gives the same assignment
whatever order its edges came in) → exact flow core → if the flow optimum already satisfies every
active side rule it is optimal for the restricted problem too (it optimises a relaxation), else the
MIP of :mod:`optimizer.rules` → reasons, prices, relaxed targets → result in the caller's edge order.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from optimizer.check import build_result
from optimizer.flow import solve_flow
from optimizer.prices import shadow_prices
from optimizer.problem import PlacementProblem, SolveOptions
from optimizer.result import PlacementResult, RelaxedTarget
from optimizer.rules import rule_report, solve_mip, target_edges

_EDGE_ARRAYS = ("edge_worker", "edge_job", "edge_score", "edge_needs_dorm")


def edge_weights(problem: PlacementProblem, options: SolveOptions) -> np.ndarray:
    """Per-edge objective weight: the score, plus the bonus of weighted priority."""
    if options.priority == "weighted" and problem.worker_unemployed is not None:
        bonus = options.priority_weight * problem.worker_unemployed[problem.edge_worker]
        return problem.edge_score + bonus
    return problem.edge_score


def _canonical(problem: PlacementProblem) -> tuple[PlacementProblem, np.ndarray | None]:
    """The problem with edges sorted by (worker, job), and the permutation (None if already)."""
    key = problem.edge_worker.astype(np.int64) * max(problem.n_jobs, 1) + problem.edge_job
    if key.size < 2 or bool(np.all(key[1:] > key[:-1])):
        return problem, None
    perm = np.argsort(key, kind="stable")
    changes = {n: getattr(problem, n)[perm] for n in _EDGE_ARRAYS if getattr(problem, n) is not None}
    return dataclasses.replace(problem, **changes).validate(), perm


def solve(problem: PlacementProblem, options: SolveOptions | None = None) -> PlacementResult:
    """Optimal placement under the active rules; never raises for unmet targets.

    Unmet district targets are relaxed (minimum total shortfall first) and listed in
    ``result.relaxed`` with the binding constraint. Malformed input raises
    :class:`~optimizer.errors.ProblemError`.
    """
    t0 = time.perf_counter()
    options = options or SolveOptions()
    problem.validate()
    stages: dict[str, float] = {}
    p, perm = _canonical(problem)
    stages["prepare"] = time.perf_counter() - t0
    weights = edge_weights(p, options)

    flow = solve_flow(p, weights, options, keep_residual=options.shadow_prices)
    stages.update(flow.stage_seconds)
    report = rule_report(p, flow.edge_flow, options)
    rules = _rules_base(p, options)
    relaxed: tuple[RelaxedTarget, ...] = ()
    if all(report.values()):
        rules.update({name: "satisfied_by_flow" for name in report})
        t1 = time.perf_counter()
        prices: dict[str, object] = {}
        if options.shadow_prices:
            job_p, ent_p = shadow_prices(p, flow)
            prices = {"job_shadow_price": job_p, "enterprise_shadow_price": ent_p}
            stages["shadow_prices"] = time.perf_counter() - t1
        k_max = min(p.n_workers, int(p.job_openings.sum()))
        bound = (flow.int_objective + 0.5 * k_max) / flow.scale
        sel, status, solver = flow.edge_flow, "OPTIMAL", "ortools_min_cost_flow"
        extra = {"scale": flow.scale, **prices}
    else:
        rules.update({name: "enforced_mip" for name in report})
        mip = solve_mip(p, weights, options)
        stages.update(mip.stage_seconds)
        sel, status, solver, bound = mip.edge_sel, mip.status, "highs_mip", mip.bound
        relaxed = _relaxed_targets(p, sel, options)
        extra = {}
    if perm is not None:
        original = np.zeros(problem.n_edges, dtype=bool)
        original[perm] = sel
        sel = original
    stages["total"] = time.perf_counter() - t0
    return build_result(
        problem,
        sel,
        weights=edge_weights(problem, options),
        status=status,
        solver=solver,
        mode=options.mode,
        bound=bound,
        rules_active=solver == "highs_mip",
        relaxed=relaxed,
        rules=rules,
        wall_s=time.perf_counter() - t0,
        stage_seconds=stages,
        **extra,
    )


def _rules_base(p: PlacementProblem, options: SolveOptions) -> dict[str, str]:
    rules = {
        "mode": options.mode,
        "priority": options.priority if p.worker_unemployed is not None else "none",
    }
    has_cap = p.enterprise_capacity is not None and bool(np.any(p.enterprise_capacity >= 0))
    rules["enterprise_capacity"] = "flow" if has_cap else "off"
    for name in ("dorm_beds", "district_targets", "county_fairness", "groups"):
        rules[name] = "off"
    return rules


def _relaxed_targets(
    p: PlacementProblem, sel: np.ndarray, options: SolveOptions
) -> tuple[RelaxedTarget, ...]:
    out = []
    for d, q in sorted((p.district_targets or {}).items()):
        elig = target_edges(p, d)
        achieved = int((sel & elig).sum())
        if achieved < int(q):
            out.append(
                RelaxedTarget(
                    f"district_target[{d}]",
                    float(q),
                    float(achieved),
                    float(q - achieved),
                    _binding(p, elig, int(q), d, options),
                )
            )
    return tuple(out)


def _binding(p: PlacementProblem, elig: np.ndarray, q: int, d: int, options: SolveOptions) -> str:
    """Name the constraint that keeps district ``d`` below its target ``q``."""
    n_workers = np.unique(p.edge_worker[elig]).size
    if n_workers < q:
        return (
            f"candidates: only {n_workers} workers from paired counties have a candidate job in district {d}"
        )
    jobs = np.unique(p.edge_job[elig])
    openings = int(p.job_openings[jobs].sum())
    if openings < q:
        return f"openings: district {d}'s jobs open to paired counties have {openings} openings"
    sub = PlacementProblem(
        p.n_workers,
        p.n_jobs,
        p.edge_worker[elig],
        p.edge_job[elig],
        np.ones(int(elig.sum())),
        p.job_openings,
        job_enterprise=p.job_enterprise,
        enterprise_capacity=p.enterprise_capacity,
    )
    fit = int(solve_flow(sub, sub.edge_score, SolveOptions(mode="count")).edge_flow.sum())
    if fit < q:
        return f"enterprise capacity: at most {fit} such placements fit openings and enterprise capacity"
    return "competing rules: dorm beds, groups, fairness or other district targets"


__all__ = ["edge_weights", "solve"]
