"""Side rules that break the flow structure, solved as a MIP with HiGHS (``scipy.optimize.milp``).

Dorm beds whose sets cross the job-openings sets (``edge_needs_dorm`` varying within two or more
jobs of one enterprise; the laminar case is a flow, see :mod:`optimizer.network`), district
targets and county fairness (counts by worker county × job district, which cross too) and
groups (all-or-nothing) come here only when the flow relaxation breaks them and no Lagrangian
certificate settles them; see :func:`optimizer.solve`.

Model (data → variables → constraints → objective, as in the OR-Tools samples):
``x_e`` binary per edge; ``s_d >= 0`` shortfall per district target and per county floor (both
soft and reported when relaxed; the floors come from the max–min of :mod:`optimizer.fairness`);
``y_gk`` group ``g`` goes to enterprise ``k``; ``z_g`` group ``g`` is placed. Lexicographic
objectives are solved in stages, each stage fixing the previous optimum: shortfall → unemployed
placed → workers placed → score.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from optimizer.check import enterprise_key
from optimizer.network import dorm_active
from optimizer.problem import PlacementProblem, SolveOptions

_MIP_REL_GAP = 1e-7


@dataclass
class MipOutcome:
    """Selected edges and the status of the last stage."""

    edge_sel: np.ndarray | None  # None when no stage found a solution in time
    status: str
    objective: float
    bound: float
    gap: float
    stage_seconds: dict[str, float] = field(default_factory=dict)


class _Rows:
    """COO accumulator for ``lb <= A x <= ub``."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.n = 0

    def add(self, row, col, val, lb, ub) -> None:
        lb = np.atleast_1d(np.asarray(lb, dtype=np.float64))
        self.r.append(np.asarray(row, dtype=np.int64) + self.n)
        self.c.append(np.asarray(col, dtype=np.int64))
        self.v.append(np.broadcast_to(np.asarray(val, dtype=np.float64), np.shape(col)))
        self.lb.append(lb)
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), lb.shape))
        self.n += lb.shape[0]

    def build(self, n_var: int):
        from scipy import sparse  # here, not at import: a flow-only solve never loads scipy

        a = sparse.csr_array(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))), shape=(self.n, n_var)
        )
        return a, np.concatenate(self.lb), np.concatenate(self.ub)


def target_edges(problem: PlacementProblem, d: int) -> np.ndarray:
    """Edges that count towards district ``d``'s target (job in ``d``, worker from a paired county)."""
    paired = np.fromiter((problem.district_paired_counties or {}).get(d, ()), dtype=np.int64)
    # district targets need both arrays (PlacementProblem.validate)
    assert problem.worker_county is not None and problem.job_district is not None
    county = problem.worker_county[problem.edge_worker]
    return (problem.job_district[problem.edge_job] == d) & np.isin(county, paired)


def rule_report(problem: PlacementProblem, edge_sel: np.ndarray, options: SolveOptions) -> dict[str, bool]:
    """Which non-flow rules are active, mapped to whether ``edge_sel`` satisfies them."""
    out: dict[str, bool] = {}
    if dorm_active(problem, options):
        # dorm_active checked that these three are given
        assert problem.edge_needs_dorm is not None and problem.job_enterprise is not None
        assert problem.enterprise_dorm_beds is not None
        need = edge_sel & problem.edge_needs_dorm
        ent = problem.job_enterprise[problem.edge_job[need]]
        beds = problem.enterprise_dorm_beds
        used = np.bincount(ent[ent >= 0], minlength=problem.n_enterprises)
        out["dorm_beds"] = bool(np.all((beds < 0) | (used <= beds)))
    if problem.district_targets:
        out["district_targets"] = all(
            int((edge_sel & target_edges(problem, d)).sum()) >= int(q)
            for d, q in problem.district_targets.items()
        )
    if problem.county_floors:
        out["county_fairness"] = county_shortfall(problem, edge_sel) == 0
    if groups_of(problem)[0].size:
        from optimizer.check import _group_violations

        assignment = np.full(problem.n_workers, -1, dtype=np.int64)
        assignment[problem.edge_worker[edge_sel]] = problem.edge_job[edge_sel]
        out["groups"] = not _group_violations(problem, assignment)
    return out


