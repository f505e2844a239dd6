"""VectorIndex: exact filtered search, batch == single, add/remove, persistence, approximate recall."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.index import VectorIndex

DIM = 16


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[list[int]]]:
    rng = np.random.default_rng(42)
    n = 600
    vectors = _unit(rng, n)
    ids = rng.permutation(10_000)[:n].astype(np.int64) + 1000  # arbitrary, non-contiguous ids
    partitions = rng.choice(np.array([120101, 120102, 120103, 623024, 623025, 623026]), size=n).astype(
        np.int32
    )
    queries = _unit(rng, 40)
    labels = sorted(set(partitions.tolist()))
    allowed = [list(rng.choice(labels, size=rng.integers(1, 4), replace=False)) for _ in range(40)]
    allowed[3] = None  # unrestricted query in the same batch
    allowed[4] = [999]  # label with no vectors
    return vectors, ids, partitions, queries, allowed


def _brute_force(vectors, ids, partitions, queries, k, allowed):
    scores = queries @ vectors.T
    out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_i = np.full((len(queries), k), -1, dtype=np.int64)
    for i, row in enumerate(scores):
        mask = np.ones(len(ids), bool) if allowed[i] is None else np.isin(partitions, allowed[i])
        cand = np.flatnonzero(mask)
        top = cand[np.argsort(-row[cand])[:k]]
        out_s[i, : len(top)], out_i[i, : len(top)] = row[top], ids[top]
    return out_s, out_i


@pytest.mark.parametrize("strategy", ["partition", "overfetch"])
def test_flat_filtered_search_equals_brute_force_masked_topk(data, strategy):
    vectors, ids, partitions, queries, allowed = data
    index = VectorIndex("flat", location_strategy=strategy).fit(vectors, ids, partitions)
    scores, got = index.search(queries, 25, allowed)
    want_s, want_i = _brute_force(vectors, ids, partitions, queries, 25, allowed)
    np.testing.assert_array_equal(got, want_i)
    np.testing.assert_allclose(scores, want_s, rtol=1e-5, atol=1e-5)
    assert scores.dtype == np.float32 and got.dtype == np.int64


def test_search_pads_with_minus_one_and_minus_inf_when_fewer_than_k_match(data):
    vectors, ids, partitions, queries, allowed = data
    index = VectorIndex("flat").fit(vectors, ids, partitions)
    n_in = int((partitions == 120101).sum())
    scores, got = index.search(queries[:2], n_in + 5, [[120101], [999]])
    assert (got[0, :n_in] >= 0).all() and (got[0, n_in:] == -1).all()
    assert np.isneginf(scores[0, n_in:]).all()
    assert (got[1] == -1).all() and np.isneginf(scores[1]).all()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
@pytest.mark.parametrize("strategy", ["partition", "overfetch"])
def test_search_one_returns_the_same_answer_as_batch(data, kind, strategy):
    vectors, ids, partitions, queries, allowed = data
    index = VectorIndex(kind, location_strategy=strategy, nprobe=4).fit(vectors, ids, partitions)
    batch_s, batch_i = index.search(queries, 10, allowed)
    for i in range(len(queries)):
        s, got = index.search_one(queries[i], 10, allowed[i])
        np.testing.assert_array_equal(got, batch_i[i])
        np.testing.assert_allclose(s, batch_s[i], rtol=1e-5)


def test_without_partitions_allowed_none_searches_everything(data):
    vectors, ids, _, queries, _ = data
    index = VectorIndex("flat").fit(vectors, ids)
    _, got = index.search(queries, 5)
    want = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :5]]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_removed_ids_never_come_back_and_added_ids_are_found(data, kind):
    vectors, ids, partitions, queries, allowed = data
    index = VectorIndex(kind, nprobe=64).fit(vectors[:500], ids[:500], partitions[:500])
    removed = ids[:200]
    assert index.remove(removed) == 200
    assert index.remove(removed) == 0  # already gone: ignored
    index.add(vectors[500:], ids[500:], partitions[500:])
    assert index.ntotal == 400
    _, got = index.search(queries, 10, allowed)
    assert not np.isin(got, removed).any()
    # a just-added vector is its own nearest neighbour
    _, got_self = index.search(vectors[500:510], 1, [[p] for p in partitions[500:510]])
    np.testing.assert_array_equal(got_self[:, 0], ids[500:510])


def test_flat_after_add_and_remove_still_equals_brute_force(data):
    vectors, ids, partitions, queries, allowed = data
    index = VectorIndex("flat").fit(vectors[:300], ids[:300], partitions[:300])
    index.add(vectors[300:], ids[300:], partitions[300:])
    index.remove(ids[100:150])
    keep = np.ones(len(ids), bool)
    keep[100:150] = False
    scores, got = index.search(queries, 12, allowed)
    want_s, want_i = _brute_force(vectors[keep], ids[keep], partitions[keep], queries, 12, allowed)
    np.testing.assert_array_equal(got, want_i)


def test_auto_switches_a_growing_partition_from_flat_to_ivf(data):
    vectors, ids, partitions, _, _ = data
    index = VectorIndex("auto", auto_threshold=100).fit(vectors[:50], ids[:50], np.zeros(50, np.int32))
    assert index.kinds_ == {0: "flat"}
    index.add(vectors[50:200], ids[50:200], np.zeros(150, np.int32))
    assert index.kinds_ == {0: "ivf"}
    _, got = index.search(vectors[:5], 1)
    np.testing.assert_array_equal(got[:, 0], ids[:5])


def test_add_rejects_an_id_already_present(data):
    vectors, ids, partitions, _, _ = data
    index = VectorIndex("flat").fit(vectors[:10], ids[:10])
    with pytest.raises(ValueError, match="already"):
        index.add(vectors[:1], ids[:1])


def test_bad_inputs_raise_value_error(data):
    vectors, ids, partitions, queries, _ = data
    with pytest.raises(ValueError, match="kind"):
        VectorIndex("bogus").fit(vectors, ids)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        VectorIndex().fit(vectors[:2], np.array([1, 1]))
    index = VectorIndex().fit(vectors, ids, partitions)
    with pytest.raises(ValueError, match="shape"):
        index.search(queries[:, :3], 5)
    with pytest.raises(ValueError, match="entries"):
        index.search(queries, 5, [[1]])
    with pytest.raises(RuntimeError, match="not fitted"):
        VectorIndex().search(queries, 5)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_then_load_gives_identical_results(tmp_path, data, kind):
    vectors, ids, partitions, queries, allowed = data
    index = VectorIndex(kind, nprobe=4).fit(vectors, ids, partitions)
    index.remove(ids[:20])
    path = tmp_path / "jobs.index"
    index.save(path)
    loaded = VectorIndex.load(path)
    assert loaded.get_params() == index.get_params()
    s1, i1 = index.search(queries, 10, allowed)
    s2, i2 = loaded.search(queries, 10, allowed)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2)
    loaded.add(vectors[:1], np.array([1]), partitions[:1])  # still usable incrementally
    assert loaded.ntotal == index.ntotal + 1


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_kinds_reach_high_recall_on_clustered_data(kind):
    rng = np.random.default_rng(0)
    centres = _unit(rng, 20, 32)
    labels = rng.integers(0, 20, 3000)
    x = centres[labels] + 0.3 * rng.standard_normal((3000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[:100] + 0.05 * rng.standard_normal((100, 32)).astype(np.float32)
    ids = np.arange(3000, dtype=np.int64)
    _, exact = VectorIndex("flat").fit(x, ids).search(q, 20)
    _, approx = VectorIndex(kind, nprobe=24).fit(x, ids).search(q, 20)
    recall = np.mean([len(set(a) & set(e)) / 20 for a, e in zip(approx, exact, strict=True)])
    assert recall > 0.9


def test_many_queries_with_few_distinct_allowed_sets_are_answered_per_group(data):
    vectors, ids, partitions, _, _ = data
    rng = np.random.default_rng(1)
    queries = _unit(rng, 2000)
    allowed = [[120101, 623024] if i % 2 else [120102] for i in range(2000)]
    index = VectorIndex("flat").fit(vectors, ids, partitions)
    _, got = index.search(queries, 3, allowed)
    part_of = dict(zip(ids.tolist(), partitions.tolist(), strict=True))
    for i in (0, 1, 1998, 1999):
        assert {part_of[j] for j in got[i]} <= set(allowed[i])


def test_partition_search_in_small_merge_chunks_is_still_exact(data, monkeypatch):
    import embeddings.index as index_module

    monkeypatch.setattr(index_module, "_MERGE_BUDGET", 50)  # forces chunks of one or two queries
    vectors, ids, partitions, queries, allowed = data
    index = VectorIndex("flat").fit(vectors, ids, partitions)
    _, got = index.search(queries, 7, allowed)
    _, want = _brute_force(vectors, ids, partitions, queries, 7, allowed)
    np.testing.assert_array_equal(got, want)
