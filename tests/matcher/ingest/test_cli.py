"""The import, export and template commands: exit codes, JSON report, masking, round trip via XLSX.

The tests that take ``db_url`` run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.matcher.test_dataset import ENTERPRISES, JOBS, WORKERS

runner = CliRunner()


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("LABORBRIDGE_SECRET_KEY", "cli-test-secret-0123456789")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name, text in [("workers", WORKERS), ("enterprises", ENTERPRISES), ("jobs", JOBS)]:
        (d / f"{name}.csv").write_text(text, encoding="utf-8")
    return d


def test_import_json_report_and_exit_code(folder, db_url):
    res = runner.invoke(app, ["import", str(folder), "--db", db_url, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["imported"] == {"workers": 2, "enterprises": 2, "jobs": 2, "pairings": 0}
    assert {(r["row"], r["field"]) for r in report["rejected"] if r["file"].endswith("workers.csv")} == {
        (4, "gender"),
        (6, "home_county_code"),
    }
    assert all(set(r) >= {"file", "row", "field", "reason"} for r in report["rejected"])


def test_import_exit_1_when_nothing_valid_and_2_for_usage(tmp_path, db_url):
    bad = tmp_path / "workers.csv"
    bad.write_text("worker_id,gender\nw1,male\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(bad), "--db", db_url]).exit_code == 1
    assert runner.invoke(app, ["import", str(tmp_path / "missing.csv")]).exit_code == 2


def test_import_default_store_is_in_the_data_folder_with_a_key_file(folder, tmp_path, monkeypatch):
    monkeypatch.delenv("LABORBRIDGE_SECRET_KEY")
    assert runner.invoke(app, ["import", str(folder)]).exit_code == 0
    assert (tmp_path / "data" / "laborbridge.db").exists()
    assert (tmp_path / "data" / "laborbridge.key").stat().st_mode & 0o077 == 0


def _audit_log(db: str) -> list[dict]:
    from api.audit import audit_rows
    from matcher.store import open_engine

    engine = open_engine(db)
    try:
        return audit_rows(engine)
    finally:
        engine.dispose()


def test_export_csv_masks_personal_data_and_unmasked_is_logged(folder, db_url, caplog):
    runner.invoke(app, ["import", str(folder), "--db", db_url])
    res = runner.invoke(app, ["export", "workers", "--db", db_url])
    assert res.exit_code == 0
    assert "620503********1231" in res.stdout and "138****5678" in res.stdout and "张*" in res.stdout
    assert "13812345678" not in res.stdout and "张三" not in res.stdout
    assert _audit_log(db_url) == []  # masked: nothing to audit
    with caplog.at_level(logging.WARNING, logger="laborbridge.audit"):
        res = runner.invoke(app, ["export", "workers", "--unmasked", "--db", db_url])
    assert "张三" in res.stdout and "620503********1231" in res.stdout
    assert any("unmasked" in r.message for r in caplog.records)
    rows = _audit_log(db_url)  # and a row in the store's audit log, with no key
    assert [(r["key_id"], r["method"], r["route"]) for r in rows] == [
        (None, "CLI", "laborbridge export workers --unmasked")
    ]
    assert "names in clear" in rows[0]["detail"] and "OS user" in rows[0]["detail"]
    runner.invoke(app, ["export", "jobs", "--unmasked", "--db", db_url])  # no names in jobs
    assert len(_audit_log(db_url)) == 1


def test_xlsx_export_with_chinese_headers_imports_back_unchanged(folder, tmp_path, db_url):
    db = db_url
    runner.invoke(app, ["import", str(folder), "--db", db])
    out = tmp_path / "out"
    out.mkdir()
    for kind in ("enterprises", "jobs", "workers"):
        res = runner.invoke(
            app,
            [
                "export",
                kind,
                "--format",
                "xlsx",
                "--headers",
                "zh",
                "--out",
                str(out / f"{kind}.xlsx"),
                "--db",
                db,
            ],
        )
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["import", str(out), "--db", db, "--json"])
    report = json.loads(res.stdout)
    assert res.exit_code == 0 and not report["rejected"] and report["written"] is False


def test_usage_errors(tmp_path):
    assert runner.invoke(app, ["export", "workers", "--format", "xlsx"]).exit_code != 0
    assert runner.invoke(app, ["template", "--format", "csv"]).exit_code != 0


def test_template_command_writes_a_workbook(tmp_path):
    res = runner.invoke(app, ["template", "--out", str(tmp_path / "t.xlsx")])
    assert res.exit_code == 0 and (tmp_path / "t.xlsx").stat().st_size > 0


def test_import_of_a_file_with_bad_bytes_far_down_rejects_that_row_and_keeps_the_rest(tmp_path, db_url):
    bad = tmp_path / "workers.csv"
    body = "".join(f"w{i},male,1990,623024,anywhere\n" for i in range(20_000))
    head = "worker_id,gender,birth_year,home_county_code,mobility\n"
    bad.write_bytes((head + body).encode() + b"w\xff,male\n")
    res = runner.invoke(app, ["import", str(bad), "--db", db_url, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["imported"]["workers"] == 20_000
    assert [(r["row"], r["field"]) for r in report["rejected"]] == [(20_002, "worker_id")]
    assert "not valid utf-8" in report["rejected"][0]["reason"]
