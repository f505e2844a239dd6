"""Components of the candidate graph: solved apart, merged, the same optimum as solved whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.placement.decompose import components, solve_in_pieces, subproblem
from optimizer import PlacementProblem, SolveOptions, check_feasible, solve


def _blocks(rng: np.random.Generator, sizes: list[tuple[int, int]], enterprises: bool = True):
    """Disjoint blocks of workers and jobs (a job's edges stay in its block), sorted edges."""
    ew, ej, w0, j0, ent, k = [], [], 0, 0, [], 0
    for nw, nj in sizes:
        for w in range(nw):
            jobs = rng.choice(nj, size=min(nj, int(rng.integers(1, 4))), replace=False)
            ew += [w0 + w] * len(jobs)
            ej += (j0 + np.sort(jobs)).tolist()
        ent += [k + int(x) for x in rng.integers(0, 2, nj)]
        k += 2
        w0, j0 = w0 + nw, j0 + nj
    score = np.round(rng.random(len(ew)), 2)  # two decimals: many ties
    kw = {}
    if enterprises:
        kw = {"job_enterprise": np.array(ent), "enterprise_capacity": rng.integers(-1, 4, k)}
    return PlacementProblem(w0, j0, np.array(ew), np.array(ej), score, rng.integers(1, 3, j0), **kw)


def test_disjoint_blocks_are_separate_components_largest_first():
    p = _blocks(np.random.default_rng(0), [(3, 2), (8, 4), (5, 3)])
    comps = components(p)
    assert len(comps) >= 3
    assert [c.n_edges for c in comps] == sorted((c.n_edges for c in comps), reverse=True)
    assert sorted(np.concatenate([c.edges for c in comps]).tolist()) == list(range(p.n_edges))
    for c in comps:  # every edge's worker and job are in its component
        assert np.isin(p.edge_worker[c.edges], c.workers).all()
        assert np.isin(p.edge_job[c.edges], c.jobs).all()


def test_an_enterprise_joins_its_jobs_and_a_group_its_members():
    # two workers, two jobs of one enterprise, no shared edge: one component through the enterprise
    p = PlacementProblem(
        2, 2, [0, 1], [0, 1], [0.5, 0.5], [1, 1], job_enterprise=[0, 0], enterprise_capacity=[1]
    )
    assert len(components(p)) == 1
    p2 = PlacementProblem(2, 2, [0, 1], [0, 1], [0.5, 0.5], [1, 1], worker_group=[-1, -1])
    assert len(components(p2)) == 2
    p3 = PlacementProblem(2, 2, [0, 1], [0, 1], [0.5, 0.5], [1, 1], worker_group=[3, 3])
    assert len(components(p3)) == 1


def test_county_fairness_keeps_the_problem_whole():
    p = PlacementProblem(2, 2, [0, 1], [0, 1], [0.5, 0.5], [1, 1], worker_county=[0, 1], county_min_share=0.5)
    (whole,) = components(p)
    assert whole.n_edges == 2 and whole.workers.tolist() == [0, 1]


def test_a_target_district_without_edges_still_reports_its_shortfall():
    p = PlacementProblem(
        2,
        3,
        [0, 1],
        [0, 1],
        [0.5, 0.5],
        [1, 1, 1],
        worker_county=[5, 5],
        job_district=[-1, -1, 7],
        district_targets={7: 2},
        district_paired_counties={7: frozenset({9})},
    )
    merged = solve_in_pieces(p, SolveOptions())
    whole = solve(p, SolveOptions())
    assert [r.constraint for r in merged.relaxed] == [r.constraint for r in whole.relaxed]
    assert merged.relaxed[0].shortfall == 2


def test_subproblem_renumbers_and_keeps_order():
    p = _blocks(np.random.default_rng(1), [(4, 3), (4, 3)])
    for c in components(p):
        sub = subproblem(p, c).validate()
        assert sub.n_workers == c.workers.size and sub.n_edges == c.n_edges
        assert np.array_equal(c.workers[sub.edge_worker], p.edge_worker[c.edges])
        assert np.array_equal(c.jobs[sub.edge_job], p.edge_job[c.edges])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    sizes=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 6)), min_size=1, max_size=5),
    mode=st.sampled_from(["score", "count"]),
    priority=st.sampled_from(["none", "lexicographic", "weighted"]),
)
def test_pieces_reach_the_optimum_of_the_whole(seed, sizes, mode, priority):
    rng = np.random.default_rng(seed)
    p = _blocks(rng, sizes)
    p = PlacementProblem(**{**_fields(p), "worker_unemployed": rng.random(p.n_workers) < 0.6})
    options = SolveOptions(mode=mode, priority=priority, shadow_prices=True)
    merged = solve_in_pieces(p, options)
    whole = solve(p, options)
    assert check_feasible(p, merged.assignment) == []
    assert merged.objective == pytest.approx(whole.objective, abs=1e-9)
    assert merged.n_placed == whole.n_placed
    assert merged.status == "OPTIMAL"
    assert merged.bound >= merged.objective - 1e-9
    # the same pieces give the same answer every time (what makes engines agree)
    assert np.array_equal(solve_in_pieces(p, options).assignment, merged.assignment)


def _fields(p: PlacementProblem) -> dict:
    import dataclasses

    return {f.name: getattr(p, f.name) for f in dataclasses.fields(p) if f.init}
