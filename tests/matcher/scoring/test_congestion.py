"""Congestion penalty and the concentration measure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.dataset import Dataset
from matcher.geo import builtin_pairings
from matcher.recommend.recommender import Recommender
from matcher.records import Enterprise, Job, Worker
from matcher.scoring.congestion import (
    concentration,
    congestion_penalty,
    expected_applicants,
    oversubscription,
)
from matcher.scoring.factors import ScoreWeights, ScoringConfig
from tests.fakes import FakeEncoder
from tests.matcher.conftest import YEAR


def test_penalty_is_zero_until_applicants_exceed_openings_then_logarithmic():
    pen = congestion_penalty(np.array([0, 2, 3, 6, 5.0]), np.array([3, 3, 3, 3, 0]), 0.5)
    np.testing.assert_allclose(pen, [0, 0, 0, 0.5 * math.log(2), 0])


def test_expected_applicants_counts_lists():
    np.testing.assert_array_equal(expected_applicants(np.array([0, 2, 2, 2]), 4), [1, 0, 3, 0])


def test_concentration_share_of_slots_of_top_one_percent():
    even = np.arange(200)
    assert concentration(even, 200) == pytest.approx(2 / 200)
    skewed = np.r_[np.zeros(100, int), np.arange(100)]
    assert concentration(skewed, 200) == pytest.approx(102 / 200)
    assert concentration(np.array([], int), 10) == 0.0
    assert oversubscription(np.array([0, 0, 0, 1]), np.array([1, 1])) == pytest.approx(0.5)


def _crowd(n_workers: int) -> Dataset:
    """Identical workers; a slightly better job with one opening and a slightly worse one with many."""
    ent = [Enterprise(enterprise_id="e", name="河东物业", location_code="120102")]
    jobs = [
        Job(job_id="A", enterprise_id="e", title="保安员", openings=1, wage_min=6000, accommodation=True),
        Job(job_id="B", enterprise_id="e", title="保安员", openings=30, wage_min=5000, accommodation=True),
    ]
    workers = [
        Worker(
            worker_id=f"w{i}",
            gender="male",
            birth_year=1990,
            home_county_code="623024",
            desired_occupations="保安",
            mobility="anywhere",
            min_wage=5500,
        )
        for i in range(n_workers)
    ]
    return Dataset(workers=workers, enterprises=ent, jobs=jobs, pairings=builtin_pairings())


def test_congestion_moves_the_crowd_to_the_job_with_openings():
    ds = _crowd(20)
    ids = [w.worker_id for w in ds.workers]

    def first_choices(lam):
        cfg = ScoringConfig(weights=ScoreWeights(wage=0.3), congestion_lambda=lam, congestion_k=1)
        r = Recommender(cfg, year=YEAR, csco_path="").fit(ds, FakeEncoder())
        return [rec.items[0].job_id for rec in r.recommend(ids, k=1)], r

    plain, _ = first_choices(0.0)
    spread, r = first_choices(1.0)
    assert set(plain) == {"A"}
    assert set(spread) == {"B"}
    assert r.penalty_[r.job_pos_["A"]] > 0 and r.penalty_[r.job_pos_["B"]] == 0
    # the reported score is the un-penalised one
    assert r.recommend_one("w0", k=2).items[1].score > r.recommend_one("w0", k=2).items[0].score
