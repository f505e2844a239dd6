import numpy as np
import pytest
from pydantic import ValidationError

from matcher.candidates import top_k_per_worker
from matcher.scoring import FACTORS, EdgeFactors, ScoreWeights, occupation_factor, wage_factor

nan = np.nan


def test_weights_normalise_and_contributions_add_up_to_score():
    w = ScoreWeights(
        dense=2, lexical=0, occupation=0, wage=1, pairing=1, employment_base=0, stay_fit=0, skills=0
    )
    assert w.vector().sum() == pytest.approx(1.0)
    values = np.random.default_rng(0).random((10, len(FACTORS))).astype(np.float32)
    f = EdgeFactors(values)
    np.testing.assert_allclose(f.contributions(w).sum(axis=1), f.scores(w), rtol=1e-6)
    assert np.all((f.scores(w) >= 0) & (f.scores(w) <= 1))


def test_all_zero_weights_are_rejected():
    with pytest.raises(ValidationError):
        ScoreWeights(**{f: 0 for f in FACTORS})


def test_occupation_factor_levels():
    worker = np.array([[4070501, -1], [4070502, -1], [4079901, -1], [6220000, -1], [-1, -1]])
    job = np.array([4070501] * 5)
    np.testing.assert_allclose(occupation_factor(worker, job), [1.0, 0.6, 0.3, 0.0, 0.0])


def test_wage_factor_full_partial_none_unknown():
    mw = np.array([4000, 4500, 6000, nan, 4000])
    lo = np.array([4000, 4000, 4000, 4000, nan])
    hi = np.array([5000, 5000, 5000, 5000, nan])
    np.testing.assert_allclose(wage_factor(mw, lo, hi), [1.0, 0.25, 0.0, 0.5, 0.5])


def test_top_k_per_worker_keeps_best_and_breaks_ties_by_edge_order():
    ew = np.array([0, 0, 0, 1, 1, 2])
    score = np.array([0.1, 0.9, 0.9, 0.5, 0.7, 0.2])
    sel = np.sort(top_k_per_worker(ew, score, 2))
    assert sel.tolist() == [1, 2, 3, 4, 5]
    assert np.sort(top_k_per_worker(ew, score, 1)).tolist() == [1, 4, 5]
