"""Exports: Chinese headers, personal data masked, the supply list's known answer, LibreOffice reads them."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from matcher.placement.check import check_placement
from matcher.placement.options import PlaceOptions
from matcher.placement.pipeline import run_placement
from matcher.reporting.exports import SUPPLY_COLUMNS, supply_tables, write_run_exports
from matcher.runs.record import build_record
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset

RAW = ("620503199001011234", "13812345678", "测试1")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    ds = small_dataset()
    run = run_placement(ds, PlaceOptions(year=YEAR, k=6, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder())
    rec = build_record(run)
    out = tmp_path_factory.mktemp("exports")
    files = write_run_exports(ds, YEAR, rec.assignments, rec.unplaced, out)
    return ds, rec, out, files


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_exports_mask_personal_data_everywhere(exported):
    from openpyxl import load_workbook

    _, _, _, files = exported
    for f in files:
        if f.suffix == ".csv":
            text = f.read_text(encoding="utf-8-sig")
        else:
            wb = load_workbook(f, read_only=True)
            text = "\n".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row)
        for raw in RAW:
            assert raw not in text, (f, raw)
    unplaced = _csv(next(f for f in files if f.name == "未安置名单.csv"))
    assert unplaced[0][:4] == ["劳动力编号", "姓名", "身份证号", "手机号"]
    assert all(r[2] == "620503********1234" and r[3] == "138****5678" for r in unplaced[1:])


def test_placement_lists_hold_every_assignment_once(exported):
    _, rec, out, _ = exported
    for folder in ("安置名单_按地区", "安置名单_按企业"):
        rows = [r for f in sorted((out / folder).glob("*.csv")) for r in _csv(f)[1:]]
        assert sorted(r[4] for r in rows) == sorted(a["worker_id"] for a in rec.assignments)


def test_supply_list_matches_the_rules_worker_by_worker():
    ds = small_dataset()
    tables = supply_tables(ds, YEAR, sent_on=dt.date(YEAR, 1, 5))
    pmap = ds.pairing_map(YEAR)
    assert set(tables) == set(pmap.districts_of_county)  # every paired county, workers or not
    for county, table in tables.items():
        workers = [w.worker_id for w in ds.workers if w.home_county_code == county]
        for row in table.rows:
            job = ds.job_by_id[row["job_id"]]
            where = ds.job_location(job)
            workshop = ds.enterprise_by_id[job.enterprise_id].is_local_workshop
            assert pmap.is_paired(county, where) or (where == county and workshop)
            fits = sum(1 for w in workers if check_placement(ds, YEAR, [(w, job.job_id)]) == [])
            assert row["fit_workers"] == (fits if workers else "") and (fits > 0 or not workers)
            ent = ds.enterprise_by_id[job.enterprise_id]
            assert (row["contact_name"], row["contact_phone"]) == (ent.contact_name, ent.contact_phone)
            assert row["sent_on"] == f"{YEAR}-01-05"
        assert list(table.headers) == [h for _, h in SUPPLY_COLUMNS]
    without_workers = [c for c in tables if not any(w.home_county_code == c for w in ds.workers)]
    assert without_workers and any(tables[c].rows for c in without_workers)


def test_supply_list_counts_openings_left_after_the_run(exported):
    ds, rec, _, _ = exported
    before = {r["job_id"]: r for t in supply_tables(ds, YEAR).values() for r in t.rows}
    after = {r["job_id"]: r for t in supply_tables(ds, YEAR, rec.assignments).values() for r in t.rows}
    taken = {}
    for a in rec.assignments:
        taken[a["job_id"]] = taken.get(a["job_id"], 0) + 1
    for job_id, r in after.items():
        assert r["openings_left"] == ds.job_by_id[job_id].openings - taken.get(job_id, 0) > 0
    assert set(after) <= set(before)


# `make test` installs LibreOffice; in CI its absence is a failure, not a skip.
@pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"), reason="LibreOffice is not installed"
)
def test_libreoffice_reads_every_sheet_with_the_chinese_text(exported, tmp_path):
    _, _, out, files = exported
    # Filter options: comma, quote, UTF-8 (76), from row 1 ... last token -1: every sheet to its own file.
    flt = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    xlsx = [f for f in files if f.suffix == ".xlsx"]
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--convert-to",
            flt,
            "--outdir",
            str(tmp_path / "conv"),
            *map(str, xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    for f in xlsx:
        folder = out / f.stem
        for ours in folder.glob("*.csv"):
            sheet = ours.stem.replace("_", " ")  # file names put "_" where sheet names have a space
            theirs = tmp_path / "conv" / f"{f.stem}-{sheet}.csv"
            if not theirs.exists():  # a one-sheet workbook converts to one file named after it
                theirs = tmp_path / "conv" / f"{f.stem}.csv"
            assert theirs.exists(), (theirs, sorted(p.name for p in (tmp_path / "conv").iterdir()))
            assert _csv(theirs) == _csv(ours), ours


def test_supply_list_contacts_are_written_as_typed_but_never_as_a_formula(tmp_path):
    from dataclasses import replace

    from matcher.reporting.exports import write_grouped

    ds = small_dataset()
    contact = {"e1": ('=HYPERLINK("http://x")', "+86 138 0013 8000"), "e2": ("@SUM(A1)", "022-2345 6789")}
    enterprises = [
        e.model_copy(
            update={"contact_name": contact[e.enterprise_id][0], "contact_phone": contact[e.enterprise_id][1]}
        )
        if e.enterprise_id in contact
        else e
        for e in ds.enterprises
    ]
    ds = replace(ds, enterprises=enterprises)
    tables = supply_tables(ds, YEAR)
    (path,) = write_grouped({"河东": tables["623024"]}, "岗位供给清单", tmp_path, ("csv",))
    rows = _csv(path)
    head = rows[0]
    names = {r[head.index("联系人")] for r in rows[1:]}
    phones = {r[head.index("联系电话")] for r in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in names and "'+86 138 0013 8000" in phones  # quoted, not run
    assert not any(n.startswith(("=", "@", "+")) for n in names | phones)
