"""Bulk inserts through the driver's own ``executemany``: the import's write path.

SQLAlchemy's ``conn.execute(insert(table), rows)`` compiles the statement and walks every
parameter of every row in Python before the driver sees them; for 100,000 rows that costs more
than the database's own work. Here the statement is written once per table and the rows go to
the driver as tuples, each value passed through the same bind processor SQLAlchemy would apply
(JSON and time columns), so what is stored is the same on every backend. Used inside the import's
one transaction, so crash safety is the database's: all rows or none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, text

BATCH = 20_000  # rows per executemany call: large, while the tuples of one call stay small in memory
# An empty SQLite table taking at least this many rows is filled without its secondary indexes,
# which are rebuilt once at the end (sorted builds instead of one scattered B-tree insert per row).
REINDEX_AT = 10_000


def _placeholders(paramstyle: str, names: Sequence[str]) -> str:
    if paramstyle == "qmark":
        return ", ".join("?" for _ in names)
    if paramstyle in ("format", "pyformat"):
        return ", ".join("%s" for _ in names)
    if paramstyle == "numeric":
        return ", ".join(f":{i}" for i in range(1, len(names) + 1))
    raise NotImplementedError(f"driver paramstyle {paramstyle!r}")  # pragma: no cover - none we ship


def _statement(
    conn: Connection, table: Table, names: Sequence[str], extra: Mapping[str, Any] | None
) -> tuple[str, tuple[Any, ...], list[Callable[[Any], Any] | None]]:
    """``(INSERT statement, the values of its columns not given, each column's bind processor)``.

    The statement's columns are ``names``, then those of ``extra``, then every column left out of
    both that has a scalar Python default (its value, as ``insert(table)`` would give it).
    """
    dialect = conn.dialect
    defaults = dict(extra or {})
    for c in table.c:
        if c.name not in names and c.name not in defaults and c.default is not None and c.default.is_scalar:
            defaults[c.name] = c.default.arg  # type: ignore[attr-defined]
    columns = [table.c[n] for n in names] + [table.c[n] for n in defaults]
    every = [c.name for c in columns]
    procs: list[Callable[[Any], Any] | None] = [
        c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns
    ]
    prep = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(n) for n in every)}) "
        f"VALUES ({_placeholders(dialect.paramstyle, every)})"
    )
    return sql, tuple(defaults.values()), procs


def bulk_insert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], extra: Mapping[str, Any] | None = None
) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in batches of :data:`BATCH`.

    ``extra``: values of further columns, the same for every row (a batch id). A column left out
    of both gets its scalar Python default, as ``insert(table)`` would give it.
    """
    if not rows:
        return
    given = [c.name for c in table.c if c.name in rows[0]]
    sql, fixed, procs = _statement(conn, table, given, extra)
    pick = itemgetter(*given) if len(given) > 1 else (lambda r: (r[given[0]],))
    # (position, processor, what it makes of None): a processor is pure, and None is common
    convert = [(i, p, p(None)) for i, p in enumerate(procs) if p is not None]
    for start in range(0, len(rows), BATCH):
        params = [pick(r) + fixed for r in rows[start : start + BATCH]]
        if convert:
            for k, values in enumerate(params):
                out = list(values)
                for i, p, none in convert:
                    v = out[i]
                    out[i] = none if v is None else p(v)
                params[k] = tuple(out)
        conn.exec_driver_sql(sql, params)


def insert_columns(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert rows given column by column (equal lengths) into ``table``, as :func:`bulk_insert`
    would insert the same rows as dicts: no dict per row, each processor applied down its column."""
    names = list(columns)
    if not names or not len(columns[names[0]]):
        return
    sql, fixed, procs = _statement(conn, table, names, None)
    n = len(columns[names[0]])
    values = [*columns.values(), *([v] * n for v in fixed)]
    for i, p in enumerate(procs):
        if p is not None:
            none = p(None)
            values[i] = [none if v is None else p(v) for v in values[i]]
    rows = list(zip(*values, strict=True))
    for start in range(0, n, BATCH):
        conn.exec_driver_sql(sql, rows[start : start + BATCH])


@contextmanager
def indexes_after(conn: Connection, table: Table, n_rows: int) -> Iterator[None]:
    """Inside: ``table``'s secondary indexes are dropped when it is an empty SQLite table about to
    take ``n_rows`` >= :data:`REINDEX_AT` rows; on the way out they are created again from their
    own stored SQL, so the schema is exactly as before.

    It all happens in the import's transaction: SQLite's DDL is transactional, so a crash or an
    error before the commit leaves the indexes (and the table) as they were. A unique index is
    checked when rebuilt, as on every insert (the import rejects duplicates before writing). Other
    backends, and a table that holds rows, are left alone; so is a connection with no transaction
    open yet (pysqlite begins one only before a write, so each DDL statement would commit on its
    own and a crash could leave the table without its indexes).
    """
    if conn.dialect.name != "sqlite" or n_rows < REINDEX_AT or not _in_transaction(conn):
        yield
        return
    if conn.execute(
        text(f"SELECT 1 FROM {conn.dialect.identifier_preparer.format_table(table)} LIMIT 1")
    ).first():
        yield
        return
    q = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL")
    indexes = list(conn.execute(q, {"t": table.name}))
    prep = conn.dialect.identifier_preparer
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {prep.quote(name)}")
    yield
    for _, sql in indexes:
        conn.exec_driver_sql(sql)


def _in_transaction(conn: Connection) -> bool:
    """Whether the SQLite connection under ``conn`` has a transaction open in the database."""
    return bool(getattr(conn.connection.dbapi_connection, "in_transaction", False))
