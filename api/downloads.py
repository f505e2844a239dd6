"""File downloads: record exports (CSV or XLSX) within the caller's scope, written to a temporary file.

An export of workers masks names, ID numbers and phones (the store cannot unmask the last two),
and scrubs free-text fields of ID- and phone-like digit runs. The caller's scope filters the rows:
a district officer gets its workers, enterprises and jobs; an enterprise its own enterprise and
jobs. The file is deleted once sent.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from api.auth import Role, Scope
from api.errors import Forbidden
from api.repo import placed_worker_ids
from matcher.errors import ConfigError, NotFoundError
from matcher.scoring.features import scrub
from matcher.store.models import EnterpriseRow

KINDS = ("workers", "enterprises", "jobs", "pairings")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FREE_TEXT = ("education", "skills", "experience", "desired_occupations", "current_employer")


@dataclass(frozen=True)
class Download:
    """A file ready to send: where it is, what to call it, its media type, the rows in it."""

    path: str
    filename: str
    media_type: str
    rows: int
    worker_ids: tuple[str, ...] = ()


def _visible_rows(engine: Engine, kind: str, scope: Scope) -> Iterator[dict[str, str]]:
    from matcher.store import export_rows

    rows = export_rows(engine, kind)
    if kind == "pairings" or scope.districts is None and scope.role is not Role.enterprise:
        yield from rows
        return
    if kind == "workers":
        with engine.connect() as conn:
            placed = set(conn.execute(placed_worker_ids(scope.district or "")).scalars())
        counties = scope.counties or frozenset()
        yield from (r for r in rows if r["home_county_code"] in counties or r["worker_id"] in placed)
    elif kind == "enterprises":
        yield from (r for r in rows if scope.enterprise_visible(r["enterprise_id"], r["location_code"]))
    else:
        with engine.connect() as conn:
            where = dict(conn.execute(select(EnterpriseRow.enterprise_id, EnterpriseRow.location_code)).all())
        yield from (
            r
            for r in rows
            if scope.job_visible(
                r["enterprise_id"], where.get(r["enterprise_id"], ""), r["location_code"] or None
            )
        )


def _clean(kind: str, row: dict[str, str]) -> dict[str, str]:
    if kind == "workers":
        for col in _FREE_TEXT:
            row[col] = (
                scrub(row[col])
                if col not in ("skills", "desired_occupations")
                else ";".join(scrub(v) for v in row[col].split(";") if scrub(v))
            )
    return row


def record_export(
    engine: Engine, kind: str, scope: Scope, *, fmt: str = "csv", headers: str = "en"
) -> Download:
    """Export the ``kind`` records ``scope`` sees as CSV (UTF-8 with BOM, for Excel) or XLSX."""
    from matcher.ingest.template import header_cells, sheet_name, write_csv, write_xlsx
    from matcher.store import export_columns

    if kind not in KINDS:
        raise ConfigError(f"record type must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "workers" and not scope.sees_workers:
        raise Forbidden("this key may not export workers")
    columns = export_columns(kind)
    names = header_cells(kind, chinese=headers == "zh")
    ids: list[str] = []

    def rows() -> Iterator[dict[str, Any]]:
        for r in _visible_rows(engine, kind, scope):
            if kind == "workers":
                ids.append(r["worker_id"])
            yield _clean(kind, r)

    fd, path = tempfile.mkstemp(prefix=f"laborbridge-{kind}-", suffix=f".{fmt}")
    try:
        if fmt == "xlsx":
            os.close(fd)
            n = write_xlsx(rows(), names, columns, path, sheet=sheet_name(kind))
        else:
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
                n = write_csv(rows(), names, columns, fh)
    except BaseException:
        os.unlink(path)
        raise
    return Download(path, f"{kind}.{fmt}", FORMATS[fmt], n, tuple(ids))


# ----------------------------------------------------------------------------- a run's lists, the report
RUN_LISTS = ("placements_by_district", "placements_by_enterprise", "supply", "unplaced")


def _run_rows(engine: Engine, run_id: str, scope: Scope) -> tuple[dict, list[dict], list[dict]]:
    from matcher.store.runs_repo import get_run, run_assignments, run_unplaced

    header = get_run(engine, run_id)
    if header["run_id"] != run_id:
        raise NotFoundError(f"placement run {run_id} not found")
    placed, unplaced = run_assignments(engine, run_id), run_unplaced(engine, run_id)
    if scope.role is Role.enterprise:
        placed = [a for a in placed if a["enterprise_id"] == scope.enterprise]
        unplaced = []
    elif scope.role is Role.district_officer:
        counties = scope.counties or frozenset()
        placed = [
            a for a in placed if a["location_code"] == scope.district or a["home_county_code"] in counties
        ]
        unplaced = [u for u in unplaced if u["home_county_code"] in counties]
    return header, placed, unplaced


def run_export(engine: Engine, dataset: Any, run_id: str, which: str, scope: Scope, *, fmt: str) -> Download:
    """One of a recorded run's lists (:data:`RUN_LISTS`) within ``scope``, as XLSX (a sheet per group)
    or CSV (one table); names, ID numbers and phones masked (:mod:`matcher.reporting.exports`)."""
    from matcher.geo import place_name
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
        raise ConfigError(f"list must be one of {', '.join(RUN_LISTS)}, not {which!r}")
    if which in ("supply", "unplaced") and not scope.sees_workers:
        raise Forbidden(f"this key may not download the {which} list")
    header, placed, unplaced = _run_rows(engine, run_id, scope)
    if which == "unplaced":
        groups = {"未安置名单": unplaced_table(dataset, unplaced)}
        ids = tuple(u["worker_id"] for u in unplaced)
    elif which == "supply":
        year = int(header["params"].get("year") or 0) or None
        predicted = (header.get("summary") or {}).get("job_codes_predicted")
        tables = supply_tables(dataset, year or dt.date.today().year, placed, predicted)
        groups = {
            f"{c} {place_name(c)}": t
            for c, t in tables.items()
            if scope.counties is None or c in scope.counties
        }
        ids = ()
    else:
        key, label = (
            ("location_code", "location")
            if which == "placements_by_district"
            else ("enterprise_id", "enterprise_name")
        )
        groups = group_rows(placement_table(dataset, placed), key, label)
        ids = tuple(a["worker_id"] for a in placed)
    fd, path = tempfile.mkstemp(prefix=f"laborbridge-{which}-", suffix=f".{fmt}")
    os.close(fd)
    rows = sum(len(t.rows) for t in groups.values())
    try:
        if fmt == "xlsx":
            write_sheets(groups, Path(path))
        else:
            cols = next(iter(groups.values())).columns if groups else (("note", "说明"),)
            write_csv(Table(cols, [r for t in groups.values() for r in t.rows]), Path(path))
    except BaseException:
        os.unlink(path)
        raise
    return Download(path, f"{run_id}_{which}.{fmt}", FORMATS[fmt], rows, ids)


def report_export(engine: Engine, dataset: Any, year: int, *, fmt: str) -> Download:
    """The programme report of ``year`` (:mod:`matcher.reporting.programme`): XLSX with its chart, or JSON."""
    from matcher.reporting.programme import latest_placements, programme_figures, write_report
    from matcher.store.runs_repo import job_fairs, outcomes, run_assignments, runs_in_year

    placements = latest_placements(runs_in_year(engine, year), lambda rid: run_assignments(engine, rid))
    figures = programme_figures(dataset, year, placements, job_fairs(engine, year), outcomes(engine))
    figures["_enterprise_names"] = {e.enterprise_id: e.name for e in dataset.enterprises}
    folder = tempfile.mkdtemp(prefix="laborbridge-report-")
    written = write_report(figures, Path(folder) / f"report_{year}.xlsx", chart=fmt == "xlsx")
    keep = written["xlsx" if fmt == "xlsx" else "json"]
    for p in written.values():
        if p != keep:
            p.unlink(missing_ok=True)
    media = FORMATS["xlsx"] if fmt == "xlsx" else "application/json"
    return Download(str(keep), keep.name, media, 0)
