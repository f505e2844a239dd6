"""Records in the store as the API reads and edits them: by id, by page, within a caller's scope.

Every read takes the caller's :class:`~api.auth.Scope` and answers :class:`NotFoundError` both for
an id that does not exist and for one the caller may not see, so a response never tells which:
the scope is part of the ``WHERE`` of the one query that looks the id up, so both take the same
path (and the same time). The ``*_filter`` functions are those clauses, the rules of
:class:`~api.auth.Scope` in SQL; the console's pages and every download read through them too.
Lists page by key (``after`` the last id of the previous page), which stays fast and stable on
large tables. An edit (PATCH) goes through the import path: the merged record is validated like
an imported row (ID number check digit and its agreement with birth year and gender, admin codes,
enterprise references) and written with its history, the change row naming the route and the
key's prefix. Only the city administrator may change the fields that decide scope
(:data:`~api.auth.SCOPE_FIELDS`), and the record after the change must still be the caller's.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, Select, and_, false, or_, select, true
from sqlalchemy.sql import ColumnElement

from api.auth import Role, Scope
from api.errors import Forbidden
from matcher.dataset import Dataset
from matcher.errors import InputError, NotFoundError
from matcher.geo import builtin_pairings
from matcher.ingest.admin_codes import AdminCodes
from matcher.ingest.pipeline import IngestResult
from matcher.ingest.readers import RawRow
from matcher.ingest.report import ImportReport
from matcher.ingest.validate import Loaded, RowValidator, check_set
from matcher.pii import is_masked
from matcher.records import LIST_SEPARATOR, Enterprise, Job, Worker, to_row
from matcher.store import existing_enterprise_ids, import_ingested
from matcher.store.convert import from_db
from matcher.store.models import (
    EnterpriseRow,
    JobRow,
    PairingRow,
    RunAssignmentRow,
    RunUnplacedRow,
    WorkerRow,
)

KIND_KEYS = {"workers": "worker_id", "enterprises": "enterprise_id", "jobs": "job_id"}
CHUNK = 500  # ids in one IN (...): far below every dialect's bound-parameter limit
_ENT = EnterpriseRow.__table__
_JOB = JobRow.__table__
_WRK = WorkerRow.__table__
_ASG = RunAssignmentRow.__table__
_UNP = RunUnplacedRow.__table__


def paired_counties(engine: Engine, district: str) -> frozenset[str]:
    """Counties paired with ``district``: the stored pairings, else the built-in ones."""
    with engine.connect() as conn:
        any_stored = conn.execute(select(PairingRow.district_code).limit(1)).first() is not None
        if any_stored:
            rows = conn.execute(select(PairingRow.county_code).where(PairingRow.district_code == district))
            return frozenset(rows.scalars())
    return frozenset(p.county_code for p in builtin_pairings() if p.district_code == district)


# --------------------------------------------------------------------------- placed in a district
def placed_worker_ids(district: str) -> Select[Any]:
    """A SELECT of the ids of workers any recorded placement run placed in ``district``."""
    return select(_ASG.c.worker_id).where(_ASG.c.location_code == district)


# --------------------------------------------------------------------------- filters
def worker_filter(scope: Scope) -> ColumnElement[bool]:
    """On ``workers``: the workers ``scope`` sees."""
    if scope.all_workers:
        return true()
    if scope.role is not Role.district_officer:
        return false()
    cond = _WRK.c.home_county_code.in_(sorted(scope.counties or ()))
    return or_(cond, _WRK.c.worker_id.in_(placed_worker_ids(scope.district or "")))


def enterprise_filter(scope: Scope) -> ColumnElement[bool]:
    """On ``enterprises``: the enterprises ``scope`` sees."""
    if scope.role is Role.enterprise:
        return _ENT.c.enterprise_id == (scope.enterprise or "")
    if scope.districts is None:
        return true()
    return _ENT.c.location_code.in_(sorted(scope.districts))


def job_filter(scope: Scope) -> ColumnElement[bool]:
    """On ``jobs`` (joined to ``enterprises`` or not): jobs of the scope's enterprises or located in
    its districts."""
    if scope.role is Role.enterprise:
        return _JOB.c.enterprise_id == (scope.enterprise or "")
    if scope.districts is None:
        return true()
    d = sorted(scope.districts)
    located = select(_ENT.c.enterprise_id).where(_ENT.c.location_code.in_(d))
    return or_(_JOB.c.enterprise_id.in_(located), _JOB.c.location_code.in_(d))


def assignment_filter(scope: Scope) -> ColumnElement[bool]:
    """On ``run_assignments``: a district officer sees its counties' workers and the placements into
    its district; an enterprise the placements into its own jobs."""
    if scope.role is Role.enterprise:
        return _ASG.c.enterprise_id == (scope.enterprise or "")
    if scope.role is Role.district_officer:
        return or_(
            _ASG.c.home_county_code.in_(sorted(scope.counties or ())),
            _ASG.c.location_code == (scope.district or ""),
        )
    return true()


def unplaced_filter(scope: Scope) -> ColumnElement[bool]:
    """On ``run_unplaced``: the unplaced workers of the scope's counties (an enterprise: none)."""
    if scope.all_workers:
        return true()
    if scope.role is not Role.district_officer:
        return false()
    return _UNP.c.home_county_code.in_(sorted(scope.counties or ()))


