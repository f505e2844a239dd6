import numpy as np
import pytest
from pydantic import ValidationError

from matcher.scoring.candidates import top_k_per_worker
from matcher.scoring.factors import (
    FACTORS,
    EdgeFactors,
    ScoreWeights,
    ScoringConfig,
    fit_dense_range,
    wage_factor,
)
from matcher.scoring.occupations import TOP, Beliefs, OccupationSides, occupation_match

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


def _certain(codes: list[list[int]]) -> Beliefs:
    """Beliefs sure of one code per slot (-1: an empty slot)."""
    c = np.full((len(codes), len(codes[0]), TOP), -1, np.int64)
    p = np.zeros(c.shape, np.float32)
    for i, row in enumerate(codes):
        for s, code in enumerate(row):
            c[i, s, 0], p[i, s, 0] = code, float(code >= 0)
    return Beliefs(c, p)


def test_occupation_factor_levels_for_certain_codes():
    worker = _certain([[4070501, -1], [4070502, -1], [4079901, -1], [6220000, -1], [-1, -1]])
    job = _certain([[4070501]])
    e = np.arange(5)
    np.testing.assert_allclose(
        occupation_match(OccupationSides(worker, job), e, np.zeros(5, int)), [1.0, 0.6, 0.3, 0.0, 0.0]
    )


def test_occupation_factor_of_no_edges_is_empty():
    sides = OccupationSides(_certain([[4070501, -1]]), _certain([[4070501]]))
    got = occupation_match(sides, np.zeros(0, int), np.zeros(0, int))
    assert got.shape == (0,) and got.dtype == np.float32


def test_occupation_factor_is_the_overlap_of_uncertain_beliefs():
    # A wish split 0.64 / 0.36 between two codes of one 小类; a job sure of the first code.
    worker = Beliefs(np.array([[[4070501, 4070502, -1]]]), np.array([[[0.64, 0.36, 0.0]]], dtype=np.float32))
    job = _certain([[4070501], [4070502], [4070599], [6220000]])
    got = occupation_match(OccupationSides(worker, job), np.zeros(4, int), np.arange(4))
    # sqrt(0.64) = 0.8 exact; sqrt(0.36) = 0.6 exact; same 小类 for sure: 0.6 x 1; nothing shared: 0
    np.testing.assert_allclose(got, [0.8, 0.6, 0.6, 0.0], rtol=1e-6)


def test_dense_range_is_standardised_on_the_data_and_reproducible():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(50, 8)).astype(np.float32)
    j = rng.normal(size=(40, 8)).astype(np.float32)
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    j /= np.linalg.norm(j, axis=1, keepdims=True)
    a, b = fit_dense_range(ScoringConfig(), w, j), fit_dense_range(ScoringConfig(), w, j)
    assert a == b
    cos = (w @ j.T).ravel()
    assert abs(a.dense_lo - cos.mean()) < 0.01  # a seeded sample of pairs, rounded to 0.01
    assert abs(a.dense_hi - (cos.mean() + 3 * cos.std())) < 0.02
    assert fit_dense_range(ScoringConfig(dense_from_data=False), w, j) == ScoringConfig(dense_from_data=False)


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
