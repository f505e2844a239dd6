"""The record store: SQLAlchemy 2 on SQLite by default, PostgreSQL by URL; Alembic migrations.

Modules::

    models      every table (one module; add a migration under migrations/versions per change)
    engine      open_engine(url): engine, SQLite pragmas, migrations; default locations; key check
    convert     records ↔ stored rows (personal numbers as keyed hash + masked form)
    repository  import_paths / import_ingested: transactional, idempotent imports with history
    read        load_dataset(url) for placement, export_rows for exports, store_generation
"""

from matcher.store.engine import default_db_url, default_key_path, migrate, open_engine
from matcher.store.read import (
    dataset_from_engine,
    export_columns,
    export_rows,
    iter_stored,
    load_dataset,
    store_generation,
)
from matcher.store.repository import existing_enterprise_ids, import_ingested, import_paths

__all__ = [
    "dataset_from_engine",
    "default_db_url",
    "default_key_path",
    "existing_enterprise_ids",
    "export_columns",
    "export_rows",
    "import_ingested",
    "import_paths",
    "iter_stored",
    "load_dataset",
    "migrate",
    "open_engine",
    "store_generation",
]
