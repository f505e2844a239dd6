"""An import killed by SIGKILL in the middle of its transaction leaves nothing of itself in the
store; the same files imported again then write everything (issue 16: kills → 0 partial state)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from matcher.sample.generate import generate_sample, write_sample
from matcher.store import import_paths, open_engine
from matcher.store.models import EnterpriseRow, ImportBatch, JobRow, RecordChange, WorkerRow

ROOT = Path(__file__).resolve().parents[3]
KEY = b"kill-test-key-0123456789"

# Imports the folder, pausing after the first record type is written inside the transaction.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import matcher.store.repository as repo
    from matcher.store import import_paths

    url, folder, key = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    real = repo._write

    def pausing(conn, kind, *args, **kw):
        real(conn, kind, *args, **kw)
        print("wrote", kind, flush=True)
        time.sleep(60)

    repo._write = pausing
    import_paths(url, [folder], key=key)
    print("done", flush=True)
    """
)


def _counts(url: str) -> tuple[int, ...]:
    engine = open_engine(url)
    with engine.connect() as conn:
        out = tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t in (ImportBatch, EnterpriseRow, JobRow, WorkerRow, RecordChange)
        )
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
    return out


@pytest.mark.slow
def test_sigkill_inside_an_import_leaves_nothing_and_a_rerun_writes_all(tmp_path):
    data = tmp_path / "data"
    write_sample(generate_sample(200, 40, seed=3, year=2026), data, truth=False)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_engine(url).dispose()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", SCRIPT, url, str(data), KEY.decode()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert line.startswith("wrote"), f"the child never wrote: {line!r}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _counts(url) == (0, 0, 0, 0, 0)
    report = import_paths(url, [data], key=KEY)
    assert report.written
    batches, enterprises, jobs, workers, changes = _counts(url)
    assert (batches, workers, jobs) == (1, 200, 40) and enterprises > 0
    assert changes == enterprises + jobs + workers + report.created.get("pairings", 0)


# Loads every table without its indexes (REINDEX_AT = 1), pausing once the workers are in and their
# indexes are still dropped: the moment a crash would leave a table without them.
SCRIPT_NO_INDEXES = textwrap.dedent(
    """
    import sys, time
    import matcher.store.bulk as bulk
    import matcher.store.repository as repo
    from matcher.store import import_paths

    url, folder, key = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    bulk.REINDEX_AT = 1
    real = repo.bulk_insert

    def pausing(conn, table, rows, extra=None):
        real(conn, table, rows, extra)
        if table.name == "workers":
            print("loaded", table.name, flush=True)
            time.sleep(60)

    repo.bulk_insert = pausing
    import_paths(url, [folder], key=key)
    """
)


def _indexes(url: str) -> list[tuple]:
    engine = open_engine(url)
    with engine.connect() as conn:
        q = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
        out = [tuple(r) for r in conn.execute(q)]
    engine.dispose()
    return out


@pytest.mark.slow
def test_sigkill_while_a_table_is_loaded_without_its_indexes_keeps_them(tmp_path):
    data = tmp_path / "data"
    write_sample(generate_sample(200, 40, seed=3, year=2026), data, truth=False)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_engine(url).dispose()
    before = _indexes(url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", SCRIPT_NO_INDEXES, url, str(data), KEY.decode()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert line.startswith("loaded workers"), f"the child never loaded the workers: {line!r}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _counts(url) == (0, 0, 0, 0, 0)
    assert _indexes(url) == before and any(sql for _, sql in before)
    report = import_paths(url, [data], key=KEY)
    assert report.written and _counts(url)[3] == 200
    assert _indexes(url) == before
