"""Typed records of the programme: workers, enterprises, jobs and pairings.

These are the canonical shapes every input is turned into (CSV, XLSX, JSON, API) and the
columns of the canonical CSV files. Personal fields (name, ID number, phone) are excluded from
``repr`` so a record that reaches a log line or a traceback does not carry them.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum, StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

LIST_SEPARATOR = ";"
_LIST_SPLIT = re.compile(r"[;；、|]")
_ADMIN_CODE = re.compile(r"^\d{6}$")
_OCC_CODE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")

PERSONAL_FIELDS = ("name", "id_number", "phone")


class Gender(StrEnum):
    male = "male"
    female = "female"


class JobGender(StrEnum):
    any = "any"
    male = "male"
    female = "female"


class Mobility(StrEnum):
    """How far a worker will go: ``local`` home county only, ``paired`` adds the Tianjin districts
    paired with it, ``anywhere`` adds all of Tianjin's districts."""

    local = "local"
    paired = "paired"
    anywhere = "anywhere"


class EmploymentStatus(StrEnum):
    unemployed = "unemployed"
    employed = "employed"


class ServiceNeed(StrEnum):
    """就业服务需求: what a surveyed worker asks the employment service for (several allowed)."""

    training = "training"  # 职业培训
    job_referral = "job_referral"  # 职业介绍
    policy_consultation = "policy_consultation"  # 政策咨询
    rights_protection = "rights_protection"  # 权益维护


class FairType(StrEnum):
    """The kind of a job fair: 定向 (for named enterprises), 专场 (dedicated), 网络 (online)."""

    targeted = "targeted"
    dedicated = "dedicated"
    online = "online"


class EnterpriseKind(StrEnum):
    company = "company"
    cooperative = "cooperative"
    poverty_workshop = "poverty_workshop"  # 扶贫车间
    community_factory = "community_factory"  # 社区工厂
    satellite_factory = "satellite_factory"  # 卫星工厂
    employment_station = "employment_station"  # 就业驿站


LOCAL_WORKSHOP_KINDS = frozenset(
    {
        EnterpriseKind.poverty_workshop,
        EnterpriseKind.community_factory,
        EnterpriseKind.satellite_factory,
        EnterpriseKind.employment_station,
    }
)


def _split_list(value: Any) -> Any:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(filter(None, map(str.strip, _LIST_SPLIT.split(value))))
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _parse_bool(value: Any) -> Any:
    if isinstance(value, str):
        v = value.strip().lower()
        if v in {"true", "1", "yes", "y", "是", "t"}:
            return True
        if v in {"false", "0", "no", "n", "否", "f", ""}:
            return False
    return value


StrList = Annotated[tuple[str, ...], BeforeValidator(_split_list)]


# Optional integers in a range; a blank cell means ``None``.
_Blank = BeforeValidator(_blank_to_none)
OptNonNeg = Annotated[Annotated[int, Field(ge=0)] | None, _Blank]
OptMinWage = Annotated[Annotated[int, Field(ge=0, le=1_000_000)] | None, _Blank]
OptAge = Annotated[Annotated[int, Field(ge=0, le=120)] | None, _Blank]
OptYear = Annotated[Annotated[int, Field(ge=1990, le=2100)] | None, _Blank]


Bool = Annotated[bool, BeforeValidator(_parse_bool)]
_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def _parse_date(value: Any) -> Any:
    """A day as offices type it: ``2020-03-01``, ``2020/3/1``, ``2020.3.1``, ``2020年3月1日``,
    ``20200301``; a time of day after it (``2020-03-01 00:00:00``, a workbook's date) is dropped.
    Anything else goes on to pydantic, which names the field and the reason."""
    if isinstance(value, str):
        v = value.strip()
        if not v:
            return None
        v = re.split(r"[T ]\d{1,2}:\d{2}", v, maxsplit=1)[0].strip()
        if len(v) == 8 and v.isdigit():
            v = f"{v[:4]}-{v[4:6]}-{v[6:]}"
        m = _DATE_PARTS.match(v)
        if m:
            y, mo, d = (int(x) for x in m.groups())
            try:
                return date(y, mo, d)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a calendar date ({exc})") from None
        return v
    return value


OptDate = Annotated[date | None, BeforeValidator(_parse_date)]
_PHONE_CHARS = re.compile(r"^[0-9０-９+＋()（）\-－ ]+(?:(?:转|ext\.?|x)[0-9]{1,6})?$")


def _contact_phone(value: str) -> str:
    """An enterprise's phone as typed: a mobile or a landline, 7 to 19 digits with an extension
    (spaces, dashes, brackets and a leading + allowed)."""
    if value and not (_PHONE_CHARS.match(value) and 7 <= sum(c.isdigit() for c in value) <= 19):
        raise ValueError("must be a phone number (digits, spaces, dashes; 转 and an extension allowed)")
    return value


AdminCode = Annotated[str, Field(pattern=_ADMIN_CODE.pattern)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, use_enum_values=False)


