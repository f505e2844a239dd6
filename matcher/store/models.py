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
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


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
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
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
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class WorkerRow(Base):
    __tablename__ = "workers"
    worker_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    id_number_hash: Mapped[str | None] = mapped_column(String(HASH_LEN), unique=True)
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
