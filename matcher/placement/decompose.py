"""A placement split into independent pieces, and the pieces' answers merged into one.

Two splits, both deterministic and the same whatever engine runs the pieces
(:mod:`matcher.placement.engine`):

*Regions* (retrieval and scoring). Locations are joined when one worker accepts both: a paired
county, its paired districts and, through workers who go anywhere, every district of its partner
city. A worker only ever gets candidates in its own region, so each region is retrieved and scored
on its own: its jobs (with their FAISS index, built once) are shared by blocks of
:data:`RETRIEVE_CHUNK` of its workers. A national instance falls apart by partner city.

*Components* (solving). The candidate graph — workers and jobs joined by edges, jobs joined by their
enterprise (capacity, dorm beds, groups' one enterprise), members of a co-villager group, and the
jobs of a target district with the workers of its paired counties — falls apart into connected
components. The objective and every rule but county fairness are sums over components, so solving
each component exactly and putting the answers together is exact for the whole; county fairness
compares each county with the total placed, so with it the problem is one piece. Every engine
solves the same components (a min-cost flow may break ties differently on the whole than on its
parts, so the single-process engine solves per component too), which is why a run gives the same
assignment on one machine and on a cluster.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from matcher.scoring.candidates import (
    LEXICAL_GRAMS,
    SKILL_GRAMS,
    Edges,
    TextSides,
    retrieve_candidates,
    skill_sides,
)
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import ScoringConfig
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import Beliefs, OccupationSides

RETRIEVE_CHUNK = 10_000
"""Workers per retrieval block (a unit of work of every engine)."""

_WORKER_FIELDS = tuple(f.name for f in dataclasses.fields(MatchContext) if f.name.startswith("worker_"))
_JOB_FIELDS = tuple(f.name for f in dataclasses.fields(MatchContext) if f.name.startswith("job_"))
_SHARED_FIELDS = tuple(
    f.name for f in dataclasses.fields(MatchContext) if f.name not in _WORKER_FIELDS + _JOB_FIELDS
)


# ---- regions: retrieval and scoring --------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """Locations some worker joins, with the workers who live there and the jobs located there."""

    locations: np.ndarray  # int32 location indices of the context
    workers: np.ndarray  # int64 worker indices, ascending
    jobs: np.ndarray  # int64 job indices, ascending


def _labels(n: int, pairs_a: np.ndarray, pairs_b: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of ``n`` nodes joined by the pairs (undirected)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    data = np.ones(pairs_a.shape[0], dtype=np.int8)
    graph = sp.coo_matrix((data, (pairs_a, pairs_b)), shape=(n, n)).tocsr()
    return connected_components(graph, directed=False)


def _groups(labels: np.ndarray, n_labels: int) -> list[np.ndarray]:
    """Indices of each label, ascending within a label."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_labels + 1))
    return [order[bounds[i] : bounds[i + 1]].astype(np.int64) for i in range(n_labels)]


def regions(ctx: MatchContext) -> list[Region]:
    """The regions of ``ctx`` that have both workers and jobs, ordered by their first location."""
    n_loc = len(ctx.location_codes)
    if ctx.n_workers == 0 or ctx.n_jobs == 0:
        return []
    # a worker's accepted places depend on (home county, mobility) alone: one row per such pair
    key = ctx.worker_county.astype(np.int64) * 3 + ctx.worker_mobility
    _, first = np.unique(key, return_index=True)
    rows, cols = np.nonzero(ctx.worker_allowed[first])
    home = ctx.worker_county[first][rows]
    n_labels, loc_label = _labels(n_loc, home.astype(np.int64), cols.astype(np.int64))
    worker_groups = _groups(loc_label[ctx.worker_county], n_labels)
    job_groups = _groups(loc_label[ctx.job_location], n_labels)
    loc_groups = _groups(loc_label, n_labels)
    out = [
        Region(loc_groups[i].astype(np.int32), worker_groups[i], job_groups[i])
        for i in range(n_labels)
        if worker_groups[i].size and job_groups[i].size
    ]
    return sorted(out, key=lambda r: int(r.locations[0]))


