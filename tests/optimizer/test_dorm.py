"""Dorm beds: a flow when the bed sets nest with the openings, the MIP only when they cross."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import PlacementProblem, SolveOptions, check_feasible, solve
from optimizer.network import dorm_plan
from optimizer.rules import solve_mip
from tests.optimizer.helpers import brute_force, dorm_problems, key, lp_fixed

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(dorm_problems(kind="laminar"), st.sampled_from(["score", "count"]))
def test_laminar_beds_stay_a_flow_and_equal_brute_force_and_mip(problem, mode):
    options = SolveOptions(mode=mode, priority="lexicographic")
    result = solve(problem, options)
    assert result.solver == "ortools_min_cost_flow" and result.status == "OPTIMAL"
    assert result.rules["dorm_beds"] in ("flow", "off")
    assert check_feasible(problem, result.assignment) == []
    assert key(problem, result.edge_selected, options) == brute_force(problem, options, check_feasible)
    mip = solve_mip(problem, problem.edge_score, options)
    assert key(problem, mip.edge_sel, options) == key(problem, result.edge_selected, options)


@FAST
@given(dorm_problems(kind="single"))
def test_mixed_need_in_one_job_per_enterprise_is_still_a_flow(problem):
    result = solve(problem)
    assert result.solver == "ortools_min_cost_flow"
    assert check_feasible(problem, result.assignment) == []
    assert key(problem, result.edge_selected, SolveOptions()) == brute_force(
        problem, SolveOptions(), check_feasible
    )


@FAST
@given(dorm_problems(kind="any"))
def test_crossing_beds_fall_back_to_mip_and_equal_brute_force(problem):
    result = solve(problem)
    assert check_feasible(problem, result.assignment) == []
    assert key(problem, result.edge_selected, SolveOptions()) == brute_force(
        problem, SolveOptions(), check_feasible
    )
    plan = dorm_plan(problem, SolveOptions())
    if plan is not None and not plan.crossing.any():
        assert result.solver == "ortools_min_cost_flow"


@FAST
@given(dorm_problems(max_workers=9, max_jobs=5, kind="laminar"))
def test_bed_shadow_price_equals_resolve_with_one_more_bed(problem):
    base = solve(problem)
    beds = problem.enterprise_dorm_beds
    if base.dorm_bed_shadow_price is None:  # no bed limit anywhere: the rule is off
        assert not (beds >= 0).any()
        return
    for k in range(problem.n_enterprises):
        if beds[k] < 0:
            assert base.dorm_bed_shadow_price[k] == 0.0
            continue
        more = beds.copy()
        more[k] += 1
        again = solve(
            dataclasses.replace(problem, enterprise_dorm_beds=more), SolveOptions(shadow_prices=False)
        )
        assert base.dorm_bed_shadow_price[k] == pytest.approx(again.objective - base.objective, abs=1e-9)
        assert again.objective == pytest.approx(
            lp_fixed(dataclasses.replace(problem, enterprise_dorm_beds=more), problem.edge_score), abs=1e-9
        )


def test_tianjin_job_and_local_workshop_share_an_enterprise_as_a_flow():
    # enterprise 0: job 0 in Tianjin (everyone needs a bed, 1 bed), job 1 local (no bed needed)
    p = PlacementProblem(
        4,
        2,
        [0, 1, 2, 3],
        [0, 0, 1, 1],
        [0.9, 0.8, 0.3, 0.2],
        [2, 2],
        job_enterprise=[0, 0],
        enterprise_capacity=[3],
        enterprise_dorm_beds=[1],
        edge_needs_dorm=[True, True, False, False],
    )
    r = solve(p)
    assert r.solver == "ortools_min_cost_flow" and r.rules["dorm_beds"] == "flow"
    assert r.assignment.tolist() == [0, -1, 1, 1]
    assert r.dorm_bed_shadow_price.tolist() == pytest.approx([0.6])  # worker 1 (0.8) in, worker 3 (0.2) out
    assert r.unplaced_reason[1] == 3  # blocked_by_rule: the bed


def test_beds_that_cannot_bind_add_no_node():
    p = PlacementProblem(
        2,
        1,
        [0, 1],
        [0, 0],
        [0.5, 0.4],
        [2],
        job_enterprise=[0],
        enterprise_dorm_beds=[5],
        edge_needs_dorm=[True, True],
    )
    plan = dorm_plan(p, SolveOptions())
    assert plan is not None and not plan.in_flow.any() and not plan.crossing.any()
    assert solve(p).n_placed == 2


def test_crossing_beds_are_reported_and_priced_nan():
    # two jobs at one enterprise, each with a local and an outsider: the bed set crosses both jobs
    p = PlacementProblem(
        4,
        2,
        [0, 1, 2, 3],
        [0, 0, 1, 1],
        [0.9, 0.8, 0.7, 0.6],
        [2, 2],
        job_enterprise=[0, 0],
        enterprise_dorm_beds=[1],
        edge_needs_dorm=[True, False, True, False],
    )
    r = solve(p)
    assert r.rules["dorm_beds"] == "enforced_mip" and check_feasible(p, r.assignment) == []
    assert r.assignment.tolist() == [0, 0, -1, 1]
    assert np.isnan(r.job_shadow_price).all()
