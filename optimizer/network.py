"""The min-cost-flow network of a placement problem, built vectorised.

Nodes, in this order: workers, jobs, enterprise nodes, dorm nodes, county nodes, ``S0``, ``S1``, ``T``::

    S0/S1 ──1──► worker ──1, −w_e──► job ──openings──► [dorm_k ──beds──►] [enterprise ──capacity──►] T
      └──────────────────────── bypass (unplaced workers, cost 0) ─────────────────────────────────┘

Only constraints that can bind, even with one more opening (for the shadow prices), get a node:
an enterprise node exists when its capacity is at most the openings of its jobs, a dorm node when
its beds are at most what its dorm-needing jobs can take. Dorm beds stay inside the network
whenever the capacity sets stay *laminar* (nested or disjoint) at that enterprise:

* every dorm-needing job of ``k`` needs a bed for *all* its edges (a Tianjin job: all workers
  come from outside): ``job → dorm_k → enterprise_k``;
* or all of ``k``'s dorm-needing edges go to one job (a single posting with both locals and
  outsiders): those edges enter ``dorm_k → job`` instead of the job node.

Any other enterprise (``edge_needs_dorm`` varying within two or more of its jobs) is *crossing*;
its beds are left to the MIP of :mod:`optimizer.rules` (the network then is a relaxation).

County fairness (:mod:`optimizer.fairness`) hangs a county's workers off a county node instead of
``S0``: ``S0 ──floor_c, −bonus──► county_c`` carries the first ``floor_c`` placements of county ``c``
with a bonus larger than any total score, and ``S0 ──n_c, 0──► county_c`` the rest (left out in the
feasibility probes, which place up to the floors and no more).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.problem import PlacementProblem, SolveOptions


@dataclass
class FlowLayout:
    """Node numbering of the network."""

    n_workers: int
    n_jobs: int
    n_ent: int  # enterprise nodes (binding capacities only)
    n_dorm: int = 0  # dorm nodes (laminar, binding beds only)
    n_county: int = 0  # county nodes (county fairness only)

    @property
    def job0(self) -> int:
        return self.n_workers

    @property
    def ent0(self) -> int:
        return self.n_workers + self.n_jobs

    @property
    def dorm0(self) -> int:
        return self.ent0 + self.n_ent

    @property
    def county0(self) -> int:
        return self.dorm0 + self.n_dorm

    @property
    def s0(self) -> int:
        return self.county0 + self.n_county

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
class DormPlan:
    """Where each enterprise's dorm-bed constraint goes (arrays over enterprises)."""

    job_level: np.ndarray  # bool (K,): dorm node between its dorm jobs and the enterprise
    edge_level_job: np.ndarray  # int64 (K,): the one job whose dorm edges enter the dorm node, or -1
    crossing: np.ndarray  # bool (K,): beds can bind and the sets cross → MIP

    @property
    def in_flow(self) -> np.ndarray:
        return self.job_level | (self.edge_level_job >= 0)


def dorm_active(problem: PlacementProblem, options: SolveOptions) -> bool:
    """Whether dorm beds are given, enforced, and limited somewhere."""
    return bool(
        options.enforce_dorm_beds
        and problem.enterprise_dorm_beds is not None
        and problem.edge_needs_dorm is not None
        and problem.job_enterprise is not None
        and np.any(problem.enterprise_dorm_beds >= 0)
    )


def dorm_plan(problem: PlacementProblem, options: SolveOptions) -> DormPlan | None:
    """Classify each enterprise's beds: non-binding, job-level, edge-level or crossing."""
    if not dorm_active(problem, options):
        return None
    k_n, j_n = problem.n_enterprises, problem.n_jobs
    ent, beds, need = problem.job_enterprise, problem.enterprise_dorm_beds, problem.edge_needs_dorm
    # dorm_active checked all three are given
    assert ent is not None and beds is not None and need is not None
    ent_c = np.maximum(ent, 0)
    n_edges_j = np.bincount(problem.edge_job, minlength=j_n)
    n_dorm_j = np.bincount(problem.edge_job[need], minlength=j_n)
    dorm_job = (n_dorm_j > 0) & (ent >= 0) & (beds[ent_c] >= 0)
    mixed_job = dorm_job & (n_dorm_j < n_edges_j)
    n_dorm_jobs = np.bincount(ent[dorm_job], minlength=k_n)
    n_mixed = np.bincount(ent[mixed_job], minlength=k_n)
    most = np.bincount(ent[dorm_job], weights=problem.job_openings[dorm_job], minlength=k_n)
    cap = problem.enterprise_capacity
    if cap is not None:
        most = np.where(cap >= 0, np.minimum(most, cap), most)
    binding = (beds >= 0) & (n_dorm_jobs > 0) & (beds <= most)  # <=: one more opening may bind
    job_level = binding & (n_mixed == 0)
    single = binding & (n_mixed > 0) & (n_dorm_jobs == 1)
    edge_level_job = np.full(k_n, -1, dtype=np.int64)
    jobs = np.flatnonzero(dorm_job & single[ent_c])
    edge_level_job[ent[jobs]] = jobs
    return DormPlan(job_level, edge_level_job, binding & ~job_level & ~single)


