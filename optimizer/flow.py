"""Exact maximum-weight capacitated assignment as an OR-Tools min-cost flow.

Integer costs, chosen from the weights' range and precision (:func:`pick_scale`):

* weights with at most 12 decimals (``99``, ``12345678.91``) are scaled by ``10**decimals``, which
  makes every integer cost exact: the flow optimum is the optimum in the original floats;
* other weights are first scaled so the largest is about ``1e7`` (cost scaling runs fewer phases
  than at the safe ``1e12``); every edge then moves by at most ``rounding`` <= 0.5 / scale, so the
  true optimum is at most ``int_objective / scale + rounding * units``. When that proven bound
  leaves a relative gap above ``REL_TOL`` = 1e-7 the flow is re-solved at the largest safe scale;
* a largest weight that does not fit OR-Tools' int64 costs even at scale 1 is rejected with a
  :class:`~optimizer.errors.ProblemError` that says the limit (never a ``BAD_COST_RANGE``).

The network (openings, binding enterprise capacities, laminar dorm beds) is built by
:mod:`optimizer.network` and added in one ``add_arcs_with_capacity_and_unit_cost`` call.

Workers hang off ``S1`` when they have priority (unemployed, lexicographic) and ``S0``
otherwise. Lexicographic stages are solved exactly by re-solving the same graph with changed
supplies and bypass capacities, never with a big-M cost:

* ``count``: ``solve_max_flow_with_min_cost`` (maximum flow, then minimum cost among them);
* ``priority='lexicographic'``: maximum flow from ``S1`` alone gives ``k``; the final solve
  sends exactly ``k`` units from ``S1`` (the placeable sets form a matroid, so the most
  unemployed and then the most workers in total are reachable together).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from optimizer.errors import ProblemError, SolverError
from optimizer.network import CountyTiers, FlowLayout, Network, build_network
from optimizer.problem import PlacementProblem, SolveOptions

_MAX_DIGITS = 12
_SAMPLE = 4096  # weights checked per candidate number of decimals before the whole array
_FAST_MAX_COST = 1e7  # integer size of the largest weight on the first try (cost scaling is faster)
REL_TOL = 1e-7  # re-solve at the safe scale when rounding may have moved the optimum more than this


@dataclass
class FlowOutcome:
    """Selected edges and, when asked, the residual data :mod:`optimizer.prices` needs."""

    edge_flow: np.ndarray  # bool (E,), in the order the edges were given
    int_objective: int  # sum of integer weights of the selected edges
    scale: int
    rounding: float  # max |integer weight / scale - weight| over the edges (<= 0.5 / scale)
    layout: FlowLayout
    stage_seconds: dict[str, float]
    network: Network | None = None  # with its arc arrays when ``keep_residual``
    flows: np.ndarray | None = None
    tier_bonus: int = 0  # integer bonus per county floor placement (county tiers), else 0

    def bound(self, max_units: int) -> float:
        """Proven upper bound on the real-weight optimum of the same stage (score units)."""
        return self.int_objective / self.scale + self.rounding * max_units

    @property
    def tails(self) -> np.ndarray | None:
        return None if self.network is None else self.network.tails

    @property
    def heads(self) -> np.ndarray | None:
        return None if self.network is None else self.network.heads

    @property
    def caps(self) -> np.ndarray | None:
        return None if self.network is None else self.network.caps

    @property
    def costs(self) -> np.ndarray | None:
        return None if self.network is None else self.network.costs


def cost_limit(n_nodes: int, max_units: int) -> float:
    """Largest integer unit cost OR-Tools' min-cost flow takes safely on this network.

    OR-Tools' cost scaling multiplies unit costs by about ``n_nodes``, so ``max|cost| * (n+2)``
    and the total ``max|cost| * max_units`` must both stay below 2**62.
    """
    return min(2.0**62 / (n_nodes + 2), 2.0**62 / max(max_units, 1), 1e15)


def choose_scale(weights: np.ndarray, n_nodes: int, max_units: int) -> int:
    """Largest power of ten that keeps every cost and the total inside OR-Tools' int64 range.

    Raises :class:`ProblemError` when even scale 1 does not fit (the largest weight is too big).
    """
    w_max = float(weights.max()) if weights.size else 0.0
    if w_max <= 0.0:
        return 10**_MAX_DIGITS
    cap = cost_limit(n_nodes, max_units)
    if w_max > cap:
        raise ProblemError(
            f"score {w_max:.6g} is out of the supported range: scores must be at most {cap:.3g} "
            f"for a problem of {n_nodes} nodes and {max_units} placements (divide them by a power of ten)"
        )
    digits = int(np.floor(np.log10(cap / w_max)))
    return 10 ** max(0, min(digits, _MAX_DIGITS))


def exact_scale(weights: np.ndarray, safe: int) -> int | None:
    """The smallest ``10**d <= safe`` at which every weight is a whole number, or None.

    At that scale the integer costs are the weights themselves (to float precision), so the flow
    optimum is exact. A sample of the weights rules out most ``d`` before the whole array is checked.
    """
    if not weights.size:
        return None
    sample = weights[:: max(1, weights.size // _SAMPLE)]
    for d in range(_MAX_DIGITS + 1):
        scale = 10**d
        if scale > safe:
            return None
        if _whole(sample, scale) and _whole(weights, scale):
            return scale
    return None


def _whole(weights: np.ndarray, scale: int) -> bool:
    """Whether ``weights * scale`` are integers up to the float error of the product."""
    x = weights * float(scale)
    tol = 1e-6 + 4.0 * np.spacing(np.abs(x))
    return bool(np.all(np.abs(x - np.rint(x)) <= tol)) and bool(np.all(tol < 1e-2))


def pick_scale(weights: np.ndarray, n_nodes: int, max_units: int) -> tuple[int, int]:
    """``(first, safe)``: the scale of the first solve and the largest safe one (module docstring)."""
    safe = choose_scale(weights, n_nodes, max_units)
    exact = exact_scale(weights, safe)
    if exact is not None:
        return exact, exact
    return min(fast_scale(weights), safe), safe


def fast_scale(weights: np.ndarray) -> int:
    """Power of ten that makes the largest weight about ``1e7`` (7 significant digits)."""
    w_max = float(weights.max()) if weights.size else 0.0
    if w_max <= 0.0:
        return 1
    return 10 ** max(0, int(np.floor(np.log10(_FAST_MAX_COST / w_max))))


def integer_weights(weights: np.ndarray, scale: int) -> np.ndarray:
    """Round ``weights * scale`` to int64 (each edge moves by at most 0.5 units)."""
    return np.rint(weights * float(scale)).astype(np.int64)


def problem_scale(problem: PlacementProblem, weights: np.ndarray) -> tuple[int, int]:
    """:func:`pick_scale` for this problem's network size and most placements."""
    max_units = int(min(problem.n_workers, int(problem.job_openings.sum())))
    n_nodes = problem.n_workers + problem.n_jobs + 2 * problem.n_enterprises + 3
    return pick_scale(weights, n_nodes, max_units)


