"""Opening a store: engine, SQLite settings, schema migrations, default locations, the hashing key.

SQLite is the default (a file in the data folder), in WAL mode so readers do not block the
writer, with foreign keys enforced (SQLite leaves them off unless asked per connection). Any other
SQLAlchemy URL works the same way (PostgreSQL: ``postgresql+psycopg://...``); outside the SQLite
pragmas, the only dialect-specific code is locking (here for migrations, in ``repository`` for
imports) and the byte-order sort of ``models.bytewise``. Opening a store brings its schema to the
newest migration, one process at a time.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url

from matcher.errors import ConfigError
from matcher.pii import KEY_FILE_NAME, key_fingerprint
from matcher.store.models import StoreMeta, table_of

log = logging.getLogger(__name__)

DB_FILE_NAME = "laborbridge.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_MS = 10_000
MIGRATION_LOCK = 0x6C62_6D67  # PostgreSQL advisory lock taken while migrating (b"lbmg")


def default_db_url(data_dir: str | Path) -> str:
    """``sqlite:///<data_dir>/laborbridge.db``."""
    return f"sqlite:///{Path(data_dir) / DB_FILE_NAME}"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; ``None`` for other dialects and in-memory databases."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def default_key_path(url: str, data_dir: str | Path) -> Path:
    """Where the key file lives: beside a SQLite file, else in ``data_dir``."""
    db = sqlite_path(url)
    return (db.parent if db else Path(data_dir)) / KEY_FILE_NAME


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")  # first: switching to WAL may wait too
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL, much faster than FULL
    cur.close()


@functools.cache
def _head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def migrate(engine: Engine) -> None:
    """Apply every pending migration (no ``alembic.ini``: the script folder is in the package).

    A store at the newest revision is left alone, without a lock, so opening one never waits for
    a writer. Otherwise the upgrade holds a lock (PostgreSQL: an advisory lock; SQLite: the write
    lock, by ``BEGIN IMMEDIATE``) and runs in one transaction: processes opening a new store at
    once (a service's workers, a command beside it) would otherwise each create its tables, and
    all but one fail.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == _head():
            return
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        elif conn.dialect.name == "sqlite":  # pysqlite opens no transaction for DDL by itself
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")  # reads the revision again, under the lock


def open_engine(url: str, *, migrate_schema: bool = True) -> Engine:
    """An engine for ``url`` with the schema at the newest revision.

    A SQLite file's folder is created if needed. :class:`ConfigError` for a URL SQLAlchemy cannot
    use (unknown dialect, driver not installed).
    """
    try:
        db = sqlite_path(url)
        if db is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
    except Exception as exc:  # ArgumentError, NoSuchModuleError, missing driver (ImportError)
        raise ConfigError(f"cannot use database URL {make_url(url).render_as_string()}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate_schema:
        migrate(engine)
    return engine


def check_key(conn: Connection, key: bytes, *, record: bool = False) -> None:
    """:class:`ConfigError` if the store was written with another key; ``record`` a new store's.

    Hashes made with two keys never match, so writing with a different key would silently
    break duplicate detection and idempotent re-imports.
    """
    fp = key_fingerprint(key)
    stored = conn.execute(select(StoreMeta.value).where(StoreMeta.key == "key_fingerprint")).scalar()
    if stored is None and record:
        conn.execute(table_of(StoreMeta).insert().values(key="key_fingerprint", value=fp))
    elif stored is not None and stored != fp:
        raise ConfigError(
            "this store was written with a different secret key (LABORBRIDGE_SECRET_KEY or the "
            "key file); use that key, or import into a new store"
        )
