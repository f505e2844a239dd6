"""Flow duals price out edges left out of a problem: no positive gain ⇒ the optimum holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimizer import PlacementProblem, SolveOptions, SolverError, solve
from optimizer.duals import flow_duals


def _full(seed: int, capacities: bool, dorm: bool) -> PlacementProblem:
    rng = np.random.default_rng(seed)
    w_n, j_n, k_n = 14, 6, 3
    ew = np.repeat(np.arange(w_n), j_n)
    ej = np.tile(np.arange(j_n), w_n)
    keep = rng.random(ew.size) < 0.8
    ew, ej = ew[keep], ej[keep]
    extra = {}
    if capacities:
        extra["job_enterprise"] = np.arange(j_n) % k_n
        extra["enterprise_capacity"] = rng.integers(1, 5, k_n)
    if dorm:
        extra["job_enterprise"] = np.arange(j_n) % k_n
        extra["enterprise_dorm_beds"] = rng.integers(1, 4, k_n)
        extra["edge_needs_dorm"] = (ej < 4) | (rng.random(ew.size) < 0.1)
    return PlacementProblem(
        n_workers=w_n,
        n_jobs=j_n,
        edge_worker=ew,
        edge_job=ej,
        edge_score=np.round(rng.random(ew.size), 6),
        job_openings=rng.integers(1, 4, j_n),
        **extra,
    )


def _subset(p: PlacementProblem, keep: np.ndarray) -> PlacementProblem:
    changes = {
        "edge_worker": p.edge_worker[keep],
        "edge_job": p.edge_job[keep],
        "edge_score": p.edge_score[keep],
    }
    if p.edge_needs_dorm is not None:
        changes["edge_needs_dorm"] = p.edge_needs_dorm[keep]
    return dataclasses.replace(p, **changes)


@pytest.mark.parametrize("mode", ["score", "count"])
@pytest.mark.parametrize(("capacities", "dorm"), [(False, False), (True, False), (True, True)])
def test_pricing_out_reaches_the_full_optimum_and_never_certifies_a_worse_one(mode, capacities, dorm):
    """Column generation on random problems: each round adds the edges with a positive gain; when
    none is left the subset's optimum is the full one, and a subset whose optimum is worse always
    has a positive gain left."""
    options = SolveOptions(mode=mode, shadow_prices=False)
    certified_runs = 0
    for seed in range(25):
        full = _full(seed, capacities, dorm)
        ref = solve(full, options)
        keep = np.random.default_rng(100 + seed).random(full.n_edges) < 0.3
        for _ in range(full.n_edges):
            sub = _subset(full, keep)
            res = solve(sub, options)
            if res.solver != "ortools_min_cost_flow":
                break  # crossing beds go to the MIP: not a flow optimum to certify
            duals = flow_duals(sub, options, res.edge_selected)
            assert duals is not None
            out = np.flatnonzero(~keep)
            need = full.edge_needs_dorm[out] if full.edge_needs_dorm is not None else None
            gains = duals.gains(full.edge_worker[out], full.edge_job[out], full.edge_score[out], need)
            if mode == "count":
                worse = (ref.n_placed, round(ref.objective, 6)) > (res.n_placed, round(res.objective, 6))
            else:
                worse = ref.objective > res.objective + 1e-9
            if worse:
                assert (gains > 0).any(), seed  # a better optimum outside is always flagged
            if not (gains > 0).any():
                assert res.objective == pytest.approx(ref.objective, abs=1e-9), seed
                assert res.n_placed == ref.n_placed or mode == "score", seed
                certified_runs += 1
                break
            keep[out[gains > 0]] = True
    assert certified_runs >= 10


def test_duals_reject_a_selection_that_is_not_optimal():
    p = _full(1, True, False)
    options = SolveOptions(shadow_prices=False)
    res = solve(p, options)
    worse = res.edge_selected.copy()
    worse[np.flatnonzero(worse)[0]] = False  # drop one placement: a better flow exists
    with pytest.raises(SolverError):
        flow_duals(p, options, worse)


def test_lexicographic_priority_is_not_certified():
    p = dataclasses.replace(_full(2, False, False), worker_unemployed=np.arange(14) % 2 == 0)
    options = SolveOptions(priority="lexicographic", shadow_prices=False)
    assert flow_duals(p, options, solve(p, options).edge_selected) is None


@pytest.mark.parametrize(("capacities", "dorm"), [(False, False), (True, False), (True, True)])
def test_tightened_potentials_flag_no_more_pairs_and_fewer_somewhere(monkeypatch, capacities, dorm):
    """Workers' potentials raised and the rest lowered as far as the residual arcs allow: every
    left-out pair's gain is at most what the plain potentials give it (so fewer are flagged), and
    on some problems strictly less."""
    from optimizer.prices import ResidualGraph

    options = SolveOptions(shadow_prices=False)
    lower = 0
    for seed in range(10):
        full = _full(seed, capacities, dorm)
        keep = np.random.default_rng(100 + seed).random(full.n_edges) < 0.3
        sub = _subset(full, keep)
        res = solve(sub, options)
        if res.solver != "ortools_min_cost_flow":
            continue
        out = np.flatnonzero(~keep)
        need = full.edge_needs_dorm[out] if full.edge_needs_dorm is not None else None
        args = (full.edge_worker[out], full.edge_job[out], full.edge_score[out], need)
        tight = flow_duals(sub, options, res.edge_selected)
        with monkeypatch.context() as m:
            m.setattr(ResidualGraph, "tightened", lambda self, pot, fixed: pot)
            plain = flow_duals(sub, options, res.edge_selected)
        assert tight is not None and plain is not None
        g_tight, g_plain = tight.gains(*args), plain.gains(*args)
        assert (g_tight <= g_plain).all(), seed
        lower += int((g_tight < g_plain).any())
    assert lower > 0
