"""Shadow prices in every mode: one more opening (or enterprise place) against a re-solve.

In ``count`` mode and with lexicographic priority a price holds the earlier stage totals fixed
(the number placed, the number of unemployed placed). The oracle is a HiGHS LP with those totals
as equality rows (still a network matrix, so its optimum is the integer one); when the plain
re-solve keeps the same totals it must agree too.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import SolveOptions, solve
from tests.optimizer.helpers import lp_fixed, problems

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODES = [("count", "none"), ("score", "lexicographic"), ("count", "lexicographic"), ("score", "weighted")]


def _totals(problem, result, mode, priority):
    placed = result.assignment >= 0
    return {
        "n_placed": int(placed.sum()) if mode == "count" else None,
        "n_unemployed": int((placed & problem.worker_unemployed).sum())
        if priority == "lexicographic"
        else None,
    }


def _check(problem, base, changed, price, options, weights):
    held = _totals(problem, base, options.mode, options.priority)
    oracle = lp_fixed(changed, weights, **held, dorm=False)
    assert price == pytest.approx(oracle - base.objective, abs=1e-9)
    again = solve(changed, dataclasses.replace(options, shadow_prices=False))
    if _totals(problem, again, options.mode, options.priority) == held:
        assert price == pytest.approx(again.objective - base.objective, abs=1e-9)


@FAST
@given(problems(max_workers=9, max_jobs=5), st.sampled_from(MODES))
def test_shadow_prices_hold_stage_totals_and_equal_constrained_resolve(problem, modes):
    mode, priority = modes
    options = SolveOptions(mode=mode, priority=priority, priority_weight=0.3)
    base = solve(problem, options)
    weights = problem.edge_score + (
        0.3 * problem.worker_unemployed[problem.edge_worker] if priority == "weighted" else 0.0
    )
    for j in range(problem.n_jobs):
        openings = problem.job_openings.copy()
        openings[j] += 1
        changed = dataclasses.replace(problem, job_openings=openings)
        _check(problem, base, changed, base.job_shadow_price[j], options, weights)
    if problem.enterprise_capacity is not None:
        for k in np.flatnonzero(problem.enterprise_capacity >= 0):
            cap = problem.enterprise_capacity.copy()
            cap[k] += 1
            changed = dataclasses.replace(problem, enterprise_capacity=cap)
            _check(problem, base, changed, base.enterprise_shadow_price[k], options, weights)
