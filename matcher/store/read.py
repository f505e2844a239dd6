"""Reading the store: a :class:`~matcher.dataset.Dataset` for placement, and rows for exports.

Exports show ID numbers and phones masked, always: the store holds only their keyed hashes and
masked forms (see :mod:`matcher.pii`). Names are stored in clear and exported masked unless the
caller asks for them unmasked; that request is logged on the ``laborbridge.audit`` logger.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, select

from matcher.dataset import Dataset
from matcher.geo import builtin_pairings
from matcher.pii import mask_name, scrub_fields
from matcher.records import COLUMNS, RECORD_TYPES, to_row
from matcher.store.convert import from_db
from matcher.store.engine import open_engine
from matcher.store.models import RECORD_TABLES, ImportBatch, bytewise

audit = logging.getLogger("laborbridge.audit")
FETCH = 5000  # rows per fetch when streaming a table


def iter_stored(engine: Engine, kind: str, where: Any = None) -> Iterator[tuple[BaseModel, str]]:
    """``(record, content_sha256)`` of every stored ``kind`` record, in byte order of its key.

    ``where``: a SQL condition on the kind's table that picks the records (default: all).
    """
    model, pk = RECORD_TABLES[kind]
    table = model.__table__
    q = select(table).order_by(*(bytewise(table.c[c]) for c in pk)).execution_options(yield_per=FETCH)
    if where is not None:
        q = q.where(where)
    with engine.connect() as conn:
        for row in conn.execute(q).mappings():
            yield from_db(kind, row), row["content_sha256"]


def store_generation(engine: Engine) -> int:
    """The id of the newest import batch (0 for an empty store).

    Every write of a record (an import, an edit) is a batch, so two reads that give the same
    generation saw the same records: a process that fitted on generation ``g`` knows its copy is
    current while the store still answers ``g``.
    """
    from sqlalchemy import func

    with engine.connect() as conn:
        return int(conn.execute(select(func.max(ImportBatch.__table__.c.id))).scalar() or 0)


def dataset_from_engine(engine: Engine) -> Dataset:
    """Every stored record as a Dataset; ``input_sha256`` hashes the stored content in key order.

    Without stored pairings the built-in ones apply, as for a folder without ``pairings.csv``.
    """
    digest = hashlib.sha256()
    parts: dict[str, list[BaseModel]] = {}
    for kind in RECORD_TYPES:
        digest.update(kind.encode() + b"\0")
        parts[kind] = []
        for record, sha in iter_stored(engine, kind):
            parts[kind].append(record)
            digest.update(sha.encode())
    if not parts["pairings"]:
        parts["pairings"] = list(builtin_pairings())
        digest.update(b"builtin-pairings")
    return Dataset(
        workers=parts["workers"],  # type: ignore[arg-type]
        enterprises=parts["enterprises"],  # type: ignore[arg-type]
        jobs=parts["jobs"],  # type: ignore[arg-type]
        pairings=parts["pairings"],  # type: ignore[arg-type]
        input_sha256=digest.hexdigest(),
    )


def load_dataset(db_url: str) -> Dataset:
    """The store at ``db_url`` as a :class:`Dataset` (what ``laborbridge place --db`` places).

    Workers carry masked ID numbers and phones; placement does not use them.
    """
    engine = open_engine(db_url)
    try:
        return dataset_from_engine(engine)
    finally:
        engine.dispose()


def export_rows(
    engine: Engine, kind: str, *, unmasked_names: bool = False, where: Any = None
) -> Iterator[dict[str, str]]:
    """Canonical CSV cells of every stored ``kind`` record (those ``where`` picks), personal values masked.

    ``unmasked_names`` shows workers' names in clear (logged); ID numbers and phones stay masked
    because the store cannot recover them.
    """
    if kind not in RECORD_TYPES:
        raise ValueError(f"unknown record type {kind!r}; one of {', '.join(RECORD_TYPES)}")
    if kind == "workers" and unmasked_names:
        audit.warning("export of workers with unmasked names requested")
    for record, _ in iter_stored(engine, kind, where):
        # free text was masked on entry; scrubbing again covers a value that came in some other way
        row = scrub_fields(kind, to_row(record))
        if kind == "workers" and not unmasked_names:
            row["name"] = mask_name(row["name"])
        yield row


def export_columns(kind: str) -> tuple[str, ...]:
    """The columns of an export of ``kind`` (the canonical CSV columns)."""
    return COLUMNS[kind]
