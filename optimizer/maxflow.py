"""The most units that can flow from supplies to capacities along given links (a transport bound).

Used for ceilings such as "the most workers that could be placed in a wished occupation": supplies are
groups of alike workers, capacities are groups of openings, links say which group may use which.
"""

from __future__ import annotations

import numpy as np

from optimizer.errors import ProblemError, SolverError

__all__ = ["transport_max_flow"]


def transport_max_flow(
    supply: np.ndarray, capacity: np.ndarray, link_from: np.ndarray, link_to: np.ndarray
) -> int:
    """Maximum flow from ``supply`` (S,) nodes to ``capacity`` (C,) nodes over links (unbounded)
    ``link_from[i] -> link_to[i]``; every amount must be a non-negative integer."""
    from ortools.graph.python import max_flow

    supply, capacity = np.asarray(supply, np.int64), np.asarray(capacity, np.int64)
    link_from, link_to = np.asarray(link_from, np.int64), np.asarray(link_to, np.int64)
    if (supply < 0).any() or (capacity < 0).any():
        raise ProblemError("supplies and capacities must be >= 0")
    if link_from.shape != link_to.shape or (
        link_from.size
        and (
            link_from.min() < 0
            or link_from.max() >= supply.size
            or link_to.min() < 0
            or link_to.max() >= capacity.size
        )
    ):
        raise ProblemError("links must join a supply node to a capacity node")
    if link_from.size == 0:
        return 0
    n_s, n_c = supply.size, capacity.size
    source, sink = n_s + n_c, n_s + n_c + 1
    big = int(supply.sum()) + 1
    flow = max_flow.SimpleMaxFlow()
    tails = np.concatenate([np.full(n_s, source), link_from, n_s + np.arange(n_c)])
    heads = np.concatenate([np.arange(n_s), n_s + link_to, np.full(n_c, sink)])
    caps = np.concatenate([supply, np.full(link_from.size, big), capacity])
    flow.add_arcs_with_capacity(tails, heads, caps)
    status = flow.solve(source, sink)
    if status != flow.OPTIMAL:
        raise SolverError(f"max flow ended with status {status}")
    return int(flow.optimal_flow())
