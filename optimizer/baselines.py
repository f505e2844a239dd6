"""Baselines to compare the optimum against, and the LP reference.

* :func:`greedy` — the first-come-first-served status quo: edges by score, best first, taken
  when the worker is free and the job (and its enterprise) has room.
* :func:`stable_matching` — worker-proposing deferred acceptance on the same candidate lists.
  Workers rank jobs by edge score (ties: lower job index); jobs rank workers by edge score (ties:
  lower worker index); a job holds at most ``openings`` workers. Enterprise capacity and side
  rules are not part of stability and are ignored here.
* :func:`blocking_pairs` — how many edges would both sides rather take than their assignment.
* :func:`lp_reference` — the same core problem as an LP for HiGHS (the constraint matrix is a
  network matrix, so the LP optimum is integral).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from optimizer.check import build_result
from optimizer.problem import PlacementProblem
from optimizer.result import PlacementResult


def _ent_caps(problem: PlacementProblem) -> tuple[list[int], list[int]]:
    if not problem.n_enterprises or problem.enterprise_capacity is None:
        return [-1] * problem.n_jobs, []
    # validate() rejects enterprise_capacity without job_enterprise
    assert problem.job_enterprise is not None
    ent = problem.job_enterprise.tolist()
    cap = problem.enterprise_capacity.tolist()
    return ent, [c if c >= 0 else 1 << 62 for c in cap]


def greedy(problem: PlacementProblem) -> PlacementResult:
    """Take edges in order of score (ties: worker, then job index) while both sides have room."""
    problem.validate()
    t0 = time.perf_counter()
    order = np.lexsort((problem.edge_job, problem.edge_worker, -problem.edge_score))
    free = [True] * problem.n_workers
    room = problem.job_openings.tolist()
    ent, ent_room = _ent_caps(problem)
    left = int(min(problem.n_workers, int(problem.job_openings.sum())))
    sel = np.zeros(problem.n_edges, dtype=bool)
    ew, ej = problem.edge_worker.tolist(), problem.edge_job.tolist()
    taken: list[int] = []
    for e in order.tolist():
        w, j = ew[e], ej[e]
        if not free[w] or room[j] <= 0:
            continue
        k = ent[j]
        if k >= 0:
            if ent_room[k] <= 0:
                continue
            ent_room[k] -= 1
        free[w] = False
        room[j] -= 1
        taken.append(e)
        left -= 1
        if left == 0:
            break
    sel[np.asarray(taken, dtype=np.int64)] = True
    return build_result(problem, sel, solver="greedy", wall_s=time.perf_counter() - t0)


def stable_matching(problem: PlacementProblem) -> PlacementResult:
    """Worker-proposing deferred acceptance (job capacity = openings)."""
    problem.validate()
    t0 = time.perf_counter()
    order = np.lexsort((problem.edge_job, -problem.edge_score, problem.edge_worker))
    starts = np.zeros(problem.n_workers + 1, dtype=np.int64)
    np.cumsum(np.bincount(problem.edge_worker, minlength=problem.n_workers), out=starts[1:])
    pref_e = order.tolist()
    ej, es = problem.edge_job.tolist(), problem.edge_score.tolist()
    nxt = starts[:-1].tolist()
    end = starts[1:].tolist()
    cap = problem.job_openings.tolist()
    held: list[list[tuple[float, int, int]]] = [[] for _ in range(problem.n_jobs)]
    free = list(range(problem.n_workers - 1, -1, -1))
    while free:
        w = free.pop()
        while nxt[w] < end[w]:
            e = pref_e[nxt[w]]
            nxt[w] += 1
            j = ej[e]
            if cap[j] <= 0:
                continue
            entry = (es[e], -w, e)  # the heap's minimum is the job's least preferred worker
            heap = held[j]
            if len(heap) < cap[j]:
                heapq.heappush(heap, entry)
                break
            if entry[:2] > heap[0][:2]:
                out = heapq.heapreplace(heap, entry)
                free.append(-out[1])
                break
    sel = np.zeros(problem.n_edges, dtype=bool)
    chosen = [e for heap in held for (_, _, e) in heap]
    sel[np.asarray(chosen, dtype=np.int64)] = True
    return build_result(problem, sel, solver="deferred_acceptance", wall_s=time.perf_counter() - t0)


def blocking_pairs(problem: PlacementProblem, assignment: np.ndarray) -> int:
    """Edges ``(w, j)`` not in ``assignment`` that ``w`` prefers to its job and ``j`` would accept.

    Preferences as in :func:`stable_matching`; a job with a free opening accepts anyone.
    """
    a = np.asarray(assignment, dtype=np.int64)
    if problem.n_edges == 0:
        return 0
    ew, ej, es = problem.edge_worker, problem.edge_job.astype(np.int64), problem.edge_score
    placed = np.flatnonzero(a >= 0)
    from optimizer.check import edge_index

    cur_e = np.full(problem.n_workers, -1, dtype=np.int64)
    cur_e[placed] = edge_index(problem, placed, a[placed])
    cur_s = np.where(cur_e >= 0, es[np.maximum(cur_e, 0)], -np.inf)
    cur_j = np.where(a >= 0, a, problem.n_jobs)
    w_prefers = (cur_e[ew] < 0) | (es > cur_s[ew]) | ((es == cur_s[ew]) & (ej < cur_j[ew]))
    w_prefers &= a[ew] != ej
    # each job's least preferred holder: lowest score, then highest worker index
    held_e = cur_e[placed]
    load = np.bincount(ej[held_e], minlength=problem.n_jobs)
    worst_s = np.full(problem.n_jobs, np.inf)
    np.minimum.at(worst_s, ej[held_e], es[held_e])
    at_worst = es[held_e] == worst_s[ej[held_e]]
    worst_w = np.full(problem.n_jobs, -1, dtype=np.int64)
    np.maximum.at(worst_w, ej[held_e[at_worst]], ew[held_e[at_worst]].astype(np.int64))
    has_room = load < problem.job_openings
    j_accepts = has_room[ej] | (es > worst_s[ej]) | ((es == worst_s[ej]) & (ew < worst_w[ej]))
    return int((w_prefers & j_accepts).sum())


def lp_reference(problem: PlacementProblem, weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Optimum of the core LP (openings, enterprise capacity) by HiGHS: ``(objective, x)``."""
    from scipy import sparse
    from scipy.optimize import linprog

    problem.validate()
    w = problem.edge_score if weights is None else weights
    e_n = problem.n_edges
    if e_n == 0:
        return 0.0, np.zeros(0)
    cols = np.arange(e_n)
    blocks = [
        sparse.csr_array((np.ones(e_n), (problem.edge_worker, cols)), shape=(problem.n_workers, e_n)),
        sparse.csr_array((np.ones(e_n), (problem.edge_job, cols)), shape=(problem.n_jobs, e_n)),
    ]
    rhs = [np.ones(problem.n_workers), problem.job_openings.astype(np.float64)]
    if problem.n_enterprises and problem.enterprise_capacity is not None:
        # validate() rejects enterprise_capacity without job_enterprise
        assert problem.job_enterprise is not None
        ent = problem.job_enterprise[problem.edge_job]
        cap = problem.enterprise_capacity
        has = (ent >= 0) & (cap[np.maximum(ent, 0)] >= 0)
        blocks.append(
            sparse.csr_array(
                (np.ones(int(has.sum())), (ent[has], cols[has])), shape=(problem.n_enterprises, e_n)
            )
        )
        rhs.append(np.where(cap >= 0, cap, 0).astype(np.float64))
    res = linprog(
        -w, A_ub=sparse.vstack(blocks, format="csr"), b_ub=np.concatenate(rhs), bounds=(0, 1), method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"HiGHS LP failed: {res.message}")
    return float(-res.fun), res.x


__all__ = ["blocking_pairs", "greedy", "lp_reference", "stable_matching"]
