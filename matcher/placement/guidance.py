"""Reasons an office can act on: which rule held an unplaced worker back, and what would help.

For every unplaced worker (employed workers kept in their jobs aside) :func:`unplaced_guidance`
names the rule behind the reason: ``no_candidate`` → the first hard rule that leaves no job (place
``location``, then ``age``, then ``gender``); ``blocked_by_rule`` → the side rule (``groups``,
``dorm_beds``, ``county_share``, ``target``). A worker with fewer than :data:`FEW_JOBS` feasible
jobs (jobs passing the hard rules) also gets guidance computed from the data: the paired
districts with no jobs, pairings that start after the run's year, how many jobs widening the
worker's mobility would add, and how many jobs at accepted places age or gender limits close.

Workers are grouped by (home county, mobility, age, gender), the only things the hard rules read,
so the work is one pass over the jobs per group, never per worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.geo import accepted_locations, place_name
from matcher.placement.pipeline import PlacementRun
from matcher.records import Mobility
from matcher.scoring.factors import age_gender_ok

FEW_JOBS = 3
"""Below this many feasible jobs a worker gets guidance."""

RULE_ZH = {
    "location": "地点",
    "age": "年龄",
    "gender": "性别",
    "dorm_beds": "宿舍床位",
    "target": "区目标",
    "county_share": "县公平比例",
    "groups": "同行组",
}
RULE_EN = {
    "location": "location",
    "age": "age",
    "gender": "gender",
    "dorm_beds": "dorm beds",
    "target": "district target",
    "county_share": "county share",
    "groups": "co-villager group",
}
_MOBILITY_ZH = {Mobility.local: "仅本县", Mobility.paired: "结对区", Mobility.anywhere: "不限"}
_WIDER = {Mobility.local: (Mobility.paired, Mobility.anywhere), Mobility.paired: (Mobility.anywhere,)}


@dataclass(frozen=True)
class Guidance:
    """Why one unplaced worker was held back, and what would help (both languages)."""

    rule: str  # a key of RULE_EN, or "" when no single rule is to blame
    feasible: int  # jobs passing the hard rules (location, age, gender)
    zh: str
    en: str


def unplaced_guidance(run: PlacementRun) -> dict[int, Guidance]:
    """Worker index → :class:`Guidance` for every unplaced worker but those kept employed."""
    from matcher.placement.summary import unplaced_reason_names

    if run.guidance is not None:
        return run.guidance
    reasons = unplaced_reason_names(run)
    assignment = np.asarray(run.result.assignment)
    todo = [w for w in np.flatnonzero(assignment < 0).tolist() if reasons[w] != "employed_kept"]
    blocked = _side_rule_of(run, [w for w in todo if reasons[w] == "blocked_by_rule"])
    hard = _HardRules(run)
    out: dict[int, Guidance] = {}
    for w in todo:
        feasible, zh, en, first = hard.about(w)
        rule = blocked.get(w, "") if reasons[w] == "blocked_by_rule" else ""
        if reasons[w] == "no_candidate":
            rule = first
        head_zh = [f"受{RULE_ZH[rule]}规则限制"] if rule else []
        head_en = [f"held back by the {RULE_EN[rule]} rule"] if rule else []
        if feasible >= FEW_JOBS:
            zh, en = [], []
        out[w] = Guidance(rule, feasible, "；".join(head_zh + zh), "; ".join(head_en + en))
    run.guidance = out
    return out


def pairings_after_year(run: PlacementRun) -> list[dict[str, object]]:
    """Pairings of the data that start after the run's year (left out of the location rule)."""
    year = run.options.year
    return [
        {"district_code": p.district_code, "county_code": p.county_code, "since_year": p.since_year}
        for p in run.dataset.pairings
        if p.since_year is not None and p.since_year > year
    ]


def _side_rule_of(run: PlacementRun, workers: list[int]) -> dict[int, str]:
    """The side rule that most plausibly blocks each ``blocked_by_rule`` worker: a group they
    belong to, a candidate job whose enterprise's dorm beds are full, else county fairness, else a
    district target."""
    if not workers:
        return {}
    ctx, edges, rules = run.context, run.edges, run.options.rules
    assignment = np.asarray(run.result.assignment)
    placed = np.flatnonzero(assignment >= 0)
    ent = ctx.job_enterprise
    need_placed = ctx.away_from_home(placed, assignment[placed]) & ctx.job_accommodation[assignment[placed]]
    used = np.bincount(ent[assignment[placed][need_placed]], minlength=ctx.enterprise_dorm_beds.size)
    beds = ctx.enterprise_dorm_beds
    full = (beds >= 0) & (used >= beds)
    needs = ctx.away_from_home(edges.worker, edges.job) & ctx.job_accommodation[edges.job]
    bed_blocked = np.zeros(ctx.n_workers, dtype=bool)
    if rules.dorm_beds:
        bed_blocked[edges.worker[needs & full[ent[edges.job]]]] = True
    group_size = np.bincount(ctx.worker_group[ctx.worker_group >= 0], minlength=1)
    out = {}
    for w in workers:
        g = int(ctx.worker_group[w])
        if rules.groups and g >= 0 and group_size[g] >= 2:
            out[w] = "groups"
        elif bed_blocked[w]:
            out[w] = "dorm_beds"
        elif rules.county_share is not None:
            out[w] = "county_share"
        elif rules.district_targets:
            out[w] = "target"
    return out


