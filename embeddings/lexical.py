"""Lexical channel: character n-gram BM25 / TF-IDF over short Chinese texts, and dense+lexical fusion.

Job titles, occupation names and skills are a handful of characters long; sharing characters (保安,
厨师, 电工) is strong evidence the dense model can miss. Text is NFKC-normalised (full-width to
half-width) and lower-cased, then cut into runs at spaces and punctuation. A run of ASCII letters and
digits ("plc", "java", "cfo") is one token; other runs give their single characters and adjacent
character pairs (``ngram_range=(1, 2)``).

:class:`LexicalIndex` is an estimator (parameters in the constructor, fitted state ends in ``_``);
:func:`fuse` combines a dense and a lexical score matrix with one weight.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal, Self

import numpy as np
import scipy.sparse as sp

__all__ = ["LexicalIndex", "fuse", "normalize_text", "tokenize"]

_RUN = re.compile(r"[a-z0-9]+|[^\W\da-z_]+")


def normalize_text(text: str) -> str:
    """NFKC (full-width forms to ASCII, compatibility characters folded) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str, ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Tokens of ``text``: ASCII words whole, other runs as character n-grams in ``ngram_range``."""
    lo, hi = ngram_range
    out: list[str] = []
    for run in _RUN.findall(normalize_text(text)):
        if run.isascii():
            out.append(run)
            continue
        for n in range(lo, hi + 1):
            out.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return out


class LexicalIndex:
    """Sparse character n-gram index with BM25 (default) or TF-IDF cosine scoring.

    Parameters
    ----------
    ngram_range:
        Smallest and largest character n-gram taken from non-ASCII runs.
    scheme:
        ``"bm25"``: score = sum over query terms of ``idf * tf*(k1+1) / (tf + k1*(1-b+b*len/avglen))``.
        ``"tfidf"``: cosine of L2-normalised ``tf * idf`` vectors, ``idf = ln((1+N)/(1+df)) + 1``.
    k1, b:
        BM25 saturation and length normalisation.
    """

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 2),
        scheme: Literal["bm25", "tfidf"] = "bm25",
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        self.ngram_range = ngram_range
        self.scheme = scheme
        self.k1 = k1
        self.b = b

    def fit(self, docs: Sequence[str]) -> Self:
        """Build the vocabulary and the weighted document-term matrix ``doc_matrix_`` (csr)."""
        if self.scheme not in ("bm25", "tfidf"):
            raise ValueError(f"scheme must be bm25 or tfidf, got {self.scheme!r}")
        lo, hi = self.ngram_range
        if not 1 <= lo <= hi:
            raise ValueError(f"ngram_range must satisfy 1 <= lo <= hi, got {self.ngram_range}")
        token_lists = [tokenize(d, self.ngram_range) for d in _check_texts(docs, "docs")]
        vocab: dict[str, int] = {}
        for tokens in token_lists:
            for t in tokens:
                vocab.setdefault(t, len(vocab))
        self.vocabulary_ = vocab
        tf = self._counts(token_lists).astype(np.float64)
        n_docs = tf.shape[0]
        df = np.bincount(tf.indices, minlength=len(vocab)).astype(np.float64)
        if self.scheme == "bm25":
            self.idf_ = np.log1p((n_docs - df + 0.5) / (df + 0.5))
            lengths = np.asarray(tf.sum(axis=1)).ravel()
            avg = max(lengths.mean() if n_docs else 0.0, 1e-9)
            norm = self.k1 * (1 - self.b + self.b * lengths / avg)
            rows = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
            tf.data = self.idf_[tf.indices] * tf.data * (self.k1 + 1) / (tf.data + norm[rows])
        else:
            self.idf_ = np.log((1 + n_docs) / (1 + df)) + 1
            tf.data = tf.data * self.idf_[tf.indices]
            tf = _l2_rows(tf)
        self.doc_matrix_ = tf.tocsr().astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Query-side term vectors (csr, ``(n, vocabulary size)``); unknown n-grams are dropped."""
        self._check_fitted()
        counts = self._counts(tokenize(t, self.ngram_range) for t in _check_texts(texts, "texts"))
        if self.scheme == "tfidf":
            counts = counts.astype(np.float64)
            counts.data = counts.data * self.idf_[counts.indices]
            counts = _l2_rows(counts)
        return counts.astype(np.float32).tocsr()

    def score_matrix(self, queries: Sequence[str]) -> sp.csr_matrix:
        """Scores of every query against every document: sparse ``(n_queries, n_docs)``."""
        return (self.transform(queries) @ self.doc_matrix_.T).tocsr()

    def score(self, queries: Sequence[str], doc_indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Score of the pair ``(queries[i], doc doc_indices[i])`` for each ``i``: float32 ``(n,)``."""
        doc_indices = np.asarray(doc_indices, dtype=np.int64)
        if doc_indices.shape != (len(queries),):
            raise ValueError(f"doc_indices must have one entry per query ({len(queries)})")
        q = self.transform(queries)
        d = self.doc_matrix_[doc_indices]
        return np.asarray(q.multiply(d).sum(axis=1), dtype=np.float32).ravel()

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` documents per query: ``(scores float32 (n, k), doc indices int64 (n, k))``.

        Documents sharing no n-gram with the query are never returned; such places hold ``0``/``-1``.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        m = self.score_matrix(queries)
        n = m.shape[0]
        scores = np.zeros((n, k), dtype=np.float32)
        idx = np.full((n, k), -1, dtype=np.int64)
        for i in range(n):
            lo, hi = m.indptr[i], m.indptr[i + 1]
            data, cols = m.data[lo:hi], m.indices[lo:hi]
            keep = data > 0
            data, cols = data[keep], cols[keep]
            order = np.lexsort((cols, -data))[:k]  # best first, ties by lower document index
            scores[i, : len(order)], idx[i, : len(order)] = data[order], cols[order]
        return scores, idx

    def _counts(self, token_lists: Iterable[list[str]]) -> sp.csr_matrix:
        indptr: list[int] = [0]
        indices: list[int] = []
        data: list[int] = []
        vocab = self.vocabulary_
        for tokens in token_lists:
            c = Counter(vocab[t] for t in tokens if t in vocab)
            indices.extend(c.keys())
            data.extend(c.values())
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(indptr) - 1, len(vocab)),
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "doc_matrix_"):
            raise RuntimeError("LexicalIndex is not fitted; call fit() first")


def fuse(dense: np.ndarray, lexical: np.ndarray | sp.spmatrix, weight: float) -> np.ndarray:
    """Hybrid score ``(1 - weight) * dense + weight * lexical / max(lexical of that row)``.

    Both inputs score the same ``(n_queries, n_candidates)`` grid. Dense scores are cosines; lexical
    scores (BM25 has no fixed scale) are divided by each row's maximum so the best lexical match counts
    1 and a row without any lexical overlap adds 0. ``weight`` in ``[0, 1]``: 0 is dense only, 1 lexical
    only. Returns float32.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    if isinstance(lexical, np.ndarray) or not sp.issparse(lexical):
        lex = np.asarray(lexical)
    else:
        lex = lexical.toarray()
    dense = np.asarray(dense, dtype=np.float32)
    if lex.shape != dense.shape:
        raise ValueError(f"dense {dense.shape} and lexical {lex.shape} scores must have the same shape")
    top = lex.max(axis=1, keepdims=True) if lex.size else np.zeros((len(lex), 1))
    scaled = np.divide(lex, top, out=np.zeros_like(lex, dtype=np.float32), where=top > 0)
    return ((1.0 - weight) * dense + weight * scaled).astype(np.float32)


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    m = m.tocsr()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ m


def _check_texts(texts: Sequence[str], name: str) -> list[str]:
    if isinstance(texts, str):
        raise ValueError(f"{name} must be a sequence of strings, not a single string")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ValueError(f"{name}[{i}] is {type(t).__name__}, not str")
    return out
