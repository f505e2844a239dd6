"""What the console's pages read from the store, always through the caller's scope.

Lists are pages of a sorted query (a whitelisted column, ascending or descending, then the id),
so every table in the console pages and sorts on the server and works without scripts. Visibility
comes from the API's own filters (:func:`api.repo.worker_filter` and friends), so a page can never
show what the same key could not read over the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from api.auth import Role, Scope
from api.repo import enterprise_filter, job_filter, worker_filter
from matcher.geo import TIANJIN_DISTRICTS
from matcher.pii import mask_name
from matcher.reporting.programme import DISTRICT_TARGET, FAIR_TARGET, latest_placements
from matcher.store.models import (
    EnterpriseRow,
    JobFairRow,
    JobRow,
    PlacementRunRow,
    RunAssignmentRow,
    RunUnplacedRow,
    WorkerRow,
)
from matcher.store.runs_repo import run_assignments, runs_in_year

PAGE_SIZE = 25
JOBS_TARGET = DISTRICT_TARGET
"""Jobs each district offers its paired counties a year."""
FAIRS_TARGET = FAIR_TARGET
"""Dedicated job fairs the city holds a year."""

_WRK = WorkerRow.__table__
_ENT = EnterpriseRow.__table__
_JOB = JobRow.__table__
_RUN = PlacementRunRow.__table__
_ASG = RunAssignmentRow.__table__
_UNP = RunUnplacedRow.__table__
_FAIR = JobFairRow.__table__


@dataclass(frozen=True)
class Sort:
    """A table's sort: a column key and a direction, from ``?sort=col`` / ``?sort=-col``."""

    key: str
    desc: bool = False

    @classmethod
    def parse(cls, value: str | None, allowed: Sequence[str], default: str) -> Sort:
        value = (value or "").strip()
        desc = value.startswith("-")
        key = value.lstrip("-")
        if key not in allowed:
            return cls(default.lstrip("-"), default.startswith("-"))
        return cls(key, desc)

    def param(self, key: str) -> str:
        """The ``sort`` value a header link for ``key`` should carry (click again: reverse)."""
        return f"-{key}" if key == self.key and not self.desc else key


@dataclass
class PageOf:
    """One page of a table: its rows, where it is, and how many rows there are in all."""

    rows: list[dict[str, Any]]
    page: int
    total: int
    size: int = PAGE_SIZE
    sort: Sort | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def page_number(value: Any) -> int:
    try:
        return max(1, min(int(value), 1_000_000))
    except (TypeError, ValueError):
        return 1


def page_list(rows: Sequence[Mapping[str, Any]], sort: Sort, page: int, size: int = PAGE_SIZE) -> PageOf:
    """Sort and page rows already in memory (a run's summary tables, an import report)."""

    def key(r: Mapping[str, Any]) -> tuple[int, Any]:
        v = r.get(sort.key)
        return (v is None, v if not isinstance(v, str) else v.casefold())

    ordered = sorted(rows, key=key, reverse=sort.desc)
    start = (page - 1) * size
    return PageOf([dict(r) for r in ordered[start : start + size]], page, len(rows), size, sort)


def _paged(engine: Engine, q: Any, count_q: Any, page: int, size: int = PAGE_SIZE) -> tuple[list[dict], int]:
    with engine.connect() as conn:
        total = int(conn.execute(count_q).scalar() or 0)
        rows = [dict(r) for r in conn.execute(q.offset((page - 1) * size).limit(size)).mappings()]
    return rows, total


def _order(col: Any, desc: bool, tiebreak: Any) -> list[Any]:
    return [col.desc() if desc else col.asc(), tiebreak.asc()]


# ----------------------------------------------------------------------------- workers
WORKER_SORTS = ("worker_id", "home_county_code", "birth_year", "employment_status", "mobility")


def search_workers(engine: Engine, scope: Scope, text: str, sort: Sort, page: int) -> PageOf:
    """Workers the scope sees whose id starts with ``text`` or whose name matches it.

    ``text`` may be a whole or partial name, or a masked one as the console shows it (``张*``: the
    surname and one star per further character). Names come back masked.
    """
    cond = [worker_filter(scope)]
    text = text.strip()[:64]
    if text:
        if "*" in text:
            head = text.split("*", 1)[0]
            match = and_(_WRK.c.name.startswith(head, autoescape=True), func.length(_WRK.c.name) == len(text))
        else:
            match = _WRK.c.name.contains(text, autoescape=True)
        cond.append(or_(_WRK.c.worker_id.startswith(text, autoescape=True), match))
    cols = [
        _WRK.c.worker_id,
        _WRK.c.name,
        _WRK.c.gender,
        _WRK.c.birth_year,
        _WRK.c.home_county_code,
        _WRK.c.mobility,
        _WRK.c.employment_status,
        _WRK.c.desired_occupations,
    ]
    where = and_(*cond)
    q = select(*cols).where(where).order_by(*_order(_WRK.c[sort.key], sort.desc, _WRK.c.worker_id))
    rows, total = _paged(engine, q, select(func.count()).select_from(_WRK).where(where), page)
    for r in rows:
        r["name"] = mask_name(r["name"])
    return PageOf(rows, page, total, sort=sort)


