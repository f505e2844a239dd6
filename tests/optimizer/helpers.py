"""Random small problems and a brute-force oracle for the optimizer tests."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

from optimizer import PlacementProblem, SolveOptions
from optimizer.check import enterprise_key
from optimizer.rules import county_shortfall, target_edges
from optimizer.solve import edge_weights


@st.composite
def problems(draw, max_workers: int = 7, max_jobs: int = 4, rules: bool = False, enterprises: bool = True):
    """A small random problem; scores on a 0.05 grid so ties happen."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    w = draw(st.integers(1, max_workers))
    j = draw(st.integers(1, max_jobs))
    mask = rng.random((w, j)) < draw(st.sampled_from([0.3, 0.6, 0.9]))
    mask &= np.cumsum(mask, axis=1) <= 3  # at most 3 candidates per worker keeps brute force small
    ew, ej = np.nonzero(mask)
    score = rng.integers(0, 21, ew.size) / 20.0
    kw: dict = {}
    if enterprises and rng.random() < 0.6:
        k = int(rng.integers(1, j + 1))
        kw["job_enterprise"] = rng.integers(-1, k, j)
        kw["enterprise_capacity"] = rng.integers(-1, 3, k)
        if rules and rng.random() < 0.6:
            kw["enterprise_dorm_beds"] = rng.integers(-1, 2, k)
            kw["edge_needs_dorm"] = rng.random(ew.size) < 0.5
    kw["worker_unemployed"] = rng.random(w) < 0.5
    if rules:
        kw["worker_county"] = rng.integers(0, 2, w)
        if rng.random() < 0.5:
            kw["worker_group"] = np.where(rng.random(w) < 0.5, rng.integers(0, 2, w), -1)
        if rng.random() < 0.5:
            kw["job_district"] = rng.integers(-1, 2, j)
            kw["district_targets"] = {0: int(rng.integers(0, 4))}
            kw["district_paired_counties"] = {0: frozenset({0})}
        if rng.random() < 0.3:
            kw["county_min_share"] = float(rng.choice([0.5, 1.0]))
    return PlacementProblem(w, j, ew, ej, score, rng.integers(0, 3, j), **kw)


def key(problem: PlacementProblem, sel: np.ndarray, options: SolveOptions) -> tuple:
    """The lexicographic objective of a selection, to maximise."""
    w = edge_weights(problem, options)
    out = []
    if problem.district_targets or problem.county_floors:
        out.append(
            -sum(
                max(0, q - int((sel & target_edges(problem, d)).sum()))
                for d, q in (problem.district_targets or {}).items()
            )
            - county_shortfall(problem, sel)
        )
    if options.priority == "lexicographic" and problem.worker_unemployed is not None:
        out.append(int(problem.worker_unemployed[problem.edge_worker[sel]].sum()))
    if options.mode == "count":
        out.append(int(sel.sum()))
    out.append(round(float(w[sel].sum()), 9))
    return tuple(out)


def brute_force(problem: PlacementProblem, options: SolveOptions, check, admit=lambda sel: True) -> tuple:
    """Best lexicographic key over every feasible assignment (``check`` = check_feasible) that
    ``admit`` lets through."""
    by_worker = [np.flatnonzero(problem.edge_worker == i) for i in range(problem.n_workers)]
    best = None
    sel = np.zeros(problem.n_edges, dtype=bool)
    load = np.zeros(problem.n_jobs, dtype=np.int64)

    def rec(i: int) -> None:
        nonlocal best
        if i == problem.n_workers:
            a = np.full(problem.n_workers, -1)
            a[problem.edge_worker[sel]] = problem.edge_job[sel]
            if check(problem, a, enforce_dorm_beds=options.enforce_dorm_beds) or not admit(sel):
                return
            k = key(problem, sel, options)
            if best is None or k > best:
                best = k
            return
        rec(i + 1)
        for e in by_worker[i]:
            jj = problem.edge_job[e]
            if load[jj] < problem.job_openings[jj]:
                sel[e], load[jj] = True, load[jj] + 1
                rec(i + 1)
                sel[e], load[jj] = False, load[jj] - 1

    rec(0)
    return best


def with_floors(problem: PlacementProblem, options: SolveOptions) -> PlacementProblem:
    """The problem with the county floors the max–min puts on it (as :func:`optimizer.solve` does)."""
    from optimizer.fairness import fair_flow
    from optimizer.flow import solve_flow

    if problem.county_min_share is None:
        return problem
    w = edge_weights(problem, options)
    plain = solve_flow(problem, w, dataclasses.replace(options, shadow_prices=False)).edge_flow
    plan = fair_flow(problem, w, options, plain)
    return dataclasses.replace(problem, county_floors=plan.floors())


