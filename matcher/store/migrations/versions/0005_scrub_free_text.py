"""Data only: mask the ID numbers and phones typed into free text before imports masked them.

A store written before this revision may hold them in clear (issue 16, item 4): in the free-text
columns of workers, enterprises, jobs and job fairs (:data:`matcher.pii.FREE_TEXT`), in the old and
new values of the ``record_changes`` history, and in what placement runs wrote from those texts
(explanations, hints, skill-gap suggestions). Every one of them goes through
:func:`matcher.pii.scrub`, the function imports and ``PATCH`` use, so the result is what an import
writes today. A record row that changes gets its ``content_sha256`` again, so importing the same
file afterwards finds it unchanged. No history row is added for this: it is the history that is
being cleaned. Tables are reflected, not taken from the models, so that later schema changes do not
alter what this revision reads. There is no downgrade: a masked number cannot be unmasked.

Revision ID: 0005_scrub_free_text
Revises: 0004_sessions
Create Date: 2026-06-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from matcher.pii import scrub
from matcher.store.convert import content_hash

revision = "0005_scrub_free_text"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None

# The free-text columns as they were at this revision (later ones come with later revisions).
_WORKER_TEXT = ("education", "skills", "experience", "desired_occupations", "current_employer")

# table -> (text columns, JSON columns, whether rows carry a content hash)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "workers": (_WORKER_TEXT, (), True),
    "enterprises": (("name",), (), True),
    "jobs": (("title", "description"), (), True),
    "job_fairs": (("place",), (), False),
    "record_changes": ((), ("changes",), False),
    "run_assignments": (("explanation_zh", "explanation_en"), (), False),
    "run_unplaced": (("hint_zh", "hint_en"), ("skill_gap",), False),
}


def scrub_json(value: Any) -> Any:
    """``value`` with every string in it scrubbed (lists and objects walked)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_json(v) for k, v in value.items()}
    return value


def scrub_table(conn: sa.Connection, name: str) -> int:
    """Scrub one table in place; the number of rows changed."""
    texts, jsons, hashed = TABLES[name]
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    pk = list(table.primary_key.columns)
    changed: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for row in conn.execute(sa.select(table)).mappings():
        new = {c: s for c in texts if isinstance(row[c], str) and (s := scrub(row[c])) != row[c]}
        new |= {c: v for c in jsons if (v := scrub_json(row[c])) != row[c]}
        if not new:
            continue
        if hashed:
            new["content_sha256"] = content_hash({**row, **new})
        changed.append((tuple(row[c.name] for c in pk), new))
    for key, values in changed:
        conn.execute(sa.update(table).where(*(c == k for c, k in zip(pk, key, strict=True))).values(values))
    return len(changed)


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # zero the space the old values leave, so no free page of the file keeps a number
        before = conn.exec_driver_sql("PRAGMA secure_delete").scalar()
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    for name in TABLES:
        scrub_table(conn, name)
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA secure_delete = {int(before or 0)}")


def downgrade() -> None:
    pass  # masked numbers stay masked
