"""The place pipeline end to end, with a fake encoder (fast) and the real solver and index."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

from matcher.check import check_placement
from matcher.placement import PlaceOptions, run_placement, write_run
from tests.fakes import FakeEncoder
from tests.matcher.conftest import YEAR


def _run(ds, **kw):
    return run_placement(ds, PlaceOptions(year=YEAR, k=kw.pop("k", 6), **kw), encoder=FakeEncoder())


def _pairs(run):
    a = run.result.assignment
    return [(run.dataset.workers[w].worker_id, run.dataset.jobs[a[w]].job_id) for w in np.flatnonzero(a >= 0)]


def lp_optimum(run) -> float:
    """Max total score over the candidate edges under openings and enterprise capacity, by HiGHS."""
    e = run.edges
    n_e = len(e)
    cols = np.arange(n_e)
    rows_w = csr_matrix((np.ones(n_e), (e.worker, cols)), shape=(run.context.n_workers, n_e))
    rows_j = csr_matrix((np.ones(n_e), (e.job, cols)), shape=(run.context.n_jobs, n_e))
    ent = run.context.job_enterprise[e.job]
    rows_e = csr_matrix((np.ones(n_e), (ent, cols)), shape=(len(run.dataset.enterprises), n_e))
    cap = run.context.enterprise_capacity.astype(float)
    cap = np.where(cap < 0, 1e9, cap)
    a = vstack([rows_w, rows_j, rows_e])
    b = np.r_[np.ones(run.context.n_workers), run.context.job_openings, cap]
    res = linprog(-e.score, A_ub=a, b_ub=b, bounds=(0, 1), method="highs")
    assert res.status == 0
    return -res.fun


def test_place_is_feasible_and_optimal_over_candidates(small_ds):
    run = _run(small_ds)
    assert run.result.status == "OPTIMAL"
    assert run.n_placed > 0
    assert check_placement(small_ds, YEAR, _pairs(run)) == []
    assert run.result.objective == pytest.approx(lp_optimum(run), rel=1e-9, abs=1e-9)


def test_every_candidate_passes_the_hard_rules(small_ds):
    run = _run(small_ds, k=50)
    for w, j in zip(run.edges.worker, run.edges.job, strict=True):
        pair = (small_ds.workers[w].worker_id, small_ds.jobs[j].job_id)
        assert check_placement(small_ds, YEAR, [pair]) == [], pair


def test_place_respects_openings_when_oversubscribed(small_ds):
    run = _run(small_ds, k=50)
    assert run.n_placed <= int(run.context.job_openings.sum())
    cap = {"e1": 4}
    placed_e1 = sum(1 for _, j in _pairs(run) if small_ds.job_by_id[j].enterprise_id == "e1")
    assert placed_e1 <= cap["e1"]


def test_place_is_deterministic(small_ds):
    a, b = _run(small_ds), _run(small_ds)
    assert np.array_equal(a.result.assignment, b.result.assignment)
    assert a.result.objective == b.result.objective


def test_encoder_never_sees_personal_data(small_ds):
    enc = FakeEncoder()
    run_placement(small_ds, PlaceOptions(year=YEAR, k=5), encoder=enc)
    seen = "\n".join(enc.seen)
    assert seen
    for w in small_ds.workers:
        assert w.name not in seen and w.id_number not in seen and w.phone not in seen


def test_write_run_files_agree_with_the_result(small_ds, tmp_path):
    run = _run(small_ds)
    summary = write_run(run, tmp_path)
    with (tmp_path / "assignments.csv").open(encoding="utf-8") as fh:
        assigned = list(csv.DictReader(fh))
    with (tmp_path / "unplaced.csv").open(encoding="utf-8") as fh:
        unplaced = list(csv.DictReader(fh))
    with (tmp_path / "candidates.csv").open(encoding="utf-8") as fh:
        cands = list(csv.DictReader(fh))
    assert len(assigned) == summary["n_placed"]
    assert len(assigned) + len(unplaced) == summary["n_workers"]
    assert len(cands) == summary["n_candidates"]
    assert sum(float(r["score"]) for r in assigned) == pytest.approx(summary["objective"], abs=1e-5)
    on_disk = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    for key in (
        "status",
        "objective",
        "bound",
        "n_workers",
        "n_jobs",
        "n_openings",
        "n_placed",
        "k",
        "model",
    ):
        assert key in on_disk
    assert set(on_disk["seconds"]) >= {"features", "encode", "retrieve_score", "solve", "write"}
    assert all(r["reason"] for r in unplaced)
