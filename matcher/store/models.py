"""The store's tables, in one place (SQLAlchemy 2 declarative, dialect-neutral types only).

Record tables mirror :mod:`matcher.records` column for column, except the personal ones: a
worker's ID number and phone are kept as a keyed hash plus a masked form (see :mod:`matcher.pii`).
Lists are ``;``-joined text, as in the CSV files. Each record row carries ``content_sha256`` (of
its stored values) so an import can tell unchanged rows without comparing every column, and the
batches that created and last changed it.

``import_batches`` and ``record_changes`` keep the history: one batch per import that changed
something (when, which files), one change row per record created or updated (from which file
and row, and for an update the fields with old and new values, personal ones masked).

Adding a table: declare it here, then add one migration under ``migrations/versions``; a test
compares the migrated schema with these models.

Two column types make the backends answer alike: :class:`UTCDateTime` (a time comes back as the
same instant, in UTC, from SQLite, which keeps no offset, and from PostgreSQL, which answers in its
own time zone) and :class:`StoreJSON` (JSON without the NaN and Infinity tokens PostgreSQL
refuses). Both emit the same DDL as the plain types, so no migration was needed. Queries sort
text keys with :func:`bytewise`: SQLite's order, whatever the server's collation.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import Table
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# Constraint names fixed by convention so migrations can refer to them on every dialect.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LEN = 64
CODE_LEN = 6
HASH_LEN = 64


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, written and read back in UTC (an aware ``datetime``) on every backend.

    A naive value is taken as UTC. Without this, SQLite (which keeps no offset) answers naive
    times and PostgreSQL answers in the session's time zone (``+08:00`` on a server in China).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return self.process_bind_param(value, dialect)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class StoreJSON(TypeDecorator[Any]):
    """JSON that every backend takes: a NaN or infinite float is stored as ``null``.

    Python's ``json`` writes them as the bare tokens ``NaN`` and ``Infinity``, which are not JSON:
    SQLite keeps them as text, PostgreSQL refuses the row (and with it the transaction).
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return _finite(value)


class _Bytewise(FunctionElement[Any]):
    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(_Bytewise)
