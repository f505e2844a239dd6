"""A placement run's files: ``assignments.csv``, ``unplaced.csv``, ``candidates.csv``, ``job_codes.csv``
(codes predicted from titles), ``rejected.csv`` and ``run.json``, written through the one CSV writer
(:mod:`matcher.csvsafe`).

A kill at any moment never leaves a half-written run beside another run's ``run.json``: every file
is written into a hidden folder inside the output folder, then the previous run's ``run.json`` goes,
each new file is renamed into place (a rename is atomic), files of the previous run that this one
does not write are removed, and ``run.json`` comes last. So ``run.json`` present means every file
beside it belongs to that run and is whole (each is fsynced before it is renamed); other files in
the folder (a ``runs.db``) are left alone. Two writers to one folder take turns (a lock file).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from matcher.csvsafe import Coded, Fixed, csv_writer, write_columns
from matcher.placement.guidance import unplaced_guidance
from matcher.placement.pipeline import PlacementRun
from matcher.placement.summary import predicted_job_codes, run_summary, unplaced_reason_names
from matcher.scoring.context import code_number
from matcher.scoring.factors import SCORE_DECIMALS

RUN_FILES = ("assignments.csv", "unplaced.csv", "candidates.csv", "job_codes.csv", "rejected.csv", "run.json")
"""Every file a run may write (``run.json`` last); the swap removes a previous run's leftovers."""
STAGE_PREFIX = ".run-partial-"
LOCK_FILE = ".run.lock"


def write_run(
    run: PlacementRun, out_dir: str | Path, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Write the run's files into ``out_dir``, all or nothing (see the module); returns the summary
    written to ``run.json``, with ``extra`` (e.g. the recorded run's id) added."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _folder_lock(out):  # one writer per folder: a second waits, never sees half a swap
        for stale in out.glob(f"{STAGE_PREFIX}*"):  # left by a writer that was killed
            shutil.rmtree(stale, ignore_errors=True)
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=out))
        try:
            summary = _write_files(run, stage, extra or {})
            _swap_in(stage, out)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return summary


@contextmanager
def _folder_lock(out: Path) -> Iterator[None]:
    """An exclusive lock on ``out/.run.lock`` while a run is written (where the OS has ``flock``)."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: one writer at a time is the user's to keep
        yield
        return
    with (out / LOCK_FILE).open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _swap_in(stage: Path, out: Path) -> None:
    """Move the staged run's files into ``out``, ``run.json`` last (module docstring).

    A file of the previous run that this one does not write is removed only when the folder held a
    run (its ``run.json``): a ``rejected.csv`` the user keeps in a fresh folder stays."""
    for path in stage.iterdir():  # the files' bytes on disk before any rename names them
        with path.open("rb") as fh:
            os.fsync(fh.fileno())
    previous = out / "run.json"
    held_a_run = previous.exists()
    previous.unlink(missing_ok=True)
    staged = {p.name for p in stage.iterdir()}
    for name in RUN_FILES[:-1]:
        if name in staged:
            os.replace(stage / name, out / name)
        elif held_a_run:
            (out / name).unlink(missing_ok=True)
    os.replace(stage / "run.json", out / "run.json")
    _sync_dir(out)


def _sync_dir(folder: Path) -> None:
    """Make the renames durable (a directory fsync; skipped where the OS has none)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_files(run: PlacementRun, out: Path, extra: Mapping[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    ds, edges, res = run.dataset, run.edges, run.result
    assignment = np.asarray(res.assignment)
    wids = [w.worker_id for w in ds.workers]
    jids = [j.job_id for j in ds.jobs]
    placed = np.flatnonzero(assignment >= 0)
    jobs = assignment[placed].astype(np.int64)
    scores = _edge_scores(edges, placed, jobs, len(jids))
    with (out / "assignments.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "enterprise_id", "score"])
        ents = [j.enterprise_id for j in ds.jobs]
        write_columns(
            wr, [Coded(wids, placed), Coded(jids, jobs), Coded(ents, jobs), Fixed(scores, SCORE_DECIMALS)]
        )
    reasons = unplaced_reason_names(run)
    guide = unplaced_guidance(run)
    with (out / "unplaced.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "reason", "rule", "guidance_zh", "guidance_en"])
        left = np.flatnonzero(assignment < 0)
        told = [guide.get(u) for u in left.tolist()]
        write_columns(
            wr,
            [
                Coded(wids, left),
                [reasons[u] for u in left.tolist()],
                [g.rule if g else "" for g in told],
                [g.zh if g else "" for g in told],
                [g.en if g else "" for g in told],
            ],
        )
    with (out / "candidates.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "score"])
        write_columns(
            wr, [Coded(wids, edges.worker), Coded(jids, edges.job), Fixed(edges.score, SCORE_DECIMALS)]
        )
    predicted = predicted_job_codes(run)
    if predicted:
        with (out / "job_codes.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv_writer(fh, lineterminator="\n")
            wr.writerow(["job_id", "occupation_code", "occupation_name", "confidence"])
            for job_id, (code, confidence) in predicted.items():
                name = run.occupation_names.get(code_number(code), "")
                wr.writerow([job_id, code, name, f"{confidence:.4f}"])
    if ds.rejected:
        with (out / "rejected.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv_writer(fh, lineterminator="\n")
            wr.writerow(["file", "row", "field", "value", "reason"])
            for e in ds.rejected:
                wr.writerow([e.file or "", e.row or "", e.field or "", e.value or "", e.reason])
    run.seconds["write"] = round(time.perf_counter() - t0, 3)
    summary = {**run_summary(run), **extra}
    with (out / "run.json").open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return summary


def _edge_scores(edges: Any, workers: np.ndarray, jobs: np.ndarray, n_jobs: int) -> np.ndarray:
    """The candidate score of each placed ``(worker, job)`` pair (every placement is a candidate)."""
    key = np.asarray(edges.worker, dtype=np.int64) * max(n_jobs, 1) + np.asarray(edges.job, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], workers.astype(np.int64) * max(n_jobs, 1) + jobs)
    return np.asarray(edges.score, dtype=np.float64)[order[pos]]
