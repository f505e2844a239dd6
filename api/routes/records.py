"""Workers, enterprises and jobs: one by id, pages of them, partial updates; all within the caller's scope.

An id outside the caller's scope answers 404, exactly as an unknown id does. Workers come out with
personal data masked, and every worker returned is written to the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api import repo
from api.deps import AuditDep, Editor, Office, Reader, ScopeDep, ServicesDep, Writer
from api.schemas import (
    MAX_PAGE,
    EnterpriseOut,
    EnterprisePatch,
    ErrorOut,
    JobOut,
    JobPatch,
    Page,
    WorkerOut,
    WorkerPatch,
)

router = APIRouter(tags=["records"], responses={404: {"model": ErrorOut}, 403: {"model": ErrorOut}})

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^/]+$")]
After = Annotated[str | None, Query(max_length=64, description="Last id of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Code = Annotated[str | None, Query(pattern=r"^\d{6}$")]


def _origin(method: str, path: str, prefix: str) -> str:
    return f"api {method} {path} (key {prefix})"


# ----------------------------------------------------------------------------- workers
@router.get("/workers", response_model=Page[WorkerOut])
def list_workers(
    services: ServicesDep, _: Office, scope: ScopeDep, audit: AuditDep,
    after: After = None, limit: Limit = 50, home_county_code: Code = None,
) -> Page[WorkerOut]:  # fmt: skip
    """A page of the workers the caller sees, in id order (personal data masked)."""
    where = {"home_county_code": home_county_code} if home_county_code else None
    items, nxt = repo.list_records(services.engine, "workers", scope, after=after, limit=limit, where=where)
    audit([w.worker_id for w in items])  # type: ignore[attr-defined]
    return Page[WorkerOut](items=[WorkerOut.of(w) for w in items], next_after=nxt)


@router.get("/workers/{worker_id}", response_model=WorkerOut)
def get_worker(
    worker_id: IdPath, services: ServicesDep, _: Office, scope: ScopeDep, audit: AuditDep
) -> WorkerOut:
    """One worker (personal data masked)."""
    worker = repo.get_worker(services.engine, worker_id, scope)
    audit([worker.worker_id])
    return WorkerOut.of(worker)


@router.patch("/workers/{worker_id}", response_model=WorkerOut, responses={422: {"model": ErrorOut}})
def patch_worker(
    worker_id: IdPath, body: WorkerPatch, services: ServicesDep, who: Writer, scope: ScopeDep, audit: AuditDep
) -> WorkerOut:
    """Change some fields of a worker; the result is validated like an imported row."""
    changes = body.model_dump(exclude_unset=True)
    worker = services.edit(
        "workers", worker_id, changes, scope, _origin("PATCH", f"/workers/{worker_id}", who.prefix)
    )
    audit([worker.worker_id], detail="updated " + ",".join(sorted(changes)))
    return WorkerOut.of(worker)


# ----------------------------------------------------------------------------- enterprises
@router.get("/enterprises", response_model=Page[EnterpriseOut])
def list_enterprises(
    services: ServicesDep, _: Reader, scope: ScopeDep,
    after: After = None, limit: Limit = 50, location_code: Code = None,
) -> Page[EnterpriseOut]:  # fmt: skip
    """A page of the enterprises the caller sees, in id order."""
    where = {"location_code": location_code} if location_code else None
    items, nxt = repo.list_records(
        services.engine, "enterprises", scope, after=after, limit=limit, where=where
    )
    return Page[EnterpriseOut](items=[EnterpriseOut.of(e) for e in items], next_after=nxt)


@router.get("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def get_enterprise(enterprise_id: IdPath, services: ServicesDep, _: Reader, scope: ScopeDep) -> EnterpriseOut:
    return EnterpriseOut.of(repo.get_enterprise(services.engine, enterprise_id, scope))


@router.patch(
    "/enterprises/{enterprise_id}", response_model=EnterpriseOut, responses={422: {"model": ErrorOut}}
)
def patch_enterprise(
    enterprise_id: IdPath, body: EnterprisePatch, services: ServicesDep, who: Editor, scope: ScopeDep
) -> EnterpriseOut:
    """Change some fields of an enterprise."""
    origin = _origin("PATCH", f"/enterprises/{enterprise_id}", who.prefix)
    changes = body.model_dump(exclude_unset=True)
    return EnterpriseOut.of(services.edit("enterprises", enterprise_id, changes, scope, origin))


# ----------------------------------------------------------------------------- jobs
@router.get("/jobs", response_model=Page[JobOut])
def list_jobs(
    services: ServicesDep, _: Reader, scope: ScopeDep,
    after: After = None, limit: Limit = 50,
    enterprise_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[JobOut]:  # fmt: skip
    """A page of the jobs the caller sees, in id order."""
    where = {"enterprise_id": enterprise_id} if enterprise_id else None
    items, nxt = repo.list_records(services.engine, "jobs", scope, after=after, limit=limit, where=where)
    return Page[JobOut](items=[JobOut.of(j) for j in items], next_after=nxt)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: IdPath, services: ServicesDep, _: Reader, scope: ScopeDep) -> JobOut:
    return JobOut.of(repo.get_job(services.engine, job_id, scope))


@router.patch("/jobs/{job_id}", response_model=JobOut, responses={422: {"model": ErrorOut}})
def patch_job(job_id: IdPath, body: JobPatch, services: ServicesDep, who: Editor, scope: ScopeDep) -> JobOut:
    """Change some fields of a job (openings, wages, requirements ...)."""
    origin = _origin("PATCH", f"/jobs/{job_id}", who.prefix)
    return JobOut.of(services.edit("jobs", job_id, body.model_dump(exclude_unset=True), scope, origin))
