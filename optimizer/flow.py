"""Exact maximum-weight capacitated assignment as an OR-Tools min-cost flow.

Network (built vectorised, one ``add_arcs_with_capacity_and_unit_cost`` call)::

    S0/S1 ──1──► worker ──1, −w_e──► job ──openings──► enterprise ──capacity──► T
      └──────────────── bypass (unplaced workers, cost 0) ───────────────────────┘

Workers hang off ``S1`` when they have priority (unemployed, lexicographic) and ``S0``
otherwise. Lexicographic stages are solved exactly by re-solving the same graph with changed
supplies and bypass capacities, never with a big-M cost:

* ``count``: ``solve_max_flow_with_min_cost`` (maximum flow, then minimum cost among them);
* ``priority='lexicographic'``: maximum flow from ``S1`` alone gives ``k``; the final solve
  sends exactly ``k`` units from ``S1`` (the placeable sets form a matroid, so the most
  unemployed and then the most workers in total are reachable together).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optimizer.errors import SolverError
from optimizer.problem import PlacementProblem, SolveOptions

_MAX_DIGITS = 12


@dataclass
class FlowLayout:
    """Node numbering of the network."""

    n_workers: int
    n_jobs: int
    n_ent: int

    @property
    def job0(self) -> int:
        return self.n_workers

    @property
    def ent0(self) -> int:
        return self.n_workers + self.n_jobs

    @property
    def s0(self) -> int:
        return self.ent0 + self.n_ent

    @property
    def s1(self) -> int:
        return self.s0 + 1

    @property
    def sink(self) -> int:
        return self.s0 + 2

    @property
    def n_nodes(self) -> int:
        return self.s0 + 3


@dataclass
class FlowOutcome:
    """Selected edges and, when asked, the residual data :mod:`optimizer.prices` needs."""

    edge_flow: np.ndarray  # bool (E,), in the order the edges were given
    int_objective: int  # sum of integer weights of the selected edges
    scale: int
    layout: FlowLayout
    stage_seconds: dict[str, float]
    tails: np.ndarray | None = None
    heads: np.ndarray | None = None
    caps: np.ndarray | None = None
    costs: np.ndarray | None = None
    flows: np.ndarray | None = None


def choose_scale(weights: np.ndarray, n_nodes: int, max_units: int) -> int:
    """Largest power of ten that keeps every cost and the total inside OR-Tools' int64 range.

    OR-Tools' cost scaling multiplies unit costs by about ``n_nodes``, so ``max|cost| * (n+2)``
    and the total ``max|cost| * max_units`` must both stay below 2**62.
    """
    w_max = float(weights.max()) if weights.size else 0.0
    if w_max <= 0.0:
        return 10**_MAX_DIGITS
    limit = min(2.0**62 / (n_nodes + 2), 2.0**62 / max(max_units, 1), 1e15) / w_max
    digits = int(np.floor(np.log10(limit))) if limit >= 1 else 0
    return 10 ** max(0, min(digits, _MAX_DIGITS))


def integer_weights(weights: np.ndarray, scale: int) -> np.ndarray:
    """Round ``weights * scale`` to int64 (each edge moves by at most 0.5 units)."""
    return np.rint(weights * float(scale)).astype(np.int64)


def solve_flow(
    problem: PlacementProblem,
    weights: np.ndarray,
    options: SolveOptions,
    *,
    keep_residual: bool = False,
) -> FlowOutcome:
    """Solve the flow core (openings, enterprise capacity, mode, lexicographic priority).

    ``weights`` are per-edge objective weights in score units (score, plus the weighted priority
    bonus). Returns the selected edges; ignores dorm beds, targets, fairness and groups.
    """
    from ortools.graph.python import min_cost_flow

    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    w_n, j_n = problem.n_workers, problem.n_jobs
    ent = problem.job_enterprise if problem.n_enterprises else None
    lay = FlowLayout(w_n, j_n, problem.n_enterprises if ent is not None else 0)
    max_units = int(min(w_n, int(problem.job_openings.sum())))
    scale = int(options.scale) if options.scale else choose_scale(weights, lay.n_nodes, max_units)
    wint = integer_weights(weights, scale)

    # data: worker classes (S1 = priority, lexicographic only)
    lex = options.priority == "lexicographic" and problem.worker_unemployed is not None
    prio = problem.worker_unemployed if lex else np.zeros(w_n, dtype=bool)
    n1 = int(prio.sum())
    n0 = w_n - n1

    # arcs, in blocks: sources, edges, jobs, enterprises, bypasses
    workers = np.arange(w_n, dtype=np.int32)
    job_nodes = np.arange(j_n, dtype=np.int32) + lay.job0
    if ent is not None:
        job_head = np.where(ent >= 0, lay.ent0 + ent, lay.sink).astype(np.int32)
        ent_open = np.bincount(ent[ent >= 0], weights=problem.job_openings[ent >= 0], minlength=lay.n_ent)
        cap = problem.enterprise_capacity
        ent_cap = (
            ent_open.astype(np.int64) if cap is None else np.where(cap >= 0, cap, ent_open.astype(np.int64))
        )
    else:
        job_head = np.full(j_n, lay.sink, dtype=np.int32)
        ent_cap = np.zeros(0, dtype=np.int64)
    tails = np.concatenate(
        [
            np.where(prio, lay.s1, lay.s0).astype(np.int32),
            problem.edge_worker,
            job_nodes,
            np.arange(lay.n_ent, dtype=np.int32) + lay.ent0,
            np.array([lay.s0, lay.s1], dtype=np.int32),
        ]
    )
    heads = np.concatenate(
        [
            workers,
            problem.edge_job + np.int32(lay.job0),
            job_head,
            np.full(lay.n_ent, lay.sink, np.int32),
            np.array([lay.sink, lay.sink], dtype=np.int32),
        ]
    )
    caps = np.concatenate(
        [
            np.ones(w_n + problem.n_edges, np.int64),
            problem.job_openings,
            ent_cap,
            np.array([n0, n1], np.int64),
        ]
    )
    costs = np.zeros(caps.shape[0], dtype=np.int64)
    e0 = w_n
    costs[e0 : e0 + problem.n_edges] = -wint
    del wint

    mcf = min_cost_flow.SimpleMinCostFlow()
    arcs = mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    by0, by1 = int(arcs[-2]), int(arcs[-1])
    if not keep_residual:
        del tails, heads, costs
    stages["build_flow"] = time.perf_counter() - t0

    last_bypass = [n0, n1]

    def run(sup0: int, sup1: int, sink: int, bypass0: int, bypass1: int, max_flow: bool) -> int:
        last_bypass[:] = [bypass0, bypass1]
        mcf.set_arc_capacity(by0, bypass0)
        mcf.set_arc_capacity(by1, bypass1)
        mcf.set_nodes_supplies(
            np.array([lay.s0, lay.s1, lay.sink], dtype=np.int32), np.array([sup0, sup1, -sink], np.int64)
        )
        status = mcf.solve_max_flow_with_min_cost() if max_flow else mcf.solve()
        if status != mcf.OPTIMAL:
            raise SolverError(
                f"min-cost flow returned {status.name}"
                + (" (lower SolveOptions.scale)" if status == mcf.BAD_COST_RANGE else "")
            )
        return int(mcf.maximum_flow()) if max_flow else sink

    t1 = time.perf_counter()
    if not lex:
        if options.mode == "count":
            run(n0, 0, n0, 0, 0, max_flow=True)
        else:
            run(n0, 0, n0, n0, 0, max_flow=False)
    else:
        k = run(0, n1, n1, 0, 0, max_flow=True)
        if options.mode == "count":
            total = run(n0, n1, w_n, 0, 0, max_flow=True)
            run(total - k, k, total, 0, 0, max_flow=False)
        else:
            run(n0, k, n0 + k, n0, 0, max_flow=False)
    stages["solve_flow"] = time.perf_counter() - t1

    flows = mcf.flows(arcs) if keep_residual else mcf.flows(arcs[e0 : e0 + problem.n_edges])
    edge_flow = (flows[e0 : e0 + problem.n_edges] if keep_residual else flows) > 0
    out = FlowOutcome(
        edge_flow=edge_flow,
        int_objective=-int(mcf.optimal_cost()),
        scale=scale,
        layout=lay,
        stage_seconds=stages,
    )
    if keep_residual:
        caps[-2:] = last_bypass  # the residual graph is that of the final run
        out.tails, out.heads, out.caps, out.costs, out.flows = tails, heads, caps, costs, flows
    return out


__all__ = ["FlowLayout", "FlowOutcome", "choose_scale", "integer_weights", "solve_flow"]