# --------------------------------------------------------------------------- reads
def get_worker(engine: Engine, worker_id: str, scope: Scope) -> Worker:
    """The worker (ID number and phone masked), if the scope sees it: one query, the scope in its
    ``WHERE``, so an unknown id and one out of scope take the same path to the same 404."""
    q = select(_WRK).where(_WRK.c.worker_id == worker_id, worker_filter(scope))
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFoundError(f"worker {worker_id} not found")
    return from_db("workers", row)


def visible_worker(engine: Engine, dataset: Dataset, worker_id: str, scope: Scope) -> Worker:
    """:func:`get_worker` on an in-memory copy of the store's records (``dataset``, current).

    A worker the scope sees by its home county alone comes from memory; every other id (unknown,
    out of scope, or seen only through a placement) goes through :func:`get_worker`'s one query.
    """
    worker = dataset.worker_by_id.get(worker_id)
    if worker is not None and scope.sees_county(worker.home_county_code):
        return worker
    stored = get_worker(engine, worker_id, scope)
    return worker if worker is not None else stored


def visible_worker_ids(engine: Engine, worker_ids: Iterable[str], scope: Scope) -> set[str]:
    """Those of ``worker_ids`` that ``scope`` sees."""
    return _visible_ids(engine, _WRK.c.worker_id, worker_filter(scope), worker_ids)


def visible_job_ids(engine: Engine, job_ids: Iterable[str], scope: Scope) -> set[str]:
    """Those of ``job_ids`` that ``scope`` sees."""
    return _visible_ids(engine, _JOB.c.job_id, job_filter(scope), job_ids)


def _visible_ids(engine: Engine, key: Any, cond: ColumnElement[bool], ids: Iterable[str]) -> set[str]:
    wanted = set(ids)
    if not wanted:
        return set()
    # a few ids: looked up; many (a run's every job): the scope's own ids, in one query
    q = select(key).where(key.in_(sorted(wanted)), cond) if len(wanted) <= CHUNK else select(key).where(cond)
    with engine.connect() as conn:
        return set(conn.execute(q).scalars()) & wanted


def get_enterprise(engine: Engine, enterprise_id: str, scope: Scope) -> Enterprise:
    q = select(_ENT).where(_ENT.c.enterprise_id == enterprise_id, enterprise_filter(scope))
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFoundError(f"enterprise {enterprise_id} not found")
    return from_db("enterprises", row)


def get_job(engine: Engine, job_id: str, scope: Scope) -> Job:
    q = select(_JOB).where(_JOB.c.job_id == job_id, job_filter(scope))
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFoundError(f"job {job_id} not found")
    return from_db("jobs", row)


def get_record(engine: Engine, kind: str, record_id: str, scope: Scope) -> Worker | Enterprise | Job:
    if kind == "workers":
        return get_worker(engine, record_id, scope)
    if kind == "enterprises":
        return get_enterprise(engine, record_id, scope)
    if kind == "jobs":
        return get_job(engine, record_id, scope)
    raise KeyError(kind)


