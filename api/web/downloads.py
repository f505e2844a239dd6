"""Files the console hands out: a run's placement and unplaced lists, the job supply list per paired
county (岗位供给清单), the programme report and the import template.

The tables and workbooks are :mod:`matcher.reporting.exports`' and
:mod:`matcher.reporting.programme`' (the same files ``laborbridge`` writes); this module picks the
rows the caller's scope allows, exactly as the API filters them, and hands the file out. Personal
data is masked in every file. Files are written to a temporary path and deleted once sent.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from sqlalchemy import Engine, func, select
from starlette.background import BackgroundTask

from api.auth import Role, Scope
from api.errors import Forbidden
from matcher.errors import ConfigError, NotFoundError
from matcher.geo import builtin_pairings, place_name
from matcher.store.models import (
    EnterpriseRow,
    JobRow,
    PairingRow,
    RunAssignmentRow,
    RunUnplacedRow,
    WorkerRow,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
_ASG = RunAssignmentRow.__table__
_UNP = RunUnplacedRow.__table__
_JOB = JobRow.__table__
_ENT = EnterpriseRow.__table__
_WRK = WorkerRow.__table__


@dataclass(frozen=True)
class Download:
    path: str
    filename: str
    media_type: str
    worker_ids: tuple[str, ...] = ()


def send(d: Download) -> FileResponse:
    """The file as an attachment, deleted after it is sent."""
    return FileResponse(
        d.path,
        media_type=d.media_type,
        filename=d.filename,
        background=BackgroundTask(os.unlink, d.path),
        headers={"Cache-Control": "no-store"},
    )


def _temp(suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="laborbridge-console-", suffix=suffix)
    os.close(fd)
    return path


# ----------------------------------------------------------------------------- pairings
def pairings(engine: Engine) -> list[tuple[str, str]]:
    """(district, county) pairs: the stored pairings, else the built-in ones."""
    with engine.connect() as conn:
        stored = conn.execute(select(PairingRow.district_code, PairingRow.county_code)).all()
    if stored:
        return sorted({(d, c) for d, c in stored})
    return sorted({(p.district_code, p.county_code) for p in builtin_pairings()})


def supply_counties(engine: Engine, scope: Scope) -> list[tuple[str, str]]:
    """Paired counties with registered workers whose supply list the caller may download, as
    ``(code, name)``."""
    if scope.role is Role.enterprise:
        return []
    with engine.connect() as conn:
        registered = set(conn.execute(select(_WRK.c.home_county_code).distinct()).scalars())
    counties = {c for _, c in pairings(engine)} & registered
    if scope.role is Role.district_officer:
        counties &= set(scope.counties or ())
    return sorted((c, place_name(c)) for c in counties)


def _visible_assignments(engine: Engine, run_id: str, scope: Scope) -> list[dict[str, Any]]:
    from api.placements import assignments_page

    out: list[dict[str, Any]] = []
    after = None
    while True:
        rows, after = assignments_page(engine, run_id, scope, after=after, limit=5000)
        out += rows
        if after is None:
            return out


def _jobs(engine: Engine) -> dict[str, dict[str, Any]]:
    location = func.coalesce(_JOB.c.location_code, _ENT.c.location_code).label("location")
    q = (
        select(
            _JOB, _ENT.c.name.label("enterprise"), _ENT.c.location_code.label("enterprise_location"), location
        )
        .select_from(_JOB.join(_ENT, _JOB.c.enterprise_id == _ENT.c.enterprise_id))
        .order_by(_JOB.c.job_id)
    )
    with engine.connect() as conn:
        return {r["job_id"]: dict(r) for r in conn.execute(q).mappings()}


def _xlsx(sheets: Mapping[str, Any], filename: str, worker_ids: Sequence[str] = ()) -> Download:
    from matcher.reporting.exports import write_xlsx

    path = _temp(".xlsx")
    try:
        write_xlsx(sheets, Path(path))
    except BaseException:
        os.unlink(path)
        raise
    return Download(path, filename, XLSX, tuple(worker_ids))


def run_file(
    engine: Engine, run: Mapping[str, Any], what: str, scope: Scope, *, county: str | None = None
) -> Download:
    """One of a finished run's files (:mod:`matcher.reporting.exports`), as XLSX: ``assignments`` (安置名单, a
    sheet per place), ``unplaced`` (未安置名单) or ``supply`` (岗位供给清单 of one paired county)."""
    from matcher.reporting.exports import group_rows, placement_table, supply_tables, unplaced_table
    from matcher.store import dataset_from_engine

    run_id = run["id"]
    if what not in ("assignments", "unplaced", "supply"):
        raise NotFoundError(f"no download {what}")
    if what == "supply":
        if not county:
            raise ConfigError("choose a paired county")
        if county not in {c for c, _ in supply_counties(engine, scope)}:
            raise NotFoundError(f"county {county} not found")
    if what == "unplaced" and not scope.sees_workers:
        raise Forbidden("this key may not list unplaced workers")
    ds = dataset_from_engine(engine)
    if what == "assignments":
        rows = _visible_assignments(engine, run_id, scope)
        table = placement_table(ds, rows)
        if not scope.sees_workers:  # an enterprise: the recruiter's view, no personal columns
            table = _without(table, ("name", "id_number", "phone"))
        sheets = group_rows(table, "location_code", "location")
        return _xlsx(sheets, f"安置名单-{run_id}.xlsx", [r["worker_id"] for r in rows])
    if what == "unplaced":
        from matcher.store.runs_repo import run_unplaced

        rows = [
            u
            for u in run_unplaced(engine, run_id)
            if scope.all_workers or u["home_county_code"] in (scope.counties or ())
        ]
        return _xlsx(
            {"未安置名单": unplaced_table(ds, rows)},
            f"未安置名单-{run_id}.xlsx",
            [r["worker_id"] for r in rows],
        )
    from matcher.store.runs_repo import run_assignments

    year = int((run.get("params") or {}).get("year") or dt.date.today().year)
    predicted = (run.get("summary") or {}).get("job_codes_predicted")
    tables = supply_tables(ds, year, run_assignments(engine, run_id), predicted)
    assert county is not None
    name = f"{county} {place_name(county)}"
    sheets = {name: tables[county]} if county in tables else {}
    return _xlsx(sheets, f"岗位供给清单-{place_name(county)}-{county}.xlsx")


def _without(table: Any, columns: Sequence[str]) -> Any:
    from matcher.reporting.exports import Table

    return Table(tuple(c for c in table.columns if c[0] not in columns), table.rows)


# ----------------------------------------------------------------------------- summaries
def shadow_prices(
    engine: Engine, status: Mapping[str, Any], scope: Scope, top: int = 10
) -> list[dict[str, Any]]:
    """The jobs where one more opening would raise the objective most, from the run's summary
    (``shadow_prices``: a mapping job id → price, or a list of ``{job_id, price}``), within scope."""
    raw = (status.get("summary") or {}).get("shadow_prices")
    if not raw:
        return []
    if isinstance(raw, Mapping):
        raw = raw.get("jobs", raw)
    if isinstance(raw, Mapping):
        items = [{"job_id": k, "price": float(v)} for k, v in raw.items()]
    else:
        items = [dict(r) for r in raw if isinstance(r, Mapping) and "job_id" in r]
    jobs = _jobs(engine)
    out = []
    for it in sorted(items, key=lambda r: -float(r.get("price", 0.0))):
        j = jobs.get(it["job_id"])
        if j is None or float(it.get("price", 0.0)) <= 0:
            continue
        if not scope.job_visible(j["enterprise_id"], j["enterprise_location"], j["location_code"]):
            continue
        out.append({**it, "title": j["title"], "enterprise": j["enterprise"], "location": j["location"]})
        if len(out) >= top:
            break
    return out


def annual_report(engine: Engine, year: int, scope: Scope) -> dict[str, Any]:
    """The programme figures of ``year`` (:func:`matcher.reporting.programme.programme_figures`); a district
    officer gets its own district's row only."""
    from matcher.reporting.programme import latest_placements, programme_figures
    from matcher.store import dataset_from_engine
    from matcher.store.runs_repo import job_fairs, outcomes, run_assignments, runs_in_year

    ds = dataset_from_engine(engine)
    placements = latest_placements(runs_in_year(engine, year), lambda rid: run_assignments(engine, rid))
    figures = programme_figures(ds, year, placements, job_fairs(engine, year), outcomes(engine))
    figures["_enterprise_names"] = {e.enterprise_id: e.name for e in ds.enterprises}
    if scope.role is Role.district_officer:
        figures["districts"] = [d for d in figures["districts"] if d["district_code"] == scope.district]
    return figures


def annual_report_file(engine: Engine, year: int, scope: Scope) -> Download:
    """The programme report workbook (sheets, progress chart), city-wide: for administrators and auditors."""
    import shutil

    from matcher.reporting.programme import write_report

    if scope.role not in (Role.city_admin, Role.auditor):
        raise Forbidden("the city-wide report is for the city administrator and the auditor")
    figures = annual_report(engine, year, scope)
    folder = tempfile.mkdtemp(prefix="laborbridge-report-")
    try:
        written = write_report(figures, Path(folder) / f"report_{year}.xlsx")
        path = _temp(".xlsx")
        shutil.copyfile(written["xlsx"], path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Download(path, f"劳务协作年度报告-{year}.xlsx", XLSX)


def import_template() -> Download:
    from matcher.ingest.template import write_template

    path = _temp(".xlsx")
    write_template(path)
    return Download(path, "laborbridge-导入模板.xlsx", XLSX)
