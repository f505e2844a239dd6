"""Random small problems and a brute-force oracle for the optimizer tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from optimizer import PlacementProblem, SolveOptions
from optimizer.check import enterprise_key
from optimizer.rules import target_edges
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
    if problem.district_targets:
        out.append(
            -sum(
                max(0, q - int((sel & target_edges(problem, d)).sum()))
                for d, q in problem.district_targets.items()
            )
        )
    if options.priority == "lexicographic" and problem.worker_unemployed is not None:
        out.append(int(problem.worker_unemployed[problem.edge_worker[sel]].sum()))
    if options.mode == "count":
        out.append(int(sel.sum()))
    out.append(round(float(w[sel].sum()), 9))
    return tuple(out)


def brute_force(problem: PlacementProblem, options: SolveOptions, check) -> tuple:
    """Best lexicographic key over every feasible assignment (``check`` = check_feasible)."""
    by_worker = [np.flatnonzero(problem.edge_worker == i) for i in range(problem.n_workers)]
    best = None
    sel = np.zeros(problem.n_edges, dtype=bool)
    load = np.zeros(problem.n_jobs, dtype=np.int64)

    def rec(i: int) -> None:
        nonlocal best
        if i == problem.n_workers:
            a = np.full(problem.n_workers, -1)
            a[problem.edge_worker[sel]] = problem.edge_job[sel]
            if check(problem, a, enforce_dorm_beds=options.enforce_dorm_beds) or not _fair(problem, sel):
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


def _fair(problem: PlacementProblem, sel: np.ndarray) -> bool:
    if problem.county_min_share is None:
        return True
    county = problem.worker_county
    counties, reg = np.unique(county[county >= 0], return_counts=True)
    placed = np.array([(county[problem.edge_worker[sel]] == c).sum() for c in counties])
    return bool(np.all(placed >= problem.county_min_share * reg / reg.sum() * placed.sum() - 1e-9))


__all__ = ["brute_force", "enterprise_key", "key", "problems"]