def fairness_reported(problem: PlacementProblem, result) -> bool:
    """Every county placed below its target is listed in ``result.relaxed`` with its shortfall."""
    if problem.county_min_share is None:
        return True
    listed = {r.constraint: r for r in result.relaxed if r.constraint.startswith("county_share[")}
    county = problem.worker_county
    placed = county[result.assignment >= 0]
    for c in np.unique(county[county >= 0]).tolist():
        r = listed.get(f"county_share[{c}]")
        if r is not None and r.achieved != int((placed == c).sum()):
            return False
        if r is not None and r.shortfall != r.target - r.achieved:
            return False
    return True


@st.composite
def dorm_problems(draw, max_workers: int = 7, max_jobs: int = 4, kind: str = "laminar"):
    """A problem with dorm beds. ``kind``: ``laminar`` (need constant per job), ``single`` (one
    enterprise, one job with mixed need, or any need at the others' jobs) or ``any``."""
    problem = draw(problems(max_workers, max_jobs, enterprises=False))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    j = problem.n_jobs
    k = int(rng.integers(1, j + 1))
    ent = rng.integers(-1, k, j).astype(np.int32)
    job_need = rng.random(j) < 0.6
    need = job_need[problem.edge_job]
    if kind == "single":  # mixed need only where the enterprise's dorm edges sit in one job
        ent = np.arange(j, dtype=np.int32) % k
        first = np.zeros(j, bool)
        first[np.unique(ent, return_index=True)[1]] = True
        mixed = rng.random(problem.n_edges) < 0.5
        need = np.where(first[problem.edge_job], mixed, False)
    elif kind == "any":
        need = rng.random(problem.n_edges) < 0.5
    return dataclasses.replace(
        problem,
        job_enterprise=ent,
        enterprise_capacity=rng.integers(-1, 4, k),
        enterprise_dorm_beds=rng.integers(-1, 3, k),
        edge_needs_dorm=need,
    )


def lp_fixed(
    problem: PlacementProblem,
    weights: np.ndarray,
    *,
    n_placed: int | None = None,
    n_unemployed: int | None = None,
    dorm: bool = True,
) -> float:
    """HiGHS LP optimum of the flow rules (beds as rows) with the stage totals held fixed.

    With laminar beds the constraint matrix stays a network matrix (the two totals are the flows
    out of the two sources), so the LP optimum is the integer optimum.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    e_n = problem.n_edges
    if e_n == 0:
        return 0.0
    cols = np.arange(e_n)
    rows, rhs = [], []

    def add(row_of_edge: np.ndarray, n_rows: int, ub: np.ndarray, mask: np.ndarray | None = None) -> None:
        m = np.ones(e_n, bool) if mask is None else mask
        rows.append(sparse.csr_array((np.ones(int(m.sum())), (row_of_edge[m], cols[m])), shape=(n_rows, e_n)))
        rhs.append(ub.astype(np.float64))

    add(problem.edge_worker, problem.n_workers, np.ones(problem.n_workers))
    add(problem.edge_job, problem.n_jobs, problem.job_openings)
    if problem.n_enterprises and problem.job_enterprise is not None:
        k = problem.n_enterprises
        ent = problem.job_enterprise[problem.edge_job]
        big = np.full(k, e_n + 1)
        if problem.enterprise_capacity is not None:
            cap = problem.enterprise_capacity
            add(np.maximum(ent, 0), k, np.where(cap >= 0, cap, big), ent >= 0)
        if dorm and problem.enterprise_dorm_beds is not None:
            beds = problem.enterprise_dorm_beds
            add(np.maximum(ent, 0), k, np.where(beds >= 0, beds, big), (ent >= 0) & problem.edge_needs_dorm)
    a_eq, b_eq = [], []
    if n_placed is not None:
        a_eq.append(np.ones(e_n))
        b_eq.append(n_placed)
    if n_unemployed is not None:
        a_eq.append(problem.worker_unemployed[problem.edge_worker].astype(np.float64))
        b_eq.append(n_unemployed)
    res = linprog(
        -weights,
        A_ub=sparse.vstack(rows, format="csr"),
        b_ub=np.concatenate(rhs),
        A_eq=np.array(a_eq) if a_eq else None,
        b_eq=np.array(b_eq, dtype=np.float64) if b_eq else None,
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0, res.message
    return float(-res.fun)


__all__ = [
    "brute_force",
    "dorm_problems",
    "enterprise_key",
    "fairness_reported",
    "key",
    "lp_fixed",
    "problems",
    "with_floors",
]
