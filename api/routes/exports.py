"""Downloads: record exports, a run's lists and the report, as files (:mod:`api.downloads`, the
console's downloads too), within the caller's scope."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from api.deps import AuditDep, Office, Reader, ScopeDep, ServicesDep
from api.downloads import FORMATS, record_export, send
from api.schemas import ErrorOut

router = APIRouter(tags=["exports"], responses={400: {"model": ErrorOut}, 403: {"model": ErrorOut}})
_FILE = {"content": {m: {"schema": {"type": "string", "format": "binary"}} for m in FORMATS.values()}}
RunList = Literal["placements_by_district", "placements_by_enterprise", "supply", "unplaced"]
_REPORT = {
    "content": {
        FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object"}},
    }
}


@router.get("/exports/{kind}", response_class=FileResponse, responses={200: _FILE})
def export_records(
    kind: Annotated[Literal["workers", "enterprises", "jobs", "pairings"], Path()],
    services: ServicesDep, _: Reader, scope: ScopeDep, audit: AuditDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    headers: Annotated[Literal["en", "zh"], Query(description="Column names: en or zh.")] = "en",
) -> FileResponse:  # fmt: skip
    """One record type as a file; names, ID numbers and phones masked. Re-importable as is."""
    d = record_export(services.engine, kind, scope, fmt=format, headers=headers)
    if kind == "workers":
        audit(d.worker_ids or (None,), detail=f"export {d.rows} workers")
    return send(d)


@router.get(
    "/placements/{run_id}/exports/{which}",
    response_class=FileResponse,
    responses={200: _FILE, 404: {"model": ErrorOut}},
)
def export_run_list(
    run_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")],
    which: Annotated[RunList, Path()],
    services: ServicesDep, _: Reader, scope: ScopeDep, audit: AuditDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "xlsx",
) -> FileResponse:  # fmt: skip
    """A recorded run's list: placements by district or by enterprise (安置名单), the job supply
    lists (岗位供给清单) or the unplaced (未安置名单); personal data masked, within your scope."""
    d = services.run_list(run_id, which, scope, format)
    if d.worker_ids:
        audit(d.worker_ids, detail=f"export {which} of run {run_id}")
    return send(d)


@router.get("/reports/{year}", response_class=FileResponse, responses={200: _REPORT})
def programme_report(
    year: Annotated[int, Path(ge=2000, le=2100)], services: ServicesDep, _: Office, scope: ScopeDep,
    format: Annotated[Literal["xlsx", "json"], Query()] = "xlsx",
) -> FileResponse:  # fmt: skip
    """The programme report of a year, city-wide: progress against the targets, job fairs, labour
    flows (the city administrator's and the auditor's)."""
    return send(services.report(year, scope, format))
