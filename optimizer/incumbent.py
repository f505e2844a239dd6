"""Good feasible assignments for the MIP rules, fast: a Lagrangian flow for district targets and a
greedy repair for the rest. They seed and back up the MIP of :mod:`optimizer.rules`.

*District targets, county floors.* Both are rows ``a_r·x >= b_r`` (:class:`SideRows`). Add
``Σ_r λ_r a_r`` (``λ >= 0``) to the edge weights and solve the flow. For any ``λ``,
``L(λ) = max_x w·x + Σ_r λ_r (a_r·x − b_r)`` over flow-feasible ``x`` bounds every assignment
that meets all rows with the same stage totals (its penalty term is ``>= 0``). So a flow optimum
``x_λ`` that meets every row, with equality wherever ``λ_r > 0``, has ``w·x_λ = L(λ)`` and is
optimal: a certificate, checked, never assumed. ``λ`` is searched per row by doubling, then
bisection; if no certificate comes, the best assignment that meets the rows and ``min L(λ)``
are still an incumbent and a bound.

*Repair.* Drop the fewest, lowest-weight placements that break a hard rule (split groups,
crossing dorm beds), then add free edges best weight first while every rule still holds. County
floors (from the max–min of :mod:`optimizer.fairness`) are soft, like district targets.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from optimizer.check import enterprise_key
from optimizer.flow import solve_flow
from optimizer.network import dorm_plan
from optimizer.problem import PlacementProblem, SolveOptions
from optimizer.rules import county_edges, groups_of, target_edges

_MAX_ROUNDS = 60


@dataclass
class SideRows:
    """Rows ``lhs_r(x) >= b_r`` with ``lhs_r(x) = #{e in x: row[e] = r}``.

    District targets: ``row`` = the district an edge counts for; county floors: ``row`` = the
    worker's county.
    """

    name: str
    row: np.ndarray  # int64 (E,), -1 = in no row
    b: np.ndarray  # float64 (R,)

    def lhs(self, sel: np.ndarray) -> np.ndarray:
        r = self.row[sel]
        return np.bincount(r[r >= 0], minlength=self.b.size).astype(np.float64)

    def bonus(self, lam: np.ndarray) -> np.ndarray:
        return np.where(self.row >= 0, lam[np.maximum(self.row, 0)], 0.0)


def target_rows(problem: PlacementProblem) -> SideRows:
    """District targets as rows (an edge counts for at most one district: its job's)."""
    targets = sorted((problem.district_targets or {}).items())
    row = np.full(problem.n_edges, -1, dtype=np.int64)
    for i, (d, _) in enumerate(targets):
        row[target_edges(problem, d)] = i
    return SideRows("district_targets", row, np.array([float(q) for _, q in targets]))


def fairness_rows(problem: PlacementProblem) -> SideRows:
    """County floors as rows: placed_c >= floor_c."""
    floors = sorted((problem.county_floors or {}).items())
    row = np.full(problem.n_edges, -1, dtype=np.int64)
    for i, (c, _) in enumerate(floors):
        row[county_edges(problem, c)] = i
    return SideRows("county_fairness", row, np.array([float(f) for _, f in floors]))


class _CapacityChange(TypedDict, total=False):
    """Capacity fields of the residual problem left after fixing edges (absent: unchanged)."""

    enterprise_capacity: np.ndarray
    enterprise_dorm_beds: np.ndarray
    edge_needs_dorm: np.ndarray


@dataclass
class LagrangianOutcome:
    """Best flow assignment found that meets every row, and what is proven about it."""

    edge_sel: np.ndarray | None  # None: no λ tried met every row
    objective: float
    bound: float  # min L(λ) (valid when some assignment meets every row)
    exact: bool  # the certificate holds: edge_sel is optimal
    rounds: int


def lagrangian(
    problem: PlacementProblem,
    weights: np.ndarray,
    options: SolveOptions,
    rows: SideRows,
    *,
    deadline: float | None = None,
    max_rounds: int = _MAX_ROUNDS,
) -> LagrangianOutcome:
    """Search multipliers for ``rows`` on the flow (see the module docstring)."""
    r_n = rows.b.size
    tol = 1e-9
    w_max = float(weights.max()) if weights.size else 1.0
    step0, cap = 0.01 * max(w_max, 1e-9), 1e3 * max(w_max, 1e-9)
    lam = np.zeros(r_n)
    lo, hi = np.zeros(r_n), np.full(r_n, np.inf)
    best: tuple[float, np.ndarray] | None = None
    bound = np.inf
    flow_opts = dataclasses.replace(options, shadow_prices=False)
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        adjusted = weights + rows.bonus(lam)
        sel = solve_flow(problem, adjusted, flow_opts).edge_flow
        slack = rows.lhs(sel) - rows.b
        score = float(weights[sel].sum())
        bound = min(bound, score + float(lam @ slack) + _rounding(adjusted, sel))
        if np.all(slack >= -tol):
            if best is None or score > best[0]:
                best = (score, sel)
            if np.all((np.abs(slack) <= tol) | (lam == 0)):
                return LagrangianOutcome(sel, score, score, True, rounds)
        if deadline is not None and time.perf_counter() > deadline:
            break
        under, over = slack < -tol, (slack > tol) & (lam > 0)
        if not (under.any() or over.any()):
            break
        before = lam.copy()
        lo[under] = lam[under]
        hi[over] = lam[over]
        hi[lo >= hi] = np.inf  # coupled rows can move a bracket: reopen it
        grow = under & ~np.isfinite(hi)
        lam[grow] = np.minimum(np.maximum(2 * lam[grow], step0), cap)
        mid = (under | over) & np.isfinite(hi)
        lam[mid] = 0.5 * (lo[mid] + hi[mid])
        # a bracket shrunk to a point: the row jumps over its bound there (no certificate at
        # this λ); take the upper end, which meets the row with slack
        shut = mid & (hi - lo <= 1e-9 * max(w_max, 1e-9))
        lam[shut & under] = hi[shut & under]
        if np.array_equal(lam, before) or np.all(lam[under] >= cap):
            break  # stalled, or a row is out of reach of the flow: leave it to the MIP
    if best is None:
        return LagrangianOutcome(None, -np.inf, bound, False, rounds)
    return LagrangianOutcome(best[1], best[0], max(bound, best[0]), False, rounds)


def _rounding(weights: np.ndarray, sel: np.ndarray) -> float:
    """Slack for the integer rounding of the flow: at most 1e-7 relative (see optimizer.flow)."""
    return 1e-7 * max(abs(float(weights[sel].sum())), 1e-12)


def repair(
    problem: PlacementProblem, weights: np.ndarray, edge_sel: np.ndarray, options: SolveOptions
) -> np.ndarray:
    """A selection that keeps every hard rule, close to ``edge_sel`` (see the module docstring)."""
    sel = edge_sel.copy()
    members, member_group = groups_of(problem)
    group = np.full(problem.n_workers, -1, dtype=np.int64)
    group[members] = member_group
    ent_key = enterprise_key(problem)
    ew, ej = problem.edge_worker, problem.edge_job

    # groups: keep a group only if all its members sit in one enterprise
    if members.size:
        where = np.full(problem.n_workers, -1, dtype=np.int64)
        where[ew[sel]] = ent_key[ej[sel]]
        gid, inv = np.unique(member_group, return_inverse=True)
        lo = np.full(gid.size, np.iinfo(np.int64).max)
        hi = np.full(gid.size, -2)
        np.minimum.at(lo, inv, where[members])
        np.maximum.at(hi, inv, where[members])
        broken = gid[lo != hi]
        sel &= ~np.isin(group[ew], broken)

    # crossing dorm beds: drop the lowest-weight bed users over the limit (whole group if any)
    plan = dorm_plan(problem, options)
    if plan is not None and plan.crossing.any():
        sel = _drop_over(problem, weights, sel, group, plan.crossing)
    return _fill(problem, weights, sel, group, options)


def _drop_over(problem, weights, sel, group, crossing) -> np.ndarray:
    ent = problem.job_enterprise
    beds = problem.enterprise_dorm_beds
    for k in np.flatnonzero(crossing):
        users = np.flatnonzero(sel & problem.edge_needs_dorm & (ent[problem.edge_job] == k))
        extra = users.size - int(beds[k])
        if extra > 0:
            drop = users[np.argsort(weights[users], kind="stable")[:extra]]
            g = group[problem.edge_worker[drop]]
            sel[drop] = False
            sel &= ~np.isin(group[problem.edge_worker], g[g >= 0])
    return sel


def complete_with_flow(
    problem: PlacementProblem,
    weights: np.ndarray,
    options: SolveOptions,
    selected: np.ndarray,
    fixed: np.ndarray,
) -> np.ndarray:
    """The ``fixed`` edges kept as ``selected`` says; every other edge chosen by the exact flow
    in the openings, places and beds left (workers placed by a fixed edge are taken). Needs the
    problem minus the fixed edges to be a network (see :func:`optimizer.rules.solve_mip`)."""
    ew, ej = problem.edge_worker, problem.edge_job
    keep = selected & fixed
    taken = np.zeros(problem.n_workers, dtype=bool)
    taken[ew[keep]] = True
    free = ~fixed & ~taken[ew]
    openings = problem.job_openings - np.bincount(ej[keep], minlength=problem.n_jobs)
    change: _CapacityChange = {}
    ent = problem.job_enterprise
    if problem.n_enterprises and ent is not None:
        k_n = problem.n_enterprises
        ek = ent[ej[keep]]
        used = np.bincount(ek[ek >= 0], minlength=k_n)
        if problem.enterprise_capacity is not None:
            cap = problem.enterprise_capacity
            change["enterprise_capacity"] = np.where(cap >= 0, cap - used, cap)
        if problem.enterprise_dorm_beds is not None and problem.edge_needs_dorm is not None:
            nk = ent[ej[keep & problem.edge_needs_dorm]]
            bused = np.bincount(nk[nk >= 0], minlength=k_n)
            beds = problem.enterprise_dorm_beds
            change["enterprise_dorm_beds"] = np.where(beds >= 0, beds - bused, beds)
            change["edge_needs_dorm"] = problem.edge_needs_dorm[free]
    sub = dataclasses.replace(
        problem,
        edge_worker=ew[free],
        edge_job=ej[free],
        edge_score=problem.edge_score[free],
        job_openings=openings,
        worker_group=None,
        job_district=None,
        district_targets=None,
        district_paired_counties=None,
        county_min_share=None,
        **change,
    ).validate()
    flow = solve_flow(sub, weights[free], dataclasses.replace(options, shadow_prices=False))
    out = keep.copy()
    out[np.flatnonzero(free)[flow.edge_flow]] = True
    return out


def members_exist(group: np.ndarray) -> bool:
    return bool(group.size and group.max() >= 0)


_PLENTY = np.iinfo(np.int64).max // 4  # the room of an uncapped enterprise


@dataclass
class _Room:
    """What a selection leaves: free workers, openings per job, places and beds per enterprise."""

    worker_free: np.ndarray  # bool (W,)
    openings: np.ndarray  # (J,)
    places: np.ndarray  # (K,); _PLENTY when uncapped
    beds: np.ndarray  # (K,); _PLENTY when uncapped or not enforced

    @classmethod
    def after(cls, problem: PlacementProblem, sel: np.ndarray, options: SolveOptions) -> _Room:
        ew, ej = problem.edge_worker, problem.edge_job
        worker_free = np.ones(problem.n_workers, dtype=bool)
        worker_free[ew[sel]] = False
        openings = problem.job_openings - np.bincount(ej[sel], minlength=problem.n_jobs)
        ent, k_n = problem.job_enterprise, problem.n_enterprises
        places = np.full(k_n, _PLENTY)
        beds = np.full(k_n, _PLENTY)
        if k_n and ent is not None:
            se = ent[ej[sel]]
            used = np.bincount(se[se >= 0], minlength=k_n)
            if problem.enterprise_capacity is not None:
                cap = problem.enterprise_capacity
                places = np.where(cap >= 0, cap - used, places)
            if options.enforce_dorm_beds and problem.enterprise_dorm_beds is not None:
                ne = ent[ej[sel & problem.edge_needs_dorm]]
                bused = np.bincount(ne[ne >= 0], minlength=k_n)
                limit = problem.enterprise_dorm_beds
                beds = np.where(limit >= 0, limit - bused, beds)
        return cls(worker_free, openings, places, beds)

    def has_place(self, k: int, bed: bool) -> bool:
        """A place at enterprise ``k`` (-1: none), and a bed there if ``bed``."""
        return k < 0 or (self.places[k] > 0 and not (bed and self.beds[k] <= 0))

    def fits_group(self, k: int, n: int, beds_needed: int) -> bool:
        """``n`` more placements at enterprise ``k`` (-1: none), ``beds_needed`` of them in beds."""
        return k < 0 or (self.places[k] >= n and self.beds[k] >= beds_needed)

    def take(self, sel: np.ndarray, e: int, w: int, j: int, k: int, bed: bool) -> None:
        """Select edge ``e``: its worker, an opening, a place and (if it needs one) a bed."""
        sel[e] = True
        self.worker_free[w] = False
        self.openings[j] -= 1
        if k >= 0:
            self.places[k] -= 1
            if bed:
                self.beds[k] -= 1


def _place(problem: PlacementProblem, e: int, j: int) -> tuple[int, bool]:
    """The enterprise (-1: none) of edge ``e`` into job ``j``, and whether it needs a bed there."""
    k = int(problem.job_enterprise[j]) if problem.job_enterprise is not None else -1
    return k, k >= 0 and problem.edge_needs_dorm is not None and bool(problem.edge_needs_dorm[e])


def _fill(problem, weights, sel, group, options) -> np.ndarray:
    """Add edges, best first, while every rule holds: whole groups, then single workers."""
    room = _Room.after(problem, sel, options)
    if members_exist(group):
        _fill_groups(problem, weights, sel, group, room)
    _fill_singles(problem, weights, sel, group, room)
    return sel


def _fill_groups(problem, weights, sel, group, room: _Room) -> None:
    """Each group with no member placed, into the first enterprise (by its best edges) where every
    member has a job with an opening and the enterprise has places and beds for them all."""
    ew, ej = problem.edge_worker, problem.edge_job
    ek = enterprise_key(problem)
    for edges in _group_edges(problem, weights, group, room):
        members = np.unique(ew[edges])
        if members.size != int((group == group[ew[edges[0]]]).sum()):
            continue  # a member is placed already (or has no edge)
        pairs = np.unique(np.stack([ek[ej[edges]], ew[edges]], axis=1), axis=0)
        keys, n_mem = np.unique(pairs[:, 0], return_counts=True)
        for key in keys[n_mem == members.size].tolist():
            picks = _group_picks(problem, edges, members, ek, key, room)
            if len(picks) < members.size:
                continue
            placed = [(e, int(ew[e]), int(ej[e]), *_place(problem, e, int(ej[e]))) for e in picks]
            k = placed[0][3]  # one enterprise (or one job without any) for the whole group
            if room.fits_group(k, len(placed), sum(bed for *_, bed in placed)):
                for e, w, j, k, bed in placed:
                    room.take(sel, e, w, j, k, bed)
                break


def _group_edges(problem, weights, group, room: _Room) -> list[np.ndarray]:
    """The edges of free group members, one array per group, best weight first within each."""
    ew = problem.edge_worker
    on = np.flatnonzero((group[ew] >= 0) & room.worker_free[ew])
    on = on[np.lexsort((-weights[on], group[ew[on]]))]
    gs = group[ew[on]]
    if not on.size:
        return []
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    ends = np.r_[starts[1:], on.size]
    return [on[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def _group_picks(problem, edges, members, ek, key: int, room: _Room) -> list[int]:
    """Each member's best edge into enterprise ``key`` whose job has an opening left (after the
    members before it); a member without one is missing from the list."""
    ew, ej = problem.edge_worker, problem.edge_job
    picks: list[int] = []
    taken: dict[int, int] = {}
    for w in members.tolist():
        mine = edges[(ew[edges] == w) & (ek[ej[edges]] == key)]  # best first
        for e in mine.tolist():
            j = int(ej[e])
            if room.openings[j] - taken.get(j, 0) > 0:
                picks.append(e)
                taken[j] = taken.get(j, 0) + 1
                break
    return picks


def _fill_singles(problem, weights, sel, group, room: _Room) -> None:
    """Single (non-group) workers' edges of positive weight, best first, each if it still fits."""
    ew, ej = problem.edge_worker, problem.edge_job
    cand = np.flatnonzero(
        ~sel & room.worker_free[ew] & (room.openings[ej] > 0) & (group[ew] < 0) & (weights > 0)
    )
    cand = cand[np.argsort(-weights[cand], kind="stable")]
    for e in cand.tolist():
        w, j = int(ew[e]), int(ej[e])
        if not room.worker_free[w] or room.openings[j] <= 0:
            continue  # most candidates, once their worker is placed: nothing more to look up
        k, bed = _place(problem, e, j)
        if room.has_place(k, bed):
            room.take(sel, e, w, j, k, bed)


__all__ = [
    "LagrangianOutcome",
    "SideRows",
    "complete_with_flow",
    "fairness_rows",
    "lagrangian",
    "repair",
    "target_rows",
]
