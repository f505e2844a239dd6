"""Programme report: figures with a known answer, the chart draws Chinese glyphs, XLSX + JSON."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import pytest

from matcher.reporting.programme import latest_placements, programme_figures, write_report
from tests.matcher.conftest import YEAR, small_dataset


def _a(worker, job, ent, where, home):
    return {
        "worker_id": worker,
        "job_id": job,
        "enterprise_id": ent,
        "location_code": where,
        "home_county_code": home,
    }


PLACED = {
    "w1": _a("w1", "j0", "e1", "120102", "623024"),  # 迭部 → its paired 河东, an employment base
    "w2": _a("w2", "j1", "e2", "120114", "623024"),  # 迭部 → 武清 (not paired)
    "w3": _a("w3", "j3", "e4", "623024", "623024"),  # at home, local workshop
}
FAIR = {
    "fair_id": "F1",
    "held_on": dt.date(YEAR, 3, 1),
    "place": "迭部",
    "district_code": "120102",
    "county_code": "623024",
    "n_enterprises": 3,
    "n_jobs": 50,
    "n_attendees": 80,
    "n_hires": 9,
}


def test_figures_count_targets_placements_and_flows():
    ds = small_dataset()
    f = programme_figures(ds, YEAR, PLACED, [FAIR])
    hedong = next(d for d in f["districts"] if d["district_code"] == "120102")
    # the hand-built jobs carry no posting date: counted in no year, shown apart
    assert hedong["jobs_offered"] == 0
    assert hedong["jobs_undated"] == sum(j.openings for j in ds.jobs if ds.job_location(j) == "120102")
    assert hedong["target"] == 1000 and hedong["placed_from_paired"] == 1 and hedong["placed_in_bases"] == 1
    assert hedong["local_workshop_jobs"] == sum(j.openings for j in ds.jobs if j.enterprise_id == "e4")
    assert hedong["job_fairs"] == 1
    wuqing = next(d for d in f["districts"] if d["district_code"] == "120114")
    assert wuqing["placed"] == 1 and wuqing["placed_from_paired"] == 0
    diebu = next(c for c in f["counties"] if c["county_code"] == "623024")
    assert (diebu["outflow_tianjin"], diebu["local"], diebu["placed"]) == (2, 1, 3)
    assert f["city"]["job_fairs"] == 1 and f["city"]["job_fairs_target"] == 120
    assert f["annual_flow_report"]["due"] == f"{YEAR + 1}-01-20"


def test_latest_run_of_each_input_counts_and_a_rerun_replaces():
    runs = [
        {"run_id": "r1", "input_sha256": "A", "kind": "plan"},
        {"run_id": "r2", "input_sha256": "B", "kind": "plan"},
        {"run_id": "r3", "input_sha256": "A", "kind": "plan"},
    ]
    rows = {
        "r1": [_a("w1", "j0", "e1", "120102", "623024")],
        "r2": [_a("w2", "j1", "e2", "120114", "623024")],
        "r3": [],
    }
    assert set(latest_placements(runs, rows.__getitem__)) == {"w2"}


def test_chart_draws_every_chinese_glyph_and_report_writes_xlsx_and_json(tmp_path):
    from matcher.reporting.chart import cjk_font

    try:
        cjk_font()
    except Exception as exc:  # pragma: no cover - depends on the machine's fonts
        pytest.fail(f"no CJK font: {exc} (the Makefile's test target installs fonts-noto-cjk)")
    fig = programme_figures(small_dataset(), YEAR, PLACED, [FAIR])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for a box
        written = write_report(fig, tmp_path / "r.xlsx")
    assert written["png"].stat().st_size > 10_000
    assert json.loads(written["json"].read_text(encoding="utf-8"))["city"]["placed"] == 3
    from openpyxl import load_workbook

    wb = load_workbook(written["xlsx"])
    assert wb.sheetnames[:3] == ["进度图", "总览", "各区进度"]
    assert len(wb["进度图"]._images) == 1


def _dated(ds, days):
    """``ds`` with job i posted on ``days[i % len(days)]``."""
    from dataclasses import replace

    jobs = [j.model_copy(update={"posted_on": days[i % len(days)]}) for i, j in enumerate(ds.jobs)]
    return replace(ds, jobs=jobs)


def test_jobs_offered_are_counted_per_year_and_cumulatively_placements_apart():
    days = [dt.date(2018, 5, 1), dt.date(2019, 5, 1), dt.date(2020, 5, 1), dt.date(2021, 1, 2)]
    ds = _dated(small_dataset(), days)
    in_hedong = [j for j in ds.jobs if ds.job_location(j) == "120102"]

    def offered(year):
        return sum(j.openings for j in in_hedong if j.posted_on.year == year)

    for year in (2018, 2019, 2020):
        f = programme_figures(ds, year, PLACED, [])
        hedong = next(d for d in f["districts"] if d["district_code"] == "120102")
        assert hedong["jobs_offered"] == offered(year)
        assert hedong["jobs_offered_cumulative"] == sum(offered(y) for y in range(2018, year + 1))
        assert hedong["placed"] == 1 and hedong["jobs_undated"] == 0  # placements stay their own figure
    city_2020 = programme_figures(ds, 2020, PLACED, [])["city"]
    tianjin = [j for j in ds.jobs if ds.job_location(j).startswith("12") and j.posted_on.year <= 2020]
    assert city_2020["jobs_offered_cumulative"] == sum(j.openings for j in tianjin)
    assert city_2020["jobs_progress"] == round(city_2020["jobs_offered_cumulative"] / 50_000, 4)
    assert city_2020["placed"] == 3


def test_fairs_count_toward_the_120_cumulatively_by_type_with_intents_apart_from_hires():
    fairs = [
        {**FAIR, "fair_id": "A", "held_on": dt.date(2018, 3, 1), "fair_type": "dedicated", "n_intents": 30},
        {**FAIR, "fair_id": "B", "held_on": dt.date(2019, 3, 1), "fair_type": "dedicated", "n_intents": 20},
        {**FAIR, "fair_id": "C", "held_on": dt.date(2019, 4, 1), "fair_type": "online", "n_intents": 5},
        {**FAIR, "fair_id": "D", "held_on": dt.date(2020, 4, 1), "fair_type": "targeted", "n_intents": 7},
    ]
    c = programme_figures(small_dataset(), 2019, {}, fairs)["city"]
    assert c["job_fairs"] == 1 and c["job_fairs_cumulative"] == 2  # 专场 only: B in 2019, A and B since 2018
    assert c["job_fairs_by_type"] == {"dedicated": 1, "targeted": 0, "online": 1}
    assert (c["fair_intents"], c["fair_hires"]) == (25, 2 * FAIR["n_hires"])
    assert c["job_fairs_progress"] == round(2 / 120, 4)


def test_every_paired_county_is_listed_with_service_needs_and_supply_lists_sent():
    ds = small_dataset()
    needs = ["training", "training;policy_consultation", "rights_protection", ""]
    workers = [w.model_copy(update={"service_needs": tuple(needs[i % 4].split(";")) if needs[i % 4] else ()})
               for i, w in enumerate(ds.workers)]  # fmt: skip
    from dataclasses import replace

    ds = replace(ds, workers=workers)
    sent = [
        {"county_code": "623024", "sent_on": dt.date(YEAR, 2, 1)},
        {"county_code": "623024", "sent_on": dt.date(YEAR, 6, 1)},
        {"county_code": "620821", "sent_on": dt.date(YEAR - 1, 6, 1)},  # another year
    ]
    f = programme_figures(ds, YEAR, {}, [], lists_sent=sent)
    counties = {c["county_code"]: c for c in f["counties"]}
    assert set(ds.pairing_map(YEAR).districts_of_county) <= set(counties)
    diebu = counties["623024"]
    mine = [w for w in ds.workers if w.home_county_code == "623024"]
    assert diebu["service_needs"]["training"] == sum(1 for w in mine if "training" in w.service_needs)
    assert diebu["service_needs"]["rights_protection"] == sum(
        1 for w in mine if "rights_protection" in w.service_needs
    )
    assert diebu["supply_lists_sent"] == 2 and counties["620821"]["supply_lists_sent"] == 0
    assert f["city"]["supply_lists_sent"] == 2
    assert f["city"]["service_needs"]["training"] == sum(
        1 for w in ds.workers if "training" in w.service_needs
    )


def test_cjk_font_found_when_matplotlibs_cached_list_predates_the_font(monkeypatch):
    """A font installed after matplotlib wrote its font-list cache is found by scanning the system."""
    from matplotlib import font_manager

    from matcher.reporting.chart import cjk_font

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])  # the stale cache: no font at all
    path = cjk_font()
    assert path in font_manager.findSystemFonts()


def test_cjk_font_missing_everywhere_is_a_config_error(monkeypatch):
    from matplotlib import font_manager

    from matcher.errors import ConfigError
    from matcher.reporting.chart import cjk_font

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    with pytest.raises(ConfigError, match="fonts-noto-cjk"):
        cjk_font()
