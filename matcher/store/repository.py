"""Importing into the store: one transaction per import, idempotent, with its history.

For each valid record the store either creates it, updates it (its stored values differ), or
leaves it alone (same ``content_sha256``). Nothing is written when nothing changed, so importing
the same files twice leaves the store exactly as it was. Records missing from an import are kept:
an import never deletes. Every creation and update is a ``record_changes`` row of the import's
batch, with the file and row it came from. Imports run one at a time (a lock their transaction
holds), each planning from what the one before it committed.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    false,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from matcher.errors import RecordError
from matcher.ingest.admin_codes import AdminCodes
from matcher.ingest.pipeline import IngestResult, ingest
from matcher.ingest.report import ImportReport
from matcher.ingest.validate import Item, Plain, shown
from matcher.store.bulk import bulk_insert, indexes_after, insert_columns
from matcher.store.convert import (
    PERSONAL_PAIRS,
    changed_fields,
    content_hashes,
    keep_masked,
    protect_plain,
    record_field,
    record_key,
    record_keys,
    to_db,
    unfit_rows,
    unfit_values,
)
from matcher.store.engine import check_key, open_engine
from matcher.store.models import RECORD_TABLES as TABLES
from matcher.store.models import EnterpriseRow, ImportBatch, RecordChange, StoreMeta, WorkerRow, table_of

ORDER = ("enterprises", "jobs", "workers", "pairings")  # parents before children (jobs → enterprises)
# The stored columns an import compares before it knows which rows changed: the hash of the values,
# and those :func:`keep_masked` may keep (the rest of a changed row is read for its history).
COMPARED = ("content_sha256", "name", *(c for pair in PERSONAL_PAIRS.values() for c in pair))
CHUNK = 500  # ids per IN (...) query: far below every dialect's bound-parameter limit
SCAN_AT = 10_000  # at least this many keys, half the table or more: read the table in one pass
IMPORT_CACHE_KIB = 65_536  # SQLite page cache of an importing connection


def _chunks(items: Sequence[Any], n: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def existing_enterprise_ids(engine: Engine) -> set[str]:
    """Enterprise ids already stored (a job may refer to them)."""
    with engine.connect() as conn:
        return set(conn.execute(select(EnterpriseRow.enterprise_id)).scalars())


def _existing(
    conn: Connection, kind: str, keys: list[str], columns: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The stored rows of ``keys`` by key, with every column, or only the key and ``columns``."""
    table = table_of(TABLES[kind][0])
    pk = TABLES[kind][1]
    picked = list(table.c) if columns is None else [table.c[c] for c in (*pk, *columns) if c in table.c]
    if len(pk) > 1:  # pairings: a small table, read whole rather than a dialect-specific tuple IN
        rows = conn.execute(select(*picked)).mappings()
        return {record_key(kind, r): dict(r) for r in rows}
    col = table.c[pk[0]]
    out: dict[str, dict[str, Any]] = {}
    if keys and _empty(conn, table):  # a first import: nothing to look up, key by key
        return out
    names = [c.name for c in picked]
    if len(keys) >= SCAN_AT and 2 * len(keys) >= _count(conn, table):
        # most of a large table (a re-import): one pass over it beats a lookup per key
        wanted = set(keys)
        found = conn.execute(select(*picked))
        out.update((r[0], dict(zip(names, r, strict=True))) for r in found if r[0] in wanted)
        return out
    for part in _chunks(keys):
        found = conn.execute(select(*picked).where(col.in_(part)))
        out.update((r[0], dict(zip(names, r, strict=True))) for r in found)
    return out


def _count(conn: Connection, table: Table) -> int:
    """The rows ``table`` holds (read in the import's transaction)."""
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _empty(conn: Connection, table: Table) -> bool:
    """Whether ``table`` holds no row (read in the import's transaction)."""
    return conn.execute(select(literal(1)).select_from(table).limit(1)).first() is None


