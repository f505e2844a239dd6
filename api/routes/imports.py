"""Imports: CSV, XLSX or JSON files uploaded as multipart form data; the import report back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from api.deps import Admin, ServicesDep
from api.errors import PayloadTooLarge, Unprocessable
from api.schemas import MAX_REJECTED, ErrorOut, ImportReportOut

MAX_FILES = 20
router = APIRouter(
    tags=["imports"],
    responses={403: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("/imports", response_model=ImportReportOut)
def import_files(
    files: Annotated[list[UploadFile], File(description="workers / enterprises / jobs / pairings files")],
    services: ServicesDep,
    _: Admin,
    strict: Annotated[bool, Form(description="Write nothing if any row is rejected.")] = False,
) -> ImportReportOut:
    """Import records: every valid row goes in, every rejected row is reported with its reason.

    The record type comes from each file's name (workers.csv, 岗位.xlsx ...) or its headers.
    Re-importing the same files changes nothing. When nothing could be imported (every row or file
    rejected, or ``strict`` and any rejected), the answer is 422 with the rejections, as the
    command line exits 1.
    """
    if len(files) > MAX_FILES:
        raise PayloadTooLarge(f"at most {MAX_FILES} files per import")
    report = services.import_files([(f.filename or "", f.file) for f in files], strict=strict)
    if report.exit_code and report.rejected:
        first = report.rejected[0]
        detail = f"nothing imported: {len(report.rejected)} rejected, the first: {first}"
        raise Unprocessable(detail, [e.as_dict() for e in report.rejected[:MAX_REJECTED]])
    out = report.as_dict()
    out["n_rejected"] = len(out["rejected"])
    out["rejected"] = out["rejected"][:MAX_REJECTED]
    return ImportReportOut.model_validate(out)