def list_records(
    engine: Engine,
    kind: str,
    scope: Scope,
    *,
    after: str | None,
    limit: int,
    where: Mapping[str, str] | None = None,
) -> tuple[list[BaseModel], str | None]:
    """One page of ``kind`` records visible to ``scope``, in id order after ``after``.

    ``where``: exact-match filters on plain columns (e.g. ``home_county_code``). Returns the
    records and the id to pass as ``after`` for the next page (``None`` on the last page).
    """
    table, cond = {
        "workers": (_WRK, worker_filter),
        "enterprises": (_ENT, enterprise_filter),
        "jobs": (_JOB, job_filter),
    }[kind]
    key = table.c[KIND_KEYS[kind]]
    filters = [cond(scope)]
    if after is not None:
        filters.append(key > after)
    for col, value in (where or {}).items():
        filters.append(table.c[col] == value)
    q = select(table).where(and_(*filters)).order_by(key).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    records = [from_db(kind, r) for r in rows[:limit]]
    nxt = rows[limit - 1][KIND_KEYS[kind]] if len(rows) > limit else None
    return records, nxt


# --------------------------------------------------------------------------- edits
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def patch_record(
    engine: Engine,
    kind: str,
    record_id: str,
    changes: Mapping[str, Any],
    scope: Scope,
    *,
    key: bytes,
    admin: AdminCodes,
    origin: str,
) -> tuple[Worker | Enterprise | Job, ImportReport]:
    """Apply ``changes`` to a visible record, validated as an imported row would be.

    A field that decides scope (:data:`~api.auth.SCOPE_FIELDS`: where an enterprise or a job is,
    whose job it is, a worker's home county) changes only by the city administrator's hand
    (:class:`Forbidden` naming the field otherwise). Every field the scope filters above read is
    one of those, so a record stays inside its editor's scope after the change: the city
    administrator's scope is the whole city. A worker's birth year and gender must agree with
    the ID number, as at import. ``origin`` names the change in the store's history.
    """
    current = get_record(engine, kind, record_id, scope)
    cells = to_row(current)
    new_cells = {k: _cell(v) for k, v in changes.items()}
    for field in sorted(new_cells):
        if new_cells[field] != cells.get(field, "") and not scope.may_change(kind, field):
            raise Forbidden(
                f"{field} decides who sees the record: only the city administrator may change it",
                field=field,
            )
    if kind == "workers":
        _check_id_number(cells, new_cells)
    cells.update(new_cells)
    record, errors = RowValidator(kind, admin)(RawRow(row=1, cells=cells), origin)
    if errors:
        raise _plain(errors[0])
    assert record is not None
    if kind == "jobs":
        kept, errs = check_set(
            {"jobs": [Loaded(record, origin, 1)]}, known_enterprises=existing_enterprise_ids(engine)
        )
        if errs:
            raise _plain(errs[0])
    result = IngestResult()
    result.records[kind] = [Loaded(record, origin, 1)]
    report = import_ingested(engine, result, key=key)
    if report.rejected:
        raise _plain(report.rejected[0])
    return get_record(engine, kind, record_id, scope), report


def _plain(err: InputError) -> InputError:
    """An edit's error without the file and row of the import path it went through."""
    return InputError(err.reason, field=err.field, value=err.value)


def _check_id_number(cells: Mapping[str, str], new: Mapping[str, str]) -> None:
    """What the import check (:mod:`matcher.ingest.validate`) cannot see on a stored worker.

    The store keeps the ID number masked (``120101********123X``): the import check still reads the
    gender from it, but not the birth year. So a new birth year needs the full ID number beside it,
    and an ID number is sent in full: a masked one may only repeat the stored one.
    """
    stored, sent = cells.get("id_number", ""), new.get("id_number")
    if sent is not None and sent != stored and is_masked("id_number", sent):
        raise InputError(
            "send the full ID number: a masked one may only repeat the stored one", field="id_number"
        )
    kept_masked = is_masked("id_number", stored if sent is None else sent)
    if kept_masked and new.get("birth_year", cells.get("birth_year")) != cells.get("birth_year"):
        raise InputError(
            "birth_year must agree with the ID number, which the store keeps masked: send the full "
            "id_number with the new birth_year",
            field="birth_year",
        )
