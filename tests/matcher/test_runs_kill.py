"""A run killed by SIGKILL at any stage leaves no partial run in the store; a rerun gives the same result.

On SQLite and on PostgreSQL (where the server rolls back the dead connection's transaction).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from matcher.placement import PlaceOptions, run_placement
from matcher.runs import build_record
from matcher.store import open_engine
from matcher.store.models import PlacementRunRow, RunAssignmentRow, RunUnplacedRow
from matcher.store.runs_repo import record_run, run_assignments
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset

ROOT = Path(__file__).resolve().parents[2]

# Places the small data set and records it in batches of 2 rows, announcing each stage and batch
# on stdout and pausing so the test can kill it at a known point.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import matcher.store.runs_repo as repo
    from matcher.placement import PlaceOptions, Progress, run_placement
    from matcher.runs import build_record
    from matcher.store import open_engine
    from tests.fakes import FAKE_MIN_FIT, FakeEncoder
    from tests.matcher.conftest import YEAR, small_dataset

    url, stop_at = sys.argv[1], sys.argv[2]

    class Announce(Progress):
        def start(self, stage, total=None):
            print("stage", stage, flush=True)
            if stage == stop_at:
                time.sleep(60)

    def on_batch(n):
        print("batch", n, flush=True)
        time.sleep(60)

    engine = open_engine(url)
    options = PlaceOptions(year=YEAR, k=6, min_fit=FAKE_MIN_FIT)
    run = run_placement(small_dataset(), options, Announce(), encoder=FakeEncoder())
    repo.BATCH = 2
    repo.record_run(engine, build_record(run), on_batch=on_batch)
    print("done", flush=True)
    """
)


def _counts(url: str) -> tuple[int, int, int]:
    engine = open_engine(url)
    with engine.connect() as conn:
        out = tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
            for t in (PlacementRunRow, RunAssignmentRow, RunUnplacedRow)
        )
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
    return out  # type: ignore[return-value]


@pytest.mark.slow
@pytest.mark.parametrize("stop_at", ["encode", "solve", "batch"])
def test_sigkill_leaves_no_partial_run_and_a_rerun_matches(db_url, stop_at):
    url = db_url
    open_engine(url).dispose()  # migrate first, so the child only writes the run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, url, stop_at], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.split()[:2] == ["stage", stop_at] or (stop_at == "batch" and line.startswith("batch")):
                break
        else:
            pytest.fail(f"child exited (code {proc.wait()}) before reaching {stop_at}")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _counts(url) == (0, 0, 0)

    engine = open_engine(url)
    options = PlaceOptions(year=YEAR, k=6, min_fit=FAKE_MIN_FIT)
    run = run_placement(small_dataset(), options, encoder=FakeEncoder())
    rerun = record_run(engine, build_record(run))
    clean = record_run(engine, build_record(run_placement(small_dataset(), options, encoder=FakeEncoder())))
    pairs = [[(r["worker_id"], r["job_id"]) for r in run_assignments(engine, x)] for x in (rerun, clean)]
    engine.dispose()
    assert pairs[0] == pairs[1] and pairs[0]
    assert _counts(url)[0] == 2
