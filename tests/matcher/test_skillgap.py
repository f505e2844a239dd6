"""Skill-gap suggestions count only jobs the worker could take, most openings first."""

from __future__ import annotations

import numpy as np

from matcher.context import MatchContext, code_number
from matcher.dataset import Dataset
from matcher.geo import builtin_pairings
from matcher.records import Enterprise, Job, Worker
from matcher.skillgap import code_text, suggest_occupations

YEAR = 2026


def _job(i, code, openings, loc="120102", **kw):
    return Job(
        job_id=f"j{i}",
        enterprise_id="e1",
        title=f"t{code}",
        occupation_code=code,
        openings=openings,
        location_code=loc,
        **kw,
    )


def _ds(jobs):
    ent = [Enterprise(enterprise_id="e1", name="x", location_code="120102")]
    w = Worker(
        worker_id="w", gender="female", birth_year=YEAR - 50, home_county_code="623024", mobility="paired"
    )
    return Dataset(workers=[w], enterprises=ent, jobs=jobs, pairings=builtin_pairings())


def test_counts_only_reachable_jobs_and_orders_by_openings():
    jobs = [
        _job(0, "4-07-05-01", 2),
        _job(1, "4-07-05-01", 3),
        _job(2, "4-09-08-01", 4),
        _job(3, "4-02-07-09", 9, loc="120116"),  # not a paired district: unreachable
        _job(4, "4-03-02-01", 9, age_max=45),  # too old
        _job(5, "6-25-04-07", 9, gender="male"),  # wrong gender
        _job(6, "4-01-02-01", 9),  # filled below
        _job(7, "2-02-30-00", 1),  # wished already
    ]
    ds = _ds(jobs)
    ctx = MatchContext.build(ds, YEAR)
    left = ctx.job_openings.copy()
    left[6] = 0
    out = suggest_occupations(
        ctx,
        0,
        left,
        wished_codes=[code_number("2-02-30-00")],
        names={4070501: "保安员"},
        job_titles=ds.jobs and [j.title for j in ds.jobs],
    )
    assert [(s.code, s.jobs, s.openings) for s in out] == [("4-07-05-01", 2, 5), ("4-09-08-01", 1, 4)]
    assert out[0].name == "保安员" and "保安员" in out[0].training_zh
    assert out[1].name == "t4-09-08-01"


def test_no_reachable_job_gives_no_suggestion():
    ds = _ds([_job(0, "4-07-05-01", 2, loc="120116")])
    ctx = MatchContext.build(ds, YEAR)
    assert suggest_occupations(ctx, 0, ctx.job_openings) == []
    assert code_text(4070501) == "4-07-05-01"
    assert np.all(ctx.job_openings == 2)


def test_opening_counts_suggest_what_the_full_scan_suggests():
    from matcher.records import Worker
    from matcher.skillgap import OpeningCounts
    from tests.matcher.conftest import small_dataset

    ds = small_dataset(60)
    extra = [
        Worker(worker_id=f"x{i}", gender=g, birth_year=YEAR - age, home_county_code=c, mobility=m)
        for i, (g, age, c, m) in enumerate(
            [
                ("male", 15, "623024", "anywhere"),
                ("female", 70, "620821", "paired"),
                ("male", 45, "620525", "local"),
            ]
        )
    ]
    ds.workers.extend(extra)
    ds.reindex()
    ctx = MatchContext.build(ds, YEAR)
    rng = np.random.default_rng(1)
    for trial in range(3):
        left = np.maximum(0, ctx.job_openings - rng.integers(0, 3, ctx.n_jobs))
        titles = [j.title for j in ds.jobs]
        counts = OpeningCounts().fit(ctx, left, titles)
        names = {} if trial else {4070501: "保安员"}
        for row in range(ctx.n_workers):
            wished = [int(c) for c in rng.choice([-1, 4070501, 4090801], size=2)]
            want = suggest_occupations(
                ctx, row, left, wished_codes=wished, names=names, job_titles=titles, top=4
            )
            got = counts.suggest(
                ctx.worker_allowed[row],
                int(ctx.worker_age[row]),
                bool(ctx.worker_male[row]),
                wished_codes=wished,
                names=names,
                top=4,
            )
            assert got == want, (trial, row)
