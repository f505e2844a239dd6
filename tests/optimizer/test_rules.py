"""Side rules: known answers, brute force with every rule on, unmet targets relaxed not raised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from optimizer import PlacementProblem, ProblemError, SolveOptions, check_feasible, solve
from optimizer.flow import solve_flow
from optimizer.incumbent import repair
from optimizer.result import BLOCKED_BY_RULE
from tests.optimizer.helpers import brute_force, fairness_reported, key, problems, with_floors


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_workers=6, max_jobs=4, rules=True))
def test_side_rules_match_brute_force(problem):
    options = SolveOptions(priority="lexicographic")
    result = solve(problem, options)
    assert result.status == "OPTIMAL"
    assert check_feasible(problem, result.assignment) == []
    floored = with_floors(problem, options)  # county fairness: the max–min's floors, soft
    assert key(floored, result.edge_selected, options) == brute_force(floored, options, check_feasible)
    assert fairness_reported(problem, result)


def test_dorm_beds_limit_outside_workers():
    # two outsiders need a bed at enterprise 0 which has one; a local worker fills the other opening
    p = PlacementProblem(
        3,
        1,
        [0, 1, 2],
        [0, 0, 0],
        [0.9, 0.8, 0.1],
        [2],
        job_enterprise=[0],
        enterprise_capacity=[-1],
        enterprise_dorm_beds=[1],
        edge_needs_dorm=[True, True, False],
    )
    r = solve(p)
    assert r.assignment.tolist() == [0, -1, 0]
    assert r.rules["dorm_beds"] == "flow" and r.solver == "ortools_min_cost_flow"
    assert r.unplaced_reason[1] == BLOCKED_BY_RULE
    assert solve(p, SolveOptions(enforce_dorm_beds=False)).n_placed == 2


def test_dorm_beds_not_binding_stays_flow():
    p = PlacementProblem(
        2,
        1,
        [0, 1],
        [0, 0],
        [0.9, 0.8],
        [1],
        job_enterprise=[0],
        enterprise_capacity=[5],
        enterprise_dorm_beds=[1],
        edge_needs_dorm=[True, True],
    )
    r = solve(p)
    assert r.solver == "ortools_min_cost_flow" and r.rules["dorm_beds"] == "flow"


def _district_problem(target: int) -> PlacementProblem:
    # job 0 is in district 0; worker 1 (county 7, paired) scores lower than worker 0 (county 3)
    return PlacementProblem(
        2,
        2,
        [0, 1, 1],
        [0, 0, 1],
        [0.9, 0.5, 0.4],
        [1, 1],
        worker_county=[3, 7],
        job_district=[0, -1],
        district_targets={0: target},
        district_paired_counties={0: frozenset({7})},
    )


def test_district_target_places_paired_county_worker():
    r = solve(_district_problem(1))
    assert r.assignment.tolist() == [-1, 0]
    assert r.relaxed == () and r.rules["district_targets"] == "enforced_lagrangian"
    assert r.solver == "lagrangian_flow" and r.status == "OPTIMAL"


def test_unmet_target_is_relaxed_and_reported_not_raised():
    r = solve(_district_problem(3))
    assert r.status == "OPTIMAL"
    (note,) = r.relaxed
    assert note.constraint == "district_target[0]"
    assert (note.target, note.achieved, note.shortfall) == (3.0, 1.0, 2.0)
    assert note.binding.startswith("candidates")
    assert check_feasible(_district_problem(3), r.assignment) == []


def test_county_fairness_shares_placements():
    # county 0 scores higher on both jobs; full share forces one placement per county
    p = PlacementProblem(
        4,
        2,
        [0, 0, 1, 1, 2, 2, 3, 3],
        [0, 1] * 4,
        [0.9, 0.9, 0.8, 0.8, 0.2, 0.2, 0.1, 0.1],
        [1, 1],
        worker_county=[0, 0, 1, 1],
        county_min_share=1.0,
    )
    r = solve(p)
    assert sorted(p.worker_county[r.assignment >= 0].tolist()) == [0, 1]
    assert r.objective == pytest.approx(1.1)


def test_group_goes_together_or_not_at_all():
    # workers 0 and 1 form a group; enterprise 0 (job 0) has room for one, enterprise 1 (job 1) for two
    p = PlacementProblem(
        2,
        2,
        [0, 0, 1, 1],
        [0, 1, 0, 1],
        [1.0, 0.2, 0.3, 0.3],
        [1, 2],
        job_enterprise=[0, 1],
        enterprise_capacity=[-1, -1],
        worker_group=[5, 5],
    )
    r = solve(p)
    assert r.assignment.tolist() == [1, 1]
    assert r.rules["groups"] == "enforced_mip"


def test_weighted_priority_adds_bonus():
    p = PlacementProblem(2, 1, [0, 1], [0, 0], [0.9, 0.5], [1], worker_unemployed=[False, True])
    assert solve(p).assignment.tolist() == [0, -1]
    r = solve(p, SolveOptions(priority="weighted", priority_weight=0.5))
    assert r.assignment.tolist() == [-1, 0] and r.objective == pytest.approx(1.0)
    assert solve(p, SolveOptions(priority="lexicographic")).assignment.tolist() == [-1, 0]


def test_time_limit_returns_a_feasible_answer_with_gap():
    rng = np.random.default_rng(3)
    w, j = 300, 40
    ew = np.repeat(np.arange(w), 5)
    ej = (ew * 7 + np.tile(np.arange(5), w) * 11) % j
    p = PlacementProblem(
        w,
        j,
        ew,
        ej,
        rng.random(ew.size),
        rng.integers(1, 6, j),
        job_enterprise=np.arange(j) % 8,
        enterprise_capacity=np.full(8, -1),
        worker_group=np.arange(w) // 3,
    )
    r = solve(p, SolveOptions(time_limit_s=0.05))
    assert r.status in ("OPTIMAL", "TIME_LIMIT", "FEASIBLE")
    assert check_feasible(p, r.assignment) == []
    assert r.bound >= r.objective - 1e-9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"edge_worker": [0, 5]}, "edge_worker[1] = 5"),
        ({"edge_job": [0, 0], "edge_worker": [0, 0]}, "duplicate edge (worker 0, job 0)"),
        ({"edge_score": [0.1, -1.0]}, "edge_score[1]"),
        ({"job_openings": [1]}, "job_openings has shape"),
        ({"enterprise_capacity": [1]}, "enterprise_capacity is given but job_enterprise is not"),
    ],
)
def test_malformed_problem_names_array_and_index(kwargs, message):
    base = {
        "n_workers": 2,
        "n_jobs": 2,
        "edge_worker": [0, 1],
        "edge_job": [0, 1],
        "edge_score": [0.1, 0.2],
        "job_openings": [1, 1],
    }
    base.update(kwargs)
    with pytest.raises(
        ProblemError,
        match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)"),
    ):
        solve(PlacementProblem(**base))
    assert issubclass(ProblemError, ValueError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_workers=8, max_jobs=4, rules=True))
def test_repaired_incumbent_keeps_every_hard_rule(problem):
    # the fallback when the MIP runs out of time: groups and beds must hold (county floors are soft)
    flow = solve_flow(problem.validate(), problem.edge_score, SolveOptions()).edge_flow
    sel = repair(problem, problem.edge_score, flow, SolveOptions())
    assignment = np.full(problem.n_workers, -1)
    assignment[problem.edge_worker[sel]] = problem.edge_job[sel]
    assert check_feasible(problem, assignment) == []


def test_county_fairness_time_limit_returns_a_feasible_assignment_not_an_empty_one():
    rng = np.random.default_rng(5)
    w, j = 400, 60
    ew = np.repeat(np.arange(w), 6)
    ej = (ew * 13 + np.tile(np.arange(6), w) * 7) % j
    p = PlacementProblem(
        w,
        j,
        ew,
        ej,
        rng.random(ew.size),
        rng.integers(1, 6, j),
        worker_county=rng.integers(0, 8, w),
        county_min_share=0.95,
    )
    r = solve(p, SolveOptions(time_limit_s=0.01))
    assert r.status in ("OPTIMAL", "FEASIBLE") and r.n_placed > 0
    assert check_feasible(p, r.assignment) == [] and fairness_reported(p, r)
    assert r.bound >= r.objective - 1e-9 and np.isfinite(r.gap)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_workers=6, max_jobs=4, rules=True))
def test_time_limited_mip_in_its_own_process_gives_the_same_optimum(problem):
    # with a time limit HiGHS runs in a forked process that is killed if it overruns
    options = SolveOptions(priority="lexicographic", time_limit_s=60)
    result = solve(problem, options)
    assert result.status == "OPTIMAL"
    floored = with_floors(problem, options)
    assert key(floored, result.edge_selected, options) == brute_force(floored, options, check_feasible)
