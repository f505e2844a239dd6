"""Top-k inner-product search over job vectors with partition (location) filters, on FAISS.

:class:`VectorIndex` is an estimator: the constructor only stores parameters, :meth:`VectorIndex.fit`
builds the fitted state (``index_`` and the slot arrays, all ending in ``_``). Vectors are expected to be
L2-normalised, so the inner product is the cosine.

Every vector carries an integer partition label (for laborbridge: a district or county code, but this
module knows nothing about places). A query may be restricted to a set of labels. Two strategies:

``"partition"`` (default)
    One FAISS index per label; a query searches only the indexes of its allowed labels and the
    per-label top-k lists are merged. Exact for flat indexes, and the work is proportional to the
    allowed part of the data. A batch makes one FAISS call per label (per chunk of queries), with
    every query that allows the label, so 10^5-10^6 queries cost ~#labels calls, not #queries.
``"overfetch"``
    One global index searched for ``k' > k`` results, which are filtered by label; rows that end up
    with fewer than ``k`` hits are searched again with a larger ``k'`` until complete (or the whole index
    was fetched), so it is exact for a flat index too. Queries are grouped by identical allowed-set
    and each group is one FAISS call.

``benchmarks/bench_retrieval.py`` measures both (BENCHMARKS.md, ``retrieval_50k``); "partition" won
clearly (the selective queries, e.g. "home county only", force "overfetch" to fetch most of the index).

FAISS labels are *slots* (positions in the ``ids_``/``partitions_``/``alive_`` arrays); callers see their
own int64 ids. Removal uses ``remove_ids`` for flat and IVF indexes; HNSW cannot remove, so its slots
are tombstoned (filtered at search) and the sub-index is rebuilt once a quarter of it is dead.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any, Literal, Self

import faiss
import numpy as np

__all__ = ["IndexKind", "LocationStrategy", "VectorIndex"]

IndexKind = Literal["auto", "flat", "hnsw", "ivf"]
LocationStrategy = Literal["partition", "overfetch"]

_GLOBAL = -(2**62)  # key of the single index of the "overfetch" strategy
_FORMAT = 1
_SMALL_BATCH = 16  # below this many queries a FAISS call runs single-threaded
_MERGE_BUDGET = 8_000_000  # candidate cells (queries x partitions x k) merged at once, ~100 MB


class VectorIndex:
    """Filtered top-k inner-product search; see the module docstring.

    Parameters
    ----------
    kind:
        ``"flat"`` (exact ``IndexFlatIP``), ``"hnsw"``, ``"ivf"``, or ``"auto"``: flat below
        ``auto_threshold`` vectors (per sub-index), IVF above. IVF was chosen over HNSW by
        ``bench_retrieval`` (BENCHMARKS.md, ``retrieval_50k`` and ``retrieval_500k``): as exact at
        50k with more queries a second and a faster build, and still near-exact at 500k, where HNSW
        (M=16) lost much of its recall. IVF also removes for real, where HNSW needs tombstones.
    auto_threshold:
        Size at which ``"auto"`` switches from exact to HNSW.
    hnsw_m, ef_construction, ef_search:
        HNSW graph degree, build-time and search-time beam widths (``ef_search`` is raised to ``k``).
    nlist, nprobe:
        IVF lists (``None``: ``4*sqrt(n)``, capped so each list has >= 39 training points) and lists probed.
    location_strategy:
        ``"partition"`` or ``"overfetch"`` (see module docstring).
    overfetch:
        Safety factor on the expected number of hits needed by ``"overfetch"``.
    """

    def __init__(
        self,
        kind: IndexKind = "auto",
        *,
        auto_threshold: int = 200_000,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 128,
        nlist: int | None = None,
        nprobe: int = 16,
        location_strategy: LocationStrategy = "partition",
        overfetch: float = 2.0,
    ) -> None:
        self.kind = kind
        self.auto_threshold = auto_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.nlist = nlist
        self.nprobe = nprobe
        self.location_strategy = location_strategy
        self.overfetch = overfetch

    # ------------------------------------------------------------------ fitting
    def fit(self, vectors: np.ndarray, ids: np.ndarray, partitions: np.ndarray | None = None) -> Self:
        """Build the index from scratch. ``partitions=None`` puts every vector in partition 0."""
        self._check_params()
        vectors, ids, partitions = self._check_rows(vectors, ids, partitions, dim=None)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("ids must be unique")
        self.dim_ = int(vectors.shape[1])
        n = len(ids)
        self.vectors_ = vectors.copy()
        self.ids_ = ids.copy()
        self.partitions_ = partitions.copy()
        self.alive_ = np.ones(n, dtype=bool)
        self.n_slots_ = n
        self.slot_of_: dict[int, int] = dict(zip(ids.tolist(), range(n), strict=True))
        self.index_: dict[int, faiss.Index] = {}
        self.kinds_: dict[int, str] = {}
        self.dead_: dict[int, int] = {}
        for key, slots in self._slots_by_key(np.arange(n)).items():
            self._build(key, slots)
        return self

    def add(self, vectors: np.ndarray, ids: np.ndarray, partitions: np.ndarray | None = None) -> None:
        """Add vectors with new, unused ids (e.g. jobs just opened)."""
        self._check_fitted()
        vectors, ids, partitions = self._check_rows(vectors, ids, partitions, dim=self.dim_)
        if len(np.unique(ids)) != len(ids) or any(i in self.slot_of_ for i in ids.tolist()):
            raise ValueError("ids must be unique and not already in the index")
        start = self.n_slots_
        slots = np.arange(start, start + len(ids), dtype=np.int64)
        self._grow(start + len(ids))
        self.vectors_[slots] = vectors
        self.ids_[slots] = ids
        self.partitions_[slots] = partitions
        self.alive_[slots] = True
        self.n_slots_ = start + len(ids)
        self.slot_of_.update(zip(ids.tolist(), slots.tolist(), strict=True))
        for key, key_slots in self._slots_by_key(slots).items():
            if (
                key not in self.index_
                or self._wanted_kind(self._size(key) + len(key_slots)) != self.kinds_[key]
            ):
                self._build(key, np.concatenate([self._alive_slots(key), key_slots]))
            else:
                self._add_to(key, key_slots)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Remove ids (e.g. jobs filled); unknown ids are ignored. Returns how many were removed."""
        self._check_fitted()
        slots = [
            self.slot_of_.pop(int(i))
            for i in np.asarray(ids, dtype=np.int64).ravel()
            if int(i) in self.slot_of_
        ]
        if not slots:
            return 0
        slots_arr = np.asarray(slots, dtype=np.int64)
        self.alive_[slots_arr] = False
        for key, key_slots in self._slots_by_key(slots_arr).items():
            if self.kinds_[key] == "hnsw":
                self.dead_[key] += len(key_slots)
                if self.dead_[key] * 4 > self.index_[key].ntotal:
                    self._build(key, self._alive_slots(key))
            else:
                self.index_[key].remove_ids(faiss.IDSelectorBatch(key_slots))
        return len(slots)

    # ------------------------------------------------------------------ search
    def search(
        self, queries: np.ndarray, k: int, allowed: Sequence[Sequence[int] | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` per query: ``(scores float32 (n, k), ids int64 (n, k))``, best first.

        ``allowed[i]`` lists the partition labels query ``i`` may match (``None``: all). Missing
        results are padded with score ``-inf`` and id ``-1``.
        """
        self._check_fitted()
        queries = np.ascontiguousarray(np.asarray(queries, dtype=np.float32))
        if queries.ndim != 2 or queries.shape[1] != self.dim_:
            raise ValueError(f"queries must have shape (n, {self.dim_}), got {queries.shape}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        n = len(queries)
        if allowed is not None and len(allowed) != n:
            raise ValueError(f"allowed has {len(allowed)} entries for {n} queries")
        groups = _group_rows(allowed, n)
        if self.location_strategy == "partition":
            scores, slots = self._search_partitioned(queries, k, groups)
        else:
            scores, slots = _empty(n, k)
            for labels, rows in groups.items():
                q = queries if rows is None else queries[rows]
                s, sl = self._search_overfetch(q, k, labels)
                if rows is None:
                    scores, slots = s, sl
                else:
                    scores[rows], slots[rows] = s, sl
        ids = np.where(slots >= 0, self.ids_[np.maximum(slots, 0)], -1)
        return scores, ids

    def search_one(
        self, query: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One query (shape ``(dim,)``): ``(scores (k,), ids (k,))``, the same answer as :meth:`search`."""
        query = np.asarray(query, dtype=np.float32)
        if query.ndim != 1:
            raise ValueError(f"query must be 1-D, got shape {query.shape}")
        scores, ids = self.search(query[None, :], k, None if allowed is None else [allowed])
        return scores[0], ids[0]

    @property
    def ntotal(self) -> int:
        """Number of live vectors."""
        self._check_fitted()
        return len(self.slot_of_)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted index to one ``.npz`` file (FAISS indexes serialised inside; no pickle)."""
        self._check_fitted()
        n = self.n_slots_
        keys = sorted(self.index_)
        meta = {
            "format": _FORMAT,
            "params": self.get_params(),
            "dim": self.dim_,
            "keys": keys,
            "kinds": [self.kinds_[key] for key in keys],
            "dead": [self.dead_[key] for key in keys],
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "vectors": self.vectors_[:n],
            "ids": self.ids_[:n],
            "partitions": self.partitions_[:n],
            "alive": self.alive_[:n],
        }
        for j, key in enumerate(keys):
            arrays[f"faiss_{j}"] = faiss.serialize_index(self.index_[key])
        with open(path, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VectorIndex:
        """Read an index written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path}: unsupported index file format {meta.get('format')!r}")
            self = cls(**meta["params"])
            self.dim_ = int(meta["dim"])
            self.vectors_ = data["vectors"].copy()
            self.ids_ = data["ids"].copy()
            self.partitions_ = data["partitions"].copy()
            self.alive_ = data["alive"].copy()
            self.n_slots_ = len(self.ids_)
            self.index_, self.kinds_, self.dead_ = {}, {}, {}
            for j, (key, kind, dead) in enumerate(
                zip(meta["keys"], meta["kinds"], meta["dead"], strict=True)
            ):
                index = faiss.deserialize_index(data[f"faiss_{j}"])
                self.index_[key], self.kinds_[key], self.dead_[key] = index, kind, dead
        live = np.flatnonzero(self.alive_)
        self.slot_of_ = dict(zip(self.ids_[live].tolist(), live.tolist(), strict=True))
        return self

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style)."""
        return {
            "kind": self.kind,
            "auto_threshold": self.auto_threshold,
            "hnsw_m": self.hnsw_m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "nlist": self.nlist,
            "nprobe": self.nprobe,
            "location_strategy": self.location_strategy,
            "overfetch": self.overfetch,
        }

    def __repr__(self) -> str:
        fitted = f", ntotal={self.ntotal}" if hasattr(self, "index_") else ""
        return f"VectorIndex(kind={self.kind!r}, location_strategy={self.location_strategy!r}{fitted})"

    # ------------------------------------------------------------------ internals: search
    def _search_partitioned(
        self, queries: np.ndarray, k: int, groups: dict[tuple[int, ...] | None, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One FAISS call per (partition, chunk of queries) over every query allowing that partition."""
        n = len(queries)
        keys = [key for key in self.index_ if self._size(key) > 0]
        position = {key: j for j, key in enumerate(keys)}
        every_row = np.arange(n, dtype=np.int64)
        rows_of: list[list[np.ndarray]] = [[] for _ in keys]
        width = np.zeros(n, dtype=np.int64)  # number of searched partitions per query
        for labels, rows in groups.items():
            rows = every_row if rows is None else rows
            js = range(len(keys)) if labels is None else [position[lab] for lab in labels if lab in position]
            for j in js:
                rows_of[j].append(rows)
            width[rows] = len(js)
        members = [np.sort(np.concatenate(r)) if r else np.empty(0, np.int64) for r in rows_of]
        out_s, out_i = _empty(n, k)
        chunk = max(1, _MERGE_BUDGET // max(1, int(width.max(initial=1)) * k))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            cols = int(width[start:stop].max(initial=0)) * k
            if cols == 0:
                continue
            buf_s = np.full((stop - start, cols), -np.inf, dtype=np.float32)
            buf_i = np.full((stop - start, cols), -1, dtype=np.int64)
            next_col = np.zeros(stop - start, dtype=np.int64)
            for j, key in enumerate(keys):
                rows = members[j][np.searchsorted(members[j], start) : np.searchsorted(members[j], stop)]
                if not len(rows):
                    continue
                d, sl = self._search_key(key, queries[rows], k)
                local = rows - start
                at = next_col[local][:, None] * k + np.arange(k)
                buf_s[local[:, None], at], buf_i[local[:, None], at] = d, sl
                next_col[local] += 1
            out_s[start:stop], out_i[start:stop] = _merge_topk(buf_s, buf_i, k)
        return out_s, out_i

    def _search_overfetch(
        self, q: np.ndarray, k: int, labels: tuple[int, ...] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One global index, filtered by label; rows still short of ``k`` hits are fetched again, larger."""
        index = self.index_.get(_GLOBAL)
        if index is None or index.ntotal == 0:
            return _empty(len(q), k)
        n_slots = self.n_slots_
        allowed_slot = self.alive_[:n_slots].copy()
        if labels is not None:
            allowed_slot &= np.isin(self.partitions_[:n_slots], np.asarray(labels, dtype=np.int32))
        n_allowed = int(allowed_slot.sum())
        if n_allowed == 0:
            return _empty(len(q), k)
        ntotal = index.ntotal
        fetch = min(ntotal, math.ceil(k * self.overfetch * ntotal / n_allowed) + self.dead_[_GLOBAL])
        if labels is None and self.dead_[_GLOBAL] == 0:
            fetch = min(ntotal, k)
        out_s, out_i = _empty(len(q), k)
        todo = np.arange(len(q))
        while len(todo):
            d, sl = self._faiss_search(_GLOBAL, q[todo], fetch)
            ok = sl >= 0
            ok[ok] = allowed_slot[sl[ok]]
            d = np.where(ok, d, -np.inf).astype(np.float32)
            s_top, i_top = _merge_topk(d, np.where(ok, sl, -1), k)
            out_s[todo], out_i[todo] = s_top, i_top
            short = ok.sum(axis=1) < min(k, n_allowed)
            if fetch >= ntotal or not short.any():
                break
            todo, fetch = todo[short], min(ntotal, fetch * 4)
        return out_s, out_i

    def _search_key(self, key: int, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` live slots of one partition index, exactly ``k`` columns (padded)."""
        index = self.index_[key]
        d, sl = self._faiss_search(key, q, min(index.ntotal, k + self.dead_[key]))
        if self.dead_[key]:
            ok = sl >= 0
            ok[ok] = self.alive_[sl[ok]]
            sl = np.where(ok, sl, -1)
        if d.shape[1] != k or self.dead_[key]:
            return _merge_topk(d, sl, k)
        return d, sl

    def _faiss_search(self, key: int, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        index = self.index_[key]
        kind = self.kinds_[key]
        params: faiss.SearchParameters | None = None
        if kind == "hnsw":
            # faiss's stubs (1.15) lack SearchParametersHNSW; the class is in the module
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))  # type: ignore[attr-defined]
        elif kind == "ivf":
            ivf = faiss.SearchParametersIVF()
            ivf.nprobe = self.nprobe
            params = ivf
        if len(q) >= _SMALL_BATCH:
            return index.search(q, k, params=params)
        # A few queries: OpenMP start-up and spin-waiting cost more than the search itself, and
        # far more on a loaded machine (measured 37 ms vs 1.4 ms per call), so run on one thread.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return index.search(q, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)

    # ------------------------------------------------------------------ internals: building
    def _wanted_kind(self, n: int) -> str:
        if self.kind != "auto":
            return self.kind
        return "flat" if n < self.auto_threshold else "ivf"

    def _build(self, key: int, slots: np.ndarray) -> None:
        slots = np.asarray(slots, dtype=np.int64)
        kind = self._wanted_kind(len(slots))
        x = self.vectors_[slots]
        if kind == "flat":
            index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim_))
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(self.dim_, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = self.ef_construction
            index = faiss.IndexIDMap2(hnsw)
        else:
            nlist = self.nlist or max(1, int(4 * math.sqrt(max(len(slots), 1))))
            nlist = max(1, min(nlist, len(slots) // 39))
            index = faiss.IndexIVFFlat(
                faiss.IndexFlatIP(self.dim_), self.dim_, nlist, faiss.METRIC_INNER_PRODUCT
            )
            if len(slots):
                rng = np.random.default_rng(0)
                train = x if len(x) <= 64 * nlist else x[rng.choice(len(x), 64 * nlist, replace=False)]
                index.train(np.ascontiguousarray(train))
        if len(slots) and index.is_trained:
            index.add_with_ids(np.ascontiguousarray(x), slots)
        self.index_[key], self.kinds_[key], self.dead_[key] = index, kind, 0

    def _add_to(self, key: int, slots: np.ndarray) -> None:
        index = self.index_[key]
        if not index.is_trained:  # an IVF built empty: train it now
            self._build(key, slots)
            return
        index.add_with_ids(np.ascontiguousarray(self.vectors_[slots]), slots)

    def _alive_slots(self, key: int) -> np.ndarray:
        n = self.n_slots_
        mask = self.alive_[:n].copy()
        if key != _GLOBAL:
            mask &= self.partitions_[:n] == key
        return np.flatnonzero(mask)

    def _size(self, key: int) -> int:
        return self.index_[key].ntotal - self.dead_[key] if key in self.index_ else 0

    def _slots_by_key(self, slots: np.ndarray) -> dict[int, np.ndarray]:
        if self.location_strategy == "overfetch":
            return {_GLOBAL: slots}
        labels = self.partitions_[slots]
        order = np.argsort(labels, kind="stable")
        uniq, starts = np.unique(labels[order], return_index=True)
        groups = np.split(slots[order], starts[1:])
        return {int(lab): g for lab, g in zip(uniq, groups, strict=True)}

    def _grow(self, needed: int) -> None:
        cap = len(self.ids_)
        if needed <= cap:
            return
        new_cap = max(needed, 2 * cap, 16)
        for name, fill in (("vectors_", 0.0), ("ids_", -1), ("partitions_", 0), ("alive_", False)):
            old = getattr(self, name)
            new = np.full((new_cap, *old.shape[1:]), fill, dtype=old.dtype)
            new[:cap] = old
            setattr(self, name, new)

    # ------------------------------------------------------------------ internals: checks
    def _check_params(self) -> None:
        if self.kind not in ("auto", "flat", "hnsw", "ivf"):
            raise ValueError(f"kind must be auto, flat, hnsw or ivf, got {self.kind!r}")
        if self.location_strategy not in ("partition", "overfetch"):
            raise ValueError(
                f"location_strategy must be partition or overfetch, got {self.location_strategy!r}"
            )
        if self.overfetch < 1:
            raise ValueError(f"overfetch must be >= 1, got {self.overfetch}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise RuntimeError("VectorIndex is not fitted; call fit() first")

    @staticmethod
    def _check_rows(
        vectors: np.ndarray, ids: np.ndarray, partitions: np.ndarray | None, dim: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
        if vectors.ndim != 2 or (dim is not None and vectors.shape[1] != dim):
            raise ValueError(f"vectors must have shape (n, {dim or 'dim'}), got {vectors.shape}")
        ids = np.asarray(ids)
        if ids.shape != (len(vectors),) or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be {len(vectors)} integers, got shape {ids.shape} dtype {ids.dtype}")
        if partitions is None:
            partitions = np.zeros(len(vectors), dtype=np.int32)
        partitions = np.asarray(partitions)
        if partitions.shape != (len(vectors),) or not np.issubdtype(partitions.dtype, np.integer):
            raise ValueError(f"partitions must be {len(vectors)} integers, got shape {partitions.shape}")
        return vectors, ids.astype(np.int64), partitions.astype(np.int32)


def _group_rows(allowed: Sequence[Sequence[int] | None] | None, n: int) -> dict[tuple[int, ...] | None, Any]:
    """Map each distinct allowed-set (sorted tuple, ``None`` = all) to the query rows that have it."""
    if allowed is None:
        return {None: None}
    groups: dict[tuple[int, ...] | None, list[int]] = {}
    for i, labels in enumerate(allowed):
        key = None if labels is None else tuple(sorted({int(x) for x in labels}))
        groups.setdefault(key, []).append(i)
    if len(groups) == 1 and len(next(iter(groups.values()))) == n:
        return {next(iter(groups)): None}
    return {key: np.asarray(rows, dtype=np.int64) for key, rows in groups.items()}


def _merge_topk(scores: np.ndarray, slots: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns per row (ties: lower slot first), padded with ``-inf``/``-1``."""
    n, m = scores.shape
    scores = np.where(slots >= 0, scores, -np.inf).astype(np.float32)
    if m > k:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        scores, slots = np.take_along_axis(scores, part, 1), np.take_along_axis(slots, part, 1)
    order = np.lexsort((slots, -scores), axis=1)  # equal scores: lower slot first, whatever the route
    scores, slots = np.take_along_axis(scores, order, 1), np.take_along_axis(slots, order, 1)
    slots = np.where(np.isfinite(scores), slots, -1)
    if scores.shape[1] < k:
        pad = k - scores.shape[1]
        scores = np.hstack([scores, np.full((n, pad), -np.inf, dtype=np.float32)])
        slots = np.hstack([slots, np.full((n, pad), -1, dtype=np.int64)])
    return np.ascontiguousarray(scores), np.ascontiguousarray(slots.astype(np.int64))


def _empty(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, k), -np.inf, dtype=np.float32), np.full((n, k), -1, dtype=np.int64)
