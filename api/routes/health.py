"""Liveness (no key needed), readiness and who-am-I."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Caller, ServicesDep
from api.schemas import Health, Me, Ready

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is up (no authentication)."""
    return Health()


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
def ready(services: ServicesDep, _: Caller, response: Response) -> Ready:
    """Whether the store answers and the recommender is fitted; 503 until both are true."""
    holder = services.recommender
    rec = holder.current
    out = Ready(
        ready=False,
        database=services.database_ok(),
        recommender=rec is not None,
        refreshing=holder.refreshing,
        workers=len(rec.dataset_.workers) if rec is not None else 0,
        jobs=len(rec.dataset_.jobs) if rec is not None else 0,
        model=getattr(holder.encoder, "model_id", None),
        fitted_at=holder.fitted_at.isoformat() if holder.fitted_at else None,
        error=holder.error,
    )
    out.ready = out.database and out.recommender
    if not out.ready:
        response.status_code = 503
    return out


@router.get("/me", response_model=Me)
async def me(principal: Caller) -> Me:
    """The calling key's role and scope."""
    return Me(
        key_prefix=principal.prefix,
        role=principal.role.value,
        district_code=principal.district_code,
        enterprise_id=principal.enterprise_id,
    )
