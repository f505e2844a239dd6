"""Every file the API and the console hand out, through one scope filter.

Record exports (CSV or XLSX), a recorded run's lists (安置名单 by place or by enterprise, the
岗位供给清单 per paired county, 未安置名单), the programme report and the import template. The
rows come from the store through :mod:`api.repo`'s filters (the rules of :class:`~api.auth.Scope`
in SQL), so a key gets the same rows from ``/exports``, ``/placements/{id}/exports`` and the
console's download links, and never a row it could not read one by one:

* a district officer gets its workers, its district's enterprises and jobs, the placements of
  its counties' workers and into its district, its counties' unplaced workers and supply lists
  (of its district's jobs);
* an enterprise gets its own enterprise and jobs and the placements into its jobs, in a
  recruiter's view (no name, ID number or phone column); not the unplaced or supply lists;
* the programme report is city-wide: the city administrator's and the auditor's.

Names, ID numbers and phones are masked in every file (the store cannot unmask the last two),
free text of workers is scrubbed of ID- and phone-like digit runs. A file is written to a temporary
path and deleted once sent (:func:`send`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse
from sqlalchemy import Engine, select, true
from starlette.background import BackgroundTask

from api.auth import Role, Scope
from api.errors import Forbidden
from api.repo import (
    assignment_filter,
    enterprise_filter,
    job_filter,
    unplaced_filter,
    visible_job_ids,
    worker_filter,
)
from matcher.dataset import Dataset
from matcher.errors import ConfigError, NotFoundError
from matcher.geo import builtin_pairings, place_name
from matcher.pii import FREE_TEXT
from matcher.scoring.features import scrub
from matcher.store.models import PairingRow, RunAssignmentRow, RunUnplacedRow, WorkerRow

KINDS = ("workers", "enterprises", "jobs", "pairings")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RUN_LISTS = {
    "placements_by_district": "安置名单-按工作地点",
    "placements_by_enterprise": "安置名单-按企业",
    "supply": "岗位供给清单",
    "unplaced": "未安置名单",
}
"""A run's lists, with the title their files are named by."""
PERSONAL_COLUMNS = ("name", "id_number", "phone")
"""Left out of run lists for a caller who does not see workers (an enterprise: recruiter's view)."""
_ASG = RunAssignmentRow.__table__
_UNP = RunUnplacedRow.__table__
_WRK = WorkerRow.__table__


@dataclass(frozen=True)
class Download:
    """A file ready to send: where it is, what to call it, its media type, the rows in it, and the
    workers it names (for the audit log)."""

    path: str
    filename: str
    media_type: str
    rows: int = 0
    worker_ids: tuple[str, ...] = ()


def send(d: Download) -> FileResponse:
    """The file as an attachment, never cached, deleted once sent."""
    return FileResponse(
        d.path,
        media_type=d.media_type,
        filename=d.filename,
        background=BackgroundTask(os.unlink, d.path),
        headers={"Cache-Control": "no-store"},
    )


def _temp(stem: str, suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix=f"laborbridge-{stem}-", suffix=suffix)
    os.close(fd)
    return path


# ----------------------------------------------------------------------------- record exports
_RECORD_FILTERS = {"workers": worker_filter, "enterprises": enterprise_filter, "jobs": job_filter}


def _clean(kind: str, row: dict[str, str]) -> dict[str, str]:
    if kind == "workers":
        for col in FREE_TEXT["workers"]:
            row[col] = (
                scrub(row[col])
                if col not in ("skills", "desired_occupations")
                else ";".join(scrub(v) for v in row[col].split(";") if scrub(v))
            )
    return row


