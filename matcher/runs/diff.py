"""What changed between two stored runs: :func:`diff_runs` compares them worker by worker and says why
they differ (parameters, inputs, versions). What-if analysis lives in :mod:`matcher.placement.whatif`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matcher.scoring.factors import SCORE_DECIMALS


@dataclass
class WorkerChange:
    """One worker whose outcome differs between run A and run B."""

    worker_id: str
    change: str  # newly_placed | newly_unplaced | moved
    job_a: str | None
    job_b: str | None
    score_a: float | None
    score_b: float | None
    why: str
    why_zh: str = ""

    @property
    def score_change(self) -> float:
        return (self.score_b or 0.0) - (self.score_a or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "change": self.change,
            "job_a": self.job_a,
            "job_b": self.job_b,
            "score_a": self.score_a,
            "score_b": self.score_b,
            "score_change": round(self.score_change, SCORE_DECIMALS),
            "why": self.why,
            "why_zh": self.why_zh,
        }


@dataclass
class RunDiff:
    """What changed from run A to run B, and the differences in what they were run on."""

    run_a: str
    run_b: str
    same_input: bool
    params_changed: dict[str, dict[str, Any]]
    versions_changed: dict[str, dict[str, Any]]
    model_changed: dict[str, Any] | None
    objective_a: float
    objective_b: float
    placed_a: int
    placed_b: int
    changes: list[WorkerChange] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"newly_placed": 0, "newly_unplaced": 0, "moved": 0}
        for c in self.changes:
            out[c.change] += 1
        return out

    @property
    def identical(self) -> bool:
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "same_input": self.same_input,
            "params_changed": self.params_changed,
            "versions_changed": self.versions_changed,
            "model_changed": self.model_changed,
            "objective": {
                "a": self.objective_a,
                "b": self.objective_b,
                "change": self.objective_b - self.objective_a,
            },
            "placed": {"a": self.placed_a, "b": self.placed_b, "change": self.placed_b - self.placed_a},
            "counts": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
        }


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b": value}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def dict_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{key: {"a": ..., "b": ...}}`` for every flattened key whose value differs."""
    fa, fb = flatten(a), flatten(b)
    return {k: {"a": fa.get(k), "b": fb.get(k)} for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}


_MOVED = {
    1: ("better-scoring job", "换到匹配度更高的岗位"),
    -1: ("gave way to another worker", "让位于匹配度更高的人员"),
    0: ("equal score", "匹配度相同"),
}
"""Why a worker moved, by the sign of the score change: (English, Chinese)."""


def diff_runs(
    header_a: Mapping[str, Any],
    header_b: Mapping[str, Any],
    assigned_a: Iterable[Mapping[str, Any]],
    assigned_b: Iterable[Mapping[str, Any]],
    unplaced_b: Iterable[Mapping[str, Any]],
) -> RunDiff:
    """Compare two stored runs (their ``placement_runs`` rows and assignment/unplaced rows).

    Each change says why in English (``why``) and Chinese (``why_zh``): a newly placed worker's
    explanation, a newly unplaced worker's reason, or whether a move went to a better-scoring job.
    """
    from matcher.runs.record import REASON_ZH

    a = {r["worker_id"]: r for r in assigned_a}
    b = {r["worker_id"]: r for r in assigned_b}
    reason_b = {r["worker_id"]: r for r in unplaced_b}
    changes: list[WorkerChange] = []
    for wid in sorted(set(a) | set(b)):
        ra, rb = a.get(wid), b.get(wid)
        if ra and rb and ra["job_id"] == rb["job_id"]:
            continue
        if ra is None:
            assert rb is not None
            changes.append(
                WorkerChange(
                    wid, "newly_placed", None, rb["job_id"], None, rb["score"], rb["explanation_en"],
                    rb.get("explanation_zh", ""),
                )
            )  # fmt: skip
        elif rb is None:
            u = reason_b.get(wid, {})
            why = u.get("reason", "not in run B's input")
            why_zh = REASON_ZH.get(why, why) if u else "不在运行 B 的输入中"
            changes.append(
                WorkerChange(wid, "newly_unplaced", ra["job_id"], None, ra["score"], None, why, why_zh)
            )
        else:
            delta = rb["score"] - ra["score"]
            why, why_zh = _MOVED[(delta > 0) - (delta < 0)]
            changes.append(
                WorkerChange(wid, "moved", ra["job_id"], rb["job_id"], ra["score"], rb["score"], why, why_zh)
            )
    ma, mb = header_a["model"], header_b["model"]
    return RunDiff(
        run_a=header_a["run_id"],
        run_b=header_b["run_id"],
        same_input=header_a["input_sha256"] == header_b["input_sha256"],
        params_changed=dict_diff(header_a["params"], header_b["params"]),
        versions_changed=dict_diff(header_a["versions"], header_b["versions"]),
        model_changed=None if ma == mb else {"a": ma, "b": mb},
        objective_a=float(header_a["objective"]),
        objective_b=float(header_b["objective"]),
        placed_a=int(header_a["n_placed"]),
        placed_b=int(header_b["n_placed"]),
        changes=changes,
    )
