"""Character n-gram sets of short Chinese texts, and their overlap on many pairs at once.

Used for the ``lexical`` and ``skills`` factors: Chinese job titles and skills are short, and a
shared character bigram (保安, 焊工, 分拣) is strong evidence. Pairs are scored in chunks with
sparse matrices, so millions of edges cost seconds, not minutes.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse as sp

_NOISE = re.compile(r"[\s\d,.;:!?()（）【】\[\]、，。；：！？/+\-—~·\"'“”]+")
_CHUNK = 1_000_000


def ngrams(text: str, n_max: int = 2, n_min: int = 1) -> set[str]:
    """Character n-grams of ``text`` for n in n_min..n_max (bigrams do not cross punctuation)."""
    out: set[str] = set()
    for piece in _NOISE.split(text.lower()):
        if not piece:
            continue
        for n in range(n_min, n_max + 1):
            if n == 1:
                out.update(piece)
            elif n == 2:
                out.update(map(operator.add, piece, piece[1:]))
            else:
                out.update(piece[i : i + n] for i in range(len(piece) - n + 1))
    return out


class NgramSets:
    """Binary n-gram incidence matrices of two text collections over a shared vocabulary."""

    def __init__(self, n_min: int = 2, n_max: int = 2) -> None:
        self.n_min = n_min
        self.n_max = n_max

    def _grams(self, text: str) -> set[str]:
        return ngrams(text, self.n_max, self.n_min)

    def _grams_of(self, texts: Sequence[str]) -> Iterator[set[str]]:
        """``_grams`` of each text; a text seen before is not split again (wishes and titles repeat)."""
        seen: dict[str, set[str]] = {}
        for t in texts:
            grams = seen.get(t)
            if grams is None:
                grams = seen[t] = self._grams(t)
            yield grams

    def fit(self, left: Sequence[str], right: Sequence[str]) -> NgramSets:
        vocab: dict[str, int] = {}
        self.left_ = self._matrix(left, vocab)
        self.right_ = self._matrix(right, vocab)
        n = len(vocab)
        self.left_.resize((self.left_.shape[0], n))
        self.right_.resize((self.right_.shape[0], n))
        self.vocabulary_ = vocab
        self.left_size_ = np.asarray(self.left_.sum(axis=1)).ravel()
        self.right_size_ = np.asarray(self.right_.sum(axis=1)).ravel()
        return self

    def with_left(self, texts: Sequence[str]) -> NgramSets:
        """A copy whose left side is ``texts`` (e.g. a new profile), over the fitted vocabulary.

        N-grams outside the vocabulary cannot be shared with any right text, but they still count
        in the left set's size, so an overlap is the same as if ``texts`` had been fitted.
        """
        out = NgramSets(self.n_min, self.n_max)
        out.vocabulary_ = self.vocabulary_
        out.right_, out.right_size_ = self.right_, self.right_size_
        indptr, indices, sizes = [0], [], []
        vocab = self.vocabulary_
        seen: dict[str, tuple[int, list[int]]] = {}  # a text's size and vocabulary numbers
        for t in texts:
            known = seen.get(t)
            if known is None:
                grams = self._grams(t)
                known = seen[t] = (len(grams), sorted(vocab[g] for g in grams if g in vocab))
            sizes.append(known[0])
            indices.extend(known[1])
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        out.left_ = sp.csr_matrix((data, indices, indptr), shape=(len(texts), self.right_.shape[1]))
        out.left_size_ = np.asarray(sizes, dtype=np.float32)
        return out

    def _matrix(self, texts: Sequence[str], vocab: dict[str, int]) -> sp.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        for grams in self._grams_of(texts):
            for g in grams:
                indices.append(vocab.setdefault(g, len(vocab)))
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(texts), max(len(vocab), 1)))

    def overlap(self, li: np.ndarray, ri: np.ndarray, normalise: str = "min") -> np.ndarray:
        """Shared n-grams of pairs (li[e], ri[e]), divided by the smaller set (``min``), the
        right set (``right``) or the left set (``left``); in [0, 1]."""
        out = np.zeros(li.shape[0], dtype=np.float32)
        lsize, rsize = self.left_size_, self.right_size_
        for s in range(0, li.shape[0], _CHUNK):
            lc, rc = li[s : s + _CHUNK], ri[s : s + _CHUNK]
            shared = np.asarray(self.left_[lc].multiply(self.right_[rc]).sum(axis=1)).ravel()
            if normalise == "min":
                d = np.minimum(lsize[lc], rsize[rc])
            elif normalise == "right":
                d = rsize[rc]
            else:
                d = lsize[lc]
            out[s : s + _CHUNK] = np.where(d > 0, shared / np.maximum(d, 1), 0.0)
        return np.clip(out, 0.0, 1.0)
