"""Placement runs, job fairs, supply lists sent and placement outcomes in the store.

:func:`record_run` writes a :class:`~matcher.runs.record.RunRecord` in one transaction: the run row, its
assignments and its unplaced workers appear together or not at all, so a process killed while
recording (even by SIGKILL) leaves no partial run. Runs are found by id, unique id prefix, or
``latest`` (``latest~1`` the one before).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, insert, select

from matcher.errors import NotFoundError, RecordError
from matcher.store.convert import unfit_values
from matcher.store.models import (
    JobFairRow,
    PlacementOutcomeRow,
    PlacementRunRow,
    RunAssignmentRow,
    RunUnplacedRow,
    SupplyListSentRow,
    bytewise,
)

BATCH = 5000
IN_LIST = 500  # ids per "IN (...)" list
T = TypeVar("T")


def _batches(rows: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _check_fit(table: Any, rows: Iterable[Mapping[str, Any]], key: str) -> None:
    """:class:`RecordError` for the first value its column cannot hold (see ``unfit_values``)."""
    for r in rows:
        for col, reason in unfit_values(table.__table__, r):
            raise RecordError(f"{key} {r[key]}: {reason}", field=col, value=str(r[col])[:80])


def record_run(engine: Engine, record: Any, *, on_batch: Any = None) -> str:
    """Store ``record`` (a :class:`matcher.runs.record.RunRecord`) in one transaction; returns its id.

    ``on_batch(n_rows)`` is called after each batch of rows (for a progress bar).
    """
    with engine.begin() as conn:
        conn.execute(insert(PlacementRunRow), [record.header()])
        run_id = record.run_id
        for table, rows in ((RunAssignmentRow, record.assignments), (RunUnplacedRow, record.unplaced)):
            for chunk in _batches(rows):
                conn.execute(insert(table), [{"run_id": run_id, **r} for r in chunk])
                if on_batch:
                    on_batch(len(chunk))
    return run_id


def list_runs(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` runs' rows (without the summary), newest first."""
    t = PlacementRunRow.__table__
    cols = [c for c in t.c if c.name != "summary"]
    q = select(*cols).order_by(t.c.created_at.desc(), bytewise(t.c.run_id).desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def resolve_run_id(engine: Engine, ref: str) -> str:
    """The full id of the run ``ref`` names (id, unique prefix, ``latest`` or ``latest~N``)."""
    t = PlacementRunRow.__table__
    with engine.connect() as conn:
        if ref == "latest" or ref.startswith("latest~"):
            n = int(ref.split("~", 1)[1]) if "~" in ref else 0
            q = (
                select(t.c.run_id)
                .order_by(t.c.created_at.desc(), bytewise(t.c.run_id).desc())
                .offset(n)
                .limit(1)
            )
            found = conn.execute(q).scalar()
            if found is None:
                raise NotFoundError(f"no run {ref}: the store has fewer recorded runs")
            return found
        # Any case, on every backend: SQLite's LIKE ignores the case of ASCII letters, PostgreSQL's not.
        prefix = func.lower(t.c.run_id).startswith(ref.lower(), autoescape=True)
        q = select(t.c.run_id).where(prefix).order_by(bytewise(t.c.run_id)).limit(3)
        ids = list(conn.execute(q).scalars())
    if not ids:
        raise NotFoundError(f"no recorded run {ref!r}")
    if len(ids) > 1 and ref not in ids:
        raise NotFoundError(f"run id prefix {ref!r} is ambiguous ({', '.join(ids)}, ...)")
    return ref if ref in ids else ids[0]


def get_run(engine: Engine, ref: str) -> dict[str, Any]:
    """The ``placement_runs`` row of run ``ref`` (see :func:`resolve_run_id`)."""
    run_id = resolve_run_id(engine, ref)
    with engine.connect() as conn:
        row = conn.execute(
            select(PlacementRunRow.__table__).where(PlacementRunRow.run_id == run_id)
        ).mappings()
        return dict(row.one())


def _rows(engine: Engine, table: Any, run_id: str) -> list[dict[str, Any]]:
    t = table.__table__
    q = select(t).where(t.c.run_id == run_id).order_by(bytewise(t.c.worker_id))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def run_assignments(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """Every assignment of run ``run_id``, by worker id."""
    return _rows(engine, RunAssignmentRow, run_id)


def run_unplaced(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """Every unplaced worker of run ``run_id``, by worker id."""
    return _rows(engine, RunUnplacedRow, run_id)


def runs_in_year(engine: Engine, year: int) -> list[dict[str, Any]]:
    """Plan and re-match runs whose parameters name reference year ``year``, oldest first."""
    t = PlacementRunRow.__table__
    q = select(t.c.run_id, t.c.created_at, t.c.params, t.c.kind, t.c.input_sha256).order_by(
        t.c.created_at, bytewise(t.c.run_id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings() if (r["params"] or {}).get("year") == year]


# --------------------------------------------------------------------------------- job fairs


def upsert_job_fairs(engine: Engine, fairs: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace job fairs by ``fair_id`` in one transaction; returns how many.

    :class:`RecordError` for a value the store cannot hold; nothing is written then.
    """
    now = dt.datetime.now(dt.UTC)
    rows = [{**f, "recorded_at": now} for f in fairs]
    _check_fit(JobFairRow, rows, "fair_id")
    with engine.begin() as conn:
        ids = [r["fair_id"] for r in rows]
        for chunk in _batches(ids, IN_LIST):
            conn.execute(delete(JobFairRow).where(JobFairRow.fair_id.in_(chunk)))
        for chunk in _batches(rows):
            conn.execute(insert(JobFairRow), list(chunk))
    return len(rows)


def job_fairs(engine: Engine, year: int | None = None) -> list[dict[str, Any]]:
    """Job fairs (held in ``year`` when given), by date."""
    t = JobFairRow.__table__
    q = select(t).order_by(t.c.held_on, bytewise(t.c.fair_id))
    if year is not None:
        q = q.where(t.c.held_on >= dt.date(year, 1, 1), t.c.held_on <= dt.date(year, 12, 31))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


# ------------------------------------------------------------------------- supply lists sent
def record_supply_lists_sent(engine: Engine, sent: Iterable[Mapping[str, Any]]) -> int:
    """Record 岗位供给清单 sent (``county_code``, ``sent_on``, ``n_jobs``, ``n_openings``); how many."""
    now = dt.datetime.now(dt.UTC)
    rows = [{**s, "recorded_at": now} for s in sent]
    _check_fit(SupplyListSentRow, rows, "county_code")
    with engine.begin() as conn:
        for chunk in _batches(rows):
            conn.execute(insert(SupplyListSentRow), list(chunk))
    return len(rows)


def supply_lists_sent(engine: Engine, year: int | None = None) -> list[dict[str, Any]]:
    """Supply lists recorded as sent (in ``year`` when given), by date and county."""
    t = SupplyListSentRow.__table__
    q = select(t.c.county_code, t.c.sent_on, t.c.n_jobs, t.c.n_openings, t.c.recorded_at)
    q = q.order_by(t.c.sent_on, bytewise(t.c.county_code), t.c.id)
    if year is not None:
        q = q.where(t.c.sent_on >= dt.date(year, 1, 1), t.c.sent_on <= dt.date(year, 12, 31))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


# ---------------------------------------------------------------------------------- outcomes


def record_outcomes(engine: Engine, run_id: str, outcomes: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace outcomes of run ``run_id``'s placements, in one transaction.

    Each outcome names a worker placed by that run; its job, enterprise and location come from
    the run. :class:`NotFoundError` for a worker the run did not place, :class:`RecordError` for a
    value the store cannot hold; nothing is written then.
    """
    placed = {a["worker_id"]: a for a in run_assignments(engine, run_id)}
    now = dt.datetime.now(dt.UTC)
    rows = []
    for o in outcomes:
        a = placed.get(o["worker_id"])
        if a is None:
            raise NotFoundError(f"worker {o['worker_id']} was not placed by run {run_id}")
        rows.append(
            {
                "run_id": run_id,
                "worker_id": o["worker_id"],
                "job_id": a["job_id"],
                "enterprise_id": a["enterprise_id"],
                "location_code": a["location_code"],
                "started": bool(o.get("started", True)),
                "started_on": o.get("started_on"),
                "left_after_days": o.get("left_after_days"),
                "employed_3m": o.get("employed_3m"),
                "employed_6m": o.get("employed_6m"),
                "recorded_at": now,
            }
        )
    _check_fit(PlacementOutcomeRow, rows, "worker_id")
    with engine.begin() as conn:
        ids = [r["worker_id"] for r in rows]
        for chunk in _batches(ids, IN_LIST):
            conn.execute(
                delete(PlacementOutcomeRow).where(
                    PlacementOutcomeRow.run_id == run_id, PlacementOutcomeRow.worker_id.in_(chunk)
                )
            )
        for chunk in _batches(rows):
            conn.execute(insert(PlacementOutcomeRow), list(chunk))
    return len(rows)


def outcomes(engine: Engine, run_id: str | None = None) -> list[dict[str, Any]]:
    """Recorded outcomes (of one run, or all), by run and worker."""
    t = PlacementOutcomeRow.__table__
    q = select(t).order_by(bytewise(t.c.run_id), bytewise(t.c.worker_id))
    if run_id is not None:
        q = q.where(t.c.run_id == run_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
