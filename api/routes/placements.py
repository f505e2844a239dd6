"""Batch placements: start one in the background, follow its progress, page through its assignments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import Admin, AuditDep, Reader, ScopeDep, ServicesDep
from api.schemas import (
    MAX_PAGE,
    AssignmentOut,
    ErrorOut,
    Page,
    PlacementList,
    PlacementRequest,
    PlacementStatus,
)

router = APIRouter(tags=["placements"], responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}})
RunId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


@router.post("/placements", response_model=PlacementStatus, status_code=status.HTTP_202_ACCEPTED)
def start_placement(body: PlacementRequest, services: ServicesDep, _: Admin) -> PlacementStatus:
    """Queue a batch placement of every stored worker; answers the run's id at once (202)."""
    state = services.runner.start(body.model_dump())
    return PlacementStatus.model_validate(services.runner.status(state.run_id))


@router.get("/placements", response_model=PlacementList)
def list_placements(
    services: ServicesDep, _: Reader, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20
) -> PlacementList:
    """Runs in progress here, then the newest recorded runs."""
    return PlacementList.model_validate({"items": services.runner.recent(limit)})


@router.get("/placements/{run_id}", response_model=PlacementStatus)
def get_placement(run_id: RunId, services: ServicesDep, _: Reader, scope: ScopeDep) -> PlacementStatus:
    """Status, stage and progress of a run; its summary once recorded, as far as the caller sees
    it (city-wide figures for the city administrator and the auditor, a scoped one otherwise)."""
    return PlacementStatus.model_validate(services.runner.status_for(run_id, scope))


@router.get(
    "/placements/{run_id}/assignments",
    response_model=Page[AssignmentOut],
    responses={400: {"model": ErrorOut}},
)
def placement_assignments(
    run_id: RunId, services: ServicesDep, _: Reader, scope: ScopeDep, audit: AuditDep,
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page[AssignmentOut]:  # fmt: skip
    """A page of the run's assignments the caller sees, by worker id."""
    rows, nxt = services.runner.assignments(run_id, scope, after=after, limit=limit)
    audit([r["worker_id"] for r in rows])
    return Page[AssignmentOut](items=[AssignmentOut.model_validate(r) for r in rows], next_after=nxt)