class Worker(_Record):
    """A registered poor labourer (建档立卡贫困劳动力)."""

    worker_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: str = Field(default="", repr=False)
    id_number: str = Field(default="", repr=False)
    phone: str = Field(default="", repr=False)
    gender: Gender
    birth_year: Annotated[int, Field(ge=1900, le=2100)]
    home_county_code: AdminCode
    education: str = ""
    skills: StrList = ()
    experience: str = ""
    desired_occupations: StrList = ()
    mobility: Mobility = Mobility.paired
    min_wage: OptMinWage = None
    employment_status: EmploymentStatus = EmploymentStatus.unemployed
    current_employer: str = ""
    group_id: str = ""
    service_needs: Annotated[tuple[ServiceNeed, ...], BeforeValidator(_split_list)] = ()
    work_location_code: Annotated[AdminCode | None, BeforeValidator(_blank_to_none)] = None
    employer_contact: str = Field(default="", max_length=128, repr=False)
    """联系方式 of an employed worker's employer: free text of the worker (phone and ID numbers in it
    masked where it enters, see :data:`matcher.pii.FREE_TEXT`), out of ``repr`` and of the encoder's text."""

    @field_validator("service_needs")
    @classmethod
    def _distinct_needs(cls, v: tuple[ServiceNeed, ...]) -> tuple[ServiceNeed, ...]:
        return tuple(dict.fromkeys(v))

    def age(self, year: int) -> int:
        """Age in whole years at the reference ``year`` (birthdays ignored, as the survey does)."""
        return year - self.birth_year


class Enterprise(_Record):
    """An employer (用人单位); ``employment_base`` marks a selected 就业基地."""

    enterprise_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: str
    kind: EnterpriseKind = EnterpriseKind.company
    location_code: AdminCode
    employment_base: Bool = False
    capacity: OptNonNeg = None
    dorm_beds: OptNonNeg = None
    contact_name: str = Field(default="", max_length=64)
    contact_phone: Annotated[str, Field(max_length=32)] = ""
    """The enterprise's contact person and phone (岗位供给清单's 联系方式): business data, not masked."""

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return _contact_phone(v)

    @property
    def is_local_workshop(self) -> bool:
        return self.kind in LOCAL_WORKSHOP_KINDS


class Job(_Record):
    """A job posting (岗位) with a number of openings."""

    job_id: Annotated[str, Field(min_length=1, max_length=64)]
    enterprise_id: Annotated[str, Field(min_length=1, max_length=64)]
    title: Annotated[str, Field(min_length=1)]
    description: str = ""
    occupation_code: Annotated[str, Field(pattern=r"^(\d-\d{2}-\d{2}-\d{2})?$")] = ""
    openings: Annotated[int, Field(ge=1)]
    wage_min: OptNonNeg = None
    wage_max: OptNonNeg = None
    location_code: Annotated[AdminCode | None, BeforeValidator(_blank_to_none)] = None
    age_min: OptAge = None
    age_max: OptAge = None
    gender: JobGender = JobGender.any
    accommodation: Bool = False
    posted_on: OptDate = None
    """The day the job was offered (提供岗位): what the programme counts per district and year."""
    closes_on: OptDate = None

    @field_validator("closes_on")
    @classmethod
    def _closes_after_posting(cls, v: date | None, info: ValidationInfo) -> date | None:
        posted = info.data.get("posted_on")
        if v is not None and posted is not None and v < posted:
            raise ValueError(f"closes_on {v} is before posted_on {posted}")
        return v

    @model_validator(mode="after")
    def _ranges(self) -> Job:
        if self.wage_min is not None and self.wage_max is not None and self.wage_min > self.wage_max:
            raise ValueError(f"wage_min {self.wage_min} is greater than wage_max {self.wage_max}")
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError(f"age_min {self.age_min} is greater than age_max {self.age_max}")
        return self


class Pairing(_Record):
    """A pairing (结对关系): a district of a partner city (Tianjin's, or another city's …区) helps a
    western county since ``since_year``."""

    district_code: AdminCode
    county_code: AdminCode
    since_year: OptYear = None

    @field_validator("district_code")
    @classmethod
    def _partner_district(cls, v: str) -> str:
        from matcher.geo import is_partner_district

        if not is_partner_district(v):
            raise ValueError(
                f"district_code {v} is not a district of a partner city (a Tianjin code 12xxxx, or "
                "another city's …区 in the national table of admin codes)"
            )
        return v


RECORD_TYPES: dict[str, type[_Record]] = {
    "workers": Worker,
    "enterprises": Enterprise,
    "jobs": Job,
    "pairings": Pairing,
}

COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(model.model_fields) for kind, model in RECORD_TYPES.items()
}

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name, f in model.model_fields.items() if f.is_required())
    for kind, model in RECORD_TYPES.items()
}


def plain_value(value: Any) -> Any:
    """A field's value as the store holds it: an enum as its value, a date as ISO text, a list
    ``;``-joined; text, numbers, booleans and ``None`` as they are."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return LIST_SEPARATOR.join(value)
    return value


def to_row(record: BaseModel) -> dict[str, str]:
    """The record as canonical CSV cells (lists joined by ``;``, booleans ``true``/``false``)."""
    out: dict[str, str] = {}
    for key, value in record.model_dump().items():
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, tuple | list):
            out[key] = LIST_SEPARATOR.join(value)
        elif isinstance(value, StrEnum):
            out[key] = value.value
        else:
            out[key] = str(value)
    return out


class JobFair(_Record):
    """A job fair (招聘会: 定向, 专场 or 网络) held for a paired county; not a placement input.

    Stored in its own table (``job_fairs``) by ``laborbridge fairs import`` and counted by the
    programme report against the 120-fair target.
    """

    fair_id: Annotated[str, Field(min_length=1, max_length=64)]
    held_on: Annotated[date, BeforeValidator(_parse_date)]
    place: str = ""
    district_code: Annotated[AdminCode | None, BeforeValidator(_blank_to_none)] = None
    county_code: AdminCode
    fair_type: FairType = FairType.dedicated
    enterprises: OptNonNeg = None
    jobs: OptNonNeg = None
    attendees: OptNonNeg = None
    intents: OptNonNeg = None
    """达成意向人数: attendees who agreed with an employer at the fair (not yet hired)."""
    hires: OptNonNeg = None
    """录用人数: attendees hired."""
