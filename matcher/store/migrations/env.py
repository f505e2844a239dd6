"""Alembic environment: runs on the connection handed over by :func:`matcher.store.engine.migrate`.

No ``alembic.ini`` is involved; the connection arrives in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from matcher.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable when alembic is run by hand
    raise RuntimeError("run migrations through matcher.store.engine.migrate(), not the alembic CLI")

# render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
