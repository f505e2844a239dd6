"""A run killed by SIGKILL at any stage leaves no partial run in the store; a rerun gives the same result.

On SQLite and on PostgreSQL (where the server rolls back the dead connection's transaction). A run
folder killed while written never holds a partial run beside a ``run.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from matcher.placement.files import write_run
from matcher.placement.options import PlaceOptions
from matcher.placement.pipeline import run_placement
from matcher.runs.record import build_record
from matcher.store import open_engine
from matcher.store.models import PlacementRunRow, RunAssignmentRow, RunUnplacedRow
from matcher.store.runs_repo import record_run, run_assignments
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset

ROOT = Path(__file__).resolve().parents[3]

# Places the small data set and records it in batches of 2 rows, announcing each stage and batch
# on stdout and pausing so the test can kill it at a known point.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import matcher.store.runs_repo as repo
    from matcher.placement.options import PlaceOptions
    from matcher.placement.progress import Progress
    from matcher.placement.pipeline import run_placement
    from matcher.runs.record import build_record
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


# Writes a run (k=3) into a folder, then a second run (k=6) into the same folder, pausing either
# while a CSV is half written or in the middle of the swap, so the test can kill it there.
FILES_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import matcher.placement.files as files
    from matcher.placement.options import PlaceOptions
    from matcher.placement.pipeline import run_placement
    from tests.fakes import FAKE_MIN_FIT, FakeEncoder
    from tests.matcher.conftest import YEAR, small_dataset

    out, stop_at, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    real_writer, real_replace = files.csv_writer, files.os.replace

    def pausing_writer(fh, **kw):
        w = real_writer(fh, **kw)
        row = w.writerow

        def writerow(r):
            row(r)
            fh.flush()
            if stop_at == "write":
                print("writing", flush=True)
                time.sleep(60)

        w.writerow = writerow
        return w

    def pausing_replace(a, b):
        real_replace(a, b)
        if stop_at == "swap":
            print("swapping", flush=True)
            time.sleep(60)

    files.csv_writer = pausing_writer
    files.os.replace = pausing_replace
    options = PlaceOptions(year=YEAR, k=k, min_fit=FAKE_MIN_FIT)
    run = run_placement(small_dataset(), options, encoder=FakeEncoder())
    files.write_run(run, out)
    print("done", flush=True)
    """
)


def _write_in_child(out: Path, stop_at: str, k: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", FILES_SCRIPT, str(out), stop_at, str(k)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.strip() in ("writing", "swapping", "done"):
                break
        if stop_at != "none":
            assert line.strip() != "done", f"the child never reached {stop_at}"
            proc.send_signal(signal.SIGKILL)
    finally:
        if stop_at != "none":
            proc.kill()
        proc.wait()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("stop_at", ["write", "swap"])
def test_a_kill_while_writing_a_run_folder_never_leaves_a_partial_run_beside_run_json(tmp_path, stop_at):
    out = tmp_path / "run"
    _write_in_child(out, "none", 3)
    old = _files(out)
    (out / "runs.db").write_bytes(b"the store beside the run's files")
    _write_in_child(out, stop_at, 6)
    after = _files(out)
    assert after.pop("runs.db") == b"the store beside the run's files"  # other files are left alone
    if stop_at == "write":  # killed before the swap: the previous run, whole
        assert after == old
    else:  # killed mid-swap: no run.json, so no run claims the folder; nothing truncated
        assert "run.json" not in after
    _write_in_child(out, "none", 6)  # a rerun completes and clears the killed writer's folder
    new = _files(out)
    assert not [p for p in out.iterdir() if p.name.startswith(".run-partial-")]
    assert json.loads(new["run.json"])["k"] == 6 and new != {**old, "runs.db": new["runs.db"]}
    for name, data in after.items():  # every file the kill left is one run's whole file
        assert data in (old.get(name), new.get(name)), name


def test_a_fresh_folder_keeps_the_users_own_files_and_a_rerun_drops_only_its_own(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "rejected.csv").write_text("the import's own rejected rows\n", encoding="utf-8")
    run = run_placement(
        small_dataset(), PlaceOptions(year=YEAR, k=6, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder()
    )
    write_run(run, out)
    assert (out / "rejected.csv").read_text(encoding="utf-8") == "the import's own rejected rows\n"
    (out / "job_codes.csv").write_text("left by an earlier run\n", encoding="utf-8")
    write_run(run, out)  # the folder now holds a run: a file this run does not write is its leftover
    assert not (out / "job_codes.csv").exists() and (out / "run.json").exists()
