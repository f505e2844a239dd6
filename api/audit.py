"""The audit log: one row per read of a worker's personal data through the API or the console.

A row holds the key, the method and route template (``GET /workers/{worker_id}``), the worker and
the time; reads that return many workers write one row per worker, bulk reads without a worker
(an export) one row with a ``detail``. A request a known caller gets 404 for (an id outside its
scope looks exactly like an unknown one) writes a ``denied 404`` row (:meth:`AuditLog.denied`);
a CLI command that shows names in clear writes a row without a key (:func:`record_cli`).

Rows are queued and written by one thread, one transaction per ``flush_s`` (so 32 concurrent
readers do not queue on SQLite's single writer); closing the log writes whatever is left. A crash
may lose at most the last ``flush_s`` of rows.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, insert, select

from matcher.store.models import AuditRow, table_of

log = logging.getLogger("laborbridge.audit")
MAX_BATCH = 5000


class AuditLog:
    """Queue audit rows and write them in the background (see the module docstring)."""

    def __init__(self, engine: Engine, flush_s: float = 0.2) -> None:
        self.engine = engine
        self.flush_s = flush_s
        self._rows: list[dict] = []
        self._idle = threading.Condition()  # guards _rows and _pending; notified when rows are written
        self._pending = 0
        self._wake = threading.Event()  # rows are waiting
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def record(
        self,
        key_id: int | None,
        method: str,
        route: str,
        worker_ids: Iterable[str | None] = (None,),
        detail: str = "",
    ) -> None:
        """Queue one row per worker id (``None``: a read without a single worker); ``key_id``
        ``None`` for what no key did (a CLI command)."""
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "at": now,
                "key_id": key_id,
                "method": method,
                "route": route[:128],
                "worker_id": w,
                "detail": detail,
            }
            for w in worker_ids
        ]
        if not rows:
            return
        with self._idle:
            self._rows.extend(rows)
            self._pending += len(rows)
        if self._thread is None:  # not started (a script, a test): write now
            self._write_pending()
        elif not self._wake.is_set():
            self._wake.set()

    def denied(self, key_id: int, method: str, route: str, path_params: dict[str, Any], reason: str) -> None:
        """One row for a request answered 404: the worker of the path, if any, and why."""
        worker = str(path_params.get("worker_id") or "")[:64] or None
        self.record(key_id, method, route, [worker], detail=f"denied 404: {reason}"[:300])

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued row is written."""
        if self._thread is None:
            self._write_pending()
            return
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        """Write what is left and stop the writer."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout=30)
            self._thread = None
        self._write_pending()

    def _run(self) -> None:
        """Sleep until rows arrive, let more gather for ``flush_s``, write them all in one go."""
        while True:
            self._wake.wait()
            self._stop.wait(self.flush_s)
            self._wake.clear()
            self._write_pending()
            if self._stop.is_set():
                return

    def _write_pending(self) -> None:
        with self._idle:
            batch, self._rows = self._rows, []
        if not batch:
            return
        for i in range(0, len(batch), MAX_BATCH):
            part = batch[i : i + MAX_BATCH]
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(table_of(AuditRow)), part)
            except Exception:  # the log must never take a request down; say so loudly instead
                log.exception("could not write %d audit rows", len(part))
        with self._idle:
            self._pending -= len(batch)
            self._idle.notify_all()


def record_cli(engine: Engine, command: str, detail: str = "") -> None:
    """Write one row for a CLI command that reads personal data: no key, the OS user.

    Written at once, and a failure raises (unlike :class:`AuditLog`): the command must not go on
    without its row.
    """
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (a container without one): say so
        user = "unknown"
    row = {
        "at": dt.datetime.now(dt.UTC),
        "key_id": None,
        "method": "CLI",
        "route": command[:128],
        "worker_id": None,
        "detail": f"{detail} (OS user {user})".strip(),
    }
    with engine.begin() as conn:
        conn.execute(insert(AuditRow), [row])


def audit_rows(
    engine: Engine, *, worker_id: str | None = None, after: int = 0, limit: int = 100
) -> list[dict]:
    """Audit rows in id order after ``after``, optionally of one worker."""
    t = AuditRow.__table__
    q = select(t).where(t.c.id > after).order_by(t.c.id).limit(limit)
    if worker_id is not None:
        q = q.where(t.c.worker_id == worker_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
