"""CachedEncoder / EmbeddingCache: each distinct (kind, text) is encoded once, ever."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from embeddings.cache import CachedEncoder, EmbeddingCache, text_key
from embeddings.encoder import Encoder
from embeddings.errors import CacheError, EncoderInputError

from .conftest import FakeEncoder


def test_cached_encoder_is_an_encoder_with_the_inner_identity(fake_encoder, tmp_path):
    cached = CachedEncoder(fake_encoder, tmp_path)
    assert isinstance(cached, Encoder)
    assert (cached.model_id, cached.dim) == (fake_encoder.model_id, fake_encoder.dim)


def test_cached_vectors_equal_the_inner_encoders_in_input_order(fake_encoder, tmp_path):
    texts = ["保安员", "厨师", "保安员", "forklift driver"]
    got = CachedEncoder(fake_encoder, tmp_path).encode(texts, kind="query")
    want = FakeEncoder().encode(texts, kind="query")
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.float32 and got.shape == (4, fake_encoder.dim)


def test_identical_texts_are_encoded_once(fake_encoder, tmp_path):
    CachedEncoder(fake_encoder, tmp_path).encode(["a", "b", "a", "a", "b"])
    assert sorted(fake_encoder.seen) == ["a", "b"]


def test_rerun_encodes_only_new_texts_and_survives_a_restart(tmp_path):
    first = FakeEncoder()
    CachedEncoder(first, tmp_path).encode([f"job {i}" for i in range(100)])
    second = FakeEncoder()  # a new process: new encoder, same cache directory
    changed = [f"job {i}" for i in range(99)] + ["job 99 (changed)"]
    out = CachedEncoder(second, tmp_path).encode(changed)
    assert second.seen == ["job 99 (changed)"]
    np.testing.assert_array_equal(out, FakeEncoder().encode(changed))


def test_kind_is_part_of_the_key(fake_encoder, tmp_path):
    cached = CachedEncoder(fake_encoder, tmp_path)
    q = cached.encode(["护工"], kind="query")
    p = cached.encode(["护工"], kind="passage")
    assert len(fake_encoder.seen) == 2 and not np.allclose(q, p)
    assert text_key("query", "护工") != text_key("passage", "护工")


def test_models_do_not_share_vectors(tmp_path):
    a, b = FakeEncoder(model_id="a"), FakeEncoder(model_id="b")
    CachedEncoder(a, tmp_path).encode(["x"])
    CachedEncoder(b, tmp_path).encode(["x"])
    assert b.seen == ["x"]


def test_same_model_id_with_another_dimension_is_refused(tmp_path):
    CachedEncoder(FakeEncoder(dim=16), tmp_path).encode(["x"])
    with pytest.raises(CacheError):
        CachedEncoder(FakeEncoder(dim=8), tmp_path)


def test_empty_input_and_bad_arguments(fake_encoder, tmp_path):
    cached = CachedEncoder(fake_encoder, tmp_path)
    assert cached.encode([]).shape == (0, fake_encoder.dim)
    with pytest.raises(EncoderInputError):
        cached.encode(["x"], kind="document")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cached.encode("not a list")


def test_lookups_larger_than_one_sql_statement(tmp_path):
    cache = EmbeddingCache(tmp_path, "m", 4)
    keys = [text_key("passage", str(i)) for i in range(2500)]
    vecs = np.arange(2500 * 4, dtype=np.float32).reshape(2500, 4)
    cache.put_many(keys[::2], vecs[::2])
    found, out = cache.get_many(keys)
    assert found.sum() == 1250 and found[::2].all()
    np.testing.assert_array_equal(out[::2], vecs[::2])
    assert not out[1::2].any()
    assert len(cache) == 1250


def test_concurrent_threads_read_and_write_consistently(tmp_path):
    cached = CachedEncoder(FakeEncoder(), tmp_path)
    texts = [f"t{i}" for i in range(200)]
    want = FakeEncoder().encode(texts)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for _ in range(5):
                idx = [(offset + j) % 200 for j in range(0, 200, 3)]
                got = cached.encode([texts[i] for i in idx])
                np.testing.assert_array_equal(got, want[idx])
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    cached.close()