def solve_flow(
    problem: PlacementProblem,
    weights: np.ndarray,
    options: SolveOptions,
    *,
    keep_residual: bool = False,
    tiers: CountyTiers | None = None,
) -> FlowOutcome:
    """Solve the flow core (openings, enterprise capacity, mode, lexicographic priority).

    ``weights`` are per-edge objective weights in score units (score, plus the weighted priority
    bonus). Returns the selected edges; ignores dorm beds, targets, fairness and groups.
    ``tiers`` (county fairness, :mod:`optimizer.fairness`) puts county nodes with floor bonuses
    between ``S0`` and the workers; the scale is then kept low enough for the bonus to fit.
    """
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    # data: integer weights at a scale, worker classes (S1 = priority, lexicographic only)
    w_n = problem.n_workers
    max_units = int(min(w_n, int(problem.job_openings.sum())))
    first, safe = problem_scale(problem, weights)
    if tiers is not None:
        n_nodes = w_n + problem.n_jobs + 2 * problem.n_enterprises + 3
        safe = min(safe, _tier_scale(weights, w_n, n_nodes + tiers.n_rows))
        first = min(first, safe)
    scale = int(options.scale) if options.scale else first
    wint = integer_weights(weights, scale)
    rounding = float(np.abs(wint / float(scale) - weights).max()) if weights.size else 0.0
    unemployed = problem.worker_unemployed
    lex = options.priority == "lexicographic" and unemployed is not None and tiers is None
    prio = unemployed if lex and unemployed is not None else np.zeros(w_n, dtype=bool)
    # model: the network, loaded into OR-Tools
    net = build_network(problem, wint, prio, options, tiers)
    del wint
    model = _FlowModel(net, keep_residual)
    stages["build_flow"] = time.perf_counter() - t0
    # solve: mode and priority as stages on the same graph
    t1 = time.perf_counter()
    _solve_stages(model, net.n0, net.n1, w_n, lex, options.mode)
    stages["solve_flow"] = time.perf_counter() - t1
    # results
    out = model.outcome(net, problem.n_edges, scale, rounding, stages, keep_residual)
    if tiers is not None:  # the score alone: floor arcs fill before the rest (they cost less)
        out.int_objective -= out.tier_bonus * tiers.units(problem.edge_worker, out.edge_flow)
    if not options.scale and scale < safe and loose(out, weights, max_units):
        del model, out
        return solve_flow(
            problem,
            weights,
            dataclasses.replace(options, scale=safe),
            keep_residual=keep_residual,
            tiers=tiers,
        )
    return out


