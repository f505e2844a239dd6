"""Pure feasibility check of an assignment, and the reasons unplaced workers carry."""

from __future__ import annotations

from typing import TypedDict, Unpack

import numpy as np

from optimizer.problem import PlacementProblem
from optimizer.result import (
    BLOCKED_BY_RULE,
    NO_CANDIDATE,
    OUTSCORED,
    PLACED,
    ZERO_SCORE,
    PlacementResult,
    RelaxedTarget,
    gap_of,
)

_MAX_LISTED = 20


def edge_index(problem: PlacementProblem, workers: np.ndarray, jobs: np.ndarray) -> np.ndarray:
    """Edge index of each ``(worker, job)`` pair, ``-1`` where no such edge exists."""
    j = max(problem.n_jobs, 1)
    key = problem.edge_worker.astype(np.int64) * j + problem.edge_job
    order = np.argsort(key, kind="stable")
    skey = key[order]
    want = workers.astype(np.int64) * j + jobs
    pos = np.searchsorted(skey, want)
    pos_c = np.minimum(pos, max(skey.size - 1, 0))
    found = (pos < skey.size) & (skey[pos_c] == want) if skey.size else np.zeros(want.shape, bool)
    return np.where(found, order[pos_c] if skey.size else -1, -1)


def enterprise_key(problem: PlacementProblem) -> np.ndarray:
    """Enterprise of each job for the group rule; a job without one is its own enterprise."""
    k = problem.n_enterprises
    ent = problem.job_enterprise
    if ent is None:
        return np.arange(problem.n_jobs, dtype=np.int64)
    own = k + np.arange(problem.n_jobs, dtype=np.int64)
    return np.where(ent >= 0, ent.astype(np.int64), own)


def check_feasible(
    problem: PlacementProblem, assignment: np.ndarray, *, enforce_dorm_beds: bool = True
) -> list[str]:
    """Violations of the hard rules by ``assignment`` (int (W,), job or -1); empty if feasible.

    Checks: one job per worker and a valid index, the edge exists, job openings, enterprise
    capacity, dorm beds (when given and enforced), and the group rule (members placed in the
    same enterprise, or none of them). Targets and fairness are soft and are not checked here.
    """
    problem.validate()
    a = np.asarray(assignment)
    out: list[str] = []
    if a.ndim != 1 or a.shape[0] != problem.n_workers:
        return [f"assignment has shape {a.shape}, expected ({problem.n_workers},)"]
    bad = np.flatnonzero((a < -1) | (a >= problem.n_jobs))
    out += [f"worker {w}: job index {a[w]} out of range" for w in bad[:_MAX_LISTED]]
    if bad.size:
        return out
    w_idx = np.flatnonzero(a >= 0)
    j_idx = a[w_idx].astype(np.int64)
    e_idx = edge_index(problem, w_idx, j_idx)
    missing = np.flatnonzero(e_idx < 0)
    out += [f"worker {w_idx[i]}: no candidate edge to job {j_idx[i]}" for i in missing[:_MAX_LISTED]]
    load = np.bincount(j_idx, minlength=problem.n_jobs)
    over = np.flatnonzero(load > problem.job_openings)
    out += [f"job {j}: {load[j]} placed > {problem.job_openings[j]} openings" for j in over[:_MAX_LISTED]]
    if problem.n_enterprises and problem.job_enterprise is not None:
        k = problem.n_enterprises
        ent = problem.job_enterprise[j_idx]
        has = ent >= 0
        ent_load = np.bincount(ent[has], minlength=k)
        cap = problem.enterprise_capacity
        if cap is not None:
            over = np.flatnonzero((cap >= 0) & (ent_load > cap))
            out += [f"enterprise {e}: {ent_load[e]} placed > capacity {cap[e]}" for e in over[:_MAX_LISTED]]
        beds = problem.enterprise_dorm_beds
        if enforce_dorm_beds and beds is not None and problem.edge_needs_dorm is not None:
            ok = e_idx >= 0
            need = np.zeros(ent.shape, bool)
            need[ok] = problem.edge_needs_dorm[e_idx[ok]]
            dorm = np.bincount(ent[has & need], minlength=k)
            over = np.flatnonzero((beds >= 0) & (dorm > beds))
            out += [f"enterprise {e}: {dorm[e]} need a bed > {beds[e]} dorm beds" for e in over[:_MAX_LISTED]]
    out += _group_violations(problem, a)
    return out


