"""LexicalIndex (char n-gram BM25 / TF-IDF) and dense+lexical fusion."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.lexical import LexicalIndex, fuse, normalize_text, tokenize

DOCS = ["保安员", "中式烹调师", "餐厅服务员", "装卸搬运工", "焊工", "PLC工程师", "保洁员"]


def test_tokenize_keeps_ascii_words_whole_and_cuts_chinese_into_chars_and_pairs():
    assert tokenize("PLC工程师") == ["plc", "工", "程", "师", "工程", "程师"]
    assert tokenize("焊工（Ｊａｖａ）") == ["焊", "工", "焊工", "java"]  # full-width folded by NFKC
    assert normalize_text("ＡＢＣ１２３") == "abc123"


@pytest.mark.parametrize("scheme", ["bm25", "tfidf"])
def test_search_ranks_the_doc_sharing_the_title_first(scheme):
    lex = LexicalIndex(scheme=scheme).fit(DOCS)
    scores, idx = lex.search(["小区保安", "饭店服务员", "电焊工", "plc编程"], k=2)
    assert idx[:, 0].tolist() == [0, 2, 4, 5]
    assert (scores[:, 0] > 0).all() and scores.dtype == np.float32


def test_search_pads_when_fewer_docs_share_an_ngram():
    lex = LexicalIndex().fit(DOCS)
    scores, idx = lex.search(["焊", "zzz"], k=3)
    assert idx[0, 0] == 4 and (idx[0, 1:] == -1).all() and (scores[0, 1:] == 0).all()
    assert (idx[1] == -1).all()


def test_pair_scores_equal_the_matching_cells_of_the_full_matrix():
    lex = LexicalIndex().fit(DOCS)
    queries = ["保安", "服务员", "焊工师傅"]
    full = lex.score_matrix(queries).toarray()
    pairs = lex.score(queries, [0, 2, 4])
    np.testing.assert_allclose(pairs, full[[0, 1, 2], [0, 2, 4]], rtol=1e-6)


def test_search_agrees_with_the_score_matrix():
    lex = LexicalIndex().fit(DOCS)
    queries = ["保洁", "工程师", "烹调"]
    full = lex.score_matrix(queries).toarray()
    scores, idx = lex.search(queries, k=1)
    np.testing.assert_array_equal(idx[:, 0], full.argmax(axis=1))


def test_bm25_prefers_the_shorter_doc_for_the_same_overlap():
    lex = LexicalIndex().fit(["厨师", "厨师长兼任餐饮部门经理"])
    _, idx = lex.search(["厨师"], k=2)
    assert idx[0].tolist() == [0, 1]


def test_unfitted_and_bad_input_raise():
    with pytest.raises(RuntimeError):
        LexicalIndex().transform(["a"])
    with pytest.raises(ValueError):
        LexicalIndex(scheme="nope").fit(DOCS)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LexicalIndex().fit("保安员")
    with pytest.raises(ValueError):
        LexicalIndex().fit(DOCS).score(["保安"], [0, 1])


def test_fuse_is_the_documented_convex_combination():
    dense = np.array([[0.9, 0.8, 0.7], [0.5, 0.6, 0.4]], dtype=np.float32)
    lexical = np.array([[0.0, 4.0, 2.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    got = fuse(dense, lexical, 0.25)
    want = np.array([[0.675, 0.85, 0.65], [0.375, 0.45, 0.3]], dtype=np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(fuse(dense, lexical, 0.0), dense)
    with pytest.raises(ValueError):
        fuse(dense, lexical, 1.5)
    with pytest.raises(ValueError):
        fuse(dense, lexical[:, :2], 0.5)
