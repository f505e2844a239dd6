"""Optimal duals of the flow core, for pricing out edges that are not in the problem.

An assignment solves the flow core (openings, binding enterprise capacities, laminar dorm beds)
optimally exactly when its residual network has no negative cycle, i.e. when integer node
potentials ``P`` exist with ``cost(a, b) + P(a) - P(b) >= 0`` on every residual arc
(:meth:`optimizer.prices.ResidualGraph.potentials` finds them or proves there are none). A
missing edge ``w → h`` would enter the network as one more arc with capacity 1, no flow and cost
``-weight``; the assignment stays optimal with *every* such arc added at once when each has a
non-negative reduced cost, ``weight * scale <= P(w) - P(h)``. So the optimum over any larger set
of candidate pairs is certified by one test per pair, and a pair that fails it is one that may
improve the optimum (:meth:`FlowDuals.gains`).

``count`` mode (most workers first, score second) is the score problem with every weight raised
by a constant ``M`` larger than any score total (``FlowDuals.offset``): both have the same optima,
and the same potentials test prices out both criteria at once (a pair that places one more worker
has a positive gain whatever its score).

Dorm beds: the test reads the head node ``h`` of a new edge as the network would route it. An edge
that needs no bed but goes to a job whose edges all pass its enterprise's dorm node would change
that routing; it is priced without the bed's dual, which can only flag more pairs, never fewer.
Lexicographic priority is solved in stages over changing supplies, which one set of potentials
does not certify: :func:`flow_duals` returns ``None`` for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.flow import choose_scale, fast_scale, integer_weights
from optimizer.network import build_network
from optimizer.prices import ResidualGraph
from optimizer.problem import PlacementProblem, SolveOptions

__all__ = ["FlowDuals", "flow_duals"]

_MAX_POTENTIAL = 2**61  # |P| stays below this (sums of two potentials and a weight fit in int64)


@dataclass(frozen=True)
class FlowDuals:
    """Node potentials of an optimal flow, read per worker and per job (see the module docstring).

    ``worker_potential[w] - job_potential[j]`` (a pair that needs no dorm bed) or
    ``worker_potential[w] - job_dorm_potential[j]`` (one that needs a bed) is the integer weight,
    plus ``offset``, that a new edge must exceed to improve the optimum.
    """

    scale: int
    offset: int  # added to every integer weight (count mode's M; 0 in score mode)
    worker_potential: np.ndarray  # int64 (W,)
    job_potential: np.ndarray  # int64 (J,)
    job_dorm_potential: np.ndarray  # int64 (J,)
    mode: str

    def gains(
        self,
        edge_worker: np.ndarray,
        edge_job: np.ndarray,
        edge_weight: np.ndarray,
        edge_needs_dorm: np.ndarray | None = None,
    ) -> np.ndarray:
        """Reduced gain (int64, integer weight units) of each new edge: ``> 0`` means the edge
        may improve the optimum (and is missing from its certificate); ``<= 0`` means it cannot."""
        head = self.job_potential[edge_job]
        if edge_needs_dorm is not None:
            head = np.where(edge_needs_dorm, self.job_dorm_potential[edge_job], head)
        wint = integer_weights(np.asarray(edge_weight, dtype=np.float64), self.scale) + self.offset
        return wint - (self.worker_potential[edge_worker] - head)

    def worker_value(self) -> np.ndarray:
        """Float (W,) ``u``: a new edge of worker ``w`` improves the optimum only if its weight
        exceeds ``u[w] + job_price()[j]`` (rounding to the flow's scale included)."""
        return (self.worker_potential - self.offset - 0.5).astype(np.float64) / self.scale

    def job_price(self) -> np.ndarray:
        """Float (J,) ``v``: the smaller of the job's two prices (with and without a dorm bed)."""
        return -np.maximum(self.job_potential, self.job_dorm_potential).astype(np.float64) / self.scale


def flow_duals(
    problem: PlacementProblem,
    options: SolveOptions,
    edge_selected: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> FlowDuals | None:
    """Potentials certifying that ``edge_selected`` is an optimal flow of ``problem``'s flow core.

    ``weights`` are the edges' objective weights (default: the scores, plus the weighted priority
    bonus, as :func:`optimizer.solve` uses them). Returns ``None`` under lexicographic priority, or
    when the weights are too large for exact integer potentials. Raises
    :class:`~optimizer.errors.SolverError` when the selection is not optimal for the flow core.
    """
    if options.priority == "lexicographic":
        return None
    from optimizer.solve import edge_weights

    problem.validate()
    w = edge_weights(problem, options) if weights is None else np.asarray(weights, dtype=np.float64)
    sel = np.asarray(edge_selected, dtype=bool)
    w_n, j_n = problem.n_workers, problem.n_jobs
    n_nodes = w_n + j_n + 2 * problem.n_enterprises + 3
    max_units = int(min(w_n, int(problem.job_openings.sum())))
    w_max = float(max(w.max(initial=0.0), 1.0))
    scale = min(fast_scale(np.array([w_max])), choose_scale(np.array([w_max]), n_nodes, max_units))
    scale = max(scale, 10**6)  # scores carry 6 decimals: their integer weights are exact
    wint = integer_weights(w, scale)
    offset = 0
    if options.mode == "count":
        offset = int(np.ceil(w_max * scale)) * (max_units + 1) + 1
    longest = 2 * (w_n + j_n) + 8  # arcs on a simple path, a bound
    if (offset + int(np.ceil(w_max * scale))) * longest >= _MAX_POTENTIAL:
        return None
    net = build_network(problem, wint + offset, np.zeros(w_n, dtype=bool), options)
    lay = net.layout
    # flows of the given selection: sources, edges, then each capacity arc carries its node's inflow
    placed = np.bincount(problem.edge_worker[sel], minlength=w_n) > 0
    n_arcs = net.tails.shape[0]
    flows = np.zeros(n_arcs, dtype=np.int64)
    flows[:w_n] = placed
    flows[w_n : w_n + problem.n_edges] = sel
    cap0 = w_n + problem.n_edges
    cap_nodes = net.tails[cap0 : n_arcs - 2].astype(np.int64)
    for _ in range(4):  # chains are at most job → dorm → enterprise → T (or dorm → job → ...)
        inflow = np.bincount(net.heads, weights=flows, minlength=lay.n_nodes).astype(np.int64)
        flows[cap0 : n_arcs - 2] = inflow[cap_nodes]
    net.caps[-2:] = [net.n0, 0]  # every worker may stay unplaced (count mode prices that by M)
    flows[-2:] = [w_n - int(placed.sum()), 0]
    if np.any(flows > net.caps):
        raise ValueError("edge_selected breaks an opening or a capacity of the flow core")
    graph = ResidualGraph(lay.n_nodes, net.tails, net.heads, net.caps, net.costs, flows)
    pot = graph.potentials()
    # the widest test each pair can get from one set of potentials: workers high, the rest low
    worker_node = np.zeros(lay.n_nodes, dtype=bool)
    worker_node[:w_n] = True
    tight = graph.tightened(pot, worker_node)
    if np.abs(tight).max(initial=0) < _MAX_POTENTIAL:
        pot = tight
    job_nodes = lay.job0 + np.arange(j_n, dtype=np.int64)
    job_p = pot[job_nodes].copy()
    dorm_p = job_p.copy()
    plan = net.dorm
    if plan is not None and problem.job_enterprise is not None:
        ent = problem.job_enterprise
        ent_c = np.maximum(ent, 0)
        # the one mixed job of an edge-level enterprise: its dorm edges enter the dorm node
        edge_level = (ent >= 0) & (plan.edge_level_job[ent_c] == np.arange(j_n))
        dorm_p[edge_level] = pot[net.dorm_node[ent_c[edge_level]]]
        # a job routed through its enterprise's dorm node: an edge without a bed skips the bed's dual
        via = net.heads[net.node_arc[job_nodes]].astype(np.int64)
        is_dorm = (via >= lay.dorm0) & (via < lay.s0)
        if is_dorm.any():
            d = via[is_dorm]
            after = net.heads[net.node_arc[d]].astype(np.int64)
            job_p[is_dorm] += np.maximum(0, pot[after] - pot[d])
    return FlowDuals(scale, offset, pot[:w_n].copy(), job_p, dorm_p, options.mode)
