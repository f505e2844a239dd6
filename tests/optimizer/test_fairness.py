"""County fairness as a max–min: the worst county first, never the whole city levelled down."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from optimizer import PlacementProblem, SolveOptions, check_feasible, solve
from optimizer.fairness import county_placed, fair_flow
from optimizer.flow import solve_flow
from tests.optimizer.helpers import fairness_reported, problems


def _cornered(n: int = 10) -> PlacementProblem:
    """County 0: ``n`` workers who can all reach only job 0 (one opening). County 1: ``n`` workers
    who reach job 1 (``n`` openings)."""
    ew = np.arange(2 * n)
    ej = np.r_[np.zeros(n, int), np.ones(n, int)]
    return PlacementProblem(
        2 * n,
        2,
        ew,
        ej,
        np.linspace(0.5, 0.9, 2 * n),
        [1, n],
        worker_county=np.r_[np.zeros(n, int), np.ones(n, int)],
    )


@pytest.mark.parametrize("share", [0.3, 0.5, 0.8, 1.0])
def test_a_county_with_one_opening_does_not_cap_the_city(share):
    p = dataclasses.replace(_cornered(), county_min_share=share)
    r = solve(p)
    assert r.n_placed == 11  # what the plain flow places: nobody levelled down
    assert r.status == "OPTIMAL" and r.rules["county_fairness"] == "max_min_flow"
    # county 0's target ceil(share × 11 / 2) is out of reach: relaxed to 1 with its shortfall
    target = int(np.ceil(share * 11 / 2 - 1e-9))
    (relaxed,) = [x for x in r.relaxed if x.constraint == "county_share[0]"]
    assert (relaxed.target, relaxed.achieved, relaxed.shortfall) == (target, 1, target - 1)
    assert relaxed.binding.startswith("reach: at most 1 ")


def test_competing_counties_share_the_openings_by_max_min():
    # 4 openings; county 0 scores higher everywhere; each county has 4 workers who reach every job
    ew, ej = np.repeat(np.arange(8), 2), np.tile([0, 1], 8)
    score = np.where(ew < 4, 0.9, 0.2)
    p = PlacementProblem(
        8, 2, ew, ej, score, [2, 2], worker_county=np.repeat([0, 1], 4), county_min_share=1.0
    )
    r = solve(p)
    placed = county_placed(p, np.array([0, 1]), r.edge_selected)
    assert placed.tolist() == [2, 2] and r.n_placed == 4
    plain = solve(dataclasses.replace(p, county_min_share=None))
    assert county_placed(p, np.array([0, 1]), plain.edge_selected).tolist() == [4, 0]


def _assignments(p: PlacementProblem):
    """Every feasible assignment's edge selection (brute force)."""
    by_worker = [[-1, *np.flatnonzero(p.edge_worker == w).tolist()] for w in range(p.n_workers)]
    for pick in itertools.product(*by_worker):
        sel = np.zeros(p.n_edges, bool)
        sel[[e for e in pick if e >= 0]] = True
        a = np.full(p.n_workers, -1)
        a[p.edge_worker[sel]] = p.edge_job[sel]
        if not check_feasible(p, a):
            yield sel


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_workers=6, max_jobs=3))
def test_max_min_level_and_score_match_brute_force(problem):
    rng = np.random.default_rng(problem.n_edges)
    p = dataclasses.replace(
        problem,
        worker_county=rng.integers(0, 3, problem.n_workers),
        county_min_share=float(rng.choice([0.5, 1.0])),
    ).validate()
    options = SolveOptions()
    plain = solve_flow(p, p.edge_score, options).edge_flow
    plan = fair_flow(p, p.edge_score, options, plain)
    sels = list(_assignments(p))
    placed = np.array([county_placed(p, plan.counties, s) for s in sels])
    # each county's reach, where the target was not met as it is
    capped = plan.reach < plan.target
    assert np.all(plan.reach[capped] == placed.max(axis=0)[capped])
    goal = np.minimum(plan.target, plan.reach)
    on = goal > 0
    best_level = max((min((pl[on] / goal[on]).min(), 1.0) if on.any() else 1.0) for pl in placed)
    assert plan.level == pytest.approx(best_level)
    # then the score: the best of every assignment meeting the floors
    meets = np.all(placed >= plan.floor, axis=1)
    best = max(float(p.edge_score[s].sum()) for s, ok in zip(sels, meets, strict=True) if ok)
    result = solve(p, options)
    assert result.total_score == pytest.approx(best, abs=1e-6)
    assert np.all(county_placed(p, plan.counties, result.edge_selected) >= plan.floor)
    assert fairness_reported(p, result)


def test_fairness_search_stops_at_its_time_limit_and_says_so():
    rng = np.random.default_rng(3)
    w, j = 3000, 300
    ew = np.repeat(np.arange(w), 5)
    ej = (ew * 7 + np.tile(np.arange(5), w) * 11) % j
    p = PlacementProblem(
        w, j, ew, ej, rng.random(ew.size), rng.integers(1, 4, j), worker_county=rng.integers(0, 40, w)
    )
    p = dataclasses.replace(p, county_min_share=1.0)
    r = solve(p, SolveOptions(time_limit_s=1e-6))
    assert r.status == "FEASIBLE" and r.n_placed > 0 and np.isfinite(r.gap)
    assert fairness_reported(p, r)