class _HardRules:
    """Feasible jobs and computed guidance per (county, mobility, age, gender) group."""

    def __init__(self, run: PlacementRun) -> None:
        self.run = run
        ctx = run.context
        self.ctx = ctx
        self.loc = {c: i for i, c in enumerate(ctx.location_codes)}
        self.jobs_at = np.bincount(ctx.job_location, minlength=len(ctx.location_codes))
        self.after = pairings_after_year(run)
        self.cache: dict[tuple[int, int, int, bool], tuple[int, list[str], list[str], str]] = {}

    def about(self, w: int) -> tuple[int, list[str], list[str], str]:
        """Feasible jobs, guidance (zh, en) and the first hard rule that leaves none, for worker ``w``."""
        ctx = self.ctx
        key = (
            int(ctx.worker_county[w]),
            int(ctx.worker_mobility[w]),
            int(ctx.worker_age[w]),
            bool(ctx.worker_male[w]),
        )
        if key not in self.cache:
            self.cache[key] = self._group(w)
        return self.cache[key]

    def _placeable(self, worker_mobility: Mobility, w: int) -> np.ndarray:
        """Bool (J,): jobs at places a worker like ``w`` accepts with ``worker_mobility``."""
        ctx, pmap = self.ctx, self.ctx.pairing
        worker = self.run.dataset.workers[w].model_copy(update={"mobility": worker_mobility})
        places = [self.loc[c] for c in accepted_locations(worker, pmap) if c in self.loc] if pmap else []
        ok = np.zeros(len(ctx.location_codes), dtype=bool)
        ok[places] = True
        return ok[ctx.job_location]

    def _group(self, w: int) -> tuple[int, list[str], list[str], str]:
        ctx = self.ctx
        worker = self.run.dataset.workers[w]
        at_place = ctx.worker_allowed[w][ctx.job_location]
        age, male = np.full(ctx.n_jobs, ctx.worker_age[w]), np.full(ctx.n_jobs, ctx.worker_male[w])
        ag = age_gender_ok(age, male, ctx.job_age_min, ctx.job_age_max, ctx.job_gender)
        age_only = age_gender_ok(age, male, ctx.job_age_min, ctx.job_age_max, np.zeros(ctx.n_jobs, np.int8))
        feasible = int((at_place & ag).sum())
        by_age = int((at_place & ~age_only).sum())
        by_gender = int((at_place & age_only & ~ag).sum())
        # the first rule that leaves no job; with a feasible job retrieval did not reach, the rule
        # that closes the most jobs at accepted places
        if not at_place.any():
            first = "location"
        elif feasible == 0:
            first = "age" if not (at_place & age_only).any() else "gender"
        else:
            first = "age" if by_age >= by_gender else "gender"
        zh: list[str] = []
        en: list[str] = []
        # paired districts with no jobs, and pairings not yet in force
        home = worker.home_county_code
        pmap = ctx.pairing
        if worker.mobility is not Mobility.local and pmap is not None:
            for d in sorted(pmap.districts_of_county.get(home, frozenset())):
                if d not in self.loc or self.jobs_at[self.loc[d]] == 0:
                    zh.append(f"结对区{place_name(d)}无岗位")
                    en.append(f"paired district {place_name(d)} has no jobs")
        for p in self.after:
            if p["county_code"] == home:
                name = place_name(str(p["district_code"]))
                zh.append(f"与{name}的结对自{p['since_year']}年起，晚于参考年份{ctx.year}，未计入")
                en.append(
                    f"the pairing with {name} starts in {p['since_year']}, "
                    f"after the year {ctx.year}: not counted"
                )
        # widening mobility
        for wider in _WIDER.get(worker.mobility, ()):
            adds = int((self._placeable(wider, w) & ag & ~at_place).sum())
            if adds:
                zh.append(f"流动意愿放宽到“{_MOBILITY_ZH[wider]}”可增加{adds}个岗位")
                en.append(f"widening mobility to {wider.value} adds {adds}")
        # limits at accepted places
        if by_age:
            zh.append(f"可去地点有{by_age}个岗位的年龄要求不含{ctx.worker_age[w]}岁")
            en.append(f"{by_age} jobs at accepted places exclude age {ctx.worker_age[w]}")
        if by_gender:
            zh.append(f"可去地点有{by_gender}个岗位限定性别")
            en.append(f"{by_gender} jobs at accepted places are for the other gender")
        if not zh:
            zh.append(f"仅{feasible}个岗位符合地点、年龄和性别要求")
            en.append(f"only {feasible} jobs meet the location, age and gender rules")
        return feasible, zh, en, first


__all__ = ["FEW_JOBS", "RULE_EN", "RULE_ZH", "Guidance", "pairings_after_year", "unplaced_guidance"]