def _tier_scale(weights: np.ndarray, n_workers: int, n_nodes: int) -> int:
    """Largest power of ten at which the county-tier bonus (more than the best total score) and
    its multiples stay inside OR-Tools' int64 range (see :func:`choose_scale`)."""
    total = max(float(weights.max()) if weights.size else 0.0, 1e-12) * max(n_workers, 1)
    limit = 2.0**60 / max(n_nodes + 2, n_workers + 1) / total
    digits = int(np.floor(np.log10(limit))) if limit >= 1 else 0
    return 10 ** max(0, min(digits, _MAX_DIGITS))


class _FlowModel:
    """The network in an OR-Tools ``SimpleMinCostFlow``, re-solved with other supplies and bypass
    capacities for each stage."""

    def __init__(self, net: Network, keep_residual: bool) -> None:
        from ortools.graph.python import min_cost_flow

        self.mcf = min_cost_flow.SimpleMinCostFlow()
        self.arcs = self.mcf.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.caps, net.costs)
        self.by0, self.by1 = int(self.arcs[-2]), int(self.arcs[-1])
        self.layout = net.layout
        self.bypass = [net.n0, net.n1]  # the bypass capacities of the last run
        if not keep_residual:  # OR-Tools holds its own copy; free ours before the solve
            net.tails = net.heads = net.costs = net.caps = None  # type: ignore[assignment]

    def run(self, sup0: int, sup1: int, sink: int, bypass0: int, bypass1: int, max_flow: bool) -> int:
        """One solve with these supplies of ``S0``, ``S1`` and ``T`` and bypass capacities; the
        maximum flow (``max_flow``: the most flow, at least cost among those), else ``sink``."""
        mcf, lay = self.mcf, self.layout
        self.bypass = [bypass0, bypass1]
        mcf.set_arc_capacity(self.by0, bypass0)
        mcf.set_arc_capacity(self.by1, bypass1)
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

    def outcome(
        self,
        net: Network,
        n_edges: int,
        scale: int,
        rounding: float,
        stages: dict[str, float],
        keep_residual: bool,
    ) -> FlowOutcome:
        """The selected edges of the last run, and its residual graph when ``keep_residual``."""
        e0, arcs = net.edge0, self.arcs
        flows = self.mcf.flows(arcs) if keep_residual else self.mcf.flows(arcs[e0 : e0 + n_edges])
        edge_flow = (flows[e0 : e0 + n_edges] if keep_residual else flows) > 0
        out = FlowOutcome(
            edge_flow=edge_flow,
            int_objective=-int(self.mcf.optimal_cost()),
            scale=scale,
            rounding=rounding,
            layout=self.layout,
            stage_seconds=stages,
            network=net,
            tier_bonus=net.tier_bonus,
        )
        if keep_residual:
            net.caps[-2:] = self.bypass  # the residual graph is that of the final run
            out.flows = flows
        return out


def _solve_stages(model: _FlowModel, n0: int, n1: int, w_n: int, lex: bool, mode: str) -> None:
    """Mode and priority on one graph, exactly (module docstring): ``n0``/``n1`` workers hang off
    ``S0``/``S1``; a bypass lets a source's workers stay unplaced."""
    if not lex:
        if mode == "count":
            model.run(n0, 0, n0, 0, 0, max_flow=True)
        else:
            model.run(n0, 0, n0, n0, 0, max_flow=False)
        return
    k = model.run(0, n1, n1, 0, 0, max_flow=True)  # the most priority workers placeable
    if mode == "count":
        total = model.run(n0, n1, w_n, 0, 0, max_flow=True)
        model.run(total - k, k, total, 0, 0, max_flow=False)
    else:
        model.run(n0, k, n0 + k, n0, 0, max_flow=False)


def loose(out: FlowOutcome, weights: np.ndarray, max_units: int) -> bool:
    """Whether the proven bound (optimum <= int_objective / scale + rounding * max_units) leaves
    a gap above ``REL_TOL`` of the objective (or of the largest weight, when that is larger: an
    optimum of 0 has float noise): then the flow is re-solved at the safe scale."""
    objective = float(weights[out.edge_flow].sum())
    scale = max(abs(objective), float(weights.max(initial=0.0)), 1e-12)  # float noise of a zero optimum
    return out.bound(max_units) - objective > REL_TOL * scale


__all__ = [
    "FlowLayout",
    "FlowOutcome",
    "choose_scale",
    "exact_scale",
    "integer_weights",
    "loose",
    "pick_scale",
    "problem_scale",
    "solve_flow",
]
