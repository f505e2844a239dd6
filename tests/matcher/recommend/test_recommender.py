"""The recommender: hard rules, explained scores, batch = single, new profiles, the reverse lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matcher.errors import ConfigError, InputError, NotFoundError
from matcher.placement.check import check_placement
from matcher.recommend.recommender import Recommender
from matcher.records import Worker
from matcher.scoring.factors import FACTORS, ScoringConfig
from tests.fakes import FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset


def _fit(ds=None, config=None, placements=None):
    r = Recommender(config, year=YEAR, csco_path="")
    return r.fit(ds or small_dataset(), FakeEncoder(), placements=placements)


@pytest.fixture(scope="module")
def rec():
    return _fit()


@pytest.fixture(scope="module")
def rec_congested():
    return _fit(config=ScoringConfig(congestion_lambda=0.2))


def _as_tuples(r):
    return [(it.job_id, it.score, it.rank_score, it.factors, it.explanation_zh) for it in r.items]


@pytest.mark.parametrize("which", ["rec", "rec_congested"])
def test_batch_and_single_calls_give_the_same_answer(which, request):
    r = request.getfixturevalue(which)
    ids = [w.worker_id for w in r.dataset_.workers]
    batch = r.recommend(ids, k=5)
    for wid, b in zip(ids, batch, strict=True):
        assert _as_tuples(r.recommend_one(wid, k=5)) == _as_tuples(b)


def test_every_recommendation_passes_the_hard_rules(rec):
    ds = rec.dataset_
    for r in rec.recommend([w.worker_id for w in ds.workers], k=20):
        pairs = [(r.worker_id, it.job_id) for it in r.items]
        for pair in pairs:
            assert check_placement(ds, YEAR, [pair]) == [], pair


def test_contributions_add_up_to_a_score_in_unit_interval(rec):
    for r in rec.recommend([w.worker_id for w in rec.dataset_.workers], k=10):
        for it in r.items:
            assert set(it.factors) == set(FACTORS)
            assert 0.0 <= it.score <= 1.0
            assert sum(it.factors.values()) == pytest.approx(it.score, abs=1e-5)
            assert it.explanation_zh and it.explanation_en


def test_items_are_ordered_by_rank_score(rec_congested):
    for r in rec_congested.recommend([w.worker_id for w in rec_congested.dataset_.workers], k=10):
        ranks = [it.rank_score for it in r.items]
        assert ranks == sorted(ranks, reverse=True)


def test_a_new_profile_gets_the_same_answer_as_the_same_worker_fitted(rec):
    for w in rec.dataset_.workers[:12]:
        known = rec.recommend_one(w.worker_id, k=5)
        new = rec.recommend_one(w.model_copy(update={"worker_id": "new"}), k=5)
        assert [(i.job_id, round(i.score, 5)) for i in new.items] == [
            (i.job_id, round(i.score, 5)) for i in known.items
        ]


def test_placed_workers_and_filled_jobs_are_excluded():
    ds = small_dataset()
    full = ds.jobs[0]
    placements = {ds.workers[i].worker_id: full.job_id for i in range(full.openings)}
    r = _fit(ds, placements=placements)
    placed = ds.workers[0].worker_id
    assert r.recommend_one(placed).items == ()
    assert r.recommend_one(placed).excluded == "already placed"
    for rec in r.recommend([w.worker_id for w in ds.workers], k=50):
        assert full.job_id not in {it.job_id for it in rec.items}
    assert r.candidates_for_job(full.job_id).excluded == "no openings left"
    for job in ds.jobs[1:]:
        assert placed not in {it.worker_id for it in r.candidates_for_job(job.job_id, k=50).items}


def test_candidates_for_job_mirror_the_worker_side_scores(rec):
    ds = rec.dataset_
    job = ds.jobs[2]
    cands = rec.candidates_for_job(job.job_id, k=50)
    assert cands.items
    assert [it.score for it in cands.items] == sorted((it.score for it in cands.items), reverse=True)
    for it in cands.items:
        assert check_placement(ds, YEAR, [(it.worker_id, job.job_id)]) == []
        mine = rec.recommend_one(it.worker_id, k=len(ds.jobs))
        same = [x for x in mine.items if x.job_id == job.job_id]
        if same:
            assert same[0].score == pytest.approx(it.score, abs=1e-9)


def test_candidates_show_no_personal_data(rec):
    out = json.dumps(rec.candidates_for_job("j2", k=50).to_dict(), ensure_ascii=False)
    for w in rec.dataset_.workers:
        assert w.name not in out
    assert "13812345678" not in out and "620503199001011234" not in out
    assert '"name"' not in out and '"phone"' not in out and '"id_number"' not in out


def test_json_shape_of_a_recommendation(rec):
    d = rec.recommend_one("w001", k=3).to_dict()
    assert d["worker_id"] == "w001"
    assert set(d["items"][0]) == {"job_id", "score", "factors", "explanation_zh", "explanation_en"}


def test_unknown_ids_and_unknown_home_county_are_errors(rec):
    with pytest.raises(NotFoundError):
        rec.recommend_one("nobody")
    with pytest.raises(NotFoundError):
        rec.candidates_for_job("no-such-job")
    stranger = Worker(worker_id="x", gender="male", birth_year=1990, home_county_code="110101")
    with pytest.raises(InputError):
        rec.recommend_one(stranger)


def test_a_worker_without_a_good_match_gets_skill_gap_suggestions():
    r = _fit(config=ScoringConfig(good_match=1.0))
    rec = r.recommend_one("w003", k=3)
    assert rec.skill_gap
    assert all(s.training_zh and s.training_en and s.openings > 0 for s in rec.skill_gap)


def test_skill_gap_starts_from_the_skills_of_the_profile():
    r = _fit(config=ScoringConfig(good_match=1.0))
    w = r.dataset_.workers[r.worker_pos_["w005"]]
    for skills, first in [("快递分拣", "快递分拣员"), ("保洁", "保洁员"), ("快递分拣", "快递分拣员")]:
        profile = w.model_copy(update={"worker_id": "new", "skills": [skills], "experience": ""})
        assert r.recommend_one(profile, k=3).skill_gap[0].name == first, skills


def test_scoring_config_loads_from_json_and_toml(tmp_path):
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"weights": {"dense": 0.5}, "congestion_lambda": 0.1}), encoding="utf-8")
    assert ScoringConfig.from_file(j).weights.dense == 0.5
    t = tmp_path / "c.toml"
    t.write_text("[scoring]\ncongestion_k = 7\n[scoring.weights]\nwage = 0.3\n", encoding="utf-8")
    c = ScoringConfig.from_file(t)
    assert (c.congestion_k, c.weights.wage) == (7, 0.3)
    bad = tmp_path / "bad.json"
    bad.write_text('{"weights": {"dense": -1}}', encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.json"):
        ScoringConfig.from_file(bad)
    with pytest.raises(ConfigError):
        ScoringConfig.from_file(tmp_path / "missing.toml")


def test_candidate_edges_rescore_to_the_same_scores(rec):
    edges = rec.candidate_edges()
    np.testing.assert_allclose(edges.factors.scores(rec.config_.weights), edges.score)


# ---------------------------------------------------------------- lists made at fit, per-request cost
def _lists(recs):
    return [(r.worker_id, _as_tuples(r), r.skill_gap, r.excluded) for r in recs]


@pytest.mark.parametrize("lam", [0.0, 0.2])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_lists_made_at_fit_equal_lists_computed_per_request(lam, k):
    ds = small_dataset()
    cfg = ScoringConfig(congestion_lambda=lam, good_match=0.6)
    placements = {ds.workers[3].worker_id: ds.jobs[0].job_id}
    made = Recommender(cfg, year=YEAR, csco_path="", precompute_k=20).fit(
        ds, FakeEncoder(), placements=placements
    )
    live = Recommender(cfg, year=YEAR, csco_path="", precompute_k=0).fit(
        ds, FakeEncoder(), placements=placements
    )
    ids = [w.worker_id for w in ds.workers]
    expected = _lists(live.recommend(ids, k=k))
    assert _lists(made.recommend(ids, k=k)) == expected
    assert _lists([made.recommend_one(w, k=k) for w in ids]) == expected
    assert _lists([live.recommend_one(w, k=k) for w in ids]) == expected


def test_a_longer_list_than_made_at_fit_is_computed_and_starts_with_the_short_one():
    r = Recommender(year=YEAR, csco_path="", precompute_k=3).fit(small_dataset(), FakeEncoder())
    ids = [w.worker_id for w in r.dataset_.workers]
    long = r.recommend(ids, k=8)
    assert _lists(long) == _lists([r.recommend_one(w, k=8) for w in ids])
    for w, lr in zip(ids, long, strict=True):
        assert _as_tuples(r.recommend_one(w, k=3)) == _as_tuples(lr)[:3]


def test_a_repeated_request_is_served_from_the_cache_and_the_cache_is_bounded():
    r = Recommender(year=YEAR, csco_path="", cache_size=4).fit(small_dataset(), FakeEncoder())
    first = r.recommend_one("w001", k=5)
    again = r.recommend_one("w001", k=3)
    assert again.items == first.items[:3]
    assert all(a is b for a, b in zip(again.items, first.items, strict=False))  # not rebuilt
    for w in r.dataset_.workers:
        r.recommend_one(w.worker_id, k=2)
    assert len(r.items_cache_) <= 4


def test_lists_made_at_fit_are_flat_arrays():
    r = Recommender(year=YEAR, csco_path="", precompute_k=7).fit(small_dataset(), FakeEncoder())
    top = r.top_
    assert (top.k, top.job.dtype, top.score.dtype, top.values.dtype) == (7, np.int32, np.float64, np.float32)
    assert top.ptr.shape == (r.context_.n_workers + 1,)
    assert np.diff(top.ptr).max() <= 7
    assert top.nbytes < 100 * top.job.size


def test_skill_gap_is_computed_only_without_a_good_match(monkeypatch):
    r = _fit(config=ScoringConfig(good_match=0.0))

    def boom(*a, **kw):
        raise AssertionError("skill gap computed for a list with a good match")

    monkeypatch.setattr(r.openings_, "suggest", boom)
    for w in r.dataset_.workers:
        rec = r.recommend_one(w.worker_id, k=3)
        assert rec.skill_gap == () or not rec.items


def test_skill_gap_of_a_profile_equals_that_of_the_same_worker_fitted():
    r = _fit(config=ScoringConfig(good_match=1.0))
    for w in r.dataset_.workers[:10]:
        known = r.recommend_one(w.worker_id, k=3)
        new = r.recommend_one(w.model_copy(update={"worker_id": "new"}), k=3)
        assert new.skill_gap == known.skill_gap


def test_scores_do_not_depend_on_how_many_pairs_are_scored_together():
    r = _fit()
    edges = r.candidate_edges()
    one = r.candidate_edges([r.dataset_.workers[5].worker_id])
    mine = edges.worker == 5
    np.testing.assert_array_equal(edges.job[mine], one.job)
    np.testing.assert_array_equal(edges.score[mine], one.score)  # bit for bit
