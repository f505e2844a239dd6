"""The API's public models: what goes in (strict, bounded) and what comes out (masked).

Input models forbid unknown fields and bound every string and list. Output models carry personal
data masked only: a worker's name as ``张*``, ID number ``120101********123X``, phone
``138****5678``; free-text fields scrubbed of anything shaped like an ID or phone number. A job's
candidates show a recruiter's view of each worker (no name, ID number, phone or employer).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar

import pydantic_core
from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from matcher.pii import is_masked, mask
from matcher.placement.options import PlaceRequest
from matcher.records import EmploymentStatus, EnterpriseKind, Gender, JobGender, Mobility, ServiceNeed
from matcher.scoring.features import scrub

MAX_PAGE = 200
"""Largest page of any list."""
MAX_K = 100
"""Most items in a recommendation or candidate list."""
MAX_LIST = 50
"""Most entries in a list field of a record (skills, wished occupations)."""
MAX_REJECTED = 1000
"""Most rejected rows an import response lists (``n_rejected`` counts them all)."""

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s/]+$")]
AdminCode = Annotated[str, Field(pattern=r"^\d{6}$")]
Short = Annotated[str, Field(max_length=200)]
Text = Annotated[str, Field(max_length=2000)]
Items = Annotated[list[Short], Field(max_length=MAX_LIST)]
T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ----------------------------------------------------------------------------- service
class Health(Out):
    status: Literal["ok"] = "ok"


class Ready(Out):
    ready: bool
    database: bool
    recommender: bool
    refreshing: bool
    workers: int
    jobs: int
    model: str | None = None
    fitted_at: str | None = None
    error: str | None = None


class Me(Out):
    key_prefix: str
    role: str
    district_code: str | None = None
    enterprise_id: str | None = None


class Page(Out, Generic[T]):
    items: list[T] = Field(max_length=MAX_PAGE)
    next_after: str | None = Field(
        None, description="Pass as `after` to get the next page; null on the last."
    )


class ErrorOut(Out):
    detail: str
    errors: list[dict[str, Any]] | None = None


# ----------------------------------------------------------------------------- records out
def _masked(field: str, value: str) -> str:
    return value if not value or is_masked(field, value) else mask(field, value)


def _clean(values: Any) -> list[str]:
    return [scrub(str(v)) for v in values]


class WorkerOut(Out):
    """A worker with personal data masked."""

    worker_id: str
    name: str
    id_number: str
    phone: str
    gender: Gender
    birth_year: int
    home_county_code: str
    education: str
    skills: list[str]
    experience: str
    desired_occupations: list[str]
    mobility: Mobility
    min_wage: int | None
    employment_status: EmploymentStatus
    current_employer: str
    group_id: str
    service_needs: list[ServiceNeed] = []
    work_location_code: str | None = None
    employer_contact: str = Field(
        "", description="The employer's contact person; phone numbers in it masked, as in all free text."
    )

    @classmethod
    def of(cls, w: Any) -> WorkerOut:
        return cls(
            worker_id=w.worker_id,
            name=mask("name", w.name),
            id_number=_masked("id_number", w.id_number),
            phone=_masked("phone", w.phone),
            gender=w.gender,
            birth_year=w.birth_year,
            home_county_code=w.home_county_code,
            education=scrub(w.education),
            skills=_clean(w.skills),
            experience=scrub(w.experience),
            desired_occupations=_clean(w.desired_occupations),
            mobility=w.mobility,
            min_wage=w.min_wage,
            employment_status=w.employment_status,
            current_employer=scrub(w.current_employer),
            group_id=w.group_id,
            service_needs=list(w.service_needs),
            work_location_code=w.work_location_code,
            employer_contact=scrub(w.employer_contact),
        )


class EnterpriseOut(Out):
    enterprise_id: str
    name: str
    kind: EnterpriseKind
    location_code: str
    employment_base: bool
    capacity: int | None
    dorm_beds: int | None
    contact_name: str = ""
    contact_phone: str = ""

    @classmethod
    def of(cls, e: Any) -> EnterpriseOut:
        return cls.model_validate(e.model_dump())


class JobOut(Out):
    job_id: str
    enterprise_id: str
    title: str
    description: str
    occupation_code: str
    openings: int
    wage_min: int | None
    wage_max: int | None
    location_code: str | None
    age_min: int | None
    age_max: int | None
    gender: JobGender
    accommodation: bool
    posted_on: dt.date | None = None
    closes_on: dt.date | None = None

    @classmethod
    def of(cls, j: Any) -> JobOut:
        d = j.model_dump()
        d["title"], d["description"] = scrub(d["title"]), scrub(d["description"])
        return cls.model_validate(d)


# ----------------------------------------------------------------------------- record edits
class WorkerPatch(Strict):
    """Fields to change on a worker (absent: unchanged; ``null``: cleared, where a field may be)."""

    name: Annotated[str, Field(max_length=64)] | None = None
    id_number: Annotated[str, Field(max_length=32)] | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    gender: Gender | None = None
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    home_county_code: AdminCode | None = None
    education: Short | None = None
    skills: Items | None = None
    experience: Text | None = None
    desired_occupations: Items | None = None
    mobility: Mobility | None = None
    min_wage: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    employment_status: EmploymentStatus | None = None
    current_employer: Short | None = None
    group_id: Annotated[str, Field(max_length=64)] | None = None
    service_needs: Annotated[list[ServiceNeed], Field(max_length=4)] | None = None
    work_location_code: AdminCode | None = None
    employer_contact: Annotated[str, Field(max_length=128)] | None = None


class EnterprisePatch(Strict):
    name: Short | None = None
    kind: EnterpriseKind | None = None
    location_code: AdminCode | None = None
    employment_base: bool | None = None
    capacity: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    dorm_beds: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    contact_name: Annotated[str, Field(max_length=64)] | None = None
    contact_phone: Annotated[str, Field(max_length=32)] | None = None


class JobPatch(Strict):
    enterprise_id: Id | None = None
    title: Short | None = None
    description: Text | None = None
    occupation_code: Annotated[str, Field(pattern=r"^(\d-\d{2}-\d{2}-\d{2})?$")] | None = None
    openings: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    wage_min: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    wage_max: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    location_code: AdminCode | None = None
    age_min: Annotated[int, Field(ge=0, le=120)] | None = None
    age_max: Annotated[int, Field(ge=0, le=120)] | None = None
    gender: JobGender | None = None
    accommodation: bool | None = None
    posted_on: dt.date | None = None
    closes_on: dt.date | None = None


# ----------------------------------------------------------------------------- recommendations
class WorkerProfile(Strict):
    """A worker not in the store (or a what-if): the matching fields, no personal data needed."""

    worker_id: Id = "profile"
    gender: Gender
    birth_year: Annotated[int, Field(ge=1900, le=2100)]
    home_county_code: AdminCode
    education: Short = ""
    skills: Items = []
    experience: Text = ""
    desired_occupations: Items = []
    mobility: Mobility = Mobility.paired
    min_wage: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    employment_status: EmploymentStatus = EmploymentStatus.unemployed


class RecommendationRequest(Strict):
    """Exactly one of ``worker_id`` (a stored worker) or ``profile`` (an ad-hoc one)."""

    worker_id: Id | None = None
    profile: WorkerProfile | None = None
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 10

    @model_validator(mode="after")
    def _one(self) -> RecommendationRequest:
        if (self.worker_id is None) == (self.profile is None):
            raise ValueError("give exactly one of worker_id or profile")
        return self


class ScoredJob(Out):
    job_id: str
    score: float
    factors: dict[str, float]
    explanation_zh: str
    explanation_en: str


class SkillGap(Out):
    code: str
    name: str
    jobs: int
    openings: int
    training_zh: str
    training_en: str


class RecommendationOut(Out):
    worker_id: str
    items: list[ScoredJob] = Field(max_length=MAX_K)
    skill_gap: list[SkillGap] = Field(default_factory=list, max_length=MAX_K)
    excluded: str | None = None


def recommendation_json(rec: Any) -> Response:
    """A :class:`~matcher.recommend.results.Recommendation` as the JSON of :class:`RecommendationOut`.

    The hot routes answer with this instead of building the model and letting FastAPI validate
    and serialise it again: ``to_dict`` already has the model's shape (a test holds the two equal,
    field for field), and pydantic-core writes the bytes in one call.
    """
    out = rec.to_dict()
    out.setdefault("skill_gap", [])
    out.setdefault("excluded", None)
    return Response(pydantic_core.to_json(out), media_type="application/json")


class RecruiterView(Out):
    """What a recruiter may see of a candidate: no name, ID number, phone or employer."""

    worker_id: str
    age: int
    gender: str
    home_county_code: str
    home_county: str
    education: str
    skills: list[str]
    experience: str
    desired_occupations: list[str]
    mobility: str
    min_wage: int | None


class ScoredWorker(Out):
    worker_id: str
    score: float
    factors: dict[str, float]
    explanation_zh: str
    explanation_en: str
    worker: RecruiterView


class CandidatesOut(Out):
    job_id: str
    items: list[ScoredWorker] = Field(max_length=MAX_K)
    excluded: str | None = None


# ----------------------------------------------------------------------------- imports
class RejectedRow(Out):
    file: str | None
    row: int | None
    field: str | None
    value: str | None
    reason: str


class ImportedFile(Out):
    file: str
    kind: str
    rows: int
    sha256: str
    encoding: str | None = None
    ignored_columns: list[str] = []


class ImportReportOut(Out):
    imported: dict[str, int]
    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    n_rejected: int
    rejected: list[RejectedRow] = Field(max_length=MAX_REJECTED)
    files: list[ImportedFile] = Field(max_length=MAX_PAGE)
    batch: int | None
    written: bool
    aborted: str | None


# ----------------------------------------------------------------------------- audit
class AuditOut(Out):
    id: int
    at: str
    key_id: int | None
    """``None`` for a CLI command run on the store's machine (``detail`` names it)."""
    method: str
    route: str
    worker_id: str | None
    detail: str


# ----------------------------------------------------------------------------- placements
class PlacementRequest(PlaceRequest):
    """Parameters of a batch placement over every stored record (``k`` left out: the ``k`` setting)."""

    shadow_prices: bool = True
    """Record where one more opening helps most (the console's run summary shows them)."""


class Progress(Out):
    done: int
    total: int | None


class PlacementStatus(Out):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str | None = None
    stages_done: list[str] = Field(default_factory=list, max_length=64)
    progress: Progress | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    summary: dict[str, Any] | None = None


class PlacementList(Out):
    items: list[PlacementStatus] = Field(max_length=MAX_PAGE)


class AssignmentOut(Out):
    worker_id: str
    job_id: str
    enterprise_id: str
    home_county_code: str
    location_code: str
    score: float
    factors: dict[str, float]
    explanation_zh: str
    explanation_en: str
