"""The two-phase pruned flow: phase 1 on each worker's best edges, proven (or repaired) on all."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from optimizer import PlacementProblem, SolveOptions
from optimizer import prune as prune_mod
from optimizer.flow import solve_flow
from tests.optimizer.helpers import problems


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_workers=10, max_jobs=5))
def test_pruned_flow_equals_full_flow(problem):
    problem.validate()
    options = SolveOptions(shadow_prices=False)
    old = prune_mod.KEEP
    prune_mod.KEEP = 1  # keep one edge per worker: violations happen often
    try:
        pruned = prune_mod.solve_flow_pruned(problem, problem.edge_score, options)
    finally:
        prune_mod.KEEP = old
    full = solve_flow(problem, problem.edge_score, options)
    assert pruned.int_objective == full.int_objective and pruned.scale == full.scale
    assert problem.edge_score[pruned.edge_flow].sum() == pytest.approx(
        problem.edge_score[full.edge_flow].sum()
    )
    assert np.bincount(problem.edge_worker[pruned.edge_flow], minlength=problem.n_workers).max(initial=0) <= 1


def test_prune_applies_only_to_large_plain_score_problems():
    p = PlacementProblem(2, 1, [0, 1], [0, 0], [0.5, 0.4], [1])
    assert not prune_mod.prunable(p, SolveOptions(), keep_residual=False)
