"""Recommendations: jobs for a stored worker or an ad-hoc profile; candidates for a job.

A stored worker's vector was computed when the recommender was fitted, so these answers encode
nothing and, while the fit holds the store's current records, read nothing: they run on the event
loop in well under a millisecond. A profile is encoded once (the model in its own process) and ranked
on the event loop. Candidates carry a recruiter's view of each worker only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Scope
from api.deps import AuditDep, Office, Reader, ScopeDep, ServicesDep
from api.schemas import (
    MAX_K,
    CandidatesOut,
    ErrorOut,
    RecommendationOut,
    RecommendationRequest,
    recommendation_json,
)
from api.services import Services

router = APIRouter(
    tags=["recommendations"],
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^/]+$")]


@router.post("/recommendations", response_model=RecommendationOut, responses={422: {"model": ErrorOut}})
async def recommend(
    body: RecommendationRequest, services: ServicesDep, _: Office, scope: ScopeDep, audit: AuditDep
) -> Response:
    """The top ``k`` jobs for a stored worker (``worker_id``) or an ad-hoc ``profile``, explained."""
    if body.worker_id is not None:
        rec = await _known(services, body.worker_id, body.k, scope)
        audit([body.worker_id])
    else:
        assert body.profile is not None
        rec = await services.recommend_profile(body.profile.model_dump(), body.k)
    return recommendation_json(rec)


@router.get("/workers/{worker_id}/recommendations", response_model=RecommendationOut)
async def worker_recommendations(
    worker_id: IdPath, services: ServicesDep, _: Office, scope: ScopeDep, audit: AuditDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
) -> Response:  # fmt: skip
    """The top ``k`` jobs for a stored worker, explained in Chinese and English."""
    rec = await _known(services, worker_id, k, scope)
    audit([worker_id])
    return recommendation_json(rec)


async def _known(services: Services, worker_id: str, k: int, scope: Scope) -> Any:
    """A stored worker's recommendation: from memory on the event loop when the fit is current
    (no thread hop, the common case), else read, compared and maybe encoded in a worker thread."""
    rec = services.recommend_known(worker_id, k, scope)
    if rec is None:
        rec = await run_in_threadpool(services.recommend_stored, worker_id, k, scope)
    return rec


@router.get("/jobs/{job_id}/candidates", response_model=CandidatesOut)
def job_candidates(
    job_id: IdPath, services: ServicesDep, _: Reader, scope: ScopeDep, audit: AuditDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 20,
) -> CandidatesOut:  # fmt: skip
    """The ``k`` best workers for a job the caller sees (recruiter's view: no name, ID number or phone)."""
    res = services.candidates(job_id, k, scope)
    audit([it.worker_id for it in res.items])
    return CandidatesOut.model_validate(res.to_dict())
