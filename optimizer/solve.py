"""Entry point: :func:`solve` a :class:`PlacementProblem` to a :class:`PlacementResult`.

Order of work: validate → canonical edge order (so the same problem gives the same assignment
whatever order its edges came in) → exact flow core (openings, capacities, laminar dorm beds) →
county fairness as a max–min on the flow (:mod:`optimizer.fairness`; its floors become soft rows
for the side rules) → if the flow optimum already satisfies every other active rule it is optimal
for the restricted problem too (it optimises a relaxation), else :func:`_side_rules` (Lagrangian
flow, repaired incumbent, MIP in the time left) → reasons, prices, relaxed targets and counties →
result in the caller's edge order.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from optimizer.check import PriceExtras, build_result
from optimizer.fairness import CountyPlan, fair_flow
from optimizer.flow import FlowOutcome, loose, solve_flow
from optimizer.incumbent import complete_with_flow, fairness_rows, lagrangian, repair, target_rows
from optimizer.prices import shadow_prices
from optimizer.problem import PlacementProblem, SolveOptions
from optimizer.prune import prunable, solve_flow_pruned
from optimizer.result import PlacementResult, RelaxedTarget
from optimizer.rules import groups_of, lex_key, rule_report, solve_mip, target_edges

_MIN_MIP_S = 1.0  # below this much time left, the MIP cannot even load at scale: keep the incumbent
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
    ``result.relaxed`` with the binding constraint, as are counties placed below their fair share
    (``county_share[c]``). Malformed input raises :class:`~optimizer.errors.ProblemError`.
    """
    t0 = time.perf_counter()
    options = options or SolveOptions()
    problem.validate()
    stages: dict[str, float] = {}
    p, perm = _canonical(problem)
    stages["prepare"] = time.perf_counter() - t0
    weights = edge_weights(p, options)

    if prunable(p, options, keep_residual=options.shadow_prices):
        flow = solve_flow_pruned(p, weights, options)
    else:
        flow = solve_flow(p, weights, options, keep_residual=options.shadow_prices)
    stages.update(flow.stage_seconds)
    fair: CountyPlan | None = None
    if p.county_min_share is not None:
        t1 = time.perf_counter()
        deadline = None if options.time_limit_s is None else t0 + options.time_limit_s
        k_max = min(p.n_workers, int(p.job_openings.sum()))
        fair = fair_flow(
            p, weights, options, flow.edge_flow, deadline=deadline, plain_bound=flow.bound(k_max)
        )
        p = dataclasses.replace(p, county_floors=fair.floors()).validate()
        stages["fairness"] = time.perf_counter() - t1
    report = rule_report(p, flow.edge_flow if fair is None else fair.edge_sel, options)
    # the max–min flow ignores the lexicographic priority: then the staged MIP takes both
    lex_fair = fair is not None and options.priority == "lexicographic"
    rules = _rules_base(p, options)
    plan = flow.network.dorm if flow.network is not None else None
    if plan is not None and not plan.crossing.any():
        report.pop("dorm_beds", None)  # laminar: the flow enforces every bed limit exactly
        rules["dorm_beds"] = "flow"
    relaxed: tuple[RelaxedTarget, ...] = ()
    if fair is not None and all(report.values()) and not lex_fair:
        rules.update({name: "satisfied_by_flow" for name in report})
        rules["county_fairness"] = "max_min_flow"
        sel, solver, bound = fair.edge_sel, "fair_flow", fair.bound
        status = "OPTIMAL" if fair.complete else "FEASIBLE"
        extra: PriceExtras = {}
    elif all(report.values()) and not lex_fair:
        rules.update({name: "satisfied_by_flow" for name in report})
        t1 = time.perf_counter()
        extra = {}
        if options.shadow_prices:
            job_p, ent_p, bed_p = shadow_prices(p, flow)
            extra = {"job_shadow_price": job_p, "enterprise_shadow_price": ent_p}
            if bed_p is not None:
                extra["dorm_bed_shadow_price"] = bed_p
            stages["shadow_prices"] = time.perf_counter() - t1
        k_max = min(p.n_workers, int(p.job_openings.sum()))
        bound = flow.bound(k_max)
        # optimal in the original floats unless the integer rounding leaves a proven gap (flow.py)
        status = "FEASIBLE" if loose(flow, weights, k_max) else "OPTIMAL"
        sel, solver = flow.edge_flow, "ortools_min_cost_flow"
        extra = {"scale": flow.scale, **extra}
    else:
        if plan is not None:
            report.setdefault("dorm_beds", False)
        start = None if fair is None else fair.edge_sel
        sel, status, solver, bound = _side_rules(p, weights, options, flow, stages, t0, start)
        how = {
            "highs_mip": "enforced_mip",
            "lagrangian_flow": "enforced_lagrangian",
            "repair_heuristic": "enforced_heuristic",
        }
        rules.update({name: how[solver] for name in report})
        relaxed = _relaxed_targets(p, sel, options)
        extra = {}
    if fair is not None:
        relaxed += fair.relaxed(p, sel)
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
        rules_active=solver != "ortools_min_cost_flow",
        beds_active=plan is not None,
        relaxed=relaxed,
        rules=rules,
        wall_s=time.perf_counter() - t0,
        stage_seconds=stages,
        **extra,
    )