@dataclass(frozen=True)
class SharedContext:
    """What every retrieval block needs besides its workers and its region's jobs."""

    fields: dict[str, Any]  # MatchContext fields over locations and enterprises
    k: int
    scoring: ScoringConfig
    index_kind: str


@dataclass(frozen=True)
class RegionJobs:
    """One region's jobs, everything scoring needs of them, and their FAISS index (built once)."""

    jobs: np.ndarray  # int64 job indices of the whole context
    fields: dict[str, Any]  # the job_* arrays of the context, these rows
    vectors: np.ndarray
    titles: list[str]
    descriptions: list[str]
    beliefs: Beliefs
    index: Any  # embeddings.index.VectorIndex over these jobs, partitioned by location
    lexical: NgramSets  # titles' n-grams (the lexical factor), fitted once; workers added per block
    skills: NgramSets  # titles' and descriptions' n-grams (the skills factor), likewise


@dataclass(frozen=True)
class WorkerBlock:
    """Up to :data:`RETRIEVE_CHUNK` workers of one region."""

    region: int  # position in the list of regions
    workers: np.ndarray  # int64 worker indices of the whole context, ascending
    fields: dict[str, Any]  # the worker_* arrays of the context, these rows
    vectors: np.ndarray
    occupations: list[str]
    skills: list[str]
    beliefs: Beliefs


def shared_context(ctx: MatchContext, k: int, scoring: ScoringConfig, index_kind: str) -> SharedContext:
    return SharedContext({name: getattr(ctx, name) for name in _SHARED_FIELDS}, k, scoring, index_kind)


def region_jobs(
    ctx: MatchContext,
    region: Region,
    job_vecs: np.ndarray,
    sides: TextSides,
    occupations: OccupationSides,
    index_kind: str,
) -> RegionJobs:
    """The shared part of a region; its index is fitted here, once."""
    from embeddings.index import VectorIndex

    j = region.jobs
    vectors = np.ascontiguousarray(job_vecs[j])
    fields = {name: getattr(ctx, name)[j] for name in _JOB_FIELDS}
    index = VectorIndex(kind=index_kind).fit(  # type: ignore[arg-type]
        vectors, np.arange(j.size, dtype=np.int64), partitions=fields["job_location"]
    )
    titles = [sides.job_titles[i] for i in j.tolist()]
    descriptions = [sides.job_descriptions[i] for i in j.tolist()]
    return RegionJobs(
        j,
        fields,
        vectors,
        titles,
        descriptions,
        occupations.jobs.take(j),
        index,
        lexical=NgramSets(*LEXICAL_GRAMS).fit([], titles),
        skills=NgramSets(*SKILL_GRAMS).fit([], skill_sides(titles, descriptions)),
    )


class WorkerBlocks(Sequence[WorkerBlock]):
    """Every region's workers in blocks, region by region, in worker order; each block is cut
    from the run's arrays when it is asked for, so only the blocks in flight are held."""

    def __init__(
        self,
        ctx: MatchContext,
        regions_: Sequence[Region],
        worker_vecs: np.ndarray,
        sides: TextSides,
        occupations: OccupationSides,
        chunk: int,
    ) -> None:
        self._ctx, self._vecs, self._sides, self._occupations = ctx, worker_vecs, sides, occupations
        self._cuts = [
            (r, region.workers[start : start + chunk])
            for r, region in enumerate(regions_)
            for start in range(0, region.workers.size, chunk)
        ]

    def __len__(self) -> int:
        return len(self._cuts)

    def size(self, i: int) -> int:
        """Workers in block ``i`` (without cutting it)."""
        return int(self._cuts[i][1].size)

    @overload
    def __getitem__(self, i: int) -> WorkerBlock: ...
    @overload
    def __getitem__(self, i: slice) -> list[WorkerBlock]: ...
    def __getitem__(self, i: int | slice) -> WorkerBlock | list[WorkerBlock]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        r, w = self._cuts[i]
        rows = w.tolist()
        ctx, sides = self._ctx, self._sides
        return WorkerBlock(
            r,
            w,
            {name: getattr(ctx, name)[w] for name in _WORKER_FIELDS},
            np.ascontiguousarray(self._vecs[w]),
            [sides.worker_occupations[i] for i in rows],
            [sides.worker_skills[i] for i in rows],
            self._occupations.workers.take(w),
        )


