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
    assert hedong["jobs_offered"] == sum(j.openings for j in ds.jobs if ds.job_location(j) == "120102")
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