def worker_history(engine: Engine, scope: Scope, worker_id: str) -> list[dict[str, Any]]:
    """The worker's outcome in every recorded run, newest first: placed (job, where) or why not.

    A district officer sees the runs' rows the API would show it (its counties' workers, or
    placements into its district); the caller has already been allowed to see the worker.
    """
    placed = (
        select(
            _RUN.c.run_id,
            _RUN.c.created_at,
            _ASG.c.job_id,
            _ASG.c.enterprise_id,
            _ASG.c.location_code,
            _ASG.c.score,
            _ASG.c.explanation_zh,
            _ASG.c.explanation_en,
        )
        .select_from(_ASG.join(_RUN, _ASG.c.run_id == _RUN.c.run_id))
        .where(_ASG.c.worker_id == worker_id)
    )
    unplaced = (
        select(_RUN.c.run_id, _RUN.c.created_at, _UNP.c.reason, _UNP.c.hint_zh, _UNP.c.hint_en)
        .select_from(_UNP.join(_RUN, _UNP.c.run_id == _RUN.c.run_id))
        .where(_UNP.c.worker_id == worker_id)
    )
    with engine.connect() as conn:
        out = [{"placed": True, **r} for r in conn.execute(placed).mappings()]
        out += [{"placed": False, **r} for r in conn.execute(unplaced).mappings()]
    out.sort(key=lambda r: (r["created_at"], r["run_id"]), reverse=True)
    return out


# ----------------------------------------------------------------------------- enterprises and jobs
ENTERPRISE_SORTS = ("enterprise_id", "name", "kind", "location_code", "employment_base", "jobs", "openings")
JOB_SORTS = ("job_id", "title", "enterprise", "location", "openings", "wage_min", "wage_max")


def list_enterprises(engine: Engine, scope: Scope, sort: Sort, page: int) -> PageOf:
    """Enterprises the scope sees, with their number of jobs and openings."""
    jobs = (
        select(
            _JOB.c.enterprise_id.label("eid"),
            func.count().label("jobs"),
            func.sum(_JOB.c.openings).label("openings"),
        )
        .group_by(_JOB.c.enterprise_id)
        .subquery()
    )
    n_jobs = func.coalesce(jobs.c.jobs, 0).label("jobs")
    n_open = func.coalesce(jobs.c.openings, 0).label("openings")
    col = {"jobs": n_jobs, "openings": n_open}.get(sort.key, _ENT.c.get(sort.key))
    where = enterprise_filter(scope)
    q = (
        select(_ENT.c.enterprise_id, _ENT.c.name, _ENT.c.kind, _ENT.c.location_code, _ENT.c.employment_base)
        .add_columns(n_jobs, n_open)
        .select_from(_ENT.outerjoin(jobs, jobs.c.eid == _ENT.c.enterprise_id))
        .where(where)
        .order_by(*_order(col, sort.desc, _ENT.c.enterprise_id))
    )
    rows, total = _paged(engine, q, select(func.count()).select_from(_ENT).where(where), page)
    return PageOf(rows, page, total, sort=sort)


def list_jobs(
    engine: Engine,
    scope: Scope,
    sort: Sort,
    page: int,
    *,
    enterprise_id: str | None = None,
    size: int = PAGE_SIZE,
) -> PageOf:
    """Jobs the scope sees (of one enterprise, when given), with the enterprise's name."""
    location = func.coalesce(_JOB.c.location_code, _ENT.c.location_code).label("location")
    cols = {"enterprise": _ENT.c.name, "location": location}
    col = cols.get(sort.key, _JOB.c.get(sort.key))
    cond = [job_filter(scope)]
    if enterprise_id:
        cond.append(_JOB.c.enterprise_id == enterprise_id)
    where = and_(*cond)
    src = _JOB.join(_ENT, _JOB.c.enterprise_id == _ENT.c.enterprise_id)
    q = (
        select(
            _JOB.c.job_id,
            _JOB.c.title,
            _JOB.c.enterprise_id,
            _ENT.c.name.label("enterprise"),
            location,
            _JOB.c.openings,
            _JOB.c.wage_min,
            _JOB.c.wage_max,
            _JOB.c.accommodation,
        )
        .select_from(src)
        .where(where)
        .order_by(*_order(col, sort.desc, _JOB.c.job_id))
    )
    rows, total = _paged(engine, q, select(func.count()).select_from(src).where(where), page, size)
    return PageOf(rows, page, total, size, sort)


