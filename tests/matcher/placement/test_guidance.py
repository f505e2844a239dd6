"""Reasons an office can act on (issue 17 item 5) and county fairness on the sample (item 1)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt

import numpy as np
import pytest

from matcher.dataset import Dataset
from matcher.ingest import load_folder
from matcher.placement.files import write_run
from matcher.placement.guidance import FEW_JOBS, unplaced_guidance
from matcher.placement.options import PlaceOptions, RuleOptions
from matcher.placement.pipeline import run_placement
from matcher.placement.summary import unplaced_reason_names
from matcher.records import Mobility
from matcher.sample.generate import generate_sample, write_sample
from matcher.scoring.context import MatchContext
from tests.fakes import FAKE_MIN_FIT, FakeEncoder

SAMPLE_YEAR = 2026


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Dataset:
    """The issue's sample: ``laborbridge sample DIR --workers 400 --jobs 100`` (seed 0)."""
    d = tmp_path_factory.mktemp("sample")
    write_sample(generate_sample(400, 100, seed=0, year=SAMPLE_YEAR), d, truth=False)
    return load_folder(d)


def _place(ds: Dataset, year: int = SAMPLE_YEAR, **rules):
    options = PlaceOptions(year=year, k=20, min_fit=FAKE_MIN_FIT, rules=RuleOptions(**rules))
    return run_placement(ds, options, encoder=FakeEncoder())


@pytest.fixture(scope="module")
def plain(sample):
    return _place(sample)


def _feasible(ds: Dataset, year: int, w: int, mobility: Mobility | None = None) -> int:
    """Jobs passing the hard rules for worker ``w`` (with another mobility), from a fresh context."""
    worker = ds.workers[w] if mobility is None else ds.workers[w].model_copy(update={"mobility": mobility})
    ctx = MatchContext.build(ds, year).with_workers([worker])
    jobs = np.arange(ctx.n_jobs)
    return int(ctx.hard_rules(np.zeros_like(jobs), jobs).sum())


def test_no_candidate_names_the_hard_rule_and_few_jobs_get_computed_guidance(sample, plain):
    guide = unplaced_guidance(plain)
    reasons = unplaced_reason_names(plain)
    ctx = plain.context
    no_cand = [w for w, g in guide.items() if reasons[w] == "no_candidate"]
    assert no_cand, "the sample has workers no job accepts"
    for w in no_cand:
        g = guide[w]
        assert g.rule in ("location", "age", "gender")
        at_place = ctx.worker_allowed[w][ctx.job_location]
        if g.rule == "location":
            assert not at_place.any() and g.feasible == 0
        else:  # jobs at accepted places exist, and the named limit closes them
            assert at_place.any()
            assert f"受{'年龄' if g.rule == 'age' else '性别'}规则限制" in g.zh
            assert ("exclude age" if g.rule == "age" else "for the other gender") in g.en
    widened = 0
    for w, g in guide.items():
        assert g.feasible == _feasible(sample, SAMPLE_YEAR, w)
        if g.feasible >= FEW_JOBS or sample.workers[w].mobility is not Mobility.paired:
            continue
        adds = _feasible(sample, SAMPLE_YEAR, w, Mobility.anywhere) - g.feasible
        if adds:  # the figure is computed: it is what widening the mobility really adds
            assert f"widening mobility to anywhere adds {adds}" in g.en
            assert f"可增加{adds}个岗位" in g.zh
            widened += 1
    assert widened, "some paired-only worker with few jobs would gain by going anywhere"


def test_blocked_by_rule_names_the_side_rule(sample, tmp_path):
    run = _place(sample, county_share=0.8)
    guide = unplaced_guidance(run)
    reasons = unplaced_reason_names(run)
    blocked = [w for w in guide if reasons[w] == "blocked_by_rule"]
    assert all(guide[w].rule in ("dorm_beds", "county_share") for w in blocked)
    ctx, a = run.context, np.asarray(run.result.assignment)
    placed = np.flatnonzero(a >= 0)
    need = ctx.away_from_home(placed, a[placed]) & ctx.job_accommodation[a[placed]]
    used = np.bincount(ctx.job_enterprise[a[placed][need]], minlength=ctx.enterprise_dorm_beds.size)
    full = (ctx.enterprise_dorm_beds >= 0) & (used >= ctx.enterprise_dorm_beds)
    for w in (w for w in blocked if guide[w].rule == "dorm_beds"):
        mine = run.edges.worker == w
        assert full[ctx.job_enterprise[run.edges.job[mine]]].any()
        assert guide[w].zh.startswith("受宿舍床位规则限制")
    summary = write_run(run, tmp_path)
    assert sum(summary["unplaced_rules"].values()) == sum(1 for g in guide.values() if g.rule)


def test_pairing_after_the_year_is_reported_not_silently_dropped(sample, tmp_path):
    run = _place(sample, year=2019)
    summary = write_run(run, tmp_path)
    late = {(p["district_code"], p["county_code"]) for p in summary["pairings_after_year"]}
    expect = {(p.district_code, p.county_code) for p in sample.pairings if (p.since_year or 0) > 2019}
    assert late == expect and late
    counties = {c for _, c in late}
    guide = unplaced_guidance(run)
    told = [
        g
        for w, g in guide.items()
        if sample.workers[w].home_county_code in counties and g.feasible < FEW_JOBS
    ]
    assert told and all("after the year 2019: not counted" in g.en for g in told)
    with (tmp_path / "unplaced.csv").open(encoding="utf-8") as fh:
        rows = {r["worker_id"]: r for r in csv.DictReader(fh)}
    w = next(w for w, g in guide.items() if g in told)
    assert rows[sample.workers[w].worker_id]["guidance_zh"] == guide[w].zh


def test_the_data_year_is_the_latest_year_a_job_was_posted_in(sample):
    undated = dataclasses.replace(
        sample, jobs=[j.model_copy(update={"posted_on": None}) for j in sample.jobs]
    )
    assert undated.data_year() is None  # no dated records: callers use this year
    jobs = [
        j.model_copy(update={"posted_on": dt.date(2019 + (i % 2), 3, 1)}) for i, j in enumerate(sample.jobs)
    ]
    dated = dataclasses.replace(sample, jobs=jobs)
    assert dated.data_year() == 2020


@pytest.mark.parametrize("share", [0.3, 0.5, 0.8])
def test_county_fairness_on_the_sample_levels_nobody_down(sample, plain, share, tmp_path):
    run = _place(sample, county_share=share)
    res = run.result
    assert res.status in ("OPTIMAL", "FEASIBLE") and np.isfinite(res.gap)
    # what optimizer.fairness documents it costs in placements: none (it changes who, not how many)
    assert run.n_placed >= plain.n_placed
    # every county below its target is listed, with its code and shortfall
    summary = write_run(run, tmp_path)
    codes = {w.home_county_code for w in sample.workers}
    for r in summary["relaxed"]:
        code = r["constraint"].removeprefix("county_share[").rstrip("]")
        assert code in codes and r["shortfall"] == r["target"] - r["achieved"] > 0
        got = sum(
            1 for w in np.flatnonzero(res.assignment >= 0) if sample.workers[w].home_county_code == code
        )
        assert got == r["achieved"]
