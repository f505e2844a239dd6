"""Placements and recommendations respect the worker's wished occupation (issue: match quality)."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.dataset import Dataset
from matcher.geo import builtin_pairings
from matcher.placement.options import PlaceOptions
from matcher.placement.pipeline import run_placement
from matcher.placement.summary import run_summary
from matcher.recommend.recommender import Recommender
from matcher.records import Enterprise, Job, Worker
from matcher.scoring.explain import factor_medians
from matcher.scoring.factors import ScoringConfig
from matcher.scoring.occupations import wish_probability
from tests.fakes import FAKE_MIN_FIT, FakeEncoder

YEAR = 2026


def _decoy_world(n_decoys: int = 12) -> Dataset:
    """One worker wishing 保安员; many postings whose text is close to the wish but are not guard
    jobs, and one guard job whose text shares nothing with it."""
    ent = Enterprise(enterprise_id="e1", name="河东物业", location_code="120102")
    jobs = [
        Job(
            job_id=f"d{i}",
            enterprise_id="e1",
            title=f"保安器材销售{i}",
            description="期望职业 保安 器材 门店 销售",
            occupation_code="4-01-02-01",
            openings=1,
        )
        for i in range(n_decoys)
    ]
    jobs.append(
        Job(
            job_id="guard",
            enterprise_id="e1",
            title="门岗值守",
            description="小区夜间巡查",
            occupation_code="4-07-05-01",
            openings=1,
        )
    )
    worker = Worker(
        worker_id="w0",
        name="测试",
        gender="male",
        birth_year=1990,
        home_county_code="623024",
        desired_occupations=["保安员"],
        mobility="anywhere",
    )
    return Dataset(workers=[worker], enterprises=[ent], jobs=jobs, pairings=builtin_pairings())


def test_a_wished_occupation_job_is_a_candidate_even_when_its_posting_text_is_far():
    run = run_placement(
        _decoy_world(), PlaceOptions(year=YEAR, k=2, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder()
    )
    jobs = {run.dataset.jobs[int(j)].job_id for j in run.edges.job}
    assert "guard" in jobs


def test_the_wished_occupation_wins_the_placement_over_closer_texts():
    run = run_placement(
        _decoy_world(), PlaceOptions(year=YEAR, k=5, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder()
    )
    assert run.dataset.jobs[int(run.result.assignment[0])].job_id == "guard"
    wishes = run_summary(run)["wishes"]
    assert {k: wishes[k] for k in ("placed_in_wished", "most_possible", "share_of_possible")} == {
        "placed_in_wished": 1,
        "most_possible": 1,
        "share_of_possible": 1.0,
    }
    assert 0.5 < wishes["expected_in_wished"] <= 1.0


def test_recommendations_put_the_wished_occupation_first():
    ds = _decoy_world()
    rec = Recommender(year=YEAR).fit(ds, FakeEncoder())
    top = rec.recommend_one("w0", k=3)
    assert top.items[0].job_id == "guard"
    assert "与期望职业一致" in top.items[0].explanation_zh
    assert all("与期望职业" not in i.explanation_zh for i in top.items[1:])


def test_a_fit_is_claimed_only_above_the_workers_median_candidate():
    from matcher.scoring.explain import explain

    ds = _decoy_world()
    worker, job, ent = ds.workers[0], ds.jobs[0], ds.enterprises[0]
    values = {"dense": 0.9, "lexical": 0.0, "occupation": 0.0}
    contributions = dict.fromkeys(values, 0.1)
    said, _ = explain(worker, job, ent, values, contributions, location_code="120102")
    assert "与求职意向和经历相似" in said
    same, _ = explain(worker, job, ent, values, contributions, location_code="120102", median={"dense": 0.9})
    assert "与求职意向和经历相似" not in same


def test_factor_medians_per_worker():
    worker = np.array([0, 0, 0, 2, 2])
    values = np.array([[1.0], [3.0], [2.0], [5.0], [7.0]])
    m = factor_medians(worker, values, 3)
    np.testing.assert_allclose(m[[0, 2], 0], [2.0, 6.0])
    assert np.isnan(m[1, 0])


def test_a_sure_match_is_said_even_when_every_candidate_shares_it():
    from matcher.scoring.explain import explain

    ds = _decoy_world()
    worker, job, ent = ds.workers[0], ds.jobs[-1], ds.enterprises[0]
    values = {"dense": 0.2, "lexical": 0.0, "occupation": 1.0}
    said, _ = explain(
        worker,
        job,
        ent,
        values,
        dict.fromkeys(values, 0.1),
        location_code="120102",
        median={"occupation": 1.0},
    )
    assert "与期望职业一致" in said


def test_a_configured_dense_range_is_kept():
    from matcher.scoring.factors import ScoringConfig, fit_dense_range

    rng = np.random.default_rng(0)
    v = rng.normal(size=(30, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    configured = ScoringConfig(dense_lo=0.6, dense_hi=0.9)
    assert fit_dense_range(configured, v, v) == configured
    assert fit_dense_range(ScoringConfig(), v, v).dense_lo != ScoringConfig().dense_lo


def test_the_most_possible_counts_each_worker_once_across_their_wishes():
    # Two workers both wish the same two occupations, each with one opening: both can be placed in
    # a wish, so the ceiling is 2 (counting each worker under their first wish only gave 1).
    ent = Enterprise(enterprise_id="e1", name="河东物业", location_code="120102")
    jobs = [
        Job(job_id="guard", enterprise_id="e1", title="门岗值守", occupation_code="4-07-05-01", openings=1),
        Job(job_id="clean", enterprise_id="e1", title="写字楼保洁", occupation_code="4-09-08-01", openings=1),
    ]
    w0 = Worker(
        worker_id="w0",
        name="测试",
        gender="male",
        birth_year=1990,
        home_county_code="623024",
        desired_occupations=["保安员", "保洁员"],
        mobility="anywhere",
    )
    w1 = w0.model_copy(update={"worker_id": "w1"})
    ds = Dataset(workers=[w0, w1], enterprises=[ent], jobs=jobs, pairings=builtin_pairings())
    run = run_placement(ds, PlaceOptions(year=YEAR, k=5, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder())
    wishes = run_summary(run)["wishes"]
    assert (wishes["placed_in_wished"], wishes["most_possible"], wishes["share_of_possible"]) == (2, 2, 1.0)


def test_recommendations_rank_by_score_plus_the_wish_priority_times_the_chance_the_job_is_wished():
    ds = _decoy_world()
    rec = Recommender(year=YEAR).fit(ds, FakeEncoder())
    items = rec.recommend_one("w0", k=5).items
    jobs = np.array([rec.job_pos_[i.job_id] for i in items])
    p = wish_probability(rec.occupations_, np.zeros(jobs.size, np.int64), jobs)
    assert items[0].job_id == "guard" and p[0] > 0.5 and (p[1:] < p[0]).all()
    np.testing.assert_allclose([i.rank_score - i.score for i in items], p, atol=1e-6)
    ranks = [i.rank_score for i in items]
    assert ranks == sorted(ranks, reverse=True)
    # a new profile (computed per request, not precomputed at fit) is ranked the same way
    profile = ds.workers[0].model_copy(update={"worker_id": "new"})
    again = rec.recommend_one(profile, k=5).items
    assert [(i.job_id, i.rank_score) for i in again] == [(i.job_id, i.rank_score) for i in items]
    # a job's candidates too; and 0 ranks by score alone
    guard = rec.candidates_for_job("guard", k=1).items[0]
    assert guard.rank_score == pytest.approx(guard.score + p[0], abs=1e-6)
    plain = Recommender(ScoringConfig(wish_priority=0.0), year=YEAR).fit(ds, FakeEncoder())
    assert all(i.rank_score == i.score for i in plain.recommend_one("w0", k=5).items)