def names_of(engine: Engine, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Job id → title, enterprise id and name, location (for recommendation lists)."""
    if not job_ids:
        return {}
    location = func.coalesce(_JOB.c.location_code, _ENT.c.location_code).label("location")
    q = (
        select(_JOB.c.job_id, _JOB.c.title, _JOB.c.enterprise_id, _ENT.c.name.label("enterprise"), location)
        .add_columns(_JOB.c.wage_min, _JOB.c.wage_max, _JOB.c.accommodation)
        .select_from(_JOB.join(_ENT, _JOB.c.enterprise_id == _ENT.c.enterprise_id))
        .where(_JOB.c.job_id.in_(list(job_ids)))
    )
    with engine.connect() as conn:
        return {r["job_id"]: dict(r) for r in conn.execute(q).mappings()}


# ----------------------------------------------------------------------------- dashboard
@dataclass
class DistrictProgress:
    code: str
    name: str
    jobs: int = 0
    placed: int = 0
    fairs: int = 0


@dataclass
class Progress:
    """Progress against the programme's targets, per district the caller may see."""

    year: int
    districts: list[DistrictProgress]
    fairs_city: int
    workers: int
    latest_run: dict[str, Any] | None

    @property
    def jobs_total(self) -> int:
        return sum(d.jobs for d in self.districts)

    @property
    def placed_total(self) -> int:
        return sum(d.placed for d in self.districts)

    @property
    def fairs_total(self) -> int:
        return sum(d.fairs for d in self.districts)


def programme_progress(engine: Engine, scope: Scope, year: int) -> Progress:
    """Jobs offered (openings located in each district), workers placed into each district by the
    runs of ``year`` and job fairs held in ``year``, counted as :mod:`matcher.reporting.programme`
    counts them; a district officer gets its own district only."""
    if scope.role is Role.district_officer:
        codes = [scope.district or ""]
    else:
        codes = list(TIANJIN_DISTRICTS)
    rows = {c: DistrictProgress(c, TIANJIN_DISTRICTS.get(c, c)) for c in codes}
    location = func.coalesce(_JOB.c.location_code, _ENT.c.location_code)
    with engine.connect() as conn:
        q = (
            select(location.label("loc"), func.sum(_JOB.c.openings))
            .select_from(_JOB.join(_ENT, _JOB.c.enterprise_id == _ENT.c.enterprise_id))
            .group_by(location)
        )
        for loc, n in conn.execute(q):
            if loc in rows:
                rows[loc].jobs = int(n or 0)
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        fairs = conn.execute(
            select(_FAIR.c.district_code, func.count())
            .where(_FAIR.c.held_on >= start, _FAIR.c.held_on <= end)
            .group_by(_FAIR.c.district_code)
        ).all()
        workers = int(
            conn.execute(select(func.count()).select_from(_WRK).where(worker_filter(scope))).scalar() or 0
        )
    for code, n in fairs:
        if code in rows:
            rows[code].fairs = int(n)
    # placed: each worker's assignment in the latest run of the year, as the programme report counts
    runs = runs_in_year(engine, year)
    for a in latest_placements(runs, lambda rid: run_assignments(engine, rid)).values():
        if a["location_code"] in rows:
            rows[a["location_code"]].placed += 1
    latest = runs[-1] if runs else None
    return Progress(
        year=year,
        districts=list(rows.values()),
        fairs_city=sum(int(n) for _, n in fairs),
        workers=workers,
        latest_run=dict(latest) if latest is not None else None,
    )


def bars(
    items: Sequence[Any], value: Callable[[Any], float], target: float | None, label: Callable[[Any], str]
) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (drawn as SVG by the template): one bar per item, and
    a dashed line at the target when there is one."""
    values = [float(value(i)) for i in items]
    top = max([*values, target or 0.0, 1.0])
    row_h, label_w, width = 26, 84, 560
    plot_w = width - label_w - 70
    out = []
    for n, (item, v) in enumerate(zip(items, values, strict=True)):
        reached = target is not None and v >= target
        out.append(
            {
                "label": label(item),
                "value": v,
                "y": n * row_h + 4,
                "w": round(plot_w * v / top, 1),
                "reached": reached,
            }
        )
    target_x = round(label_w + plot_w * target / top, 1) if target else None
    return {
        "rows": out,
        "width": width,
        "height": len(out) * row_h + 8,
        "label_w": label_w,
        "row_h": row_h,
        "target_x": target_x,
        "target": target,
    }
