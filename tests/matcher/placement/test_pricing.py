"""Pricing out: a certified placement equals the optimum over every rule-passing pair.

The reference enumerates every (worker, job) pair the hard rules allow, scores each with the
placement's own code and solves on all of them; the certified run must reach its objective
exactly while solving on a far smaller graph.
"""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any

import numpy as np
import pytest

from embeddings.encoder import MATCHING_KIND
from matcher.dataset import Dataset
from matcher.ingest import load_folder
from matcher.placement import pricing
from matcher.placement.options import PlaceOptions, RuleOptions
from matcher.placement.pipeline import build_problem, hold_back, objective_weights, run_placement
from matcher.placement.pricing import FLOOR_MARGIN, POOL_MAX, PairPricer, count_rule_passing, edge_keys
from matcher.placement.sweep import skills_factor, wish_caps
from matcher.sample.generate import generate_sample, write_sample
from matcher.scoring.candidates import Edges, TextSides, compute_factors, pair_cosines
from matcher.scoring.factors import SCORE_DECIMALS, wage_factor
from matcher.scoring.features import job_text, worker_occupation_text, worker_skill_text, worker_text
from optimizer import solve
from optimizer.duals import FlowDuals, flow_duals
from tests.fakes import FakeEncoder

YEAR = 2025


@pytest.fixture(scope="module")
def sample() -> Dataset:
    data = generate_sample(300, 60, seed=5, year=YEAR)
    with tempfile.TemporaryDirectory() as tmp:
        write_sample(data, tmp, truth=False)
        return load_folder(tmp)


def _uncapped(ds: Dataset) -> Dataset:
    ents = [e.model_copy(update={"capacity": None, "dorm_beds": None}) for e in ds.enterprises]
    return dataclasses.replace(ds, enterprises=ents)


