"""Recommendations: jobs for a stored worker or an ad-hoc profile; candidates for a job.

A stored worker's vector was computed when the recommender was fitted, so these answers encode
nothing; a profile is encoded once. Candidates carry a recruiter's view of each worker only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AuditDep, Office, Reader, ScopeDep, ServicesDep
from api.schemas import MAX_K, CandidatesOut, ErrorOut, RecommendationOut, RecommendationRequest

router = APIRouter(
    tags=["recommendations"],
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^/]+$")]


@router.post("/recommendations", response_model=RecommendationOut, responses={422: {"model": ErrorOut}})
def recommend(
    body: RecommendationRequest, services: ServicesDep, _: Office, scope: ScopeDep, audit: AuditDep
) -> RecommendationOut:
    """The top ``k`` jobs for a stored worker (``worker_id``) or an ad-hoc ``profile``, explained."""
    if body.worker_id is not None:
        rec = services.recommend(body.worker_id, body.k, scope)
        audit([body.worker_id])
    else:
        assert body.profile is not None
        rec = services.recommend_profile(body.profile.model_dump(), body.k)
    return RecommendationOut.model_validate(rec.to_dict())


@router.get("/workers/{worker_id}/recommendations", response_model=RecommendationOut)
def worker_recommendations(
    worker_id: IdPath, services: ServicesDep, _: Office, scope: ScopeDep, audit: AuditDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
) -> RecommendationOut:  # fmt: skip
    """The top ``k`` jobs for a stored worker, explained in Chinese and English."""
    rec = services.recommend(worker_id, k, scope)
    audit([worker_id])
    return RecommendationOut.model_validate(rec.to_dict())


@router.get("/jobs/{job_id}/candidates", response_model=CandidatesOut)
def job_candidates(
    job_id: IdPath, services: ServicesDep, _: Reader, scope: ScopeDep, audit: AuditDep,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 20,
) -> CandidatesOut:  # fmt: skip
    """The ``k`` best workers for a job the caller sees (recruiter's view: no name, ID number or phone)."""
    res = services.candidates(job_id, k, scope)
    audit([it.worker_id for it in res.items])
    return CandidatesOut.model_validate(res.to_dict())