def county_edges(problem: PlacementProblem, c: int) -> np.ndarray:
    """Edges of workers from county ``c`` (they count towards its floor)."""
    assert problem.worker_county is not None  # floors come with county fairness, which needs it
    return problem.worker_county[problem.edge_worker] == c


def county_shortfall(problem: PlacementProblem, edge_sel: np.ndarray) -> int:
    """Placements missing from the county floors in ``edge_sel`` (summed over counties)."""
    return sum(
        max(0, int(f) - int((edge_sel & county_edges(problem, c)).sum()))
        for c, f in (problem.county_floors or {}).items()
    )


def groups_of(problem: PlacementProblem) -> tuple[np.ndarray, np.ndarray]:
    """Worker indices in groups of at least two, and their group ids."""
    g = problem.worker_group
    if g is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ids, counts = np.unique(g[g >= 0], return_counts=True)
    real = ids[counts >= 2]
    members = np.flatnonzero(np.isin(g, real))
    return members, g[members].astype(np.int64)


@dataclass(frozen=True)
class _Columns:
    """Where each variable sits: ``x`` (E) | ``s`` (targets) | ``s`` (county floors) | ``y`` (group
    × enterprise) | ``z`` (groups), and the group data the rows need."""

    targets: list[tuple[int, int]]  # (district, target), sorted
    floors: list[tuple[int, int]]  # (county, floor), sorted
    members: np.ndarray  # workers in groups of two or more
    member_group: np.ndarray  # their group ids
    group_of_worker: np.ndarray  # (W,) group id, -1 = in no group
    gidx: np.ndarray  # group id → group index, -1 = no group of two or more
    n_groups: int
    y_pairs: np.ndarray  # (group index, enterprise key) where every member has an edge
    s0: int
    p0: int
    y0: int
    z0: int
    n_var: int


def solve_mip(
    problem: PlacementProblem,
    weights: np.ndarray,
    options: SolveOptions,
    *,
    integer_edges: np.ndarray | None = None,
) -> MipOutcome:
    """Solve with every side rule enforced; targets soft with reported shortfall.

    ``integer_edges``: only these edges' ``x`` (and the group variables) are integer. Valid when
    fixing them to integers leaves a network LP for the others (groups and crossing dorm beds:
    give every group member's edge and every edge into a crossing enterprise; not targets or
    fairness). The caller then completes the other edges with the exact flow
    (:func:`optimizer.incumbent.complete_with_flow`), so a fractional LP value there never
    reaches the result.
    """
    t0 = time.perf_counter()
    if problem.n_edges == 0:
        return MipOutcome(np.zeros(0, bool), "OPTIMAL", 0.0, 0.0, 0.0)
    # variables
    cols = _columns(problem)
    upper = np.ones(problem.n_edges, dtype=np.float64)  # x bounds; edges a group may not use close
    # constraints
    rows = _Rows()
    _worker_rows(rows, problem, cols, upper)
    _capacity_rows(rows, problem, options)
    _target_rows(rows, problem, cols)
    _fairness_rows(rows, problem, cols)
    a, lb, ub = rows.build(cols.n_var)
    integrality, bounds = _domains(problem, cols, upper, integer_edges)
    # objective: one cost vector per lexicographic stage
    n_soft = len(cols.targets) + len(cols.floors)
    stages = _stage_objectives(problem, weights, options, cols.n_var, cols.s0, n_soft)
    stage_seconds = {"build_mip": time.perf_counter() - t0}
    # solve, then read the result only if the last stage has one
    res, status = _solve_stages(a, lb, ub, integrality, bounds, stages, options, stage_seconds)
    if res.x is None:
        status = "TIME_LIMIT" if res.status == 1 else "INFEASIBLE"
        return MipOutcome(None, status, 0.0, float("inf"), float("inf"), stage_seconds)
    return _outcome(res, status, weights, problem.n_edges, stage_seconds)


