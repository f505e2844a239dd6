"""matcher.tuning.outcomes: labels from follow-ups, the ranking objective, and a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import InputError
from matcher.scoring.factors import FACTORS
from matcher.tuning.outcomes import (
    OutcomeKey,
    _factors_of,
    labelled_placements,
    outcome_label,
    split_labelled,
    tune_from_outcomes,
)

WAGE = FACTORS.index("wage")


def _o(**kw):
    return {"started": True, "left_after_days": None, "employed_3m": None, "employed_6m": None, **kw}


@pytest.mark.parametrize(
    ("outcome", "months", "label"),
    [
        (_o(started=False), None, False),
        (_o(employed_3m=True, employed_6m=False, left_after_days=120), None, False),
        (_o(employed_3m=True), None, True),
        (_o(employed_3m=True, employed_6m=False, left_after_days=120), 3, True),
        (_o(employed_3m=True), 6, None),
        (_o(employed_6m=True), 3, True),
        (_o(left_after_days=40), None, False),
        (_o(left_after_days=400), None, None),
        (_o(left_after_days=400), 6, True),
        (_o(employed_3m=False), 6, False),
        (_o(), None, None),
    ],
)
def test_outcome_label_at_the_follow_up_horizon_or_n_months(outcome, months, label):
    assert outcome_label(outcome, months) is label


def test_a_pair_followed_up_twice_counts_once_with_the_newest_follow_up():
    rows = [
        {"run_id": "r1", "worker_id": "w", "job_id": "j", "recorded_at": "2025-01", **_o(employed_3m=False)},
        {"run_id": "r2", "worker_id": "w", "job_id": "j", "recorded_at": "2025-06", **_o(employed_3m=True)},
        {"run_id": "r2", "worker_id": "v", "job_id": "j", "recorded_at": "2025-06", **_o()},
    ]
    assert labelled_placements(rows) == [{"run_id": "r2", "worker_id": "w", "job_id": "j", "retained": True}]


def _wage_answer(rec, seed=0):
    """Each worker placed at a random candidate; retained exactly when its wage factor is 1."""
    edges = rec.candidate_edges()
    rng = np.random.default_rng(seed)
    out = []
    for w in np.unique(edges.worker):
        es = np.flatnonzero(edges.worker == w)
        e = int(rng.choice(es))
        out.append(
            {
                "run_id": "r",
                "worker_id": rec.dataset_.workers[int(w)].worker_id,
                "job_id": rec.dataset_.jobs[int(edges.job[e])].job_id,
                "retained": bool(edges.factors.values[e, WAGE] >= 0.999),
            }
        )
    return out


def test_tuning_raises_wage_when_retained_placements_are_the_high_wage_ones(fitted):
    rec, _ = fitted
    labelled = _wage_answer(rec)
    kinds = {p["retained"] for p in labelled}
    assert kinds == {True, False} and len(labelled) >= 30
    res = tune_from_outcomes(rec, labelled, n_random=30, n_rounds=2, seed=0)
    held = res.report["held_out"]
    assert not res.kept_base
    assert held["tuned"]["objective"] > held["base"]["objective"]
    assert res.config.weights.vector()[WAGE] > rec.config_.weights.vector()[WAGE] + 0.1
    assert held["tuned"]["auc"] > held["base"]["auc"]


def test_recomputed_factors_of_a_pair_equal_its_candidate_factors(fitted):
    rec, _ = fitted
    edges = rec.candidate_edges()
    pick = np.arange(0, len(edges), max(1, len(edges) // 50))
    got = _factors_of(rec, edges.worker[pick].astype(np.int64), edges.job[pick].astype(np.int64))
    np.testing.assert_allclose(got, edges.factors.values[pick], atol=1e-6)


def test_split_is_by_worker_seeded_and_keeps_both_kinds_on_each_side(fitted):
    rec, _ = fitted
    key, skipped = OutcomeKey.build(rec, _wage_answer(rec))
    assert skipped == {"worker_not_in_data": 0, "job_not_in_data": 0}
    train, test = split_labelled(key, 0.5, seed=3)
    again = split_labelled(key, 0.5, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not set(key.worker[train]) & set(key.worker[test])
    for side in (train, test):
        assert key.retained[side].any() and (~key.retained[side]).any()


def test_reciprocal_rank_is_among_the_workers_other_candidates():
    key = OutcomeKey(
        worker=np.array([0, 1]),
        retained=np.array([True, False]),
        placed=np.array([[1.0, 0.0], [0.0, 1.0]]),
        owner=np.array([0, 1, 1]),
        others=np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]),
    )
    m = key.metrics(np.array([1.0, 0.0]), np.arange(2))
    assert m["mrr_retained"] == 1.0 and m["auc"] == 1.0
    assert m["mrr_left"] == pytest.approx(1 / 3)  # below both other candidates
    assert m["objective"] == pytest.approx(0.5 * (1 - 1 / 3) + 0.5)


def test_too_few_outcomes_name_what_is_missing(fitted):
    rec, _ = fitted
    only_retained = [dict(p, retained=True) for p in _wage_answer(rec)]
    with pytest.raises(InputError, match="ended early"):
        tune_from_outcomes(rec, only_retained, n_random=1, n_rounds=0)
    with pytest.raises(InputError, match="at least 30"):
        tune_from_outcomes(rec, _wage_answer(rec)[:10], n_random=1, n_rounds=0)
    unknown = [dict(p, worker_id=f"nobody{i}") for i, p in enumerate(_wage_answer(rec))]
    with pytest.raises(InputError, match="worker not in data"):
        tune_from_outcomes(rec, unknown, n_random=1, n_rounds=0)
