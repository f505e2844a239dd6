"""Shared n-grams counted by look-up give exactly the sparse-product overlaps."""

from __future__ import annotations

import numpy as np
import pytest

import matcher.scoring.overlap as overlap_mod
from matcher.scoring.features import worker_occupation_text, worker_skill_text
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.overlap import PairOverlap
from tests.matcher.conftest import small_dataset


def _sets(n_min, n_max):
    ds = small_dataset(60)
    left = [worker_skill_text(w) if n_min == 2 else worker_occupation_text(w) for w in ds.workers]
    right = [f"{j.title} {j.description}" for j in ds.jobs]
    return ds, left, NgramSets(n_min, n_max).fit(left, right)


@pytest.mark.parametrize("few", [0, 10**9], ids=["sparse-path", "table-path"])
@pytest.mark.parametrize("grams", [(1, 2), (2, 2)])
@pytest.mark.parametrize("normalise", ["min", "right", "left"])
def test_overlap_equals_the_sparse_product_bit_for_bit(monkeypatch, few, grams, normalise):
    monkeypatch.setattr(overlap_mod, "_FEW", few)
    ds, _, sets = _sets(*grams)
    rng = np.random.default_rng(0)
    li = rng.integers(0, len(ds.workers), 3000)
    ri = rng.integers(0, len(ds.jobs), 3000)
    got = PairOverlap.from_ngrams(sets).overlap(li, ri, normalise)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, sets.overlap(li, ri, normalise))
    assert (got > 0).any()


@pytest.mark.parametrize("few", [0, 10**9], ids=["sparse-path", "table-path"])
def test_a_new_profile_overlaps_as_if_it_had_been_fitted(monkeypatch, few):
    monkeypatch.setattr(overlap_mod, "_FEW", few)
    ds, left, sets = _sets(2, 2)
    texts = [left[3], "完全没见过的文字 保安 巡逻", ""]
    li = np.repeat(np.arange(3), len(ds.jobs))
    ri = np.tile(np.arange(len(ds.jobs)), 3)
    got = PairOverlap.from_ngrams(sets).with_left(texts).overlap(li, ri, "min")
    np.testing.assert_array_equal(got, sets.with_left(texts).overlap(li, ri, "min"))


def test_no_pairs_give_no_overlap():
    _, _, sets = _sets(1, 2)
    empty = np.zeros(0, np.int64)
    assert PairOverlap.from_ngrams(sets).overlap(empty, empty).shape == (0,)
