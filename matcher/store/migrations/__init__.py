"""Alembic migrations of the store, run programmatically by :func:`matcher.store.engine.migrate`."""