def _vectors(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    enc = FakeEncoder()
    wv = enc.encode([worker_text(w) for w in ds.workers], kind=MATCHING_KIND)
    jv = enc.encode([job_text(j) for j in ds.jobs], kind=MATCHING_KIND)
    return wv, jv


def _sides(ds: Dataset) -> TextSides:
    return TextSides(
        [worker_occupation_text(w) for w in ds.workers],
        [worker_skill_text(w) for w in ds.workers],
        [j.title for j in ds.jobs],
        [j.description for j in ds.jobs],
    )


def all_pairs_edges(run: Any) -> Edges:
    """Every pair the hard rules allow, scored with the placement's code, held back as a run does."""
    ctx = run.context
    ew = np.repeat(np.arange(ctx.n_workers), ctx.n_jobs)
    ej = np.tile(np.arange(ctx.n_jobs), ctx.n_workers)
    ok = ctx.hard_rules(ew, ej)
    ew, ej = ew[ok].astype(np.int32), ej[ok].astype(np.int32)
    wv, jv = _vectors(run.dataset)
    cos = pair_cosines(wv, jv, ew, ej)
    f = compute_factors(ctx, ew, ej, cos, run.scoring, texts=_sides(run.dataset), occupations=run.occupations)
    score = np.round(f.scores(run.scoring.weights), SCORE_DECIMALS)
    _, edges, _ = hold_back(ctx, Edges(ew, ej, cos, f, score), run.options)
    return edges


def all_pairs_result(run: Any, **changes: Any) -> Any:
    edges = all_pairs_edges(run)
    problem, options = build_problem(
        run.dataset, run.context, edges, run.options, occupations=run.occupations
    )
    return solve(dataclasses.replace(problem, **changes), dataclasses.replace(options, shadow_prices=False))


def _options(**kw: Any) -> PlaceOptions:
    return PlaceOptions(year=YEAR, k=kw.pop("k", 3), **kw)


@pytest.mark.parametrize("mode", ["score", "count"])
@pytest.mark.parametrize("capacities", [True, False], ids=["capacity_dorm", "uncapped"])
def test_certified_objective_equals_all_pairs_optimum(sample, mode, capacities):
    ds = sample if capacities else _uncapped(sample)
    rules = RuleOptions(dorm_beds=capacities)
    run = run_placement(ds, _options(mode=mode, rules=rules), encoder=FakeEncoder())
    ref = all_pairs_result(run)
    cert = run.certificate
    assert cert is not None and cert.status == "optimal", cert.to_dict()
    assert run.result.objective == pytest.approx(ref.objective, abs=1e-9)
    assert run.n_placed == ref.n_placed
    assert len(run.edges) < len(all_pairs_edges(run))  # the graph solved stays smaller
    assert "optimal over all" in cert.line()


def test_top_k_cut_loses_objective_and_pricing_recovers_it(sample):
    plain = run_placement(sample, _options(k=1, certify=False), encoder=FakeEncoder())
    certified = run_placement(sample, _options(k=1), encoder=FakeEncoder())
    ref = all_pairs_result(certified)
    assert plain.result.objective < ref.objective - 1e-6  # the cut costs objective here
    assert plain.certificate is None
    assert certified.result.objective == pytest.approx(ref.objective, abs=1e-9)
    assert certified.certificate is not None
    assert certified.certificate.edges_added > 0 and certified.certificate.rounds >= 2


def test_few_violators_a_round_reach_the_same_optimum(sample, monkeypatch):
    """With at most 5 violators added a round (each worker's best first, one each at least),
    the first round adds fewer and pricing still ends at the optimum over all pairs."""
    full = run_placement(sample, _options(k=1), encoder=FakeEncoder())
    monkeypatch.setattr(pricing, "ADD_MAX", 5)
    few = run_placement(sample, _options(k=1), encoder=FakeEncoder())
    ref = all_pairs_result(few)
    assert few.certificate is not None and few.certificate.status == "optimal"
    assert full.certificate is not None and full.certificate.round_log[0]["violators"] > 5
    assert few.certificate.round_log[0]["violators"] < full.certificate.round_log[0]["violators"]
    assert few.result.objective == pytest.approx(ref.objective, abs=1e-9)
    assert few.n_placed == ref.n_placed


@pytest.mark.parametrize(
    ("floor_margin", "warm_start"), [(0.0, True), (FLOOR_MARGIN, True), (np.inf, True), (FLOOR_MARGIN, False)]
)
def test_any_floor_margin_and_start_certify_the_all_pairs_optimum(
    sample, floor_margin, warm_start, monkeypatch
):
    """Floors at the duals (margin 0), a margin below them, or none (every fitting pair kept); the
    pool built at the first round's duals or, warm, at the second's: the same certified optimum as
    solving on every rule-passing pair. Warm, the first round keeps no pool."""
    monkeypatch.setattr(pricing, "FLOOR_MARGIN", floor_margin)
    monkeypatch.setattr(pricing, "WARM_START", warm_start)
    run = run_placement(sample, _options(k=1), encoder=FakeEncoder())
    ref = all_pairs_result(run)
    cert = run.certificate
    assert cert is not None and cert.status == "optimal" and cert.rounds >= 2
    assert run.result.objective == pytest.approx(ref.objective, abs=1e-9)
    assert run.n_placed == ref.n_placed
    assert (cert.round_log[0]["pool"] is None) == warm_start
    assert cert.round_log[-1]["pool"] is not None


def test_the_caps_of_skills_and_wish_bound_every_pair(sample):
    """The skills factor's bound from the n-gram counts and the wish probability's from each side's
    code mass (:func:`wish_caps`) hold for every rule-passing pair, and the wish bonus kept in the
    pool as integers comes back as the very same floats."""
    run = run_placement(sample, _options(certify=False), encoder=FakeEncoder())
    pricer, ref = _pricer(run), all_pairs_edges(run)
    ew, ej = ref.worker.astype(np.int64), ref.job.astype(np.int64)
    skills = skills_factor(pricer.skills_, ew, ej)
    cap = pricer._skills_cap(ew, ej)
    assert (skills <= cap).all() and (cap < 1).any() and (skills > 0).any()
    row, col = wish_caps(run.occupations)
    wish = objective_weights(ref, 1.0, run.occupations) - ref.score
    bound = np.minimum(row[ew] * col[ej], 1.0)
    assert (wish <= bound + 1e-6).all() and (bound < 1).any() and (wish > 0).any()
    for bonus in (1.0, 0.37, 10.0):
        w = np.round(bonus * np.linspace(0.0, 1.0, 100_001), SCORE_DECIMALS)
        np.testing.assert_array_equal(pricing._from_micro(pricing._to_micro(w)), w)


def test_rule_passing_pairs_are_counted_exactly(sample):
    run = run_placement(sample, _options(certify=False), encoder=FakeEncoder())
    ctx = run.context
    eligible = ctx.worker_unemployed
    ew = np.repeat(np.arange(ctx.n_workers), ctx.n_jobs)
    ej = np.tile(np.arange(ctx.n_jobs), ctx.n_workers)
    ok = ctx.hard_rules(ew, ej) & eligible[ew]
    assert count_rule_passing(ctx, eligible) == int(ok.sum())
    n_ent = len(run.dataset.enterprises)
    first = int(np.flatnonzero(ok)[0])
    w0, e0 = int(ew[first]), int(ctx.job_enterprise[ej[first]])
    exclude = np.array([w0 * n_ent + e0], dtype=np.int64)  # one enterprise off for one worker
    off = ok & (ew == w0) & (ctx.job_enterprise[ej] == e0)
    assert off.any()
    assert count_rule_passing(ctx, eligible, exclude) == int(ok.sum()) - int(off.sum())


def test_district_target_reports_the_flow_certificate_and_gap(sample):
    run = run_placement(sample, _options(certify=False), encoder=FakeEncoder())
    codes = sorted({ds_code for ds_code in run.context.location_codes if ds_code.startswith("12")})
    district = next(
        c for c in codes if (run.context.job_location == run.context.location_codes.index(c)).any()
    )
    rules = RuleOptions(district_targets=((district, 10_000),), time_limit_s=30)
    run = run_placement(sample, _options(rules=rules), encoder=FakeEncoder())
    cert = run.certificate
    assert cert is not None and cert.status in ("optimal", "flow_bound")
    flow_ref = all_pairs_result(run, job_district=None, district_targets=None, district_paired_counties=None)
    assert cert.flow_objective == pytest.approx(flow_ref.objective, abs=1e-9)
    assert cert.gap == pytest.approx(max(0.0, flow_ref.objective - run.result.objective), abs=1e-6)


def _pricer(
    run: Any, pool_max: int = POOL_MAX, floor_margin: float = FLOOR_MARGIN, warm_start: bool = False
) -> PairPricer:
    wv, jv = _vectors(run.dataset)
    return PairPricer(
        run.context,
        wv,
        jv,
        _sides(run.dataset),
        run.occupations,
        run.scoring,
        eligible=run.context.worker_unemployed,
        min_fit=run.options.min_fit,
        pool_max=pool_max,
        floor_margin=floor_margin,
        warm_start=warm_start,
        wish_bonus=run.options.wish_bonus,
    )


def _weights(run: Any, edges: Edges, bonus: np.ndarray) -> np.ndarray:
    return objective_weights(edges, run.options.wish_bonus, run.occupations) + bonus[edges.worker]


@pytest.mark.parametrize("floor_margin", [np.inf, FLOOR_MARGIN, 0.0])
@pytest.mark.parametrize("table_max", [pricing._TABLE_MAX, 0], ids=["lexical_table", "lexical_per_pair"])
def test_the_sweep_keeps_every_fitting_pair_reaching_the_floors(sample, table_max, floor_margin, monkeypatch):
    """The pairs kept between rounds are the rule-passing pairs of eligible workers that reach the
    minimum fit and whose weight reaches the floors (all of them when the margin is infinite), each
    with the score and wish bonus the placement gives it (bounds prune, never drop), whether the
    lexical factor comes from the table of distinct texts or pair by pair."""
    monkeypatch.setattr(pricing, "_TABLE_MAX", table_max)
    run = run_placement(sample, _options(), encoder=FakeEncoder())
    problem, options = build_problem(sample, run.context, run.edges, run.options, occupations=run.occupations)
    duals = flow_duals(problem, options, run.result.edge_selected)
    pricer = _pricer(run, floor_margin=floor_margin)
    assert (pricer.lexical_table_ is None) == (table_max == 0)
    bonus = np.zeros(run.context.n_workers)
    pricer.violators(duals, edge_keys(run.edges, run.context.n_jobs), bonus)
    ref = all_pairs_edges(run)
    ref = ref.take(np.lexsort((ref.job, ref.worker)))
    need = pricer.floor_u_[ref.worker] + pricer.floor_v_[ref.job]
    weight = _weights(run, ref, bonus)
    assert pricer.pool_keys_ is not None and pricer.pool_keys_.size > 0
    if floor_margin == np.inf:
        np.testing.assert_array_equal(pricer.pool_keys_, edge_keys(ref, run.context.n_jobs))
    else:
        assert (weight < need - 1e-5).any()  # the floors prune here
    keys = edge_keys(ref, run.context.n_jobs)
    kept = np.isin(keys, pricer.pool_keys_)
    assert kept[weight >= need].all()  # every pair reaching the floors is kept
    assert not kept[weight < need - 1e-5].any()  # and none clearly below them
    np.testing.assert_array_equal(pricer.pool_scores_, ref.score[kept])
    wish = objective_weights(ref, run.options.wish_bonus, run.occupations) - ref.score
    assert run.options.wish_bonus > 0 and (wish[kept] > 0).any()
    np.testing.assert_allclose(pricing._from_micro(pricer.pool_wish_), wish[kept], rtol=0, atol=1e-9)


@pytest.mark.parametrize("table_max", [pricing._TABLE_MAX, 0], ids=["lexical_table", "lexical_per_pair"])
def test_the_block_bounds_hold_for_every_pair(sample, table_max, monkeypatch):
    """The block's matrices bound every rule-passing pair's exact score and wage factor from above
    (the sweep drops a cell on these bounds before listing it)."""
    monkeypatch.setattr(pricing, "_TABLE_MAX", table_max)
    run = run_placement(sample, _options(), encoder=FakeEncoder())
    pricer, ctx = _pricer(run), run.context
    ref = all_pairs_edges(run)
    for loc in np.unique(ctx.job_location[ref.job]):
        jobs = np.flatnonzero(ctx.job_location == loc)
        rows = np.flatnonzero(ctx.worker_allowed[:, loc])
        jpos = np.full(ctx.n_jobs, -1, np.int64)
        jpos[jobs] = np.arange(jobs.size)
        block = pricer._block_bound(rows, jobs, int(loc), jpos, pricer._lexical_columns(jobs))
        here = np.flatnonzero(ctx.job_location[ref.job] == loc)
        r, c = np.searchsorted(rows, ref.worker[here]), jpos[ref.job[here]]
        assert (block.bound[r, c] + 1e-6 >= ref.score[here]).all()
        wage = wage_factor(
            ctx.worker_min_wage[rows][:, None],
            ctx.job_wage_min[jobs][None, :],
            ctx.job_wage_max[jobs][None, :],
            run.scoring.wage_partial,
        )
        assert (pricer._wage_bound(rows, jobs) >= wage).all()


def _brute_violators(run: Any, duals: Any, present: np.ndarray, bonus: np.ndarray) -> np.ndarray:
    """Sorted keys of every rule-passing, fitting, missing pair that beats ``duals``, by listing all."""
    ref = all_pairs_edges(run)
    keys = ref.worker.astype(np.int64) * run.context.n_jobs + ref.job
    beats = duals.gains(ref.worker, ref.job, _weights(run, ref, bonus)) > 0
    return np.sort(keys[beats & ~np.isin(keys, present)])


def _lowered(duals: FlowDuals, workers: np.ndarray, jobs: np.ndarray, by: int) -> FlowDuals:
    """``duals`` with the values of ``workers`` and the prices of ``jobs`` lowered by ``by`` units."""
    wp = duals.worker_potential.copy()
    wp[workers] -= by
    jp, jdp = duals.job_potential.copy(), duals.job_dorm_potential.copy()
    jp[jobs] += by
    jdp[jobs] += by
    return FlowDuals(duals.scale, duals.offset, wp, jp, jdp, duals.mode)


@pytest.mark.parametrize(
    ("floor_margin", "warm_start"), [(FLOOR_MARGIN, False), (0.0, False), (FLOOR_MARGIN, True)]
)
def test_rounds_with_falling_duals_find_exactly_the_violators(sample, floor_margin, warm_start):
    """Round after round, with workers' values and jobs' prices falling far below the floors the
    pool was built at, the pool tested after sweeping those rows and columns again yields exactly
    the violators that listing every rule-passing pair finds: a prune that dropped a pair which
    later duals make a violator fails here. Moving a constant from every worker to every job
    changes no pair's test, and sweeps nothing again. With ``warm_start`` the first round sweeps
    at its duals and the pool is built at the second's."""
    ds = _uncapped(sample)
    opts = _options(rules=RuleOptions(dorm_beds=False), min_fit=0.1)
    run = run_placement(ds, opts, encoder=FakeEncoder())
    problem, options = build_problem(ds, run.context, run.edges, run.options, occupations=run.occupations)
    duals = flow_duals(problem, options, run.result.edge_selected)
    assert duals is not None
    pricer = _pricer(run, floor_margin=floor_margin, warm_start=warm_start)
    present = edge_keys(run.edges, run.context.n_jobs)
    bonus = np.zeros(run.context.n_workers)
    rng = np.random.default_rng(0)
    w_all, j_all = np.arange(run.context.n_workers), np.arange(run.context.n_jobs)
    unit = duals.scale
    high = _lowered(duals, w_all, j_all, by=-unit)  # every dual 1 higher: high floors, a small pool
    eligible = np.flatnonzero(run.context.worker_unemployed)
    some_w = rng.choice(eligible, size=eligible.size // 6, replace=False)
    some_j = rng.choice(j_all, size=j_all.size // 6, replace=False)
    rounds = [
        high,
        # a sixth of the workers, then of the jobs, far below: no constant saves both their sweeps
        _lowered(duals, some_w, [], by=2 * unit),
        _lowered(duals, some_w, some_j, by=2 * unit),
    ]
    for d in rounds:
        found, _ = pricer.violators(d, present, bonus)
        want = _brute_violators(run, d, present, bonus)
        np.testing.assert_array_equal(edge_keys(found, run.context.n_jobs), want)
    assert len(want) > 0
    assert pricer.rows_reswept_ > 0 or warm_start  # warm: the pool is built at the lowered rows
    assert pricer.cols_reswept_ > 0
    swept = (pricer.rows_reswept_, pricer.cols_reswept_)
    shifted = FlowDuals(
        d.scale,
        d.offset,
        d.worker_potential - unit,
        d.job_potential - unit,
        d.job_dorm_potential - unit,
        d.mode,
    )
    found, scored = pricer.violators(shifted, present, bonus)
    np.testing.assert_array_equal(edge_keys(found, run.context.n_jobs), want)
    assert (pricer.rows_reswept_, pricer.cols_reswept_) == swept and scored == 0
    assert not pricer.pool_overflow_


def test_a_pool_over_its_cap_shrinks_its_margin_and_stays_exact(sample):
    """More fitting pairs reach the floors than the pool may hold: the margin below the duals
    shrinks (the floors rise) until about half of ``pool_max`` do, instead of sweeping everything
    every round; the pool then holds every fitting pair reaching the raised floors, and round after
    round, with duals falling below them, the violators are exactly those listing all pairs finds."""
    ds = _uncapped(sample)
    run = run_placement(ds, _options(rules=RuleOptions(dorm_beds=False), min_fit=0.1), encoder=FakeEncoder())
    problem, options = build_problem(ds, run.context, run.edges, run.options, occupations=run.occupations)
    duals = flow_duals(problem, options, run.result.edge_selected)
    assert duals is not None
    present = edge_keys(run.edges, run.context.n_jobs)
    bonus = np.zeros(run.context.n_workers)
    full = _pricer(run, floor_margin=np.inf)
    full.violators(duals, present, bonus)
    assert full.pool_size is not None
    cap = full.pool_size // 4
    pricer = _pricer(run, pool_max=cap, floor_margin=np.inf)
    found, _ = pricer.violators(duals, present, bonus)
    np.testing.assert_array_equal(
        edge_keys(found, run.context.n_jobs), _brute_violators(run, duals, present, bonus)
    )
    assert not pricer.pool_overflow_ and pricer.pool_size is not None and 0 < pricer.pool_size <= cap
    assert 0 <= pricer.margin_ < np.inf
    ref = all_pairs_edges(run)
    ref = ref.take(np.lexsort((ref.job, ref.worker)))
    weight = _weights(run, ref, bonus)
    need = pricer.floor_u_[ref.worker] + pricer.floor_v_[ref.job]
    kept = np.isin(edge_keys(ref, run.context.n_jobs), pricer.pool_keys_)
    assert kept[weight >= need].all() and not kept[weight < need - 1e-5].any()
    rng = np.random.default_rng(1)
    eligible = np.flatnonzero(run.context.worker_unemployed)
    some_w = rng.choice(eligible, size=eligible.size // 6, replace=False)
    some_j = rng.choice(run.context.n_jobs, size=run.context.n_jobs // 6, replace=False)
    for d in (
        _lowered(duals, some_w, [], by=duals.scale // 2),
        _lowered(duals, some_w, some_j, by=duals.scale // 2),
    ):
        found, _ = pricer.violators(d, present, bonus)
        np.testing.assert_array_equal(
            edge_keys(found, run.context.n_jobs), _brute_violators(run, d, present, bonus)
        )
    assert len(found) > 0


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("pool_max", [POOL_MAX, 0], ids=["pool", "sweep_each_round"])
def test_the_check_fails_on_wrong_duals(sample, pool_max, warm_start):
    """The same search that certifies the optimum finds violators when the duals are too low,
    whether the fitting pairs are kept between rounds or swept again each round."""
    ds = _uncapped(sample)
    run = run_placement(ds, _options(rules=RuleOptions(dorm_beds=False)), encoder=FakeEncoder())
    problem, options = build_problem(ds, run.context, run.edges, run.options, occupations=run.occupations)
    duals = flow_duals(problem, options, run.result.edge_selected)
    assert duals is not None
    pricer = _pricer(run, pool_max, warm_start=warm_start)
    present = edge_keys(run.edges, run.context.n_jobs)
    bonus = np.zeros(run.context.n_workers)
    none, _ = pricer.violators(duals, present, bonus)
    assert len(none) == 0  # certified: nothing left to add
    low = FlowDuals(
        duals.scale,
        duals.offset,
        # every worker valued lower by more than any weight (a whole score plus the wish bonus)
        duals.worker_potential - duals.scale * (1 + int(np.ceil(run.options.wish_bonus))),
        duals.job_potential,
        duals.job_dorm_potential,
        duals.mode,
    )
    found, _ = pricer.violators(low, present, bonus)
    assert len(found) > 0
    assert not np.isin(edge_keys(found, run.context.n_jobs), present).any()
    assert (found.score >= run.options.min_fit).all()


def test_pricing_never_adds_an_excluded_pair(sample):
    run = run_placement(sample, _options(), encoder=FakeEncoder())
    a = run.result.assignment
    placed = np.flatnonzero(a >= 0)
    w = int(placed[0])
    worker = run.dataset.workers[w].worker_id
    ent = run.dataset.jobs[int(a[w])].enterprise_id
    again = run_placement(sample, _options(exclude=((worker, ent),)), encoder=FakeEncoder())
    assert again.certificate is not None and again.certificate.status == "optimal"
    ents = {e.enterprise_id: i for i, e in enumerate(again.dataset.enterprises)}
    w_edges = again.edges.job[again.edges.worker == w]
    assert not (again.context.job_enterprise[w_edges] == ents[ent]).any()
