"""Shadow prices: the exact value of one more opening, bed or unit of enterprise capacity.

OR-Tools' ``SimpleMinCostFlow`` does not expose node potentials, and LP duals are not unique
anyway, so prices are computed as exact marginals. Raising the capacity of an arc ``u → v`` by
one adds the residual arc ``u → v`` (cost 0); the optimum improves by the most negative cycle
through it, i.e. by ``max(0, -dist(v → u))`` in the residual graph, which has no negative cycle
because the flow is optimal. Cycles move no flow out of a source, so prices hold the
lexicographic stage totals fixed (``count`` mode: the number placed; lexicographic priority:
the number of unemployed placed).

Every job, enterprise and dorm node has one capacity arc out of it. A node whose capacity arc is
not full is, for distances *from* it, the same as the node that arc leads to: it reaches it at
cost 0, and either that arc carries flow (so the way back is free too) or nothing flows through
the node at all. So ``dist(v → ·)`` is read from the first full node down ``v``'s chain
(``T`` if none): one search from ``T`` and one per full node that some priced arc leads to.

Distances come from a vectorised Bellman–Ford that relaxes only the arcs leaving nodes whose
distance changed in the previous round (SPFA by rounds). Prices are in objective units (score,
plus the weighted priority bonus).
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

    def tightened(self, pot: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        """Potentials, still feasible, that widen ``p(a) - p(b)`` from the ``fixed`` nodes (bool) to
        the others: those others as low as the residual arcs allow with the fixed nodes held at
        ``pot`` (``p(a) >= p(b) - c(a, b)``, relaxed back from the fixed nodes; nodes that reach
        none of them move down together), then each fixed node as high as its in-arcs allow
        (``p(b) <= p(a) + c(a, b)``). No residual arc may join two fixed nodes. Returns ``pot``
        itself when the result would not be feasible or not fit ``max_abs``."""
        tails = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr_))
        heads, costs = self.heads_, self.costs_
        if (fixed[tails] & fixed[heads]).any():
            return pot
        # reversed arcs b -> a of every arc a -> b leaving a free node: q = -p are their distances
        free = ~fixed[tails]
        back = ResidualGraph.__new__(ResidualGraph)
        order = np.argsort(heads[free], kind="stable")
        back.n_nodes, back.heads_, back.costs_ = self.n_nodes, tails[free][order], costs[free][order]
        back.indptr_ = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(heads[free], minlength=self.n_nodes), out=back.indptr_[1:])
        q = np.full(self.n_nodes, _INF, dtype=np.int64)
        q[fixed] = -pot[fixed]
        q = back._relax(q, np.flatnonzero(fixed))
        reached = q < _INF
        out = np.where(reached, -q, 0)
        if not reached.all():
            span = int(pot.max()) - int(out[reached].min()) + int(np.abs(costs).max(initial=0)) + 1
            out = np.where(reached, out, pot - span)
        # then each fixed node up to its lowest in-arc
        into = fixed[heads]
        up = np.full(self.n_nodes, _INF, dtype=np.int64)
        np.minimum.at(up, heads[into], out[tails[into]] + costs[into])
        out = np.where(fixed & (up < _INF), up, out)
        if (out[heads] > out[tails] + costs).any():
            return pot
        return out

    def distances(self, source: int) -> np.ndarray:
        """Shortest-path distances from ``source`` (int64; unreachable = 2**62)."""
        dist = np.full(self.n_nodes, _INF, dtype=np.int64)
        dist[source] = 0
        return self._relax(dist, np.array([source], dtype=np.int64))

    def potentials(self) -> np.ndarray:
        """Distances from a virtual root joined to every node at cost 0: ``p(v) <= p(u) + c(u, v)``
        for every residual arc, the certificate that no negative cycle exists."""
        return self._relax(np.zeros(self.n_nodes, dtype=np.int64), np.arange(self.n_nodes, dtype=np.int64))

    def _relax(self, dist: np.ndarray, frontier: np.ndarray) -> np.ndarray:
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
            frontier = _sorted_unique(heads)
        raise SolverError("residual graph has a negative cycle: the flow is not optimal")


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of an int array, by a sort: numpy's hashing path took 5-45x as long on the
    frontiers here, and imports numpy.ma on first use (start-up of ``laborbridge solve``). The same
    helper as ``matcher.scoring.candidates._sorted_unique``, which the optimizer may not import."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if a.size else a


def shadow_prices(
    problem: PlacementProblem, flow: FlowOutcome
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Per-job, per-enterprise and per-enterprise-bed value of one more unit, in objective units.

    Enterprises without a node (capacity that cannot bind) price at 0; beds that cannot bind at
    0; beds and jobs of a *crossing* enterprise (see :mod:`optimizer.network`) are NaN. The enterprise and
    bed arrays are None when the problem has no enterprises / no dorm beds.
    """
    net, lay = flow.network, flow.layout
    assert net is not None and net.tails is not None and flow.flows is not None
    graph = ResidualGraph(lay.n_nodes, net.tails, net.heads, net.caps, net.costs, flow.flows)
    full = flow.flows >= net.caps
    cache: dict[int, np.ndarray] = {lay.sink: graph.distances(lay.sink)}

    def price(arcs: np.ndarray) -> np.ndarray:
        """max(0, -dist(head → tail)) / scale for each arc, via the first full node of the chain."""
        v = net.heads[arcs].astype(np.int64)
        for _ in range(4):  # chains are job → dorm → enterprise → T at most
            arc_v = net.node_arc[v]
            step = (v != lay.sink) & (arc_v >= 0) & ~full[np.maximum(arc_v, 0)]
            if not step.any():
                break
            v = np.where(step, net.heads[np.maximum(arc_v, 0)], v)
        out = np.zeros(arcs.size, dtype=np.float64)
        for r in np.unique(v):
            if int(r) not in cache:
                cache[int(r)] = graph.distances(int(r))
            at = np.flatnonzero(v == r)
            out[at] = _to_price(cache[int(r)][net.tails[arcs[at]]], flow.scale)
        return out

    job_price = price(net.node_arc[lay.job0 : lay.job0 + lay.n_jobs])
    ent_price = bed_price = None
    k_n = problem.n_enterprises
    if k_n:
        ent_price = np.zeros(k_n)
        has = np.flatnonzero(net.ent_node >= 0)
        ent_price[has] = price(net.node_arc[net.ent_node[has]])
    if net.dorm is not None:
        bed_price = np.zeros(k_n)
        has = np.flatnonzero(net.dorm_node >= 0)
        bed_price[has] = price(net.node_arc[net.dorm_node[has]])
        bed_price[net.dorm.crossing] = np.nan
        # the flow ignores crossing beds, so it cannot price the openings they may block
        ent = problem.job_enterprise
        assert ent is not None  # a dorm plan exists only when job_enterprise is given
        job_price[(ent >= 0) & net.dorm.crossing[np.maximum(ent, 0)]] = np.nan
    return job_price, ent_price, bed_price


def _to_price(dist: np.ndarray, scale: int) -> np.ndarray:
    gain = np.where(dist >= _INF, 0, -dist)
    return np.maximum(gain, 0).astype(np.float64) / float(scale)


__all__ = ["ResidualGraph", "shadow_prices"]
