"""The programme's own records on the sample, through the command line (issue 17 items 2-4): jobs
with posting dates counted per year, enterprise contacts on the 岗位供给清单 of every paired county
with the date it was sent (recorded, counted by the report), the worker survey's service needs.
No placement run: every figure here comes from the records."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.cli import app

YEAR = 2019


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("programme")
    url = f"sqlite:///{root / 'store.db'}"
    runner = CliRunner()
    for args in (
        [
            "sample",
            str(root / "data"),
            "--workers",
            "200",
            "--jobs",
            "60",
            "--seed",
            "3",
            "--year",
            str(YEAR),
        ],
        ["import", str(root / "data"), "--db", url],
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
    return runner, root, url


def _rows(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_sample_carries_the_new_columns_through_import_and_export(store, tmp_path):
    runner, root, url = store
    for kind, cols in (
        ("jobs", ("posted_on", "closes_on")),
        ("enterprises", ("contact_name", "contact_phone")),
        ("workers", ("service_needs", "work_location_code", "employer_contact")),
    ):
        out = tmp_path / f"{kind}.csv"
        r = runner.invoke(app, ["export", kind, "--db", url, "--out", str(out)])
        assert r.exit_code == 0, r.output
        exported, generated = _rows(out), _rows(root / "data" / f"{kind}.csv")
        for col in cols:
            assert any(row[col] for row in exported), (kind, col)
        if kind != "workers":  # workers' names and numbers are masked on the way out
            key = next(iter(exported[0]))
            by_id = {row[key]: row for row in generated}
            assert all(row[c] == by_id[row[key]][c] for row in exported for c in cols)
    workers = _rows(tmp_path / "workers.csv")
    employed = [w for w in workers if w["employment_status"] == "employed"]
    assert employed and all("****" in w["employer_contact"] for w in employed)  # a phone on a worker row
    assert all(w["employer_contact"] == "" for w in workers if w["employment_status"] == "unemployed")


def test_the_template_has_the_new_columns_with_chinese_headers(tmp_path):
    out = tmp_path / "t.xlsx"
    assert CliRunner().invoke(app, ["template", "--out", str(out)]).exit_code == 0
    wb = load_workbook(out)
    heads = {ws.title: [c.value for c in ws[1]] for ws in wb.worksheets}
    assert {"发布日期", "截止日期"} <= set(heads["岗位"])
    assert {"联系人", "联系电话"} <= set(heads["企业"])
    assert {"就业服务需求", "就业地点代码", "就业单位联系方式"} <= set(heads["劳动力"])


def test_report_counts_the_sample_jobs_in_their_year_only(store, tmp_path):
    runner, _, url = store
    figures = {}
    for year in (YEAR - 1, YEAR):
        out = tmp_path / f"r{year}.xlsx"
        r = runner.invoke(app, ["report", "--year", str(year), "--db", url, "--out", str(out), "--no-chart"])
        assert r.exit_code == 0, r.output
        assert f"{year}年：提供岗位" in r.stdout  # the office's language by default
        figures[year] = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert figures[YEAR]["city"]["jobs_offered"] > 0 and figures[YEAR - 1]["city"]["jobs_offered"] == 0
    assert figures[YEAR]["city"]["jobs_offered_cumulative"] == figures[YEAR]["city"]["jobs_offered"]
    counties = figures[YEAR]["counties"]
    registered = {c["county_code"]: c for c in counties if c["registered"]}
    assert registered and sum(c["service_needs"]["training"] for c in counties) > 0
    workers = _rows(store[1] / "data" / "workers.csv")
    for code, c in registered.items():
        mine = [w for w in workers if w["home_county_code"] == code]
        for need, n in c["service_needs"].items():
            assert n == sum(1 for w in mine if need in w["service_needs"].split(";")), (code, need)
    wb = load_workbook(tmp_path / f"r{YEAR}.xlsx", read_only=True)
    assert "就业服务需求" in wb.sheetnames
    head = next(wb["各区进度"].iter_rows(values_only=True))
    assert "提供岗位" in head and "安置人数" in head  # placements stay their own column


def test_supply_lists_go_to_every_paired_county_with_contacts_and_are_recorded_as_sent(store, tmp_path):
    runner, root, url = store
    out = tmp_path / "lists"
    day = dt.date(YEAR, 2, 20)
    r = runner.invoke(
        app,
        ["export", "lists", "--db", url, "--out", str(out), "--year", str(YEAR), "--format", "csv",
         "--sent", "--sent-on", f"{YEAR}/2/20"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    files = sorted((out / "岗位供给清单").glob("*.csv"))
    pairings = _rows(root / "data" / "pairings.csv")
    paired = {p["county_code"] for p in pairings if int(p["since_year"] or 0) <= YEAR}
    assert {f.name[:6] for f in files} == paired  # every paired county, workers in the data or not
    enterprises = {e["name"]: e for e in _rows(root / "data" / "enterprises.csv")}
    jobs = {j["job_id"]: j for j in _rows(root / "data" / "jobs.csv")}
    n_rows = 0
    for f in files:
        for row in _rows(f):
            n_rows += 1
            e = enterprises[row["企业名称"]]
            assert (row["联系人"], row["联系电话"]) == (e["contact_name"], e["contact_phone"])
            assert row["发送日期"] == day.isoformat()
            closes = jobs[row["岗位编号"]]["closes_on"]
            assert not closes or closes >= day.isoformat()  # closed before the list: left out
    assert n_rows
    rep = tmp_path / "r.xlsx"
    r = runner.invoke(app, ["report", "--year", str(YEAR), "--db", url, "--out", str(rep), "--no-chart"])
    assert r.exit_code == 0, r.output
    figures = json.loads(rep.with_suffix(".json").read_text(encoding="utf-8"))
    sent = {c["county_code"]: c["supply_lists_sent_on"] for c in figures["counties"]}
    assert all(sent[c] == [day.isoformat()] for c in paired)
    assert figures["city"]["supply_lists_sent"] == len(paired)


def test_a_bad_date_names_file_row_field_and_reason_and_the_good_rows_go_in(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "enterprises.csv").write_text(
        "enterprise_id,name,location_code,contact_name,contact_phone\n"
        "e1,河东物业,120102,王经理,022-2345 6789\n"
        "e2,武清电子,120114,李主任,电话找我\n",
        encoding="utf-8",
    )
    (folder / "jobs.csv").write_text(
        "job_id,enterprise_id,title,openings,posted_on,closes_on\n"
        "j1,e1,保安员,2,2019年3月1日,2019/6/30\n"
        "j2,e1,保洁员,1,2019-02-30,\n"
        "j3,e1,厨师,1,2019-05-01,2019-04-01\n"
        "j4,e1,司机,1,soon,\n",
        encoding="utf-8",
    )
    (folder / "workers.csv").write_text(
        "worker_id,gender,birth_year,home_county_code,service_needs,employment_status,work_location_code\n"
        "w1,male,1990,623024,职业培训、政策咨询,unemployed,\n"
        "w2,female,1992,623024,挖矿,unemployed,\n"
        "w3,male,1985,623024,维权,已就业,999999\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 's.db'}"
    r = CliRunner().invoke(app, ["import", str(folder), "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    bad = {(e["file"].rsplit("/", 1)[-1], e["row"], e["field"]): e["reason"] for e in report["rejected"]}
    assert "calendar date" in bad[("jobs.csv", 3, "posted_on")]
    assert "before posted_on" in bad[("jobs.csv", 4, "closes_on")]
    assert "date like 2020-03-01" in bad[("jobs.csv", 5, "posted_on")]
    assert "phone number" in bad[("enterprises.csv", 3, "contact_phone")]
    assert "职业培训" in bad[("workers.csv", 3, "service_needs")]  # the accepted values are named
    assert ("workers.csv", 4, "work_location_code") in bad
    assert report["imported"] == {"workers": 1, "enterprises": 1, "jobs": 1, "pairings": 0}
    from matcher.store import load_dataset

    ds = load_dataset(url)
    (job,) = ds.jobs
    assert (job.posted_on, job.closes_on) == (dt.date(2019, 3, 1), dt.date(2019, 6, 30))
    (worker,) = ds.workers
    assert [n.value for n in worker.service_needs] == ["training", "policy_consultation"]