def _bytewise(element: _Bytewise, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(column, **kw)


@compiles(_Bytewise, "postgresql")
def _bytewise_pg(element: _Bytewise, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(column.collate("C"), **kw)


def bytewise(column: Any) -> Any:
    """``column`` to sort by in byte order (code point order, as Python's ``sorted``) on every backend.

    SQLite sorts text by its bytes; PostgreSQL by the database's collation (``en_US.UTF-8``,
    ``zh_CN.UTF-8``: ``a`` before ``B``, ``_`` before digits), which may also change with the
    server's ICU or C library. The order of records (and the input hash over them) must not.
    """
    return _Bytewise(column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """``model``'s table, typed as the :class:`Table` it is.

    SQLAlchemy types ``__table__`` as any ``FromClause`` (a mapping may be to a join or a query),
    which ``insert``, ``update`` and ``Table.insert`` do not take; every model here maps a table.
    """
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - every model of this module maps a table
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _batch_fk(nullable: bool = False) -> Mapped[int]:
    return mapped_column(ForeignKey("import_batches.id"), nullable=nullable)


class StoreMeta(Base):
    """Key-value facts about the store itself (e.g. the fingerprint of its hashing key)."""

    __tablename__ = "store_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImportBatch(Base):
    """One import that changed the store: when, from which files, with what counts."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    files: Mapped[list[dict[str, Any]]] = mapped_column(StoreJSON())
    counts: Mapped[dict[str, Any]] = mapped_column(StoreJSON())
    n_rejected: Mapped[int] = mapped_column(Integer, default=0)


class RecordChange(Base):
    """A record created or updated by a batch, with its origin and the fields that changed."""

    __tablename__ = "record_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    record_key: Mapped[str] = mapped_column(String(2 * ID_LEN + 1))
    action: Mapped[str] = mapped_column(String(16))
    file: Mapped[str] = mapped_column(Text)
    row: Mapped[int] = mapped_column(Integer)
    changes: Mapped[dict[str, Any] | None] = mapped_column(StoreJSON())


class WorkerRow(Base):
    __tablename__ = "workers"
    worker_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    # A unique index, not a constraint (migration 0007_id_number_index): an import can build it after
    # filling an empty table (see matcher.store.bulk.indexes_after).
    id_number_hash: Mapped[str | None] = mapped_column(String(HASH_LEN), unique=True, index=True)
    id_number_masked: Mapped[str] = mapped_column(String(32), default="")
    phone_hash: Mapped[str | None] = mapped_column(String(HASH_LEN), index=True)
    phone_masked: Mapped[str] = mapped_column(String(32), default="")
    gender: Mapped[str] = mapped_column(String(16))
    birth_year: Mapped[int] = mapped_column(Integer)
    home_county_code: Mapped[str] = mapped_column(String(CODE_LEN), index=True)
    education: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[str] = mapped_column(Text, default="")
    experience: Mapped[str] = mapped_column(Text, default="")
    desired_occupations: Mapped[str] = mapped_column(Text, default="")
    mobility: Mapped[str] = mapped_column(String(16))
    min_wage: Mapped[int | None] = mapped_column(Integer)
    employment_status: Mapped[str] = mapped_column(String(16))
    current_employer: Mapped[str] = mapped_column(Text, default="")
    group_id: Mapped[str] = mapped_column(String(ID_LEN), default="")
    service_needs: Mapped[str] = mapped_column(Text, default="")  # migration 0006_programme
    work_location_code: Mapped[str | None] = mapped_column(String(CODE_LEN))
    employer_contact: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    created_batch_id: Mapped[int] = _batch_fk()
    updated_batch_id: Mapped[int] = _batch_fk()


class EnterpriseRow(Base):
    __tablename__ = "enterprises"
    enterprise_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    location_code: Mapped[str] = mapped_column(String(CODE_LEN))
    employment_base: Mapped[bool] = mapped_column(Boolean)
    capacity: Mapped[int | None] = mapped_column(Integer)
    dorm_beds: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str] = mapped_column(Text, default="")  # migration 0006_programme
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    content_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    created_batch_id: Mapped[int] = _batch_fk()
    updated_batch_id: Mapped[int] = _batch_fk()


class JobRow(Base):
    __tablename__ = "jobs"
    job_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.enterprise_id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    occupation_code: Mapped[str] = mapped_column(String(16), default="")
    openings: Mapped[int] = mapped_column(Integer)
    wage_min: Mapped[int | None] = mapped_column(Integer)
    wage_max: Mapped[int | None] = mapped_column(Integer)
    location_code: Mapped[str | None] = mapped_column(String(CODE_LEN))
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(16))
    accommodation: Mapped[bool] = mapped_column(Boolean)
    # ISO dates as text (migration 0006_programme): a record's stored values stay JSON-plain, so its
    # content hash and its change history take them as they are; ISO text sorts as the dates do.
    posted_on: Mapped[str | None] = mapped_column(String(10), index=True)
    closes_on: Mapped[str | None] = mapped_column(String(10))
    content_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    created_batch_id: Mapped[int] = _batch_fk()
    updated_batch_id: Mapped[int] = _batch_fk()


class PairingRow(Base):
    __tablename__ = "pairings"
    district_code: Mapped[str] = mapped_column(String(CODE_LEN), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(CODE_LEN), primary_key=True)
    since_year: Mapped[int | None] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    created_batch_id: Mapped[int] = _batch_fk()
    updated_batch_id: Mapped[int] = _batch_fk()


# Record type -> (table class, primary-key columns).
RECORD_TABLES: dict[str, tuple[type[Base], tuple[str, ...]]] = {
    "workers": (WorkerRow, ("worker_id",)),
    "enterprises": (EnterpriseRow, ("enterprise_id",)),
    "jobs": (JobRow, ("job_id",)),
    "pairings": (PairingRow, ("district_code", "county_code")),
}
BOOKKEEPING = frozenset({"content_sha256", "created_batch_id", "updated_batch_id"})


# --- Placement runs, job fairs, placement outcomes (migration 0002_runs) -------------------------
# Runs are keyed by worker/job ids as text, not by foreign keys to the record tables: a run placed
# from a data folder has no records in the store, and a record may change after the run.


class PlacementRunRow(Base):
    """One recorded placement run: parameters, inputs, versions and the solver's answer."""

    __tablename__ = "placement_runs"
    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="plan")
    base_run_id: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(StoreJSON())
    input_sha256: Mapped[str] = mapped_column(String(HASH_LEN), index=True)
    model: Mapped[str] = mapped_column(Text)
    versions: Mapped[dict[str, Any]] = mapped_column(StoreJSON())
    status: Mapped[str] = mapped_column(String(32))
    solver: Mapped[str] = mapped_column(String(64))
    objective: Mapped[float] = mapped_column(Float)
    bound: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    n_workers: Mapped[int] = mapped_column(Integer)
    n_jobs: Mapped[int] = mapped_column(Integer)
    n_openings: Mapped[int] = mapped_column(Integer)
    n_placed: Mapped[int] = mapped_column(Integer)
    n_candidates: Mapped[int] = mapped_column(Integer)
    assignment_sha256: Mapped[str] = mapped_column(String(HASH_LEN))
    summary: Mapped[dict[str, Any]] = mapped_column(StoreJSON())


class RunAssignmentRow(Base):
    """A worker placed by a run, with the score, its factors and the explanation sentences."""

    __tablename__ = "run_assignments"
    run_id: Mapped[str] = mapped_column(
        ForeignKey("placement_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(ID_LEN))
    enterprise_id: Mapped[str] = mapped_column(String(ID_LEN))
    home_county_code: Mapped[str] = mapped_column(String(CODE_LEN))
    location_code: Mapped[str] = mapped_column(String(CODE_LEN))
    score: Mapped[float] = mapped_column(Float)
    factors: Mapped[dict[str, Any]] = mapped_column(StoreJSON())
    explanation_zh: Mapped[str] = mapped_column(Text, default="")
    explanation_en: Mapped[str] = mapped_column(Text, default="")


class RunUnplacedRow(Base):
    """A worker a run left unplaced, with the optimizer's reason and a skill-gap hint if any."""

    __tablename__ = "run_unplaced"
    run_id: Mapped[str] = mapped_column(
        ForeignKey("placement_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    home_county_code: Mapped[str] = mapped_column(String(CODE_LEN))
    reason: Mapped[str] = mapped_column(String(32))
    hint_zh: Mapped[str] = mapped_column(Text, default="")
    hint_en: Mapped[str] = mapped_column(Text, default="")
    skill_gap: Mapped[dict[str, Any] | None] = mapped_column(StoreJSON())


class JobFairRow(Base):
    """A dedicated job fair (专场招聘会) held for a paired county."""

    __tablename__ = "job_fairs"
    fair_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    held_on: Mapped[dt.date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(Text, default="")
    district_code: Mapped[str | None] = mapped_column(String(CODE_LEN))
    county_code: Mapped[str] = mapped_column(String(CODE_LEN))
    fair_type: Mapped[str] = mapped_column(String(16), default="dedicated")  # 0006_programme
    n_enterprises: Mapped[int] = mapped_column(Integer, default=0)
    n_jobs: Mapped[int] = mapped_column(Integer, default=0)
    n_attendees: Mapped[int] = mapped_column(Integer, default=0)
    n_intents: Mapped[int] = mapped_column(Integer, default=0)  # 达成意向人数 (0006_programme)
    n_hires: Mapped[int] = mapped_column(Integer, default=0)  # 录用人数
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SupplyListSentRow(Base):
    """A 岗位供给清单 sent to a paired county (migration 0006_programme): when, and what it held."""

    __tablename__ = "supply_lists_sent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    county_code: Mapped[str] = mapped_column(String(CODE_LEN), index=True)
    sent_on: Mapped[dt.date] = mapped_column(Date, index=True)
    n_jobs: Mapped[int] = mapped_column(Integer)
    n_openings: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PlacementOutcomeRow(Base):
    """What became of a placement: started, left after N days, still employed at 3 and 6 months."""

    __tablename__ = "placement_outcomes"
    run_id: Mapped[str] = mapped_column(
        ForeignKey("placement_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(ID_LEN))
    enterprise_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    location_code: Mapped[str] = mapped_column(String(CODE_LEN))
    started: Mapped[bool] = mapped_column(Boolean)
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    left_after_days: Mapped[int | None] = mapped_column(Integer)
    employed_3m: Mapped[bool | None] = mapped_column(Boolean)
    employed_6m: Mapped[bool | None] = mapped_column(Boolean)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# --- end of placement runs block -------------------------------------------------------------------


# --- API keys and the audit log (api/auth.py, api/audit.py; migration 0003_auth) -------------------


class ApiKeyRow(Base):
    """An API key of the HTTP service: only its SHA-256 is kept, with its role and scope.

    ``prefix`` (the key's first characters, shown when it is created) identifies a key in lists and
    audit rows without revealing it. ``district_code`` scopes a district officer, ``enterprise_id``
    an enterprise user. A revoked key stays, so audit rows keep pointing at it.
    """

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(HASH_LEN), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    district_code: Mapped[str | None] = mapped_column(String(CODE_LEN))
    enterprise_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    label: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """``None``: the key never expires (migration 0004_sessions)."""


class WebSessionRow(Base):
    """A console session (migration 0004_sessions): the SHA-256 of its random id, its key, its end.

    It ends at ``expires_at``, at sign-out (``revoked_at``), or with its key (revoked or expired).
    """

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(HASH_LEN), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """One read of personal data: which key, which route, which worker, when.

    ``key_id`` is empty for what no key did: a CLI command run on the store's machine (its
    ``detail`` says which and by whom).
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(128))
    worker_id: Mapped[str | None] = mapped_column(String(ID_LEN), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