def worker_blocks(
    ctx: MatchContext,
    regions_: Sequence[Region],
    worker_vecs: np.ndarray,
    sides: TextSides,
    occupations: OccupationSides,
    chunk: int | None = None,
) -> WorkerBlocks:
    """Every region's workers in blocks of ``chunk`` (default :data:`RETRIEVE_CHUNK`), region by
    region, in worker order (cut one by one as they are asked for)."""
    return WorkerBlocks(ctx, regions_, worker_vecs, sides, occupations, chunk or RETRIEVE_CHUNK)


def score_block(shared: SharedContext, jobs: RegionJobs, block: WorkerBlock) -> Edges:
    """Top-k scored candidates of one block's workers among its region's jobs (whole-run indices)."""
    ctx = MatchContext(**shared.fields, **jobs.fields, **block.fields)
    edges = retrieve_candidates(
        ctx,
        block.vectors,
        jobs.vectors,
        k=shared.k,
        config=shared.scoring,
        texts=TextSides(block.occupations, block.skills, jobs.titles, jobs.descriptions),
        occupations=OccupationSides(block.beliefs, jobs.beliefs),
        index_kind=shared.index_kind,
        index=jobs.index,
        lexical=jobs.lexical.with_left(block.occupations),
        skills=jobs.skills.with_left(block.skills),
    )
    return Edges(
        block.workers[edges.worker].astype(np.int32),
        jobs.jobs[edges.job].astype(np.int32),
        edges.cosine,
        edges.factors,
        edges.score,
    )


def sorted_edges(parts: list[Edges]) -> Edges:
    """The blocks' edges as one set, ordered by (worker, job); ``parts`` is emptied (its edges are
    copied into the one set, and each copy is let go as soon as it is made)."""
    edges = Edges.concat(parts)
    parts.clear()
    if len(edges) < 2:
        return edges
    order = np.lexsort((edges.job, edges.worker))
    if bool(np.all(order[1:] > order[:-1])):
        return edges
    return edges.take(order)


# ---- components: solving -----------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """A connected piece of the candidate graph (indices of the whole problem, ascending)."""

    workers: np.ndarray
    jobs: np.ndarray
    enterprises: np.ndarray
    edges: np.ndarray
    districts: tuple[int, ...]  # target districts inside

    @property
    def n_edges(self) -> int:
        return int(self.edges.size)


def components(problem: Any) -> list[Component]:
    """The independent pieces of ``problem`` (an optimizer.PlacementProblem), largest first.

    With county fairness the whole problem is one piece. A piece without edges is left out
    unless it holds a district target (whose shortfall must still be reported).
    """
    w_n, j_n, k_n = problem.n_workers, problem.n_jobs, problem.n_enterprises
    if problem.county_min_share is not None:
        return [_whole(problem)]
    a = [problem.edge_worker.astype(np.int64)]
    b = [w_n + problem.edge_job.astype(np.int64)]
    n = w_n + j_n
    if problem.job_enterprise is not None and k_n:
        has = np.flatnonzero(problem.job_enterprise >= 0)
        a.append(w_n + has)
        b.append(n + problem.job_enterprise[has].astype(np.int64))
    n += k_n
    g = problem.worker_group
    if g is not None and bool(np.any(g >= 0)):
        members = np.flatnonzero(g >= 0)
        a.append(members)
        b.append(n + g[members].astype(np.int64))
        n += int(g.max()) + 1
    targets = sorted(problem.district_targets or {})
    d0 = n
    for i, d in enumerate(targets):
        jobs = np.flatnonzero(problem.job_district == d)
        paired = np.fromiter((problem.district_paired_counties or {}).get(d, ()), dtype=np.int64)
        workers = np.flatnonzero(np.isin(problem.worker_county, paired))
        a += [w_n + jobs, workers]
        b += [np.full(jobs.size, d0 + i), np.full(workers.size, d0 + i)]
    n += len(targets)
    n_labels, labels = _labels(n, np.concatenate(a), np.concatenate(b))
    edge_label = labels[problem.edge_worker]
    by_edge = _groups(edge_label, n_labels)
    by_worker = _groups(labels[:w_n], n_labels)
    by_job = _groups(labels[w_n : w_n + j_n], n_labels)
    by_ent = _groups(labels[w_n + j_n : w_n + j_n + k_n], n_labels)
    target_label = {d: int(labels[d0 + i]) for i, d in enumerate(targets)}
    out = []
    for lab in range(n_labels):
        districts = tuple(d for d in targets if target_label[d] == lab)
        if by_edge[lab].size or districts:
            out.append(Component(by_worker[lab], by_job[lab], by_ent[lab], by_edge[lab], districts))
    if not out:  # nothing to solve: one empty piece, so the whole problem's rules are still reported
        return [_whole(problem)]
    # largest first (a cluster starts the long ones early); ties by first edge, then first worker
    return sorted(
        out,
        key=lambda c: (
            -c.n_edges,
            int(c.edges[0]) if c.edges.size else -1,
            int(c.workers[0]) if c.workers.size else -1,
        ),
    )


