"""Skill-gap suggestions count only jobs the worker could take, nearest to the worker first."""

from __future__ import annotations

import numpy as np

from matcher.dataset import Dataset
from matcher.geo import builtin_pairings
from matcher.records import Enterprise, Job, Worker
from matcher.scoring.context import MatchContext, code_number
from matcher.scoring.features import worker_skill_text
from matcher.scoring.skillgap import OpeningCounts, code_nearness, code_text, suggest_occupations

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


def _ds(jobs, **worker):
    ent = [Enterprise(enterprise_id="e1", name="x", location_code="120102")]
    w = Worker(
        worker_id="w",
        gender="female",
        birth_year=YEAR - 50,
        home_county_code="623024",
        mobility="paired",
        **worker,
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
            wished = [int(c) for c in rng.choice([-1, 4070501, 4090801, 4090802, 4030201], size=2)]
            other = str(rng.choice(["", "仓库分拣", "叉"]))
            skills = worker_skill_text(ds.workers[row]) if row % 3 else other
            want = suggest_occupations(
                ctx, row, left, wished_codes=wished, skill_text=skills, names=names, job_titles=titles, top=4
            )
            got = counts.suggest(
                ctx.worker_allowed[row],
                int(ctx.worker_age[row]),
                bool(ctx.worker_male[row]),
                wished_codes=wished,
                skill_text=skills,
                names=names,
                top=4,
            )
            assert got == want, (trial, row)


# A care worker's neighbourhood in CSCO 2022: 4-10-01-05 养老护理员 is in 小类 4-10-01 生活照料服务人员
# (4-10-01-06 家政服务员) and 中类 4-10 (4-10-03-01 美容师); 4-14-01-02 医疗护理员 is another 中类.
CARE_JOBS = [
    _job(0, "4-10-01-05", 4),  # 养老护理员, wished: left out although it has openings
    _job(1, "4-10-01-06", 2),  # 家政服务员: same 小类
    _job(2, "4-10-03-01", 3),  # 美容师: same 中类
    _job(3, "4-14-01-02", 2),  # 医疗护理员: titles share 护理 with the skills
    _job(4, "4-02-02-02", 20),  # 道路货运汽车驾驶员: the largest, unrelated
    _job(5, "4-07-05-01", 10),  # 保安员
    _job(6, "4-02-02-02", 5),
]
CARE_TITLES = ["养老护理员", "家政保姆", "美容师", "医院护理员", "货车司机", "小区保安", "物流货车司机"]
CARE = code_number("4-10-01-05")


def _both(ds, wished=(), skills="", top=3):
    """The definition's and the fast path's suggestions for the data set's only worker."""
    ctx = MatchContext.build(ds, YEAR)
    want = suggest_occupations(
        ctx, 0, ctx.job_openings, wished_codes=wished, skill_text=skills, job_titles=CARE_TITLES, top=top
    )
    counts = OpeningCounts().fit(ctx, ctx.job_openings, CARE_TITLES)
    got = counts.suggest(
        ctx.worker_allowed[0], int(ctx.worker_age[0]), False, wished_codes=wished, skill_text=skills, top=top
    )
    assert got == want
    return [s.code for s in want]


def test_a_care_worker_is_suggested_care_occupations_before_a_larger_unrelated_one():
    ds = _ds(CARE_JOBS, skills=["护理"], desired_occupations="养老护理员")
    skills = worker_skill_text(ds.workers[0])
    assert _both(ds, wished=[CARE], skills=skills, top=4) == [
        "4-10-01-06",  # same 小类 (2)
        "4-10-03-01",  # same 中类 (1)
        "4-14-01-02",  # 护理 in its titles (1 of 1 skill bigrams), fewer openings than 美容师
        "4-02-02-02",  # nothing near is left: the largest fills the slot
    ]


def test_skills_alone_bring_a_near_occupation_ahead_of_larger_ones():
    ds = _ds(CARE_JOBS, experience="在县城医院做过护理")
    skills = worker_skill_text(ds.workers[0])
    # 医院护理员 shares 医院 and 护理 with the experience, 养老护理员 only 护理.
    assert _both(ds, skills=skills, top=3) == ["4-14-01-02", "4-10-01-05", "4-02-02-02"]


def test_a_worker_without_wishes_or_skills_gets_the_largest_reachable_occupations():
    ds = _ds(CARE_JOBS)
    assert _both(ds, top=3) == ["4-02-02-02", "4-07-05-01", "4-10-01-05"]


def test_code_nearness_counts_the_nearest_wished_code():
    codes = np.array([4100106, 4100301, 4020202, 4100105])
    assert code_nearness(codes, [CARE]).tolist() == [2.0, 1.0, 0.0, 2.0]
    assert code_nearness(codes, [4020201, CARE, -1]).tolist() == [2.0, 1.0, 2.0, 2.0]
    assert code_nearness(codes, []).tolist() == [0.0] * 4
