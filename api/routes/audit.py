"""The audit log, for the city administrator and the auditor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import audit_rows
from api.deps import Overseer, ServicesDep
from api.schemas import MAX_PAGE, AuditOut, ErrorOut, Page

router = APIRouter(tags=["audit"], responses={403: {"model": ErrorOut}})


@router.get("/audit", response_model=Page[AuditOut])
def read_audit(
    services: ServicesDep, _: Overseer,
    worker_id: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Page[AuditOut]:  # fmt: skip
    """Audit rows in order (``after``: the last id seen), optionally of one worker."""
    services.audit.flush()
    rows = audit_rows(services.engine, worker_id=worker_id, after=after, limit=limit + 1)
    items = [AuditOut.model_validate({**r, "at": r["at"].isoformat()}) for r in rows[:limit]]
    return Page[AuditOut](items=items, next_after=str(rows[limit - 1]["id"]) if len(rows) > limit else None)
