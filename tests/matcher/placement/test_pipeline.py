"""The place pipeline end to end, with a fake encoder (fast) and the real solver and index."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

from matcher.dataset import Dataset
from matcher.errors import ConfigError
from matcher.placement.check import check_placement
from matcher.placement.files import write_run
from matcher.placement.options import (
    DEFAULT_MIN_FIT,
    DEFAULT_WISH_BONUS,
    EMPLOYED_KEPT,
    NO_FITTING_JOB,
    PlaceOptions,
    RuleOptions,
)
from matcher.placement.pipeline import hold_back, objective_weights, run_placement
from matcher.placement.summary import unplaced_reason_names
from matcher.records import EmploymentStatus
from matcher.scoring.occupations import in_wished, wish_probability
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR


def _run(ds, **kw):
    options = PlaceOptions(year=YEAR, k=kw.pop("k", 6), min_fit=kw.pop("min_fit", FAKE_MIN_FIT), **kw)
    return run_placement(ds, options, encoder=FakeEncoder())


def _pairs(run):
    a = run.result.assignment
    return [(run.dataset.workers[w].worker_id, run.dataset.jobs[a[w]].job_id) for w in np.flatnonzero(a >= 0)]


def lp_optimum(run) -> float:
    """Max total score over the candidate edges under openings and enterprise capacity, by HiGHS."""
    e = run.edges
    n_e = len(e)
    cols = np.arange(n_e)
    rows_w = csr_matrix((np.ones(n_e), (e.worker, cols)), shape=(run.context.n_workers, n_e))
    rows_j = csr_matrix((np.ones(n_e), (e.job, cols)), shape=(run.context.n_jobs, n_e))
    ent = run.context.job_enterprise[e.job]
    rows_e = csr_matrix((np.ones(n_e), (ent, cols)), shape=(len(run.dataset.enterprises), n_e))
    cap = run.context.enterprise_capacity.astype(float)
    cap = np.where(cap < 0, 1e9, cap)
    a = vstack([rows_w, rows_j, rows_e])
    b = np.r_[np.ones(run.context.n_workers), run.context.job_openings, cap]
    weights = objective_weights(e, run.options.wish_bonus, run.occupations)
    res = linprog(-weights, A_ub=a, b_ub=b, bounds=(0, 1), method="highs")
    assert res.status == 0
    return -res.fun


def test_place_is_feasible_and_optimal_over_candidates(small_ds):
    run = _run(small_ds)
    assert run.result.status == "OPTIMAL"
    assert run.n_placed > 0
    assert check_placement(small_ds, YEAR, _pairs(run)) == []
    assert run.result.objective == pytest.approx(lp_optimum(run), rel=1e-9, abs=1e-9)


def test_wish_bonus_weighs_edges_by_the_probability_the_job_is_wished_and_zero_solves_on_scores(small_ds):
    run = _run(small_ds)
    assert run.occupations is not None
    w = objective_weights(run.edges, run.options.wish_bonus, run.occupations)
    p = wish_probability(run.occupations, run.edges.worker, run.edges.job)
    assert (p > 0).any() and (p == 0).any()
    assert np.allclose(w - run.edges.score, DEFAULT_WISH_BONUS * p, atol=1e-6)
    # the most likely codes agreeing is what the run reports; the objective weighs the probability
    assert run.worker_codes is not None
    wished = in_wished(run.worker_codes, run.context.job_code, run.edges.worker, run.edges.job)
    assert (p[wished] > 0).all()
    plain = _run(small_ds, wish_bonus=0.0)
    assert plain.result.objective == pytest.approx(lp_optimum(plain), rel=1e-9, abs=1e-9)
    assert plain.result.objective == pytest.approx(
        sum(plain.edges.score[(plain.edges.worker == i) & (plain.edges.job == j)][0]
            for i, j in enumerate(plain.result.assignment) if j >= 0), abs=1e-5
    )  # fmt: skip


def test_no_worker_is_placed_elsewhere_while_a_likelier_wished_opening_stays_free(small_ds):
    run = _run(small_ds, rules=RuleOptions(dorm_beds=False))
    a = np.asarray(run.result.assignment)
    ctx, e = run.context, run.edges
    assert run.occupations is not None
    p = wish_probability(run.occupations, e.worker, e.job)
    weight = objective_weights(e, run.options.wish_bonus, run.occupations)
    placed_weight = np.zeros(ctx.n_workers)
    placed_p = np.zeros(ctx.n_workers)
    on = a[e.worker] == e.job
    placed_weight[e.worker[on]], placed_p[e.worker[on]] = weight[on], p[on]
    taken = np.bincount(a[a >= 0], minlength=ctx.n_jobs)
    per_ent = np.bincount(ctx.job_enterprise[a[a >= 0]], minlength=len(small_ds.enterprises))
    cap = ctx.enterprise_capacity
    room = (taken < ctx.job_openings) & (
        (cap[ctx.job_enterprise] < 0) | (per_ent[ctx.job_enterprise] < cap[ctx.job_enterprise])
    )
    # no placed worker has a candidate with a free opening that is likelier of a wished occupation
    # and weighs more than their placement: moving them there would raise the objective
    likelier = room[e.job] & (a[e.worker] >= 0) & (p > placed_p[e.worker])
    assert (p > 0).any()
    assert not (likelier & (weight > placed_weight[e.worker] + 1e-9)).any()


def test_every_candidate_passes_the_hard_rules(small_ds):
    run = _run(small_ds, k=50)
    for w, j in zip(run.edges.worker, run.edges.job, strict=True):
        pair = (small_ds.workers[w].worker_id, small_ds.jobs[j].job_id)
        assert check_placement(small_ds, YEAR, [pair]) == [], pair


def test_place_respects_openings_when_oversubscribed(small_ds):
    run = _run(small_ds, k=50)
    assert run.n_placed <= int(run.context.job_openings.sum())
    cap = {"e1": 4}
    placed_e1 = sum(1 for _, j in _pairs(run) if small_ds.job_by_id[j].enterprise_id == "e1")
    assert placed_e1 <= cap["e1"]


def test_place_is_deterministic(small_ds):
    a, b = _run(small_ds), _run(small_ds)
    assert np.array_equal(a.result.assignment, b.result.assignment)
    assert a.result.objective == b.result.objective


def test_encoder_never_sees_personal_data(small_ds):
    enc = FakeEncoder()
    run_placement(small_ds, PlaceOptions(year=YEAR, k=5), encoder=enc)
    seen = "\n".join(enc.seen)
    assert seen
    for w in small_ds.workers:
        assert w.name not in seen and w.id_number not in seen and w.phone not in seen


def test_write_run_files_agree_with_the_result(small_ds, tmp_path):
    run = _run(small_ds)
    summary = write_run(run, tmp_path)
    with (tmp_path / "assignments.csv").open(encoding="utf-8") as fh:
        assigned = list(csv.DictReader(fh))
    with (tmp_path / "unplaced.csv").open(encoding="utf-8") as fh:
        unplaced = list(csv.DictReader(fh))
    with (tmp_path / "candidates.csv").open(encoding="utf-8") as fh:
        cands = list(csv.DictReader(fh))
    assert len(assigned) == summary["n_placed"]
    assert len(assigned) + len(unplaced) == summary["n_workers"]
    assert len(cands) == summary["n_candidates"]
    # the objective: the placed scores plus the wish bonus times each placement's probability of
    # being in a wished occupation (their sum: the wishes' expected_in_wished)
    bonus = run.options.wish_bonus * summary["wishes"]["expected_in_wished"]
    assert 0 < summary["wishes"]["expected_in_wished"] <= summary["n_placed"]
    assert sum(float(r["score"]) for r in assigned) + bonus == pytest.approx(summary["objective"], abs=1e-4)
    on_disk = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    for key in (
        "status",
        "objective",
        "bound",
        "n_workers",
        "n_jobs",
        "n_openings",
        "n_placed",
        "k",
        "model",
    ):
        assert key in on_disk
    assert set(on_disk["seconds"]) >= {"features", "encode", "retrieve_score", "solve", "write"}
    assert all(r["reason"] for r in unplaced)


def _with_employed(ds, worker_ids):
    """``ds`` with these workers employed (已就业) and the rest as they were."""
    workers = [
        w.model_copy(update={"employment_status": EmploymentStatus.employed})
        if w.worker_id in worker_ids
        else w
        for w in ds.workers
    ]
    return Dataset(workers=workers, enterprises=ds.enterprises, jobs=ds.jobs, pairings=ds.pairings)


def _unplaced_csv(out):
    with (out / "unplaced.csv").open(encoding="utf-8") as fh:
        return {r["worker_id"]: r["reason"] for r in csv.DictReader(fh)}


def test_employed_workers_are_not_placed_by_default_and_are_listed_as_employed_kept(small_ds, tmp_path):
    base = _run(small_ds)
    placed = {w for w, _ in _pairs(base)}
    employed = set(sorted(placed)[:4])
    run = _run(_with_employed(small_ds, employed))
    assert not {w for w, _ in _pairs(run)} & employed
    assert not {run.dataset.workers[w].worker_id for w in run.edges.worker} & employed
    summary = write_run(run, tmp_path)
    reasons = _unplaced_csv(tmp_path)
    assert {w for w, r in reasons.items() if r == EMPLOYED_KEPT} == employed
    assert summary["unplaced_reasons"][EMPLOYED_KEPT] == len(employed)
    assert sum(summary["unplaced_reasons"].values()) == summary["n_workers"] - summary["n_placed"]
    assert json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["include_employed"] is False


def test_employed_workers_are_placed_with_include_employed(small_ds):
    base = _run(small_ds)
    employed = {w for w, _ in _pairs(base)}
    run = _run(_with_employed(small_ds, employed), include_employed=True)
    assert _pairs(run) == _pairs(base)
    assert run.options.params()["include_employed"] is True


def test_an_employed_worker_leaves_their_group_so_the_rest_can_still_go_together(small_ds):
    workers = [
        w.model_copy(update={"group_id": "g1"}) if w.worker_id in ("w000", "w003", "w006") else w
        for w in small_ds.workers
    ]
    ds = _with_employed(
        Dataset(
            workers=workers, enterprises=small_ds.enterprises, jobs=small_ds.jobs, pairings=small_ds.pairings
        ),
        {"w003"},
    )
    group = _run(ds, rules=RuleOptions(groups=True)).context.worker_group
    assert group[3] == -1 and group[0] == group[6] >= 0
    kept = _run(ds, rules=RuleOptions(groups=True), include_employed=True).context.worker_group
    assert kept[0] == kept[3] == kept[6] >= 0


def test_worker_whose_candidates_all_score_below_min_fit_is_unplaced_with_no_fitting_job(small_ds, tmp_path):
    base = _run(small_ds)
    best = np.full(base.context.n_workers, -1.0)
    np.maximum.at(best, base.edges.worker, base.edges.score)
    min_fit = float(np.median(best[best >= 0]))
    run = _run(small_ds, min_fit=min_fit)
    assert len(run.edges) and np.all(run.edges.score >= min_fit)
    summary = write_run(run, tmp_path)
    reasons = _unplaced_csv(tmp_path)
    unfit = {small_ds.workers[w].worker_id for w in np.flatnonzero((best >= 0) & (best < min_fit))}
    assert unfit and {w for w, r in reasons.items() if r == NO_FITTING_JOB} == unfit
    no_candidate = {small_ds.workers[w].worker_id for w in np.flatnonzero(best < 0)}
    assert {w for w, r in reasons.items() if r == "no_candidate"} == no_candidate
    assert summary["unplaced_reasons"][NO_FITTING_JOB] == len(unfit)
    assert summary["min_fit"] == min_fit
    with (tmp_path / "assignments.csv").open(encoding="utf-8") as fh:
        assert all(float(r["score"]) >= min_fit for r in csv.DictReader(fh))


def test_min_fit_zero_drops_no_candidate_edge(small_ds):
    run = _run(small_ds, min_fit=0.0)
    ctx, edges, held = hold_back(run.context, run.edges, PlaceOptions(year=YEAR, min_fit=0.0))
    assert np.array_equal(edges.worker, run.edges.worker) and np.array_equal(edges.job, run.edges.job)
    assert np.array_equal(ctx.worker_group, run.context.worker_group) and not held.any()
    assert run.edges.score.min() < DEFAULT_MIN_FIT  # the fake encoder's low scores all stay
    assert NO_FITTING_JOB not in set(unplaced_reason_names(run))


def test_default_min_fit_is_the_documented_constant():
    assert PlaceOptions(year=YEAR).min_fit == DEFAULT_MIN_FIT == 0.30
    assert PlaceOptions(year=YEAR).params()["min_fit"] == DEFAULT_MIN_FIT


@pytest.mark.parametrize("bad", [-0.01, 1.0, 1.5, float("nan")])
def test_min_fit_outside_zero_to_one_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="min fit"):
        PlaceOptions(year=YEAR, min_fit=bad)


def test_default_wish_bonus_is_the_documented_constant():
    assert PlaceOptions(year=YEAR).wish_bonus == DEFAULT_WISH_BONUS == 1.0
    assert PlaceOptions(year=YEAR).params()["wish_bonus"] == DEFAULT_WISH_BONUS


@pytest.mark.parametrize("bad", [-0.5, 10.5, float("nan")])
def test_wish_bonus_outside_its_range_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="wish bonus"):
        PlaceOptions(year=YEAR, wish_bonus=bad)