def _columns(problem: PlacementProblem) -> _Columns:
    """The variable layout; ``y_gk`` only for enterprises where every member of ``g`` has an edge."""
    ew, ej = problem.edge_worker.astype(np.int64), problem.edge_job.astype(np.int64)
    targets = sorted((problem.district_targets or {}).items())
    floors = sorted((problem.county_floors or {}).items())
    members, member_group = groups_of(problem)
    group_of_worker = np.full(problem.n_workers, -1, dtype=np.int64)
    group_of_worker[members] = member_group
    gids = np.unique(member_group)
    gidx = np.full(int(gids.max()) + 1 if gids.size else 0, -1, np.int64)
    gidx[gids] = np.arange(gids.size)
    y_pairs = np.zeros((0, 2), np.int64)
    if gids.size:
        on = group_of_worker[ew] >= 0
        eg, ek = gidx[group_of_worker[ew[on]]], enterprise_key(problem)[ej[on]]
        trip = np.unique(np.stack([eg, ek, ew[on]], axis=1), axis=0)
        pairs, n_mem = np.unique(trip[:, :2], axis=0, return_counts=True)
        size = np.bincount(gidx[member_group], minlength=gids.size)
        y_pairs = pairs[n_mem == size[pairs[:, 0]]]
    s0 = problem.n_edges
    p0 = s0 + len(targets)
    y0 = p0 + len(floors)
    z0 = y0 + y_pairs.shape[0]
    return _Columns(
        targets=targets,
        floors=floors,
        members=members,
        member_group=member_group,
        group_of_worker=group_of_worker,
        gidx=gidx,
        n_groups=gids.size,
        y_pairs=y_pairs,
        s0=s0,
        p0=p0,
        y0=y0,
        z0=z0,
        n_var=z0 + gids.size,
    )


def _worker_rows(rows: _Rows, problem: PlacementProblem, cols: _Columns, upper: np.ndarray) -> None:
    """Each worker takes at most one job; a group member exactly ``z_g``, all in one enterprise.

    Closes (``upper`` = 0) a member's edges into enterprises where not every member has an edge."""
    ew, ej = problem.edge_worker.astype(np.int64), problem.edge_job.astype(np.int64)
    group_of_worker, gidx = cols.group_of_worker, cols.gidx
    free = group_of_worker[ew] < 0
    free_w, free_row = np.unique(ew[free], return_inverse=True)
    rows.add(free_row, np.flatnonzero(free), 1.0, np.zeros(free_w.size), 1.0)
    if not cols.n_groups:
        return
    members = cols.members
    on = np.flatnonzero(~free)
    mem_row = np.searchsorted(members, ew[on])
    rows.add(
        np.r_[mem_row, np.arange(members.size)],
        np.r_[on, cols.z0 + gidx[cols.member_group]],
        np.r_[np.ones(on.size), -np.ones(members.size)],
        np.zeros(members.size),
        0.0,
    )
    # a member's edges into one allowed enterprise add up to y_gk; other enterprises are closed
    ent_key = enterprise_key(problem)
    base = int(ent_key.max()) + 1
    key_e = gidx[group_of_worker[ew[on]]] * base + ent_key[ej[on]]
    key_y = cols.y_pairs[:, 0] * base + cols.y_pairs[:, 1]
    allowed = np.isin(key_e, key_y)
    upper[on[~allowed]] = 0.0
    on, key_e = on[allowed], key_e[allowed]
    wk, wk_row = np.unique(np.stack([ew[on], key_e], axis=1), axis=0, return_inverse=True)
    n_wk = wk.shape[0]
    rows.add(
        np.r_[wk_row.ravel(), np.arange(n_wk)],
        np.r_[on, cols.y0 + np.searchsorted(key_y, wk[:, 1])],
        np.r_[np.ones(on.size), -np.ones(n_wk)],
        np.zeros(n_wk),
        0.0,
    )