@dataclass(frozen=True)
class CountyTiers:
    """County nodes between ``S0`` and the workers (see the module docstring)."""

    worker_row: np.ndarray  # int64 (W,): the worker's county node row, -1 = hangs off S0
    floor: np.ndarray  # int64 (C,): placements per county that carry the bonus
    rest: bool = True  # a county may place more than its floor (at no bonus)

    @property
    def n_rows(self) -> int:
        return int(self.floor.shape[0])

    def placed(self, edge_worker: np.ndarray, edge_sel: np.ndarray) -> np.ndarray:
        """Placements per county row of a selection."""
        r = self.worker_row[edge_worker[edge_sel]]
        return np.bincount(r[r >= 0], minlength=self.n_rows)

    def units(self, edge_worker: np.ndarray, edge_sel: np.ndarray) -> int:
        """Placements of a selection that count towards the floors."""
        return int(np.minimum(self.placed(edge_worker, edge_sel), self.floor).sum())

    def bonus(self, wint: np.ndarray, edge_worker: np.ndarray, n_workers: int) -> int:
        """Integer bonus per floor placement: more than the best total score of any assignment."""
        best = np.zeros(n_workers, dtype=np.int64)
        np.maximum.at(best, edge_worker, np.maximum(wint, 0))
        return int(best.sum()) + 1


@dataclass
class Network:
    """Arc arrays (blocks: sources W, edges E, jobs J, enterprises, dorms, bypasses 2) and maps."""

    layout: FlowLayout
    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    node_arc: np.ndarray  # int64 (n_nodes,): each job/enterprise/dorm node's capacity arc, else -1
    ent_node: np.ndarray  # int64 (K,): enterprise node, or -1 when its capacity cannot bind
    dorm_node: np.ndarray  # int64 (K,): dorm node, or -1
    dorm: DormPlan | None
    n0: int
    n1: int
    tier_bonus: int = 0  # integer bonus per floor placement (county tiers), 0 without

    @property
    def edge0(self) -> int:
        return self.layout.n_workers


