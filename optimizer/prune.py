"""Exact two-phase flow for large instances: solve on each worker's best edges, then prove it.

Phase 1 keeps each worker's ``keep`` highest-weight edges and solves that smaller network.
Phase 2 computes node potentials ``p`` on its residual graph (shortest distances from a virtual
root joined to every node at cost 0; the graph has no negative cycle, the flow being optimal
there), so every residual arc has reduced cost ``c(u, v) + p(u) − p(v) >= 0``. A dropped edge
carries no flow, so it adds exactly one residual arc ``w → j`` of cost ``−wint_e``. If none of
them has a negative reduced cost, ``p`` is a feasible potential for the *full* residual graph,
which then has no negative cycle: the phase-1 flow is optimal for the full problem (same integer
costs, same supplies). Otherwise the violating edges are added and the loop repeats; the last
round falls back to the full graph, so the answer is always exact.

Phase 1 pays only when few edges are added back. Where many workers rank the same few jobs first
(scores that share a job-quality term, as real ones do), their best edges reach only part of the
openings, round 1 adds back hundreds of thousands of edges and the two-phase solve took 2.5-3x the
full one on such instances. So the full graph is solved at once when the kept edges reach fewer than
:data:`MIN_REACH` of the openings all edges reach (per job, the smaller of its openings and its edges'
count), and the next round is the full graph when the kept and violating edges are more than
:data:`FULL_SHARE` of all edges.

Used only where this argument holds as stated: score mode (fixed supply, so optimality is the
absence of negative cycles), no lexicographic priority, no dorm nodes (an edge's head is its job
node), and no shadow prices asked (they need the full residual graph).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from optimizer.flow import FlowOutcome, integer_weights, problem_scale, solve_flow
from optimizer.network import dorm_plan
from optimizer.prices import ResidualGraph
from optimizer.problem import PlacementProblem, SolveOptions

# below this the full solve is fast enough; from about 0.1M edges up the two phases already took
# 0.5-0.8x the full solve's time on the benchmark instances (k = 30-50, no violations): 500k keeps
# a margin for harder instances
MIN_EDGES = 500_000
KEEP = 12  # edges kept per worker in phase 1
MIN_REACH = 0.99  # share of the reachable openings the kept edges must reach for phase 1 to run
FULL_SHARE = 0.5  # kept and violating edges beyond this share of all edges: the next round is the full graph
_ROUNDS = 3  # rounds in all: two on pruned graphs, then the full graph


def prunable(problem: PlacementProblem, options: SolveOptions, keep_residual: bool) -> bool:
    """Whether the two-phase solve applies (see the module docstring) and is worth it."""
    return (
        not keep_residual
        and options.mode == "score"
        and options.priority != "lexicographic"
        and problem.n_edges >= MIN_EDGES
        and problem.n_edges > 2 * KEEP * max(problem.n_workers, 1)
        and dorm_plan(problem, options) is None
    )


def solve_flow_pruned(problem: PlacementProblem, weights: np.ndarray, options: SolveOptions) -> FlowOutcome:
    """Same answer as :func:`optimizer.flow.solve_flow` (score mode), proven by potentials."""
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    ew = problem.edge_worker
    first, safe = problem_scale(problem, weights)
    if not options.scale and first == safe:  # the weights' exact scale: phase 1 must not pick a coarser one
        options = dataclasses.replace(options, scale=first)
    keep = _best_edges(ew, weights, problem.n_workers, KEEP)
    stages["prune"] = time.perf_counter() - t0
    if reach(problem, keep) < MIN_REACH * reach(problem, None):
        stages["prune_skipped"] = 1.0  # phase 1 would add back most edges: solve them all at once
        full = solve_flow(problem, weights, options)
        full.stage_seconds = {**stages, **full.stage_seconds}
        return full
    out = None
    for round_ in range(1, _ROUNDS):  # the pruned rounds; the full graph after them
        idx = np.flatnonzero(keep)
        sub = _subproblem(problem, idx)
        t1 = time.perf_counter()
        flow = solve_flow(sub, weights[idx], options, keep_residual=True)
        stages[f"solve_flow_{round_}"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        net = flow.network
        assert net is not None  # keep_residual=True: the outcome carries its network
        graph = ResidualGraph(flow.layout.n_nodes, net.tails, net.heads, net.caps, net.costs, flow.flows)
        net.tails = net.heads = net.caps = net.costs = None  # type: ignore[assignment]
        flow.flows = None
        pot = graph.potentials()
        del graph
        dropped = np.flatnonzero(~keep)
        wint = integer_weights(weights[dropped], flow.scale)
        job_node = flow.layout.job0 + problem.edge_job[dropped].astype(np.int64)
        reduced = -wint + pot[ew[dropped]] - pot[job_node]
        viol = dropped[reduced < 0]
        stages[f"verify_{round_}"] = time.perf_counter() - t1
        stages[f"violations_{round_}"] = float(viol.size)
        if viol.size == 0:
            edge_flow = np.zeros(problem.n_edges, dtype=bool)
            edge_flow[idx[flow.edge_flow]] = True
            off = float(np.abs(wint / flow.scale - weights[dropped]).max()) if dropped.size else 0.0
            out = dataclasses.replace(
                flow, edge_flow=edge_flow, network=None, flows=None, rounding=max(flow.rounding, off)
            )
            break
        if idx.size + viol.size > FULL_SHARE * problem.n_edges:
            break  # the full graph now, exact by construction (and as fast as most of it)
        keep[viol] = True
    if out is None:
        out = solve_flow(problem, weights, options)
        out.stage_seconds = {**stages, **out.stage_seconds}
        return out
    out.stage_seconds = {**stages, "solve_flow": sum(v for k, v in stages.items() if k.startswith("solve_"))}
    return out


def _best_edges(ew: np.ndarray, weights: np.ndarray, n_workers: int, keep: int) -> np.ndarray:
    """Mask of each worker's ``keep`` highest-weight edges (near-ties may swap or keep one more,
    which only changes what phase 1 keeps, never the proven answer)."""
    deg = np.bincount(ew, minlength=n_workers)
    width = int(deg.max(initial=0))
    if width <= keep:
        return np.ones(ew.size, dtype=bool)
    starts = np.zeros(n_workers + 1, dtype=np.int64)
    np.cumsum(deg, out=starts[1:])
    if n_workers * width <= 2 * ew.size and bool(np.all(ew[1:] >= ew[:-1])):
        # edges grouped by worker (the solver's canonical order) and degrees alike: one row per worker,
        # padded, and each row's keep-th largest weight by a partial sort
        table = np.full((n_workers, width), -np.inf)
        table[ew, np.arange(ew.size) - starts[ew]] = weights
        threshold = np.partition(table, width - keep, axis=1)[:, width - keep]
        return weights >= threshold[ew]
    # any order: rank within the worker by one float sort key (worker, then weight)
    w_max = float(weights.max())
    order = np.argsort(ew * 2.0 + (1.0 - weights / (w_max * (1 + 1e-9) if w_max > 0 else 1.0)))
    rank = np.empty(ew.size, dtype=np.int64)
    rank[order] = np.arange(ew.size) - starts[ew[order]]
    return rank < keep


def reach(problem: PlacementProblem, keep: np.ndarray | None) -> int:
    """Openings the edges (``keep``, or all) can reach: per job, the smaller of its openings and its
    edges' count; an upper bound on the placements those edges allow."""
    jobs = problem.edge_job if keep is None else problem.edge_job[keep]
    count = np.bincount(jobs, minlength=problem.n_jobs)
    return int(np.minimum(count, problem.job_openings).sum())


def _subproblem(problem: PlacementProblem, idx: np.ndarray) -> PlacementProblem:
    change = {"edge_worker": problem.edge_worker[idx], "edge_job": problem.edge_job[idx]}
    change["edge_score"] = problem.edge_score[idx]
    if problem.edge_needs_dorm is not None:
        change["edge_needs_dorm"] = problem.edge_needs_dorm[idx]
    return dataclasses.replace(problem, **change)


__all__ = ["FULL_SHARE", "KEEP", "MIN_EDGES", "MIN_REACH", "prunable", "reach", "solve_flow_pruned"]