def _capacity_rows(rows: _Rows, problem: PlacementProblem, options: SolveOptions) -> None:
    """Job openings, enterprise capacity and (when enforced) dorm beds."""
    e_n = problem.n_edges
    ej = problem.edge_job.astype(np.int64)
    # job openings
    rows.add(ej, np.arange(e_n), 1.0, np.full(problem.n_jobs, -np.inf), problem.job_openings)
    if not (problem.n_enterprises and problem.job_enterprise is not None):
        return
    ent = problem.job_enterprise[ej].astype(np.int64)
    has = ent >= 0
    k_n = problem.n_enterprises
    # enterprise capacity
    cap = problem.enterprise_capacity
    if cap is not None:
        ub = np.where(cap >= 0, cap, np.inf)
        rows.add(ent[has], np.flatnonzero(has), 1.0, np.full(k_n, -np.inf), ub)
    # dorm beds: edges that need a bed, per enterprise
    if dorm_active(problem, options):
        # dorm_active checked that needs and beds are given
        assert problem.edge_needs_dorm is not None and problem.enterprise_dorm_beds is not None
        need = has & problem.edge_needs_dorm
        beds = problem.enterprise_dorm_beds
        rows.add(
            ent[need], np.flatnonzero(need), 1.0, np.full(k_n, -np.inf), np.where(beds >= 0, beds, np.inf)
        )


def _target_rows(rows: _Rows, problem: PlacementProblem, cols: _Columns) -> None:
    """District targets: placements counted + shortfall ``s_d`` >= target."""
    for i, (d, q) in enumerate(cols.targets):
        c = np.r_[np.flatnonzero(target_edges(problem, d)), cols.s0 + i]
        rows.add(np.zeros(c.size, np.int64), c, 1.0, [float(q)], np.inf)


def _fairness_rows(rows: _Rows, problem: PlacementProblem, cols: _Columns) -> None:
    """County floors: the county's placements + shortfall ``s_c`` >= its floor."""
    for i, (c, f) in enumerate(cols.floors):
        col = np.r_[np.flatnonzero(county_edges(problem, c)), cols.p0 + i]
        rows.add(np.zeros(col.size, np.int64), col, 1.0, [float(f)], np.inf)


