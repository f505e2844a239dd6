"""Shadow prices: the exact value of one more opening, from the residual graph of the optimal flow.

OR-Tools' ``SimpleMinCostFlow`` does not expose node potentials, and LP duals are not unique
anyway, so prices are computed as exact marginals. Raising the capacity of an arc ``u → v`` by
one adds the residual arc ``u → v`` (cost 0); the optimum improves by the most negative cycle
through it, i.e. by ``-dist(v → u)`` in the residual graph, which has no negative cycle because
the flow is optimal. So:

* enterprise ``k`` (arc ``k → T``): ``max(0, -dist(T → k))``;
* job ``j`` whose next node is ``T`` or an enterprise that is not full: ``max(0, -dist(T → j))``
  (an enterprise with room is joined to ``T`` both ways at cost 0, so it is equivalent to ``T``);
* job ``j`` of a full enterprise ``k``: ``max(0, -dist(k → j))`` — one extra search per full
  enterprise.

Distances come from a vectorised Bellman–Ford that relaxes only the arcs leaving nodes whose
distance changed in the previous round (SPFA by rounds). Prices are in objective units (score,
plus the weighted priority bonus) and hold the lexicographic stage totals fixed (``count`` mode:
the number placed; lexicographic priority: the number of unemployed placed).
"""

from __future__ import annotations

import numpy as np

from optimizer.errors import SolverError
from optimizer.flow import FlowOutcome
from optimizer.problem import PlacementProblem

_INF = np.int64(2**62)


class ResidualGraph:
    """Residual arcs of a flow in CSR form (arcs grouped by tail)."""

    def __init__(self, n_nodes: int, tails, heads, caps, costs, flows) -> None:
        fwd = flows < caps
        bwd = flows > 0
        rt = np.concatenate([tails[fwd], heads[bwd]])
        rh = np.concatenate([heads[fwd], tails[bwd]])
        rc = np.concatenate([costs[fwd], -costs[bwd]])
        order = np.argsort(rt, kind="stable")
        self.n_nodes = n_nodes
        self.heads_ = rh[order]
        self.costs_ = rc[order]
        self.indptr_ = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(rt, minlength=n_nodes), out=self.indptr_[1:])

    def distances(self, source: int) -> np.ndarray:
        """Shortest-path distances from ``source`` (int64; unreachable = 2**62)."""
        dist = np.full(self.n_nodes, _INF, dtype=np.int64)
        dist[source] = 0
        frontier = np.array([source], dtype=np.int64)
        for _ in range(self.n_nodes + 1):
            starts = self.indptr_[frontier]
            lens = self.indptr_[frontier + 1] - starts
            total = int(lens.sum())
            if total == 0:
                return dist
            offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
            idx = np.arange(total, dtype=np.int64) + offsets
            tails = np.repeat(frontier, lens)
            cand = dist[tails] + self.costs_[idx]
            heads = self.heads_[idx]
            better = cand < dist[heads]
            if not better.any():
                return dist
            heads, cand = heads[better], cand[better]
            np.minimum.at(dist, heads, cand)
            frontier = np.unique(heads)
        raise SolverError("residual graph has a negative cycle: the flow is not optimal")


def shadow_prices(problem: PlacementProblem, flow: FlowOutcome) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-job and per-enterprise value of one more opening, in objective units."""
    lay = flow.layout
    assert flow.tails is not None and flow.flows is not None
    graph = ResidualGraph(lay.n_nodes, flow.tails, flow.heads, flow.caps, flow.costs, flow.flows)
    d_sink = graph.distances(lay.sink)
    job_nodes = lay.job0 + np.arange(lay.n_jobs)
    job_dist = d_sink[job_nodes].copy()
    ent_price = None
    if lay.n_ent:
        ent = problem.job_enterprise
        k_nodes = lay.ent0 + np.arange(lay.n_ent)
        ent_price = _to_price(d_sink[k_nodes], flow.scale)
        cap = problem.enterprise_capacity
        ent_arcs = slice(
            lay.n_workers + problem.n_edges + lay.n_jobs,
            lay.n_workers + problem.n_edges + lay.n_jobs + lay.n_ent,
        )
        ent_flow = flow.flows[ent_arcs]
        full = np.zeros(lay.n_ent, dtype=bool)
        if cap is not None:
            full = (cap >= 0) & (ent_flow >= cap)
        for k in np.flatnonzero(full):
            jobs_k = np.flatnonzero(ent == k)
            if jobs_k.size:
                job_dist[jobs_k] = graph.distances(lay.ent0 + int(k))[lay.job0 + jobs_k]
    return _to_price(job_dist, flow.scale), ent_price


def _to_price(dist: np.ndarray, scale: int) -> np.ndarray:
    gain = np.where(dist >= _INF, 0, -dist)
    return np.maximum(gain, 0).astype(np.float64) / float(scale)


__all__ = ["ResidualGraph", "shadow_prices"]