def _whole(problem: Any) -> Component:
    return Component(
        np.arange(problem.n_workers, dtype=np.int64),
        np.arange(problem.n_jobs, dtype=np.int64),
        np.arange(problem.n_enterprises, dtype=np.int64),
        np.arange(problem.n_edges, dtype=np.int64),
        tuple(sorted(problem.district_targets or {})),
    )


def subproblem(problem: Any, comp: Component) -> Any:
    """``problem`` restricted to ``comp``, with indices renumbered from 0 (same order)."""
    e = comp.edges
    job_enterprise = enterprise_capacity = dorm_beds = None
    if problem.job_enterprise is not None:
        ent = problem.job_enterprise[comp.jobs]
        local = np.searchsorted(comp.enterprises, np.maximum(ent, 0))
        job_enterprise = np.where(ent >= 0, local, -1)
        if problem.enterprise_capacity is not None:
            enterprise_capacity = problem.enterprise_capacity[comp.enterprises]
        if problem.enterprise_dorm_beds is not None:
            dorm_beds = problem.enterprise_dorm_beds[comp.enterprises]

    def rows(arr: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
        return None if arr is None else arr[idx]

    targets = {d: q for d, q in (problem.district_targets or {}).items() if d in comp.districts}
    return dataclasses.replace(
        problem,
        n_workers=int(comp.workers.size),
        n_jobs=int(comp.jobs.size),
        edge_worker=np.searchsorted(comp.workers, problem.edge_worker[e]),
        edge_job=np.searchsorted(comp.jobs, problem.edge_job[e]),
        edge_score=problem.edge_score[e],
        job_openings=problem.job_openings[comp.jobs],
        job_enterprise=job_enterprise,
        enterprise_capacity=enterprise_capacity,
        enterprise_dorm_beds=dorm_beds,
        edge_needs_dorm=rows(problem.edge_needs_dorm, e),
        worker_county=rows(problem.worker_county, comp.workers),
        worker_unemployed=rows(problem.worker_unemployed, comp.workers),
        worker_group=rows(problem.worker_group, comp.workers),
        job_district=rows(problem.job_district, comp.jobs),
        district_targets=targets or None,
        district_paired_counties=problem.district_paired_counties if targets else None,
    )


# how strongly a rule was enforced / which solver answered: a merged run reports the strongest
_RULE_RANK = {
    "off": 0,
    "flow": 1,
    "satisfied_by_flow": 2,
    "enforced_lagrangian": 3,
    "enforced_heuristic": 4,
    "enforced_mip": 5,
}
_SOLVER_RANK = {"ortools_min_cost_flow": 0, "lagrangian_flow": 1, "highs_mip": 2, "repair_heuristic": 3}
_STATUS_RANK = {"OPTIMAL": 0, "FEASIBLE": 1, "TIME_LIMIT": 2, "INFEASIBLE": 3}


def merge_results(
    problem: Any,
    options: Any,
    comps: Sequence[Component],
    results: Sequence[Any],
    wall_s: float,
    stage_seconds: dict[str, float] | None = None,
) -> Any:
    """One optimizer.PlacementResult for the whole problem from its components' results.

    The objective and the reasons are recomputed on the whole problem; the bound is the sum of
    the components' bounds (a worker in no component has no edge and adds nothing); the status,
    the solver and each rule's state are the weakest status and the strongest enforcement among
    the components; shadow prices are the components' (0 for a job or enterprise in none).
    """
    from optimizer.check import build_result
    from optimizer.solve import edge_weights

    sel = np.zeros(problem.n_edges, dtype=bool)
    prices = options.shadow_prices
    job_p = np.full(problem.n_jobs, 0.0 if prices else np.nan)
    ent_p = np.full(problem.n_enterprises, 0.0 if prices else np.nan) if problem.n_enterprises else None
    bed_p: np.ndarray | None = None
    stages: dict[str, float] = dict(stage_seconds or {})
    rules: dict[str, str] = {}
    relaxed = []
    status, solver, bound, scale = "OPTIMAL", "ortools_min_cost_flow", 0.0, 0
    for comp, res in zip(comps, results, strict=True):
        sel[comp.edges] = res.edge_selected
        bound += float(res.bound)
        scale = max(scale, int(res.scale))
        if _STATUS_RANK.get(res.status, 9) > _STATUS_RANK.get(status, 9):
            status = res.status
        if _SOLVER_RANK.get(res.solver, 9) > _SOLVER_RANK.get(solver, 9):
            solver = res.solver
        for name, state in res.rules.items():
            if name not in rules or _RULE_RANK.get(state, 9) > _RULE_RANK.get(rules[name], 9):
                rules[name] = state
        relaxed.extend(res.relaxed)
        job_p[comp.jobs] = res.job_shadow_price
        if ent_p is not None and res.enterprise_shadow_price is not None:
            ent_p[comp.enterprises] = res.enterprise_shadow_price
        if res.dorm_bed_shadow_price is not None:
            if bed_p is None:
                bed_p = np.full(problem.n_enterprises, np.nan)
            bed_p[comp.enterprises] = res.dorm_bed_shadow_price
        for key, value in res.stage_seconds.items():
            stages[key] = stages.get(key, 0.0) + float(value)
    extra: dict[str, Any] = {"job_shadow_price": job_p, "enterprise_shadow_price": ent_p}
    if bed_p is not None:
        extra["dorm_bed_shadow_price"] = bed_p
    relaxed.sort(key=lambda r: r.constraint)
    result = build_result(
        problem,
        sel,
        weights=edge_weights(problem, options),
        status=status,
        solver=solver,
        mode=options.mode,
        bound=bound,
        rules_active=solver != "ortools_min_cost_flow",
        beds_active=rules.get("dorm_beds", "off") != "off",
        relaxed=tuple(relaxed),
        rules=rules,
        wall_s=wall_s,
        stage_seconds=stages,
        scale=scale,
        **extra,
    )
    return result


def solve_in_pieces(problem: Any, options: Any, engine: Any = None) -> Any:
    """Solve ``problem`` component by component on ``engine`` (default: this process) and merge."""
    from matcher.placement.engine import LocalEngine

    t0 = time.perf_counter()
    engine = engine or LocalEngine()
    comps = components(problem)
    split_s = time.perf_counter() - t0
    results = engine.solve_components([subproblem(problem, c) for c in comps], options)
    return merge_results(
        problem,
        options,
        comps,
        results,
        wall_s=time.perf_counter() - t0,
        stage_seconds={"decompose": split_s, "components": float(len(comps))},
    )


__all__ = [
    "RETRIEVE_CHUNK",
    "Component",
    "Region",
    "RegionJobs",
    "SharedContext",
    "WorkerBlock",
    "WorkerBlocks",
    "components",
    "merge_results",
    "region_jobs",
    "regions",
    "score_block",
    "shared_context",
    "solve_in_pieces",
    "sorted_edges",
    "subproblem",
    "worker_blocks",
]
