"""The typed result of a solve, and the codes that explain why a worker was not placed."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

PLACED = 0
NO_CANDIDATE = 1
OUTSCORED = 2
BLOCKED_BY_RULE = 3
ZERO_SCORE = 4

REASONS: MappingProxyType[int, str] = MappingProxyType(
    {
        PLACED: "placed",
        NO_CANDIDATE: "no_candidate",  # the worker has no candidate edge at all
        OUTSCORED: "outscored",  # every candidate job (or its enterprise) is full with others
        BLOCKED_BY_RULE: "blocked_by_rule",  # a candidate with room and a positive score exists
        ZERO_SCORE: "zero_score",  # a candidate has room but every such edge scores 0
    }
)
"""Code in :attr:`PlacementResult.unplaced_reason` → name."""

STATUSES = ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "TIME_LIMIT")


@dataclass(frozen=True)
class RelaxedTarget:
    """A target that could not be met: which, by how much, and what binds it."""

    constraint: str  # e.g. "district_target[3]"
    target: float
    achieved: float
    shortfall: float
    binding: str  # human-readable: the constraint that stops it

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "constraint": self.constraint,
            "target": self.target,
            "achieved": self.achieved,
            "shortfall": self.shortfall,
            "binding": self.binding,
        }


@dataclass(frozen=True, eq=False)
class PlacementResult:
    """Outcome of :func:`optimizer.solve`.

        ``objective`` is the optimised final-stage objective in score units (scores plus the
        priority bonus when ``priority='weighted'``); ``total_score`` is the plain sum of scores.
        ``bound`` is a proven upper bound on that objective for the same lexicographic stages, and
        ``gap = (bound - objective) / max(|objective|, 1e-12)``. Shadow prices are in objective units
        per extra opening, enterprise place or dorm bed (NaN when the MIP path was taken, and for the
    beds of an enterprise whose dorm rule is not a flow); see :mod:`optimizer.prices`.
    """

    status: str
    objective: float
    bound: float
    gap: float
    assignment: np.ndarray  # int32 (W,), job index or -1
    edge_selected: np.ndarray  # bool (E,), in the problem's edge order
    unplaced_reason: np.ndarray  # int8 (W,), codes of REASONS
    job_shadow_price: np.ndarray  # float64 (J,)
    enterprise_shadow_price: np.ndarray | None  # float64 (K,) or None
    relaxed: tuple[RelaxedTarget, ...] = ()
    rules: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    solver: str = ""
    mode: str = "score"
    total_score: float = 0.0
    n_placed: int = 0
    scale: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dorm_bed_shadow_price: np.ndarray | None = None  # float64 (K,) when dorm beds are enforced

    @property
    def assignments(self) -> tuple[np.ndarray, np.ndarray]:
        """Placed pairs as ``(worker_index, job_index)`` arrays, ordered by worker."""
        w = np.flatnonzero(self.assignment >= 0).astype(np.int32)
        return w, self.assignment[w]

    def reason_counts(self) -> dict[str, int]:
        """How many workers carry each reason code, by name."""
        counts = np.bincount(self.unplaced_reason.astype(np.int64), minlength=len(REASONS))
        return {REASONS[i]: int(counts[i]) for i in REASONS}

    def summary(self) -> dict[str, object]:
        """Small JSON-ready digest (no per-worker arrays)."""
        return {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "total_score": self.total_score,
            "n_placed": self.n_placed,
            "solver": self.solver,
            "mode": self.mode,
            "rules": dict(self.rules),
            "relaxed": [r.as_dict() for r in self.relaxed],
            "reasons": self.reason_counts(),
            "wall_s": self.wall_s,
            "stage_seconds": dict(self.stage_seconds),
        }


def gap_of(objective: float, bound: float) -> float:
    """Relative gap, 0 when the bound is met."""
    return max(0.0, float(bound) - float(objective)) / max(abs(float(objective)), 1e-12)


__all__ = [
    "BLOCKED_BY_RULE",
    "NO_CANDIDATE",
    "OUTSCORED",
    "PLACED",
    "REASONS",
    "STATUSES",
    "ZERO_SCORE",
    "PlacementResult",
    "RelaxedTarget",
    "gap_of",
]
