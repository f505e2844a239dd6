"""The flow core: feasibility, optimality against brute force and HiGHS, prices, determinism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import (
    PlacementProblem,
    SolveOptions,
    blocking_pairs,
    check_feasible,
    greedy,
    lp_reference,
    solve,
    stable_matching,
)
from tests.optimizer.helpers import brute_force, key, problems

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(problems(), st.sampled_from(["score", "count"]))
def test_solve_is_feasible_and_equals_brute_force(problem, mode):
    options = SolveOptions(mode=mode)
    result = solve(problem, options)
    assert result.status == "OPTIMAL"
    assert check_feasible(problem, result.assignment) == []
    assert key(problem, result.edge_selected, options) == brute_force(problem, options, check_feasible)
    assert result.bound >= result.objective - 1e-12


@FAST
@given(problems())
def test_lexicographic_priority_places_most_unemployed_first(problem):
    for mode in ("score", "count"):
        options = SolveOptions(mode=mode, priority="lexicographic")
        result = solve(problem, options)
        assert check_feasible(problem, result.assignment) == []
        assert key(problem, result.edge_selected, options) == brute_force(problem, options, check_feasible)


@FAST
@given(problems(max_workers=12, max_jobs=6))
def test_flow_and_highs_lp_optima_agree(problem):
    result = solve(problem)
    lp_obj, _ = lp_reference(problem)
    assert result.objective == pytest.approx(lp_obj, rel=1e-9, abs=1e-9)


@FAST
@given(problems(max_workers=10, max_jobs=5))
def test_shadow_prices_equal_resolve_with_one_more_opening(problem):
    base = solve(problem)
    for j in range(problem.n_jobs):
        openings = problem.job_openings.copy()
        openings[j] += 1
        more = solve(dataclasses.replace(problem, job_openings=openings), SolveOptions(shadow_prices=False))
        assert base.job_shadow_price[j] == pytest.approx(more.objective - base.objective, abs=1e-9)
    if problem.enterprise_capacity is not None:
        for k in np.flatnonzero(problem.enterprise_capacity >= 0):
            cap = problem.enterprise_capacity.copy()
            cap[k] += 1
            more = solve(
                dataclasses.replace(problem, enterprise_capacity=cap), SolveOptions(shadow_prices=False)
            )
            assert base.enterprise_shadow_price[k] == pytest.approx(more.objective - base.objective, abs=1e-9)


@FAST
@given(problems(max_workers=12, max_jobs=6, enterprises=False))
def test_baselines_are_feasible_greedy_below_optimum_stable_has_no_blocking_pair(problem):
    best = solve(problem)
    g = greedy(problem)
    s = stable_matching(problem)
    assert check_feasible(problem, g.assignment) == []
    assert check_feasible(problem, s.assignment) == []
    assert g.objective <= best.objective + 1e-9
    assert s.objective <= best.objective + 1e-9
    assert blocking_pairs(problem, s.assignment) == 0


@FAST
@given(problems(max_workers=12, max_jobs=6))
def test_same_problem_gives_same_assignment_whatever_the_edge_order(problem):
    first = solve(problem)
    perm = np.random.default_rng(0).permutation(problem.n_edges)
    shuffled = dataclasses.replace(
        problem,
        edge_worker=problem.edge_worker[perm],
        edge_job=problem.edge_job[perm],
        edge_score=problem.edge_score[perm],
    )
    again = solve(shuffled)
    np.testing.assert_array_equal(first.assignment, again.assignment)
    np.testing.assert_array_equal(first.assignment, solve(problem).assignment)
    np.testing.assert_array_equal(again.edge_selected, first.edge_selected[perm])


def test_unplaced_reasons_name_no_candidate_and_outscored():
    p = PlacementProblem(3, 1, [0, 1], [0, 0], [0.9, 0.5], [1])
    r = solve(p)
    assert r.assignment.tolist() == [0, -1, -1]
    assert [r.unplaced_reason[i] for i in range(3)] == [0, 2, 1]
    assert r.reason_counts()["no_candidate"] == 1


def test_count_mode_trades_score_for_more_placements():
    # worker 0 can take either job; worker 1 only job 0. Score mode keeps the 1.0 edge.
    p = PlacementProblem(2, 2, [0, 0, 1], [0, 1, 0], [1.0, 0.1, 0.2], [1, 1])
    assert solve(p).n_placed == 1 or solve(p).objective == pytest.approx(1.0)
    r = solve(p, SolveOptions(mode="count"))
    assert r.n_placed == 2 and r.objective == pytest.approx(0.3)


def test_medium_instance_matches_lp_within_1e9_and_scale_is_large():
    rng = np.random.default_rng(7)
    w, j, k = 2000, 300, 10
    ew = np.repeat(np.arange(w), k)
    ej = rng.integers(0, j, w * k)
    key_ = np.unique(ew.astype(np.int64) * j + ej)
    ew, ej = key_ // j, key_ % j
    p = PlacementProblem(w, j, ew, ej, rng.random(ew.size), rng.integers(1, 8, j))
    r = solve(p)
    lp_obj, _ = lp_reference(p)
    assert r.objective == pytest.approx(lp_obj, rel=1e-9)
    assert r.gap <= 1e-6 and r.scale >= 10**6
    g = greedy(p)
    assert g.objective < r.objective


def test_scale_follows_the_scores_precision_and_rejects_an_unsupported_range():
    from optimizer.errors import ProblemError
    from optimizer.flow import choose_scale, exact_scale, pick_scale

    assert exact_scale(np.array([99.0, 7.0, 0.0]), 10**12) == 1
    assert exact_scale(np.array([10000000.45, 3.1, 2.0]), 10**12) == 100
    assert exact_scale(np.random.default_rng(0).random(1000), 10**12) is None
    assert exact_scale(np.array([0.123]), 100) is None  # needs 10**3, above the safe scale
    assert pick_scale(np.array([0.25, 0.5]), 10, 2) == (100, 100)
    with pytest.raises(ProblemError, match="out of the supported range"):
        choose_scale(np.array([1e18]), 10, 1)


def test_a_zero_score_edge_is_never_used_in_score_mode():
    # worker 0 has only a zero-score edge, worker 1 a positive one; openings for both
    p = PlacementProblem(2, 2, [0, 1], [0, 1], [0.0, 0.4], [1, 1])
    assert solve(p, SolveOptions(mode="score")).assignment.tolist() == [-1, 1]
    # count mode places everyone it can, and so does lexicographic priority for the unemployed
    assert solve(p, SolveOptions(mode="count")).assignment.tolist() == [0, 1]
    prio = dataclasses.replace(p, worker_unemployed=np.array([True, False]))
    assert solve(prio, SolveOptions(mode="score", priority="lexicographic")).assignment.tolist() == [0, 1]