def _side_rules(
    p: PlacementProblem,
    weights: np.ndarray,
    options: SolveOptions,
    flow: FlowOutcome,
    stages: dict[str, float],
    t0: float,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, str, str, float]:
    """Selection, status, solver and bound when the flow optimum breaks a side rule.

    ``start`` (the max–min county assignment) seeds the repair instead of the flow optimum.
    Order: the Lagrangian flow for district targets or county floors (optimal when its
    certificate holds) → a repaired incumbent → the staged MIP within the remaining time → the
    better of MIP and incumbent by the staged objective. Not proven optimal → ``FEASIBLE``
    with the gap to a relaxation bound.
    """
    deadline = None if options.time_limit_s is None else t0 + options.time_limit_s
    incumbent, bound, inc_solver = None, np.inf, "repair_heuristic"
    family = None
    if p.district_targets:
        family = target_rows(p)
    elif p.county_floors:
        family = fairness_rows(p)
    if family is not None:
        t1 = time.perf_counter()
        lag = lagrangian(p, weights, options, family, deadline=deadline)
        stages["lagrangian"] = time.perf_counter() - t1
        if lag.edge_sel is not None:
            others = rule_report(p, lag.edge_sel, options)
            others.pop(family.name, None)
            if lag.exact and all(others.values()):
                return lag.edge_sel, "OPTIMAL", "lagrangian_flow", lag.bound
            incumbent, bound, inc_solver = lag.edge_sel, lag.bound, "lagrangian_flow"
            if not all(others.values()):
                inc_solver = "repair_heuristic"
                incumbent, bound = repair(p, weights, lag.edge_sel, options), np.inf
    # without targets and fairness, only member edges and edges into crossing enterprises
    # need integers: the rest is a network once they are fixed (see solve_mip)
    network_rest = not p.district_targets and p.county_min_share is None
    integer_edges = _integer_edges(p, flow) if network_rest else None
    t1 = time.perf_counter()
    if incumbent is None:
        incumbent = repair(p, weights, flow.edge_flow if start is None else start, options)
        if integer_edges is not None:  # keep the repaired groups, place everyone else exactly
            incumbent = complete_with_flow(p, weights, options, incumbent, integer_edges)
    stages["repair"] = time.perf_counter() - t1
    left = None if deadline is None else deadline - time.perf_counter()
    if left is None or left > _MIN_MIP_S:
        mip_options = dataclasses.replace(options, time_limit_s=left)
        mip = solve_mip(p, weights, mip_options, integer_edges=integer_edges)
        stages.update(mip.stage_seconds)
        if mip.edge_sel is not None and integer_edges is not None:
            t1 = time.perf_counter()
            mip.edge_sel = complete_with_flow(p, weights, options, mip.edge_sel, integer_edges)
            stages["complete_flow"] = time.perf_counter() - t1
        if mip.edge_sel is not None and (
            lex_key(p, mip.edge_sel, weights, options) >= lex_key(p, incumbent, weights, options)
        ):
            status = "OPTIMAL" if mip.status == "OPTIMAL" else "FEASIBLE"
            return mip.edge_sel, status, "highs_mip", max(mip.bound, float(weights[mip.edge_sel].sum()))
    # the incumbent wins: bound its score by the rules-free, stages-free flow (a relaxation)
    if options.mode == "score" and options.priority != "lexicographic":
        relax = flow.bound(min(p.n_workers, int(p.job_openings.sum())))
    else:
        plain = dataclasses.replace(options, mode="score", priority="none", shadow_prices=False)
        relax = solve_flow(p, weights, plain).bound(min(p.n_workers, int(p.job_openings.sum())))
    objective = float(weights[incumbent].sum())
    return incumbent, "FEASIBLE", inc_solver, max(min(bound, relax), objective)


def _integer_edges(p: PlacementProblem, flow: FlowOutcome) -> np.ndarray:
    """Group members' edges and edges into enterprises whose dorm beds cross the openings."""
    members, _ = groups_of(p)
    out = np.isin(p.edge_worker, members)
    plan = flow.network.dorm if flow.network is not None else None
    if plan is not None and plan.crossing.any():
        assert p.job_enterprise is not None  # a dorm plan exists only when job_enterprise is given
        ent = p.job_enterprise[p.edge_job]
        out |= (ent >= 0) & plan.crossing[np.maximum(ent, 0)]
    return out


def _rules_base(p: PlacementProblem, options: SolveOptions) -> dict[str, str]:
    rules: dict[str, str] = {
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
