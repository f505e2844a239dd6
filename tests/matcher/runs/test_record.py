"""Recorded runs: one transaction, reproducible, explained; diffs between runs say what changed.

The tests that take ``engine`` run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from matcher.dataset import Dataset
from matcher.errors import RecordError
from matcher.placement.options import PlaceOptions, RuleOptions
from matcher.placement.pipeline import run_placement
from matcher.records import EmploymentStatus
from matcher.runs.diff import diff_runs
from matcher.runs.record import REASON_ZH, assignment_digest, build_record
from matcher.store import open_engine
from matcher.store.runs_repo import (
    get_run,
    job_fairs,
    list_runs,
    outcomes,
    record_outcomes,
    record_run,
    resolve_run_id,
    run_assignments,
    run_unplaced,
    upsert_job_fairs,
)
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR

FAIR = {
    "fair_id": "F1",
    "held_on": dt.date(YEAR, 3, 1),
    "place": "迭部县",
    "district_code": "120102",
    "county_code": "623024",
    "n_enterprises": 3,
    "n_jobs": 10,
    "n_attendees": 120,
    "n_hires": 9,
}


def _run(ds, **kw):
    rules = kw.pop("rules", RuleOptions())
    return run_placement(
        ds,
        PlaceOptions(year=YEAR, k=kw.pop("k", 6), rules=rules, min_fit=FAKE_MIN_FIT, **kw),
        encoder=FakeEncoder(),
    )


@pytest.fixture
def engine(db_url):
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


def test_record_holds_every_worker_once_with_explanations(small_ds, engine):
    run = _run(small_ds)
    rec = build_record(run)
    run_id = record_run(engine, rec)
    placed = run_assignments(engine, run_id)
    unplaced = run_unplaced(engine, run_id)
    assert len(placed) == run.n_placed
    assert {r["worker_id"] for r in placed} | {r["worker_id"] for r in unplaced} == {
        w.worker_id for w in small_ds.workers
    }
    assert not {r["worker_id"] for r in placed} & {r["worker_id"] for r in unplaced}
    for r in placed:
        assert r["explanation_zh"] and r["explanation_en"]
        assert sum(r["factors"].values()) == pytest.approx(r["score"], abs=1e-4)
    header = get_run(engine, run_id)
    assert header["status"] == "OPTIMAL"
    assert header["objective"] == pytest.approx(run.result.objective, abs=1e-6)
    assert header["input_sha256"] == small_ds.input_sha256
    assert header["params"]["k"] == 6
    assert "numpy" in header["versions"]
    assert {u["reason"] for u in unplaced} <= {"no_candidate", "outscored", "blocked_by_rule", "zero_score"}


def test_record_keeps_the_runs_own_reasons_for_employed_and_unfit_workers(small_ds, engine):
    workers = [
        w.model_copy(update={"employment_status": EmploymentStatus.employed}) if w.worker_id == "w000" else w
        for w in small_ds.workers
    ]
    ds = Dataset(
        workers=workers, enterprises=small_ds.enterprises, jobs=small_ds.jobs, pairings=small_ds.pairings
    )
    run = run_placement(ds, PlaceOptions(year=YEAR, k=6, min_fit=0.2), encoder=FakeEncoder())
    run_id = record_run(engine, build_record(run))
    reasons = {u["worker_id"]: u["reason"] for u in run_unplaced(engine, run_id)}
    assert reasons["w000"] == "employed_kept"
    assert "no_fitting_job" in reasons.values()
    assert set(reasons.values()) <= set(REASON_ZH)
    assert get_run(engine, run_id)["params"]["min_fit"] == 0.2


def test_two_runs_on_the_same_input_record_identical_assignments(small_ds, engine):
    a = record_run(engine, build_record(_run(small_ds)))
    b = record_run(engine, build_record(_run(small_ds)))
    assert a != b
    pa = [(r["worker_id"], r["job_id"], r["score"]) for r in run_assignments(engine, a)]
    pb = [(r["worker_id"], r["job_id"], r["score"]) for r in run_assignments(engine, b)]
    assert pa == pb
    assert get_run(engine, a)["assignment_sha256"] == get_run(engine, b)["assignment_sha256"]
    d = diff_runs(
        get_run(engine, a), get_run(engine, b), run_assignments(engine, a), run_assignments(engine, b), []
    )
    assert d.identical and not d.params_changed and d.same_input


def test_times_come_back_as_the_instants_written_in_utc(small_ds, engine):
    rec = build_record(_run(small_ds))
    run_id = record_run(engine, rec)
    upsert_job_fairs(engine, [FAIR])
    times = [get_run(engine, run_id)["created_at"], list_runs(engine)[0]["created_at"]]
    times.append(job_fairs(engine)[0]["recorded_at"])
    for t in times:  # SQLite keeps no offset; PostgreSQL answers in its time zone (+08:00 in the tests)
        assert t.utcoffset() == dt.timedelta(0) and t.tzinfo is not None
    assert times[0] == times[1] == rec.created_at
    assert abs(times[2] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_a_run_with_infinite_or_nan_figures_is_recorded_with_null_in_their_place(small_ds, engine):
    rec = build_record(_run(small_ds))
    rec.summary["bound"] = rec.summary["gap"] = float("inf")  # e.g. a time-limited MIP without a bound
    rec.summary["check"] = {"nan": float("nan"), "list": [1.5, float("-inf")]}
    run_id = record_run(engine, rec)  # PostgreSQL's json refuses the NaN and Infinity tokens
    header = get_run(engine, run_id)
    assert header["summary"]["bound"] is None and header["summary"]["gap"] is None
    assert header["summary"]["check"] == {"nan": None, "list": [1.5, None]}
    assert header["bound"] == header["gap"] == float("inf")  # a float column holds infinity


def test_fairs_and_outcomes_the_store_cannot_hold_are_refused_before_writing(small_ds, engine):
    with pytest.raises(RecordError, match="F1: out of the store's range") as err:
        upsert_job_fairs(engine, [{**FAIR, "n_attendees": 3_000_000_000}])
    assert err.value.field == "n_attendees" and job_fairs(engine) == []
    run_id = record_run(engine, build_record(_run(small_ds)))
    worker = run_assignments(engine, run_id)[0]["worker_id"]
    with pytest.raises(RecordError, match="out of the store's range"):
        record_outcomes(engine, run_id, [{"worker_id": worker, "left_after_days": 2**31}])
    assert outcomes(engine, run_id) == []


def test_runs_are_found_by_prefix_and_latest(small_ds, engine):
    first = record_run(engine, build_record(_run(small_ds)))
    second = record_run(engine, build_record(_run(small_ds, k=3)))
    assert resolve_run_id(engine, "latest") == second
    assert resolve_run_id(engine, "latest~1") == first
    assert resolve_run_id(engine, second[:-2]) == second
    assert [r["run_id"] for r in list_runs(engine)] == [second, first]


def test_run_rows_come_in_byte_order_of_worker_ids_and_ids_match_in_any_case(small_ds, engine):
    names = ["W{}", "w_{}", "w-{}", "a{}", "张{}"]  # PostgreSQL's collation sorts these otherwise
    workers = [
        w.model_copy(update={"worker_id": names[i % 5].format(i)}) for i, w in enumerate(small_ds.workers)
    ]
    ds = Dataset(
        workers=workers, enterprises=small_ds.enterprises, jobs=small_ds.jobs, pairings=small_ds.pairings
    )
    run_id = record_run(engine, build_record(_run(ds)))
    for rows in (run_assignments(engine, run_id), run_unplaced(engine, run_id)):
        ids = [r["worker_id"] for r in rows]
        assert ids == sorted(ids) and ids
    assert (
        resolve_run_id(engine, run_id.lower()) == run_id
    )  # "20260502t174455-..." (LIKE: SQLite ignores case)


def test_diff_names_changed_parameters_and_moved_workers(small_ds, engine):
    # top-k runs: with pricing out (the default) k no longer changes the optimum
    a = record_run(engine, build_record(_run(small_ds, k=6, certify=False)))
    b = record_run(engine, build_record(_run(small_ds, k=1, certify=False)))
    d = diff_runs(
        get_run(engine, a),
        get_run(engine, b),
        run_assignments(engine, a),
        run_assignments(engine, b),
        run_unplaced(engine, b),
    )
    assert d.params_changed == {"k": {"a": 6, "b": 1}}
    assert not d.identical
    counts = d.counts()
    assert counts["newly_placed"] - counts["newly_unplaced"] == d.placed_b - d.placed_a
    for c in d.changes:
        if c.change == "newly_unplaced":
            assert c.why in {"no_candidate", "outscored", "blocked_by_rule", "zero_score"}


def test_assignment_digest_ignores_order():
    assert assignment_digest([("w1", "j1"), ("w2", "j2")]) == assignment_digest([("w2", "j2"), ("w1", "j1")])
    assert assignment_digest([("w1", "j1")]) != assignment_digest([("w1", "j2")])


def test_every_unplaced_worker_gets_a_hint_when_an_occupation_is_in_reach(small_ds):
    from matcher.placement.guidance import unplaced_guidance
    from matcher.reporting.exports import unplaced_table
    from matcher.scoring.factors import age_gender_ok

    run = _run(small_ds, k=1)
    rec = build_record(run)
    ctx = run.context
    pos = {w.worker_id: i for i, w in enumerate(small_ds.workers)}
    hint = {r["worker_id"]: r["hint"] for r in unplaced_table(small_ds, rec.unplaced).rows}
    assert rec.unplaced and len(hint) == len(rec.unplaced)
    hinted = set()
    for u in rec.unplaced:
        w = pos[u["worker_id"]]
        wished = [int(c) for c in run.worker_codes[w] if c >= 0]
        n = ctx.n_jobs
        # Jobs the worker could take if they had the skills (filled by the run or not).
        reach = ctx.worker_allowed[w, ctx.job_location] & (ctx.job_openings > 0) & (ctx.job_code >= 0)
        reach &= age_gender_ok(
            np.full(n, ctx.worker_age[w]),
            np.full(n, ctx.worker_male[w]),
            ctx.job_age_min,
            ctx.job_age_max,
            ctx.job_gender,
        )
        reach &= ~np.isin(ctx.job_code, wished)
        # the skill-gap part; the hint also carries the rule and the guidance (matcher.placement.guidance)
        assert bool(u["skill_gap"]) == bool(reach.any()), u
        guide = unplaced_guidance(run).get(w)
        assert bool(hint[u["worker_id"]]) == bool(reach.any() or (guide and guide.zh)), u
        assert bool(u["hint_zh"]) == bool(hint[u["worker_id"]])
        if reach.any():
            hinted.add(u["reason"])
    # Workers whose jobs in reach were all taken by the run get hints too.
    assert "outscored" in hinted


def test_chunked_retrieval_gives_the_same_edges(small_ds, monkeypatch):
    import matcher.placement.decompose as decompose
    import matcher.placement.engine as engine

    whole = _run(small_ds)
    monkeypatch.setattr(decompose, "RETRIEVE_CHUNK", 7)
    monkeypatch.setattr(engine, "ENCODE_CHUNK", 5)
    chunked = _run(small_ds)
    assert np.array_equal(whole.edges.worker, chunked.edges.worker)
    assert np.array_equal(whole.edges.job, chunked.edges.job)
    assert np.array_equal(whole.edges.score, chunked.edges.score)
    assert np.array_equal(whole.result.assignment, chunked.result.assignment)