def record_export(
    engine: Engine, kind: str, scope: Scope, *, fmt: str = "csv", headers: str = "en"
) -> Download:
    """Export the ``kind`` records ``scope`` sees as CSV (UTF-8 with BOM, for Excel) or XLSX.

    Pairings are the programme's public configuration: every caller gets all of them.
    """
    from matcher.ingest.template import header_cells, sheet_name, write_csv, write_xlsx
    from matcher.store import export_columns, export_rows

    if kind not in KINDS:
        raise ConfigError(f"record type must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "workers" and not scope.sees_workers:
        raise Forbidden("this key may not export workers")
    columns = export_columns(kind)
    names = header_cells(kind, chinese=headers == "zh")
    where = _RECORD_FILTERS[kind](scope) if kind in _RECORD_FILTERS else None
    ids: list[str] = []

    def rows() -> Iterator[dict[str, Any]]:
        for r in export_rows(engine, kind, where=where):
            if kind == "workers":
                ids.append(r["worker_id"])
            yield _clean(kind, r)

    path = _temp(kind, f".{fmt}")
    try:
        if fmt == "xlsx":
            n = write_xlsx(rows(), names, columns, path, sheet=sheet_name(kind))
        else:
            with open(path, "w", encoding="utf-8-sig", newline="") as fh:
                n = write_csv(rows(), names, columns, fh)
    except BaseException:
        os.unlink(path)
        raise
    return Download(path, f"{kind}.{fmt}", FORMATS[fmt], n, tuple(ids))


# ----------------------------------------------------------------------------- a run's lists
def pairings(engine: Engine) -> list[tuple[str, str]]:
    """(district, county) pairs: the stored pairings, else the built-in ones."""
    with engine.connect() as conn:
        stored = conn.execute(select(PairingRow.district_code, PairingRow.county_code)).all()
    if stored:
        return sorted({(d, c) for d, c in stored})
    return sorted({(p.district_code, p.county_code) for p in builtin_pairings()})


def supply_counties(engine: Engine, scope: Scope) -> list[tuple[str, str]]:
    """Paired counties whose supply list the caller may download, as ``(code, name)``: every one
    in its scope, workers in the store or not (the list goes out before any worker is matched);
    none for a caller who does not see workers."""
    if not scope.sees_workers:
        return []
    counties = {c for _, c in pairings(engine)}
    if scope.counties is not None:
        counties &= set(scope.counties)
    return sorted((c, place_name(c)) for c in counties)


def _run_header(engine: Engine, run_id: str) -> dict[str, Any]:
    from matcher.store.runs_repo import get_run

    try:
        header = get_run(engine, run_id)
    except NotFoundError:
        header = None
    if header is None or header["run_id"] != run_id:  # over HTTP an id is the whole id
        raise NotFoundError(f"placement run {run_id} not found")
    return header


def run_rows(engine: Engine, run_id: str, table: Any, cond: Any) -> list[dict[str, Any]]:
    """The rows of run ``run_id`` in ``table`` (assignments or unplaced) that ``cond`` picks."""
    q = select(table).where(table.c.run_id == run_id, cond).order_by(table.c.worker_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def _without(table: Any, columns: Sequence[str]) -> Any:
    from matcher.reporting.exports import Table

    return Table(tuple(c for c in table.columns if c[0] not in columns), table.rows)


def run_export(
    engine: Engine,
    dataset: Dataset,
    run_id: str,
    which: str,
    scope: Scope,
    *,
    fmt: str = "xlsx",
    county: str | None = None,
) -> Download:
    """One of a recorded run's lists (:data:`RUN_LISTS`) within ``scope``, as XLSX (a sheet per
    place, enterprise or county) or CSV (one table); ``county`` picks one supply list.

    ``dataset``: the store's records (:meth:`api.services.Services.dataset`), for the names,
    titles and wages the lists show.
    """
    from matcher.reporting.exports import (
        Table,
        group_rows,
        placement_table,
        supply_tables,
        unplaced_table,
        write_csv,
    )
    from matcher.reporting.exports import write_xlsx as write_sheets

    if which not in RUN_LISTS:
        raise NotFoundError(f"no list {which!r}; one of {', '.join(RUN_LISTS)}")
    if which in ("supply", "unplaced") and not scope.sees_workers:
        raise Forbidden(f"this key may not download the {which} list")
    if county is not None and which != "supply":
        raise ConfigError("county picks a supply list only")
    header = _run_header(engine, run_id)
    ids: tuple[str, ...] = ()
    groups: dict[str, Table] = {}
    if which == "unplaced":
        unplaced = run_rows(engine, run_id, _UNP, unplaced_filter(scope))
        groups = {"未安置名单": unplaced_table(dataset, unplaced)}
        ids = tuple(u["worker_id"] for u in unplaced)
    elif which == "supply":
        counties = {c for c, _ in supply_counties(engine, scope)}
        if county is not None and county not in counties:
            raise NotFoundError(f"county {county} not found")
        year = int((header["params"] or {}).get("year") or 0) or dt.date.today().year
        predicted = (header.get("summary") or {}).get("job_codes_predicted")
        # openings left count every placement of the run: a figure, naming no worker
        taken = run_rows(engine, run_id, _ASG, true())
        tables = supply_tables(dataset, year, taken, predicted)
        jobs = None
        if scope.districts is not None:
            listed = sorted({r["job_id"] for t in tables.values() for r in t.rows})
            jobs = visible_job_ids(engine, listed, scope)
        for c, t in tables.items():
            if c in counties and (county is None or c == county):
                kept = [r for r in t.rows if jobs is None or r["job_id"] in jobs]
                if kept:
                    groups[f"{c} {place_name(c)}"] = Table(t.columns, kept)
    else:
        placed = run_rows(engine, run_id, _ASG, assignment_filter(scope))
        table = placement_table(dataset, placed)
        if not scope.sees_workers:
            table = _without(table, PERSONAL_COLUMNS)
        key, label = (
            ("location_code", "location")
            if which == "placements_by_district"
            else ("enterprise_id", "enterprise_name")
        )
        groups = group_rows(table, key, label)
        ids = tuple(a["worker_id"] for a in placed)
    where = f"-{place_name(county)}-{county}" if county else ""
    path = _temp(which, f".{fmt}")
    try:
        if fmt == "xlsx":
            write_sheets(groups, Path(path))
        else:
            cols = next(iter(groups.values())).columns if groups else (("note", "说明"),)
            write_csv(Table(cols, [r for t in groups.values() for r in t.rows]), Path(path))
    except BaseException:
        os.unlink(path)
        raise
    n = sum(len(t.rows) for t in groups.values())
    return Download(path, f"{RUN_LISTS[which]}{where}-{run_id}.{fmt}", FORMATS[fmt], n, ids)


# ----------------------------------------------------------------------------- the programme report
def report_figures(engine: Engine, dataset: Dataset, year: int, scope: Scope) -> dict[str, Any]:
    """The programme figures of ``year`` (:func:`matcher.reporting.programme.programme_figures`); a district
    officer's page shows its own district's row only."""
    from matcher.reporting.programme import latest_placements, programme_figures
    from matcher.store.runs_repo import job_fairs, outcomes, run_assignments, runs_in_year, supply_lists_sent

    placements = latest_placements(runs_in_year(engine, year), lambda rid: run_assignments(engine, rid))
    figures = programme_figures(
        dataset, year, placements, job_fairs(engine), outcomes(engine), supply_lists_sent(engine)
    )
    figures["_enterprise_names"] = {e.enterprise_id: e.name for e in dataset.enterprises}
    if scope.role is Role.district_officer:
        figures["districts"] = [d for d in figures["districts"] if d["district_code"] == scope.district]
    return figures


def report_export(
    engine: Engine, dataset: Dataset, year: int, scope: Scope, *, fmt: str = "xlsx"
) -> Download:
    """The programme report of ``year`` (:mod:`matcher.reporting.programme`), city-wide: XLSX with its chart,
    or JSON; for the city administrator and the auditor only."""
    from matcher.reporting.programme import write_report

    if not scope.city_wide:
        raise Forbidden("the city-wide report is for the city administrator and the auditor")
    figures = report_figures(engine, dataset, year, scope)
    folder = tempfile.mkdtemp(prefix="laborbridge-report-")
    try:
        written = write_report(figures, Path(folder) / f"report_{year}.xlsx", chart=fmt == "xlsx")
        suffix = ".xlsx" if fmt == "xlsx" else ".json"
        path = _temp("report", suffix)
        shutil.copyfile(written[fmt], path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    media = FORMATS["xlsx"] if fmt == "xlsx" else "application/json"
    return Download(path, f"劳务协作年度报告-{year}{suffix}", media)


def import_template() -> Download:
    """The blank import workbook, Chinese headers and dropdowns."""
    from matcher.ingest.template import write_template

    path = _temp("template", ".xlsx")
    write_template(path)
    return Download(path, "laborbridge-导入模板.xlsx", FORMATS["xlsx"])


__all__ = [
    "FORMATS",
    "KINDS",
    "RUN_LISTS",
    "Download",
    "import_template",
    "record_export",
    "report_export",
    "report_figures",
    "run_export",
    "send",
    "supply_counties",
]