def _group_violations(problem: PlacementProblem, a: np.ndarray) -> list[str]:
    g = problem.worker_group
    if g is None:
        return []
    members = np.flatnonzero(g >= 0)
    if members.size == 0:
        return []
    ent_of_job = enterprise_key(problem)
    where = np.where(a[members] >= 0, ent_of_job[np.maximum(a[members], 0)], -1)
    order = np.lexsort((members, g[members]))
    gs, ws = g[members][order], where[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    lo = np.minimum.reduceat(ws, starts)
    hi = np.maximum.reduceat(ws, starts)
    bad = np.flatnonzero(lo != hi)
    return [f"group {gs[starts[i]]}: members not all placed in one enterprise" for i in bad[:_MAX_LISTED]]


def _bed_blocked(problem: PlacementProblem, assignment: np.ndarray) -> np.ndarray:
    """Edges that need a bed at an enterprise whose dorm beds are all taken."""
    beds, need = problem.enterprise_dorm_beds, problem.edge_needs_dorm
    if beds is None or need is None or problem.job_enterprise is None:
        return np.zeros(problem.n_edges, dtype=bool)
    placed = np.flatnonzero(assignment >= 0)
    e_idx = edge_index(problem, placed, assignment[placed])
    e_idx = e_idx[e_idx >= 0]
    e_idx = e_idx[need[e_idx]]
    ent_e = problem.job_enterprise[problem.edge_job[e_idx]]
    used = np.bincount(ent_e[ent_e >= 0], minlength=problem.n_enterprises)
    full = (beds >= 0) & (used >= beds)
    ent = problem.job_enterprise[problem.edge_job]
    return need & (ent >= 0) & full[np.maximum(ent, 0)]


def unplaced_reasons(
    problem: PlacementProblem, assignment: np.ndarray, *, rules_active: bool, beds_active: bool = False
) -> np.ndarray:
    """Reason code per worker (see :data:`optimizer.result.REASONS`), vectorised.

    A worker with candidates is *outscored* when every candidate job, or its enterprise, is full;
    otherwise a candidate has room: *blocked_by_rule* when side rules were enforced and such a
    candidate scores above 0, else *zero_score*. A candidate that needs a bed where the dorm is
    full (rules or dorm beds enforced) also counts as *blocked_by_rule*.
    """
    w_n = problem.n_workers
    reasons = np.full(w_n, PLACED, dtype=np.int8)
    placed = assignment >= 0
    deg = np.bincount(problem.edge_worker, minlength=w_n)
    load = np.bincount(assignment[placed].astype(np.int64), minlength=problem.n_jobs)
    job_full = load >= problem.job_openings
    if (
        problem.n_enterprises
        and problem.job_enterprise is not None
        and problem.enterprise_capacity is not None
    ):
        ent, cap = problem.job_enterprise, problem.enterprise_capacity
        ent_load = np.bincount(ent[ent >= 0], weights=load[ent >= 0], minlength=problem.n_enterprises)
        ent_full = (cap >= 0) & (ent_load >= cap)
        job_full |= (ent >= 0) & ent_full[np.maximum(ent, 0)]
    room = ~job_full[problem.edge_job]
    has_room = np.bincount(problem.edge_worker, weights=room, minlength=w_n) > 0
    room_pos = np.bincount(problem.edge_worker, weights=room & (problem.edge_score > 0), minlength=w_n) > 0
    beds = rules_active or beds_active
    bed_blocked = _bed_blocked(problem, assignment) if beds else np.zeros(problem.n_edges, bool)
    by_bed = np.bincount(problem.edge_worker, weights=bed_blocked, minlength=w_n) > 0
    reasons[~placed & (deg == 0)] = NO_CANDIDATE
    reasons[~placed & (deg > 0) & ~has_room] = OUTSCORED
    rest = ~placed & (deg > 0) & has_room
    reasons[rest & room_pos] = BLOCKED_BY_RULE if rules_active else OUTSCORED
    reasons[rest & ~room_pos] = ZERO_SCORE
    reasons[~placed & by_bed] = BLOCKED_BY_RULE
    return reasons


class PriceExtras(TypedDict, total=False):
    """The flow's scale and shadow prices, when known (absent prices: NaN, see :func:`build_result`)."""

    scale: int
    job_shadow_price: np.ndarray
    enterprise_shadow_price: np.ndarray | None
    dorm_bed_shadow_price: np.ndarray | None


class ResultExtras(PriceExtras, total=False):
    """The optional :class:`~optimizer.result.PlacementResult` fields :func:`build_result` passes on
    (absent: the field's default)."""

    relaxed: tuple[RelaxedTarget, ...]
    rules: dict[str, str]
    wall_s: float
    stage_seconds: dict[str, float]


def build_result(
    problem: PlacementProblem,
    edge_sel: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    status: str = "FEASIBLE",
    solver: str,
    mode: str = "score",
    bound: float | None = None,
    rules_active: bool = False,
    beds_active: bool = False,
    **extra: Unpack[ResultExtras],
) -> PlacementResult:
    """A :class:`~optimizer.result.PlacementResult` for a set of selected edges.

    Prices default to NaN (unknown); ``objective`` is the sum of ``weights`` (default: scores).
    """
    w = problem.edge_score if weights is None else weights
    assignment = np.full(problem.n_workers, -1, dtype=np.int32)
    assignment[problem.edge_worker[edge_sel]] = problem.edge_job[edge_sel]
    objective = float(w[edge_sel].sum())
    bound = objective if bound is None else float(bound)
    extra.setdefault("job_shadow_price", np.full(problem.n_jobs, np.nan))
    extra.setdefault(
        "enterprise_shadow_price", np.full(problem.n_enterprises, np.nan) if problem.n_enterprises else None
    )
    return PlacementResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap_of(objective, bound),
        assignment=assignment,
        edge_selected=np.asarray(edge_sel, dtype=bool),
        unplaced_reason=unplaced_reasons(
            problem, assignment, rules_active=rules_active, beds_active=beds_active
        ),
        solver=solver,
        mode=mode,
        total_score=float(problem.edge_score[edge_sel].sum()),
        n_placed=int(edge_sel.sum()),
        **extra,
    )


__all__ = [
    "PriceExtras",
    "ResultExtras",
    "build_result",
    "check_feasible",
    "edge_index",
    "enterprise_key",
    "unplaced_reasons",
]