def _domains(
    problem: PlacementProblem, cols: _Columns, upper: np.ndarray, integer_edges: np.ndarray | None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Integrality and bounds: ``x``, ``y``, ``z`` binary (``x`` continuous off ``integer_edges``),
    ``s`` in [0, target or floor]."""
    e_n = problem.n_edges
    integrality = np.ones(cols.n_var, dtype=np.int8)
    integrality[cols.s0 : cols.y0] = 0
    if integer_edges is not None:
        integrality[:e_n][~integer_edges] = 0
    hi = np.r_[
        upper,
        [float(q) for _, q in cols.targets],
        [float(f) for _, f in cols.floors],
        np.ones(cols.n_var - cols.y0),
    ]
    return integrality, (np.zeros(cols.n_var), hi)


def _solve_stages(a, lb, ub, integrality, bounds, stages, options: SolveOptions, stage_seconds):
    """Each lexicographic stage in turn, every earlier optimum fixed as a row (within its
    tolerance). Returns the last ``milp`` result and the status; a result without ``x`` is the
    stage that found no solution in time."""
    from scipy.optimize import LinearConstraint, milp

    deadline = None if options.time_limit_s is None else time.perf_counter() + options.time_limit_s
    extra_a: list[np.ndarray] = []
    extra_ub: list[float] = []
    status, res = "OPTIMAL", None
    for name, c, tol in stages:
        t1 = time.perf_counter()
        opts: dict[str, object] = {"disp": False, "mip_rel_gap": _MIP_REL_GAP}
        if deadline is not None:
            opts["time_limit"] = max(deadline - t1, 1e-3)
        cons = [LinearConstraint(a, lb, ub)]
        if extra_a:
            cons.append(LinearConstraint(np.vstack(extra_a), -np.inf, np.array(extra_ub)))
        args = (c, integrality, bounds, cons, opts)
        res = milp(*args[:1], **_kw(args)) if deadline is None else _milp_with_hard_limit(args, deadline)
        stage_seconds[f"mip_{name}"] = time.perf_counter() - t1
        if res.x is None:
            return res, status
        if res.status != 0:
            status = "TIME_LIMIT"
        extra_a.append(c)
        extra_ub.append(float(res.fun) + tol)
    assert res is not None
    return res, status


def _outcome(res, status: str, weights: np.ndarray, e_n: int, stage_seconds: dict[str, float]) -> MipOutcome:
    """The selected edges, their score, and the bound HiGHS proved (never below the score)."""
    sel = res.x[:e_n] > 0.5
    objective = float(weights[sel].sum())
    dual = getattr(res, "mip_dual_bound", None)
    bound = objective if dual is None or not np.isfinite(dual) else max(objective, -float(dual))
    gap = (bound - objective) / max(abs(objective), 1e-12)
    return MipOutcome(sel, status, objective, bound, gap, stage_seconds)


_GRACE_S = 5.0  # HiGHS may overrun time_limit (root heuristics on dense rows): kill it after this


def _kw(args: tuple) -> dict[str, object]:
    _, integrality, bounds, cons, opts = args
    return {"integrality": integrality, "bounds": bounds, "constraints": cons, "options": opts}


def _milp_child(conn, args: tuple) -> None:  # pragma: no cover - runs in the forked process
    from scipy.optimize import milp

    res = milp(args[0], **_kw(args))
    conn.send((res.status, res.x, res.fun, getattr(res, "mip_dual_bound", None)))
    conn.close()


def _milp_with_hard_limit(args: tuple, deadline: float):
    """``milp`` in a forked process, killed ``_GRACE_S`` after ``deadline`` if HiGHS overruns its
    own time limit; then it counts as a time limit with no solution (the caller keeps its
    incumbent). The child inherits the model by ``fork``; only the result travels back."""
    import multiprocessing as mp
    from types import SimpleNamespace

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_milp_child, args=(child, args), daemon=True)
    proc.start()
    child.close()
    got = parent.poll(max(deadline - time.perf_counter(), 0.0) + _GRACE_S)
    out = SimpleNamespace(status=1, x=None, fun=None, mip_dual_bound=None)
    if got:
        try:
            out.status, out.x, out.fun, out.mip_dual_bound = parent.recv()
        except EOFError:  # the child died without an answer
            pass
    if proc.is_alive():
        proc.kill()
    proc.join()
    parent.close()
    return out


def lex_key(problem: PlacementProblem, sel: np.ndarray, weights: np.ndarray, options: SolveOptions) -> tuple:
    """The staged objective of a selection as a tuple to maximise: −shortfall (district targets
    and county floors), unemployed, count, score."""
    out: list[float] = []
    if problem.district_targets or problem.county_floors:
        out.append(
            -sum(
                max(0, int(q) - int((sel & target_edges(problem, d)).sum()))
                for d, q in (problem.district_targets or {}).items()
            )
            - county_shortfall(problem, sel)
        )
    if options.priority == "lexicographic" and problem.worker_unemployed is not None:
        out.append(int(problem.worker_unemployed[problem.edge_worker[sel]].sum()))
    if options.mode == "count":
        out.append(int(sel.sum()))
    out.append(float(weights[sel].sum()))
    return tuple(out)


def _stage_objectives(problem, weights, options, n_var, s0, n_targets):
    """(name, cost vector to minimise, tolerance when fixed) for each lexicographic stage."""
    e_n = problem.n_edges
    out = []
    if n_targets:
        c = np.zeros(n_var)
        c[s0 : s0 + n_targets] = 1.0
        out.append(("shortfall", c, 1e-6))
    if options.priority == "lexicographic" and problem.worker_unemployed is not None:
        c = np.zeros(n_var)
        c[:e_n] = -problem.worker_unemployed[problem.edge_worker].astype(np.float64)
        out.append(("priority", c, 0.5))
    if options.mode == "count":
        c = np.zeros(n_var)
        c[:e_n] = -1.0
        out.append(("count", c, 0.5))
    c = np.zeros(n_var)
    c[:e_n] = -weights
    out.append(("score", c, 0.0))
    return out


__all__ = [
    "MipOutcome",
    "county_edges",
    "county_shortfall",
    "groups_of",
    "lex_key",
    "rule_report",
    "solve_mip",
    "target_edges",
]
