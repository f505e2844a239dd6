"""Every known worker's ranked list, computed once at fit and kept as flat arrays.

:class:`TopLists` holds the ``k`` best scored pairs of each worker (CSR layout: the pairs of row
``r`` are ``ptr[r]:ptr[r + 1]``, best first) as five arrays, about 52 bytes a pair: 100,000 workers
with 20 jobs each take under 110 MB, against several times that as Python objects. The response
objects (explanations, contributions) are made on demand from a slice, and the last few thousand
are kept in a small :class:`~matcher.scoring.lru.LRUCache`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.scoring.candidates import Edges


@dataclass(frozen=True)
class TopLists:
    """The ``k`` best pairs of each of ``n_rows`` workers, best first."""

    k: int
    ptr: np.ndarray  # int64 (W + 1,)
    job: np.ndarray  # int32 (E,)
    score: np.ndarray  # float64 (E,), the pair's score
    values: np.ndarray  # float32 (E, F), factor values
    rank: np.ndarray  # float64 (E,), what the list is ordered by (ScoredItem.rank_score)

    @classmethod
    def from_edges(cls, edges: Edges, n_rows: int, k: int, rank: np.ndarray) -> TopLists:
        """From edges grouped by worker and ordered best first within a worker (at most ``k`` each),
        with their rank scores."""
        counts = np.bincount(edges.worker.astype(np.int64), minlength=n_rows)
        ptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return cls(
            k,
            ptr,
            np.ascontiguousarray(edges.job, dtype=np.int32),
            np.ascontiguousarray(edges.score, dtype=np.float64),
            np.ascontiguousarray(edges.factors.values, dtype=np.float32),
            np.ascontiguousarray(rank, dtype=np.float64),
        )

    def span(self, row: int, k: int) -> slice:
        """The slice of row ``row``'s first ``k`` pairs in the flat arrays."""
        lo = int(self.ptr[row])
        return slice(lo, min(int(self.ptr[row + 1]), lo + max(k, 0)))

    @property
    def nbytes(self) -> int:
        return int(
            self.ptr.nbytes + self.job.nbytes + self.score.nbytes + self.values.nbytes + self.rank.nbytes
        )
