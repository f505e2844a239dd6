"""The placement problem and the solve options, as frozen, typed, array-backed values.

A problem is a bipartite graph of candidate edges (worker, job, score) plus the capacities and the
worker/job attributes the side rules need. Arrays are coerced to fixed dtypes on construction;
:meth:`PlacementProblem.validate` checks shapes, ranges and duplicates and raises
:class:`~optimizer.errors.ProblemError` naming the array and the first bad index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from optimizer.errors import ProblemError

Mode = Literal["score", "count"]
Priority = Literal["none", "lexicographic", "weighted"]


def _arr(value: object, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(value), dtype=dtype)


def _opt(value: object, dtype: type) -> np.ndarray | None:
    return None if value is None else _arr(value, dtype)


@dataclass(frozen=True, eq=False)
class PlacementProblem:
    """Workers, jobs with openings, candidate edges with scores, and the side-rule attributes.

    Indices are 0-based positions: ``edge_worker[e]`` in ``[0, n_workers)``, ``edge_job[e]`` in
    ``[0, n_jobs)``. Optional arrays switch side rules on; ``-1`` means "none" or "no limit"
    where documented on the field.
    """

    n_workers: int
    n_jobs: int
    edge_worker: np.ndarray  # int32 (E,)
    edge_job: np.ndarray  # int32 (E,)
    edge_score: np.ndarray  # float64 (E,), finite, >= 0
    job_openings: np.ndarray  # int64 (J,), >= 0
    job_enterprise: np.ndarray | None = None  # int32 (J,), -1 = no enterprise
    enterprise_capacity: np.ndarray | None = None  # int64 (K,), -1 = no cap
    enterprise_dorm_beds: np.ndarray | None = None  # int64 (K,), -1 = no limit
    edge_needs_dorm: np.ndarray | None = None  # bool (E,)
    worker_county: np.ndarray | None = None  # int32 (W,), -1 = unknown
    worker_unemployed: np.ndarray | None = None  # bool (W,)
    worker_group: np.ndarray | None = None  # int32 (W,), -1 = no group
    job_district: np.ndarray | None = None  # int32 (J,), -1 = not a target district
    district_targets: Mapping[int, int] | None = None
    district_paired_counties: Mapping[int, frozenset[int]] | None = None
    county_min_share: float | None = None
    county_floors: Mapping[int, int] | None = None  # county id → placements it should reach (soft);
    # set by :func:`optimizer.solve` from ``county_min_share`` (:mod:`optimizer.fairness`)
    _checked: list[bool] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "n_workers", int(self.n_workers))
        put(self, "n_jobs", int(self.n_jobs))
        put(self, "edge_worker", _arr(self.edge_worker, np.int32))
        put(self, "edge_job", _arr(self.edge_job, np.int32))
        put(self, "edge_score", _arr(self.edge_score, np.float64))
        put(self, "job_openings", _arr(self.job_openings, np.int64))
        for name, dtype in (
            ("job_enterprise", np.int32),
            ("enterprise_capacity", np.int64),
            ("enterprise_dorm_beds", np.int64),
            ("edge_needs_dorm", np.bool_),
            ("worker_county", np.int32),
            ("worker_unemployed", np.bool_),
            ("worker_group", np.int32),
            ("job_district", np.int32),
        ):
            put(self, name, _opt(getattr(self, name), dtype))

    # -- derived sizes -------------------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        """Number of candidate edges."""
        return int(self.edge_worker.shape[0])

    @property
    def n_enterprises(self) -> int:
        """Number of enterprises (0 when jobs are not grouped into enterprises)."""
        if self.enterprise_capacity is not None:
            return int(self.enterprise_capacity.shape[0])
        if self.job_enterprise is not None and self.job_enterprise.size:
            return int(self.job_enterprise.max()) + 1
        return 0

    # -- validation ----------------------------------------------------------------------------
    def validate(self) -> PlacementProblem:
        """Check shapes, ranges and duplicates; return ``self`` or raise :class:`ProblemError`."""
        if self._checked:
            return self
        w, j, e = self.n_workers, self.n_jobs, self.n_edges
        if w < 0 or j < 0:
            raise ProblemError(f"n_workers={w} and n_jobs={j} must be >= 0")
        for name in ("edge_worker", "edge_job", "edge_score"):
            _shape(name, getattr(self, name), e)
        _range("edge_worker", self.edge_worker, 0, w)
        _range("edge_job", self.edge_job, 0, j)
        bad = np.flatnonzero(~np.isfinite(self.edge_score) | (self.edge_score < 0))
        if bad.size:
            raise ProblemError(f"edge_score[{bad[0]}] = {self.edge_score[bad[0]]} must be finite and >= 0")
        _shape("job_openings", self.job_openings, j)
        _range("job_openings", self.job_openings, 0, None)
        if e:
            key = self.edge_worker.astype(np.int64) * max(j, 1) + self.edge_job
            if not bool(np.all(key[1:] > key[:-1])):  # sorted input (the usual case) has no duplicates
                self._duplicates(key)
        self._validate_enterprises()
        self._validate_workers()
        self._validate_targets()
        self._checked.append(True)
        return self

    def _duplicates(self, key: np.ndarray) -> None:
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(key[order][1:] == key[order][:-1])
        if dup.size:
            a, b = order[dup[0]], order[dup[0] + 1]
            raise ProblemError(
                f"duplicate edge (worker {self.edge_worker[a]}, job {self.edge_job[a]}) "
                f"at edge indices {min(a, b)} and {max(a, b)}"
            )

    def _validate_enterprises(self) -> None:
        k = self.n_enterprises
        if self.job_enterprise is None:
            for name in ("enterprise_capacity", "enterprise_dorm_beds"):
                if getattr(self, name) is not None:
                    raise ProblemError(f"{name} is given but job_enterprise is not")
        else:
            _shape("job_enterprise", self.job_enterprise, self.n_jobs)
            _range("job_enterprise", self.job_enterprise, -1, k)
        for name in ("enterprise_capacity", "enterprise_dorm_beds"):
            arr = getattr(self, name)
            if arr is not None:
                _shape(name, arr, k)
                _range(name, arr, -1, None)
        if self.edge_needs_dorm is not None:
            _shape("edge_needs_dorm", self.edge_needs_dorm, self.n_edges)

    def _validate_workers(self) -> None:
        for name in ("worker_county", "worker_unemployed", "worker_group"):
            arr = getattr(self, name)
            if arr is not None:
                _shape(name, arr, self.n_workers)
                if arr.dtype != np.bool_:
                    _range(name, arr, -1, None)
        if self.job_district is not None:
            _shape("job_district", self.job_district, self.n_jobs)
            _range("job_district", self.job_district, -1, None)
        share = self.county_min_share
        if share is not None:
            if not 0.0 <= float(share) <= 1.0:
                raise ProblemError(f"county_min_share={share} must lie in [0, 1]")
            if self.worker_county is None:
                raise ProblemError("county_min_share needs worker_county")

    def _validate_targets(self) -> None:
        if not self.district_targets:
            return
        if self.job_district is None or self.worker_county is None:
            raise ProblemError("district_targets need job_district and worker_county")
        paired = self.district_paired_counties or {}
        for d, q in self.district_targets.items():
            if int(q) < 0:
                raise ProblemError(f"district_targets[{d}] = {q} must be >= 0")
            if d not in paired:
                raise ProblemError(f"district_targets[{d}] has no entry in district_paired_counties")


def _shape(name: str, arr: np.ndarray, n: int) -> None:
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ProblemError(f"{name} has shape {arr.shape}, expected ({n},)")


def _range(name: str, arr: np.ndarray, lo: int, hi: int | None) -> None:
    bad = arr < lo if hi is None else (arr < lo) | (arr >= hi)
    idx = np.flatnonzero(bad)
    if idx.size:
        where = f"[{lo}, {hi})" if hi is not None else f">= {lo}"
        raise ProblemError(f"{name}[{idx[0]}] = {arr[idx[0]]} is out of range {where}")


@dataclass(frozen=True)
class SolveOptions:
    """How to solve. ``mode='count'`` places the most workers first, score second.

    ``priority='lexicographic'`` places the most unemployed workers first (before ``mode``);
    ``'weighted'`` adds ``priority_weight`` (score units) to every edge of an unemployed worker.
    ``scale=None`` picks a power of ten that makes the largest weight about 1e7 and re-solves at
    the largest safe one (up to 1e12) only if the proven rounding gap exceeds 1e-7; the rounding
    error is folded into the reported ``bound``. ``time_limit_s`` bounds the side-rule work
    after the flow (Lagrangian rounds, MIP stages; the flow itself is exact and polynomial and
    is not interrupted); when it runs out, the best feasible assignment found is returned with
    status ``FEASIBLE`` and its gap, never an empty one.
    """

    mode: Mode = "score"
    priority: Priority = "none"
    priority_weight: float = 1.0
    enforce_dorm_beds: bool = True
    time_limit_s: float | None = None
    deterministic: bool = True
    seed: int = 0
    scale: int | None = None
    shadow_prices: bool = True

    def __post_init__(self) -> None:
        if self.mode not in ("score", "count"):
            raise ProblemError(f"mode={self.mode!r} must be 'score' or 'count'")
        if self.priority not in ("none", "lexicographic", "weighted"):
            raise ProblemError(f"priority={self.priority!r} must be 'none', 'lexicographic' or 'weighted'")
        if not np.isfinite(self.priority_weight) or self.priority_weight < 0:
            raise ProblemError(f"priority_weight={self.priority_weight} must be finite and >= 0")
        if self.scale is not None and int(self.scale) < 1:
            raise ProblemError(f"scale={self.scale} must be >= 1")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ProblemError(f"time_limit_s={self.time_limit_s} must be > 0")


__all__ = ["Mode", "PlacementProblem", "Priority", "SolveOptions"]