def _id_holders(conn: Connection, hashes: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if hashes and _empty(conn, table_of(WorkerRow)):
        return out
    for part in _chunks(hashes):
        q = select(WorkerRow.id_number_hash, WorkerRow.worker_id).where(WorkerRow.id_number_hash.in_(part))
        out.update((h, w) for h, w in conn.execute(q) if h is not None)  # IN (...) matches no NULL
    return out


def _plan(
    conn: Connection, kind: str, items: list[Item], key: bytes, report: ImportReport, unfit: set[str]
) -> tuple[list[tuple[Item, dict]], list[tuple[Item, dict, dict]]]:
    """Split ``items`` into (new, changed) with their stored values; count the unchanged.

    ``unfit``: enterprise ids rejected so far for values the store cannot hold (see
    :func:`_drop_unfit`); filled while planning enterprises, read while planning jobs.
    """
    rows = _drop_unfit(conn, kind, _stored(kind, items, key), report, unfit)
    old = _existing(conn, kind, record_keys(kind, [v for _, v in rows]), COMPARED)
    if kind == "workers":
        rows = _drop_taken_id_numbers(conn, rows, old, report)
    stored = [v for _, v in rows]
    prevs = list(map(old.get, record_keys(kind, stored))) if old else [None] * len(rows)
    for values, prev in zip(stored, prevs, strict=True):
        if prev is not None:
            keep_masked(values, prev)
    new, changed = [], []
    for (it, values), prev, digest in zip(rows, prevs, content_hashes(stored), strict=True):
        values["content_sha256"] = digest
        if prev is None:
            new.append((it, values))
        elif prev["content_sha256"] != digest:
            changed.append((it, values, prev))
        else:
            report.unchanged[kind] += 1
    report.imported[kind] += len(rows)
    if changed:  # the whole stored rows of the changed ones, for their history
        keys = record_keys(kind, [v for _, v, _ in changed])
        full = _existing(conn, kind, keys)
        changed = [(it, v, full[k]) for (it, v, _), k in zip(changed, keys, strict=True)]
    return new, changed


def _stored(kind: str, items: list[Item], key: bytes) -> list[tuple[Item, dict[str, Any]]]:
    """Each valid row with its stored values: a record's by :func:`to_db`, a columnar row's by
    :func:`protect_plain` (the same values, personal numbers protected column by column)."""
    plain = protect_plain(kind, [it.values for it in items if isinstance(it, Plain)], key)
    if len(plain) == len(items):
        return list(zip(items, plain, strict=True))
    values = iter(plain)
    return [(it, next(values) if isinstance(it, Plain) else to_db(kind, it.record, key)) for it in items]


def _shown(column: str, value: Any) -> str:
    """A rejected stored value as a report shows it: personal ones masked, long ones cut."""
    field = record_field(column)
    if field != column:  # a keyed hash or a masked number: nothing worth showing
        return ""
    text = shown(field, value)
    return text if len(text) <= 80 else text[:80] + "…"


def _drop_unfit(
    conn: Connection, kind: str, rows: list[tuple[Item, dict]], report: ImportReport, unfit: set[str]
) -> list[tuple[Item, dict]]:
    """Reject a row holding a value its column cannot hold, and a job of an enterprise so rejected
    (unless the store already holds that enterprise)."""
    table = table_of(TABLES[kind][0])
    stored: set[str] = set()
    if kind == "jobs":
        for part in _chunks(sorted(unfit)):
            q = select(EnterpriseRow.enterprise_id).where(EnterpriseRow.enterprise_id.in_(part))
            stored.update(conn.execute(q).scalars())
    # Column-wise first (cheap); the rows it flags get the exact per-row check and its reasons.
    flagged = set(unfit_rows(table, [v for _, v in rows]))
    if kind == "jobs" and unfit - stored:
        flagged.update(i for i, (_, v) in enumerate(rows) if v["enterprise_id"] in unfit - stored)
    if not flagged:
        return rows
    kept = []
    for i, (it, v) in enumerate(rows):
        if i not in flagged:
            kept.append((it, v))
            continue
        errors = [
            RecordError(reason, file=it.file, row=it.row, field=record_field(col), value=_shown(col, v[col]))
            for col, reason in unfit_values(table, v)
        ]
        if kind == "jobs" and v["enterprise_id"] in unfit - stored:
            ent = v["enterprise_id"]
            reason = f"unknown enterprise_id {ent!r}: its row was rejected"
            errors.append(RecordError(reason, file=it.file, row=it.row, field="enterprise_id", value=ent))
        if not errors:
            kept.append((it, v))
            continue
        report.rejected.extend(errors)
        if kind == "enterprises":
            unfit.add(v["enterprise_id"])
    return kept


def _drop_taken_id_numbers(
    conn: Connection, rows: list[tuple[Item, dict]], old: dict[str, dict], report: ImportReport
) -> list[tuple[Item, dict]]:
    """Reject a worker whose ID number the store holds for another worker who keeps it.

    ``old``: the stored rows of these workers. A number a worker's own stored row holds is held
    by no one else (the column is unique), so only the others are looked up.
    """
    holders = _id_holders(
        conn,
        [
            h
            for _, v in rows
            if (h := v["id_number_hash"]) and old.get(v["worker_id"], {}).get("id_number_hash") != h
        ],
    )
    if not holders:  # a first import, or numbers no other stored worker holds
        return rows
    incoming = {v["worker_id"]: v["id_number_hash"] for _, v in rows}
    kept = []
    for it, v in rows:
        h, wid = v["id_number_hash"], v["worker_id"]
        other = holders.get(h) if h else None
        # The holder keeps the number unless this same import gives them another one.
        if other is not None and other != wid and incoming.get(other, h) == h:
            reason = f"duplicate ID number: the store holds it for worker {other!r}"
            report.rejected.append(
                RecordError(reason, file=it.file, row=it.row, field="id_number", value=v["id_number_masked"])
            )
            continue
        kept.append((it, v))
    return kept


def _write(
    conn: Connection,
    kind: str,
    batch: int,
    new: list[tuple[Item, dict]],
    changed: list[tuple[Item, dict, dict]],
) -> None:
    model, pk = TABLES[kind]
    table = table_of(model)
    if kind == "workers":
        _release_id_numbers(conn, table, changed)
    if new:
        with indexes_after(conn, table, len(new)):
            bulk_insert(
                conn, table, [v for _, v in new], {"created_batch_id": batch, "updated_batch_id": batch}
            )
    if changed:
        where = [table.c[c] == bindparam(f"k_{c}") for c in pk]
        stmt = update(table).where(*where)
        params = [{**v, **{f"k_{c}": v[c] for c in pk}, "updated_batch_id": batch} for _, v, _ in changed]
        conn.execute(stmt, params)
    history = [("created", it, v, None) for it, v in new] + [
        ("updated", it, v, changed_fields(p, v)) for it, v, p in changed
    ]
    if history:
        actions, items, values, diffs = zip(*history, strict=True)
        insert_columns(
            conn,
            table_of(RecordChange),
            {
                "batch_id": [batch] * len(history),
                "kind": [kind] * len(history),
                "record_key": record_keys(kind, values),
                "action": actions,
                "file": [it.file for it in items],
                "row": [it.row for it in items],
                "changes": diffs,
            },
        )


def _release_id_numbers(conn: Connection, table: Table, changed: list[tuple[Item, dict, dict]]) -> None:
    """Clear the stored ID number of every changed worker whose number changes, before any row is
    written: the column is unique, and rows are written one statement at a time, so two workers
    swapping numbers, or a new worker taking the number a changed one gives up (both allowed by
    :func:`_drop_taken_id_numbers`), would otherwise collide half-way. The updates then set each
    worker's new number (or none) in the same transaction."""
    moved = [
        p["worker_id"]
        for _, v, p in changed
        if p["id_number_hash"] and p["id_number_hash"] != v["id_number_hash"]
    ]
    col = table.c["worker_id"]
    for part in _chunks(moved):
        conn.execute(update(table).where(col.in_(part)).values(id_number_hash=None))


def _lock_for_import(conn: Connection) -> None:
    """Hold the store's import lock until this transaction ends, so imports run one at a time.

    An import reads the stored records, plans, then writes: two at once would plan from the same
    state (a duplicate key, or a change recorded against an old value). On PostgreSQL the batch
    ids also come from a sequence, in the order the imports began, not the order they commit, so
    ``store_generation`` could miss a batch committed after a newer one. Readers are not blocked.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {ImportBatch.__tablename__} IN SHARE ROW EXCLUSIVE MODE"))
    else:  # SQLite: a write, even of nothing, takes the database's write lock (waiting busy_timeout)
        conn.execute(update(StoreMeta).where(false()).values(key=StoreMeta.key))


@contextmanager
def _import_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a larger page cache for the import (64 MiB, allocated only as used), then the
    connection's own again: 100,000 new rows go into unique indexes in random key order, which the
    default 2 MiB cache thrashes."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
    conn.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


def import_ingested(
    engine: Engine, result: IngestResult, *, key: bytes, strict: bool = False
) -> ImportReport:
    """Write the valid records of ``result`` in one transaction; returns the report.

    ``strict``: any rejected row (in the files or against the store) aborts the import and
    nothing is written.
    """
    report = ImportReport(rejected=list(result.rejected), files=list(result.sources))
    if strict and report.rejected:
        report.aborted = f"--strict: {len(report.rejected)} rejected row(s), nothing imported"
        return report
    started = dt.datetime.now(dt.UTC)
    with engine.begin() as conn, _import_cache(conn):
        _lock_for_import(conn)
        check_key(conn, key)
        unfit: set[str] = set()
        plans = {kind: _plan(conn, kind, result.records.get(kind, []), key, report, unfit) for kind in ORDER}
        if strict and len(report.rejected) > len(result.rejected):
            report.aborted = f"--strict: {len(report.rejected)} rejected row(s), nothing imported"
            report.imported = dict.fromkeys(report.imported, 0)
            return report
        for kind, (new, changed) in plans.items():
            report.created[kind], report.updated[kind] = len(new), len(changed)
        if not any(new or changed for new, changed in plans.values()):
            return report  # idempotent: the store already holds exactly this
        check_key(conn, key, record=True)
        counts = {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}
        files = [{"file": s.file, "kind": s.kind, "rows": s.rows, "sha256": s.sha256} for s in result.sources]
        inserted = conn.execute(
            insert(table_of(ImportBatch)).values(
                started_at=started, files=files, counts=counts, n_rejected=len(report.rejected)
            )
        ).inserted_primary_key
        assert inserted is not None  # a single-row INSERT: the new row's key
        batch = inserted[0]
        for kind, (new, changed) in plans.items():
            _write(conn, kind, batch, new, changed)
        conn.execute(
            update(table_of(ImportBatch))
            .where(table_of(ImportBatch).c.id == batch)
            .values(finished_at=dt.datetime.now(dt.UTC))
        )
    report.batch_id, report.written = batch, True
    report.rejected.sort(key=lambda e: (e.file or "", e.row or 0, e.field or ""))
    return report


def import_paths(
    url: str,
    paths: Iterable[str | Path],
    *,
    key: bytes,
    strict: bool = False,
    admin: AdminCodes | None = None,
) -> ImportReport:
    """Import CSV/XLSX/JSON files and folders into the store at ``url``: the ``import`` command."""
    engine = open_engine(url)
    try:
        with _collector_paused():
            result = ingest(
                list(paths), known_enterprises=existing_enterprise_ids(engine), admin=admin, columnar=True
            )
            return import_ingested(engine, result, key=key, strict=strict)
    finally:
        engine.dispose()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside (and back as it was after).

    An import makes millions of small objects (cells, rows, stored values) that hold no cycles;
    each collection the allocations trigger walks all of them again: about a sixth of the time of
    a 100,000-worker import. Used by the ``import`` command's process, not by a server's threads."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
