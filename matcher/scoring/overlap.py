"""Shared n-gram counts of (worker, job) pairs, by key look-up instead of sparse products.

:class:`PairOverlap` answers :meth:`matcher.scoring.ngrams.NgramSets.overlap` with the same numbers (the same
integer counts, divided in float32 as there) and is passed to
:func:`matcher.scoring.candidates.compute_factors` in its place. It keeps the job side of a fitted
:class:`~matcher.scoring.ngrams.NgramSets` as CSR arrays and the worker side as one sorted array of keys
``row * vocabulary + gram``; a pair's count is the number of the job's grams whose key (with the
pair's worker row) is among them. A new profile only needs its own gram set (a few dozen keys): no
sparse matrix is built or sliced per request, which costs more in scipy overhead than the counting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from matcher.scoring.ngrams import NgramSets, ngrams

_FEW = 4096  # pairs up to which grams are looked up in a table; more go through sparse products
_CHUNK = 1_000_000  # pairs multiplied at once in the sparse path


class PairOverlap:
    """The overlap of a fitted :class:`NgramSets` (workers left, jobs right), counted by look-up."""

    def __init__(
        self,
        *,
        n_min: int,
        n_max: int,
        vocabulary: dict[str, int],
        left_indptr: np.ndarray,
        left_indices: np.ndarray,
        left_size: np.ndarray,
        right_indptr: np.ndarray,
        right_indices: np.ndarray,
        right_size: np.ndarray,
    ) -> None:
        self.n_min, self.n_max = n_min, n_max
        self.vocabulary = vocabulary
        self.n_vocab = max(len(vocabulary), 1)
        self.left_indptr, self.left_indices, self.left_size = left_indptr, left_indices, left_size
        self.right_indptr, self.right_indices, self.right_size = right_indptr, right_indices, right_size

    @classmethod
    def from_ngrams(cls, sets: NgramSets) -> PairOverlap:
        """The same sets as ``sets`` (fitted), in look-up form."""
        left, right = sets.left_.tocsr(), sets.right_.tocsr()
        return cls(
            n_min=sets.n_min,
            n_max=sets.n_max,
            vocabulary=sets.vocabulary_,
            left_indptr=left.indptr.astype(np.int64),
            left_indices=left.indices.astype(np.int64),
            left_size=np.asarray(sets.left_size_, dtype=np.float32),
            right_indptr=right.indptr.astype(np.int64),
            right_indices=right.indices.astype(np.int64),
            right_size=np.asarray(sets.right_size_, dtype=np.float32),
        )

    def with_left(self, texts: Sequence[str]) -> PairOverlap:
        """A copy whose left side is ``texts`` (new profiles), as :meth:`NgramSets.with_left`.

        Grams outside the vocabulary are shared with no job, but count in the left set's size.
        """
        indptr: list[int] = [0]
        indices: list[int] = []
        sizes: list[int] = []
        vocab = self.vocabulary
        for text in texts:
            grams = {g for g in ngrams(text, self.n_max) if len(g) >= self.n_min}
            sizes.append(len(grams))
            indices.extend(vocab[g] for g in grams if g in vocab)
            indptr.append(len(indices))
        return PairOverlap(
            n_min=self.n_min,
            n_max=self.n_max,
            vocabulary=vocab,
            left_indptr=np.asarray(indptr, dtype=np.int64),
            left_indices=np.asarray(indices, dtype=np.int64),
            left_size=np.asarray(sizes, dtype=np.float32),
            right_indptr=self.right_indptr,
            right_indices=self.right_indices,
            right_size=self.right_size,
        )

    def shared(self, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        """Number of shared grams of each pair (li[e], ri[e]), float32."""
        li = np.asarray(li, dtype=np.int64)
        ri = np.asarray(ri, dtype=np.int64)
        if li.size > _FEW:
            return self._shared_sparse(li, ri)
        starts = self.right_indptr[ri]
        lens = self.right_indptr[ri + 1] - starts
        # The job grams of every pair, flat: pair p owns right_indices[starts[p] : starts[p] + lens[p]].
        pair = np.repeat(np.arange(li.size), lens)
        pos = np.arange(pair.size) - np.repeat(np.cumsum(lens) - lens - starts, lens)
        grams = self.right_indices[pos]
        # A boolean (worker row, vocabulary) table of the few rows' grams, looked up per job gram.
        rows, local = np.unique(li, return_inverse=True)
        n = self.left_indptr[rows + 1] - self.left_indptr[rows]
        lpos = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n - self.left_indptr[rows], n)
        table = np.zeros((rows.size, self.n_vocab), dtype=bool)
        table[np.repeat(np.arange(rows.size), n), self.left_indices[lpos]] = True
        hit = table[local.ravel()[pair], grams]
        return np.bincount(pair[hit], minlength=li.size).astype(np.float32)

    def _shared_sparse(self, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        """Many pairs: row-wise products of the incidence matrices (scipy does it in C, in bulk)."""
        left = self._matrix("_left_matrix", self.left_indptr, self.left_indices)
        right = self._matrix("_right_matrix", self.right_indptr, self.right_indices)
        out = np.zeros(li.size, dtype=np.float32)
        for s in range(0, li.size, _CHUNK):
            lc, rc = li[s : s + _CHUNK], ri[s : s + _CHUNK]
            out[s : s + _CHUNK] = np.asarray(left[lc].multiply(right[rc]).sum(axis=1)).ravel()
        return out

    def _matrix(self, name: str, indptr: np.ndarray, indices: np.ndarray) -> sp.csr_matrix:
        m = self.__dict__.get(name)
        if m is None:
            data = np.ones(indices.size, dtype=np.float32)
            m = sp.csr_matrix((data, indices, indptr), shape=(indptr.size - 1, self.n_vocab))
            self.__dict__[name] = m
        return m

    def overlap(self, li: np.ndarray, ri: np.ndarray, normalise: str = "min") -> np.ndarray:
        """Shared grams of pairs divided by the smaller set (``min``), the right set (``right``) or
        the left set (``left``); in [0, 1]. The same numbers as :meth:`NgramSets.overlap`."""
        shared = self.shared(li, ri)
        lsize, rsize = self.left_size[li], self.right_size[ri]
        if normalise == "min":
            d = np.minimum(lsize, rsize)
        elif normalise == "right":
            d = rsize
        else:
            d = lsize
        out = np.where(d > 0, shared / np.maximum(d, 1), 0.0).astype(np.float32)
        return np.clip(out, 0.0, 1.0)