def build_network(
    problem: PlacementProblem,
    wint: np.ndarray,
    prio: np.ndarray,
    options: SolveOptions,
    tiers: CountyTiers | None = None,
) -> Network:
    """The network for integer edge weights ``wint``; ``prio`` marks workers hung off ``S1``;
    ``tiers`` hangs counties' workers off county nodes (never together with ``prio``). In score
    mode an edge of weight 0 gets no capacity: placing someone on it would add nothing, and
    whether a solver did would depend on its order (not with floors or lexicographic priority:
    placing more workers there may need every edge)."""
    w_n, j_n, k_n = problem.n_workers, problem.n_jobs, problem.n_enterprises
    ent = problem.job_enterprise if k_n else None
    plan = dorm_plan(problem, options)

    # enterprise nodes: only capacities below the openings of the enterprise's jobs can bind
    ent_node = np.full(k_n, -1, dtype=np.int64)
    ent_ids = np.zeros(0, dtype=np.int64)
    if ent is not None and problem.enterprise_capacity is not None:
        cap = problem.enterprise_capacity
        ent_open = np.bincount(ent[ent >= 0], weights=problem.job_openings[ent >= 0], minlength=k_n)
        ent_ids = np.flatnonzero((cap >= 0) & (cap <= ent_open))  # <=: one more opening may bind
    dorm_ids = np.flatnonzero(plan.in_flow) if plan is not None else np.zeros(0, dtype=np.int64)
    n_county = tiers.n_rows if tiers is not None else 0
    lay = FlowLayout(w_n, j_n, ent_ids.size, dorm_ids.size, n_county)
    ent_node[ent_ids] = lay.ent0 + np.arange(ent_ids.size)
    dorm_node = np.full(k_n, -1, dtype=np.int64)
    dorm_node[dorm_ids] = lay.dorm0 + np.arange(dorm_ids.size)

    # heads: a job goes to its dorm node (job level), else its enterprise node, else T
    after_ent = np.where(ent_node >= 0, ent_node, lay.sink)
    job_head = np.full(j_n, lay.sink, dtype=np.int64)
    edge_head = problem.edge_job.astype(np.int64) + lay.job0
    dorm_head = np.zeros(0, dtype=np.int64)
    if ent is not None:
        has = ent >= 0
        job_head[has] = after_ent[ent[has]]
    if plan is not None:
        # a plan needs job_enterprise and beds >= 0 somewhere, so there are enterprises (k_n > 0)
        assert ent is not None and problem.edge_needs_dorm is not None
        ent_c = np.maximum(ent, 0)
        to_dorm = (ent >= 0) & plan.job_level[ent_c] & _dorm_jobs(problem)
        job_head[to_dorm] = dorm_node[ent[to_dorm]]
        # edge level: the one mixed job's dorm edges enter dorm_k, which feeds the job
        ek = ent_c[problem.edge_job]
        into = problem.edge_needs_dorm & (ent[problem.edge_job] >= 0) & (plan.edge_level_job[ek] >= 0)
        edge_head[into] = dorm_node[ek[into]]
        dorm_head = np.where(
            plan.job_level[dorm_ids], after_ent[dorm_ids], lay.job0 + plan.edge_level_job[dorm_ids]
        )

    n1 = int(prio.sum())
    n0 = w_n - n1
    source = np.where(prio, lay.s1, lay.s0).astype(np.int64)
    tier_tails, tier_heads, tier_caps, tier_costs, bonus = _tier_arcs(problem, wint, lay, tiers, source)
    tails = np.concatenate(
        [
            source.astype(np.int32),
            problem.edge_worker,
            np.arange(j_n, dtype=np.int32) + np.int32(lay.job0),
            np.arange(lay.n_ent + lay.n_dorm, dtype=np.int32) + np.int32(lay.ent0),
            tier_tails,
            np.array([lay.s0, lay.s1], dtype=np.int32),
        ]
    )
    heads = np.concatenate(
        [
            np.arange(w_n, dtype=np.int32),
            edge_head.astype(np.int32),
            job_head.astype(np.int32),
            np.full(lay.n_ent, lay.sink, np.int32),
            dorm_head.astype(np.int32),
            tier_heads,
            np.array([lay.sink, lay.sink], dtype=np.int32),
        ]
    )
    ent_caps = np.zeros(0, np.int64)
    if ent_ids.size:
        assert problem.enterprise_capacity is not None  # ent_ids is only filled from the capacities
        ent_caps = problem.enterprise_capacity[ent_ids]
    dorm_beds = np.zeros(0, np.int64)
    if dorm_ids.size:
        assert problem.enterprise_dorm_beds is not None  # dorm_ids comes from a plan, which needs beds
        dorm_beds = problem.enterprise_dorm_beds[dorm_ids]
    caps = np.concatenate(
        [
            np.ones(w_n + problem.n_edges, np.int64),
            problem.job_openings,
            ent_caps,
            dorm_beds,
            tier_caps,
            np.array([n0, n1], np.int64),
        ]
    )
    plain = options.mode == "score" and options.priority != "lexicographic" and tiers is None
    if plain:  # a zero-weight edge adds nothing: never used
        caps[w_n : w_n + problem.n_edges][wint <= 0] = 0
    costs = np.zeros(caps.shape[0], dtype=np.int64)
    costs[w_n : w_n + problem.n_edges] = -wint
    costs[caps.shape[0] - 2 - tier_costs.size : caps.shape[0] - 2] = tier_costs
    node_arc = np.full(lay.n_nodes, -1, dtype=np.int64)
    first = w_n + problem.n_edges
    node_arc[lay.job0 : lay.county0] = first + np.arange(j_n + lay.n_ent + lay.n_dorm)
    return Network(lay, tails, heads, caps, costs, node_arc, ent_node, dorm_node, plan, n0, n1, bonus)


def _tier_arcs(
    problem: PlacementProblem,
    wint: np.ndarray,
    lay: FlowLayout,
    tiers: CountyTiers | None,
    source: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """County tiers: re-hang their workers (``source`` changed in place) and the arcs
    ``S0 → county`` (floor at the bonus, then the rest at no bonus); empty without tiers."""
    if tiers is None:
        empty = np.zeros(0, dtype=np.int64)
        return empty.astype(np.int32), empty.astype(np.int32), empty, empty, 0
    rows = tiers.worker_row
    on = rows >= 0
    source[on] = lay.county0 + rows[on]
    c_n = tiers.n_rows
    nodes = (lay.county0 + np.arange(c_n)).astype(np.int32)
    bonus = tiers.bonus(wint, problem.edge_worker, problem.n_workers)
    tails = np.full(c_n, lay.s0, dtype=np.int32)
    caps, costs, heads = [tiers.floor.astype(np.int64)], [np.full(c_n, -bonus, np.int64)], [nodes]
    if tiers.rest:
        caps.append(np.bincount(rows[on], minlength=c_n).astype(np.int64))
        costs.append(np.zeros(c_n, np.int64))
        heads.append(nodes)
        tails = np.r_[tails, tails]
    return tails, np.concatenate(heads), np.concatenate(caps), np.concatenate(costs), bonus


def _dorm_jobs(problem: PlacementProblem) -> np.ndarray:
    return np.bincount(problem.edge_job[problem.edge_needs_dorm], minlength=problem.n_jobs) > 0


__all__ = ["CountyTiers", "DormPlan", "FlowLayout", "Network", "build_network", "dorm_active", "dorm_plan"]
