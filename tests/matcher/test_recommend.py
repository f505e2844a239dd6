"""The recommender: hard rules, explained scores, batch = single, new profiles, the reverse lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matcher.check import check_placement
from matcher.errors import ConfigError, InputError, NotFoundError
from matcher.recommend import Recommender
from matcher.records import Worker
from matcher.scoring import FACTORS, ScoringConfig
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
