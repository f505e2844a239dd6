"""The two-phase pruned flow: phase 1 on each worker's best edges, proven (or repaired) on all."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from optimizer import PlacementProblem, SolveOptions
from optimizer import prune as prune_mod
from optimizer.flow import solve_flow
from tests.optimizer.helpers import problems


@pytest.mark.parametrize("rounds_forced", [False, True])
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
    ],  # same patches each input
)
@given(problem=problems(max_workers=10, max_jobs=5))
def test_pruned_flow_equals_full_flow(problem, rounds_forced, monkeypatch):
    problem.validate()
    options = SolveOptions(shadow_prices=False)
    monkeypatch.setattr(prune_mod, "KEEP", 1)  # keep one edge per worker: violations happen often
    if rounds_forced:  # phase 1 and the repair rounds run whatever the kept edges reach
        monkeypatch.setattr(prune_mod, "MIN_REACH", 0.0)
        monkeypatch.setattr(prune_mod, "FULL_SHARE", 1.0)
    pruned = prune_mod.solve_flow_pruned(problem, problem.edge_score, options)
    full = solve_flow(problem, problem.edge_score, options)
    assert pruned.int_objective == full.int_objective and pruned.scale == full.scale
    assert problem.edge_score[pruned.edge_flow].sum() == pytest.approx(
        problem.edge_score[full.edge_flow].sum()
    )
    assert np.bincount(problem.edge_worker[pruned.edge_flow], minlength=problem.n_workers).max(initial=0) <= 1


def test_prune_applies_only_to_large_plain_score_problems():
    p = PlacementProblem(2, 1, [0, 1], [0, 0], [0.5, 0.4], [1])
    assert not prune_mod.prunable(p, SolveOptions(), keep_residual=False)


def _crowded(n_workers: int = 600, n_jobs: int = 120, k: int = 30, seed: int = 3) -> PlacementProblem:
    """Every worker's scores share a job-quality term: their best edges crowd onto the same jobs."""
    rng = np.random.default_rng(seed)
    jobs = np.stack([rng.choice(n_jobs, size=k, replace=False) for _ in range(n_workers)])
    quality = rng.random(n_jobs)
    score = 0.7 * quality[jobs] + 0.3 * rng.random(jobs.shape)
    workers = np.repeat(np.arange(n_workers), k)
    return PlacementProblem(n_workers, n_jobs, workers, jobs.ravel(), score.ravel(), np.full(n_jobs, 4))


def test_crowded_best_edges_solve_the_full_graph_at_once(monkeypatch):
    problem = _crowded().validate()
    monkeypatch.setattr(prune_mod, "KEEP", 3)
    best3 = np.zeros(problem.n_edges, dtype=bool)  # each worker's three best edges
    order = np.lexsort((-problem.edge_score, problem.edge_worker))
    best3[order.reshape(problem.n_workers, -1)[:, :3]] = True
    assert prune_mod.reach(problem, None) == 480  # all edges reach every opening (120 jobs x 4)
    assert prune_mod.reach(problem, best3) < prune_mod.MIN_REACH * 480  # the best ones crowd onto few jobs
    options = SolveOptions(shadow_prices=False)
    pruned = prune_mod.solve_flow_pruned(problem, problem.edge_score, options)
    full = solve_flow(problem, problem.edge_score, options)
    assert pruned.stage_seconds["prune_skipped"] == 1.0
    assert not any(k.startswith("solve_flow_") for k in pruned.stage_seconds)  # no phase 1 was solved
    assert pruned.int_objective == full.int_objective


def test_spread_best_edges_run_phase_one(monkeypatch):
    rng = np.random.default_rng(5)
    problem = _crowded(seed=5)
    problem = PlacementProblem(  # the same edges with independent scores: best edges spread out
        problem.n_workers,
        problem.n_jobs,
        problem.edge_worker,
        problem.edge_job,
        rng.random(problem.n_edges),
        problem.job_openings,
    ).validate()
    monkeypatch.setattr(prune_mod, "KEEP", 3)
    options = SolveOptions(shadow_prices=False)
    pruned = prune_mod.solve_flow_pruned(problem, problem.edge_score, options)
    assert "prune_skipped" not in pruned.stage_seconds and "solve_flow_1" in pruned.stage_seconds
    assert pruned.int_objective == solve_flow(problem, problem.edge_score, options).int_objective


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_best_edges_are_each_workers_top_weights(grouped, seed):
    rng = np.random.default_rng(seed)
    n_workers = 50
    deg = rng.integers(0, 12, n_workers)
    deg[0] = 11  # one wide row; padding stays within twice the edges
    ew = np.repeat(np.arange(n_workers), deg)
    if not grouped:
        ew = rng.permutation(ew)
    weights = rng.permutation(ew.size) / ew.size + 0.01  # distinct
    mask = prune_mod._best_edges(ew, weights, n_workers, 4)
    for w in range(n_workers):
        mine = np.flatnonzero(ew == w)
        best = mine[np.argsort(-weights[mine])[:4]]
        assert set(np.flatnonzero(mask & (ew == w))) == set(best)
