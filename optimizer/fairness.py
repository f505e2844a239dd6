"""County fairness as a lexicographic max–min on the flow: raise the worst county first, never
level everyone down.

*Targets.* A county's fair share of the placements is its share of the registered workers times
the placements ``P`` of the plain optimum (workers of a known county). Its target is
``ceil(county_min_share × fair share)``. A county that cannot reach its target even with every
opening to itself (its *reach*: the most of its workers a max flow places alone) has its target
relaxed to the reach; the rest of the target is reported as its shortfall
(:attr:`~optimizer.result.PlacementResult.relaxed`), as unmet district targets are.

*Max–min.* The level ``t`` is the least fraction of its (reachable) target any county gets. It is
raised as far as the openings allow by a binary search over the fractions where some county's
floor ``ceil(t · target_c)`` changes; each probe is a max flow over the counties' workers alone
(``S0 → county (floor) → worker → job → T``, one graph whose floor capacities each probe sets):
the floors are jointly placeable iff it saturates.

*Then the score.* One min-cost flow where each county's first ``floor_c`` placements carry a bonus
larger than any total score (:class:`~optimizer.network.CountyTiers`): the floors are met, and the
score is the most possible with them. In ``count`` mode the flow places the most workers first,
then meets the floors as far as that allows, then maximises the score.

*Price.* Fairness only decides *who* is placed where the floors compete: a county is never held
below what it could get so that others are levelled down, and a floor that cannot be met is
relaxed, not the city's placements. What it costs (score, and placements where an enterprise's
capacity or its beds are shared between counties) is measured by ``benchmarks/bench_fairness.py``
against the plain flow in the same run.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from optimizer.errors import SolverError
from optimizer.flow import solve_flow
from optimizer.network import CountyTiers, build_network
from optimizer.problem import PlacementProblem, SolveOptions
from optimizer.result import RelaxedTarget


@dataclass(frozen=True)
class CountyPlan:
    """What the max–min decided, per county (arrays over ``counties``), and its assignment."""

    counties: np.ndarray  # int64 (C,): county ids with registered workers
    target: np.ndarray  # int64 (C,): ceil(share × fair share of the plain placements)
    reach: np.ndarray  # int64 (C,): most of the county's workers placeable alone (a lower bound
    # where the target was met without probing it)
    floor: np.ndarray  # int64 (C,): placements every county gets at the max–min level
    level: float  # least fraction of its reachable target any county gets (1.0: every one met)
    edge_sel: np.ndarray  # bool (E,): the fair assignment of the flow
    bound: float  # proven upper bound on the score with these floors
    complete: bool  # the level search finished within the time limit
    probes: int  # max flows run by the search

    def floors(self) -> dict[int, int]:
        """County id → floor, for the side rules (:attr:`PlacementProblem.county_floors`)."""
        return {int(c): int(f) for c, f in zip(self.counties, self.floor, strict=True) if f > 0}

    def relaxed(self, problem: PlacementProblem, edge_sel: np.ndarray) -> tuple[RelaxedTarget, ...]:
        """Counties placed below their target in ``edge_sel``, with what holds each back."""
        placed = county_placed(problem, self.counties, edge_sel)
        out = []
        for i, c in enumerate(self.counties.tolist()):
            got, want = int(placed[i]), int(self.target[i])
            if got >= want:
                continue
            if self.reach[i] < want:
                why = f"reach: at most {self.reach[i]} workers of county {c} can be placed at all"
            elif got < self.floor[i]:
                why = "competing rules: dorm beds, groups or district targets"
            else:
                why = f"competing counties: max–min level {self.level:.0%} of every county's target"
            out.append(RelaxedTarget(f"county_share[{c}]", float(want), float(got), float(want - got), why))
        return tuple(out)


def county_placed(problem: PlacementProblem, counties: np.ndarray, edge_sel: np.ndarray) -> np.ndarray:
    """Placements of a selection per county in ``counties`` (sorted ids)."""
    assert problem.worker_county is not None  # county fairness needs it (PlacementProblem.validate)
    c = problem.worker_county[problem.edge_worker[edge_sel]]
    c = c[c >= 0]
    idx = np.searchsorted(counties, c)
    ok = (idx < counties.size) & (counties[np.minimum(idx, counties.size - 1)] == c)
    return np.bincount(idx[ok], minlength=counties.size)


def fair_flow(
    problem: PlacementProblem,
    weights: np.ndarray,
    options: SolveOptions,
    plain_sel: np.ndarray,
    *,
    deadline: float | None = None,
    plain_bound: float | None = None,
) -> CountyPlan:
    """The lexicographic max–min county assignment (module docstring); ``plain_sel`` is the plain
    flow optimum whose placements the fair shares divide (``plain_bound`` its proven bound). When
    it meets every target it is the answer, with no probe. Past ``deadline`` the search keeps the
    best level proven so far (``complete`` False)."""
    county, share = problem.worker_county, problem.county_min_share
    assert county is not None and share is not None  # validated: fairness needs worker_county
    # data: registered workers per county, targets, each worker's county row
    counties, reg = np.unique(county[county >= 0], return_counts=True)
    row = np.full(problem.n_workers, -1, dtype=np.int64)
    row[county >= 0] = np.searchsorted(counties, county[county >= 0])
    placed = county_placed(problem, counties, plain_sel)
    total = int(placed.sum())
    target = np.ceil(float(share) * total * reg / max(int(reg.sum()), 1) - 1e-9).astype(np.int64)
    if np.all(placed >= target):  # the plain optimum meets every target: nothing to trade
        bound = float(weights[plain_sel].sum()) if plain_bound is None else plain_bound
        c64 = counties.astype(np.int64)
        return CountyPlan(c64, target, placed.astype(np.int64), target, 1.0, plain_sel, bound, True, 0)
    edge_row = row[problem.edge_worker]
    probe = _Probe(problem, edge_row >= 0, row, counties.size, options)
    # the floors as they are, else each county's reach, then the level search
    reach = np.full(counties.size, np.iinfo(np.int64).max // 4, dtype=np.int64)
    goal = target
    complete = True
    if target.any() and not probe.feasible(target):
        for i in np.flatnonzero(target > 0).tolist():  # each county alone: its own edges only
            only = np.zeros_like(target)
            only[i] = target[i]
            reach[i] = _Probe(problem, edge_row == i, row, counties.size, options).placed(only)
            probe.runs += 1
        goal = np.minimum(target, reach)
    floor, complete = _max_min(probe, goal, deadline)
    level = _level(floor, goal)
    # then the score: the floors carry a bonus over any total score
    tiers = CountyTiers(row, floor)
    # the weights carry a weighted priority's bonus; a lexicographic one goes to the MIP (solve)
    final = dataclasses.replace(options, shadow_prices=False, priority="none")
    out = solve_flow(problem, weights, final, tiers=tiers)
    bound = out.bound(min(problem.n_workers, int(problem.job_openings.sum())))
    return CountyPlan(
        counties.astype(np.int64), target, reach, floor, level, out.edge_flow, bound, complete, probe.runs
    )


class _Probe:
    """Max flows over some known-county workers' edges with county floors and nothing beyond:
    the graph (``S0 → county → worker → job → T``, no bypass) is built once; each probe only
    sets the floor capacities and re-solves."""

    def __init__(
        self,
        problem: PlacementProblem,
        edges: np.ndarray,
        row: np.ndarray,
        n_rows: int,
        options: SolveOptions,
    ):
        from ortools.graph.python import max_flow

        need = problem.edge_needs_dorm
        sub = dataclasses.replace(
            problem,
            edge_worker=problem.edge_worker[edges],
            edge_job=problem.edge_job[edges],
            edge_score=np.zeros(int(edges.sum())),
            edge_needs_dorm=None if need is None else need[edges],
            worker_group=None,
            job_district=None,
            district_targets=None,
            district_paired_counties=None,
            county_min_share=None,
        ).validate()
        tiers = CountyTiers(row, np.zeros(n_rows, dtype=np.int64), rest=False)
        plain = dataclasses.replace(options, mode="count", priority="none", shadow_prices=False)
        net = build_network(
            sub, np.zeros(sub.n_edges, np.int64), np.zeros(sub.n_workers, dtype=bool), plain, tiers
        )
        caps = net.caps.copy()
        caps[-2:] = 0  # no bypass: only placements reach the sink
        self.flow = max_flow.SimpleMaxFlow()
        arcs = self.flow.add_arcs_with_capacity(net.tails, net.heads, caps)
        self.floor_arcs = arcs[arcs.size - 2 - n_rows : arcs.size - 2]  # the tier arcs, before the bypass
        self.s0, self.sink = net.layout.s0, net.layout.sink
        self.runs = 0

    def placed(self, floor: np.ndarray) -> int:
        """The most placements that fit under ``floor`` per county."""
        self.runs += 1
        self.flow.set_arcs_capacity(self.floor_arcs, floor.astype(np.int64))
        status = self.flow.solve(self.s0, self.sink)
        if status != self.flow.OPTIMAL:
            raise SolverError(f"max flow returned {status.name}")
        return int(self.flow.optimal_flow())

    def feasible(self, floor: np.ndarray) -> bool:
        return self.placed(floor) >= int(floor.sum())


def _floors(goal: np.ndarray, t: float) -> np.ndarray:
    return np.minimum(np.ceil(t * goal - 1e-9), goal).astype(np.int64)


def _level(floor: np.ndarray, goal: np.ndarray) -> float:
    on = goal > 0
    return float((floor[on] / goal[on]).min()) if on.any() else 1.0


def _max_min(probe: _Probe, goal: np.ndarray, deadline: float | None) -> tuple[np.ndarray, bool]:
    """The floors at the highest level the probes prove placeable, and whether the search ended."""
    if not goal.any():
        return goal.copy(), True
    if probe.feasible(goal):
        return goal.copy(), True
    # candidate levels: where some county's floor steps up
    steps = np.unique(np.concatenate([np.arange(1, g + 1) / g for g in goal[goal > 0].tolist()]))
    lo, hi = -1, steps.size - 1  # steps[hi] (= 1) is infeasible; level 0 always is
    while hi - lo > 1:
        if deadline is not None and time.perf_counter() > deadline:
            break
        mid = (lo + hi) // 2
        if probe.feasible(_floors(goal, float(steps[mid]))):
            lo = mid
        else:
            hi = mid
    done = hi - lo <= 1
    return (_floors(goal, float(steps[lo])) if lo >= 0 else np.zeros_like(goal)), done


__all__ = ["CountyPlan", "county_placed", "fair_flow"]
