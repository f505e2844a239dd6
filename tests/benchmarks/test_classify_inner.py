"""The inner folds of the title-model variant study stay inside the classify benchmark's outer
fold 0 training part."""

import numpy as np

from benchmarks.classify_inner import OUTER_FOLDS, OUTER_SEED, inner_folds


def test_inner_folds_partition_the_outer_training_part_and_never_its_test_fold():
    n = 1768
    folds = inner_folds(n, 3, seed=777)
    perm = np.random.default_rng(OUTER_SEED).permutation(n)
    test = set(np.array_split(perm, OUTER_FOLDS)[0].tolist())
    pooled = np.concatenate(folds)
    assert len(folds) == 3 and len(pooled) == len(set(pooled.tolist())) == n - len(test)
    assert not test & set(pooled.tolist())
    assert max(map(len, folds)) - min(map(len, folds)) <= 1


def test_the_inner_split_is_seeded():
    a, b = inner_folds(500, seed=1), inner_folds(500, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], inner_folds(500, seed=2)[0])
