"""The command line speaks the office's language (LABORBRIDGE_LANG: zh by default, en on request),
runs of one data folder share one store, and ``fairs import`` keeps the good rows of a file with
bad ones. Fake encoder, real solver and store (SQLite)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import matcher.placement.pipeline
from api.cli import app
from tests.fakes import FAKE_MIN_FIT

YEAR = "2026"
WIDE = {"COLUMNS": "250"}  # rich wraps a table at the terminal's width


def _invoke(args, env):
    """One command as its own process would see ``env`` (settings are read once per process)."""
    from api.settings import get_settings

    get_settings.cache_clear()
    return CliRunner().invoke(app, args, env=env)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from tests.fakes import FakeEncoder

    mp = pytest.MonkeyPatch()
    mp.setattr(matcher.placement.pipeline, "make_encoder", lambda model, cache_dir: FakeEncoder())
    root = tmp_path_factory.mktemp("cli_lang")
    r = CliRunner().invoke(
        app, ["sample", str(root / "data"), "--workers", "120", "--jobs", "30", "--seed", "5", "--year", YEAR]
    )
    assert r.exit_code == 0, r.output
    yield root
    mp.undo()


def _place(root, out, *extra, lang=None):
    env = {**WIDE, **({"LABORBRIDGE_LANG": lang} if lang else {})}
    args = ["place", str(root / "data"), "--out", str(root / out), "--year", YEAR, "--quiet"]
    r = _invoke([*args, "--min-fit", str(FAKE_MIN_FIT), *extra], env)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_place_summary_is_chinese_by_default_and_english_on_request(folder, monkeypatch):
    monkeypatch.delenv("LABORBRIDGE_LANG", raising=False)
    zh = _place(folder, "zh", "--k", "5")
    assert "劳务协作批量匹配" in zh and "安置在期望职业" in zh and "求解状态" in zh
    assert "solver status" not in zh
    en = _place(folder, "en", "--k", "5", lang="en")
    assert "laborbridge placement" in en and "solver status" in en and "求解状态" not in en


def test_runs_of_one_folder_share_its_store_and_list_and_diff_speak_chinese(folder, monkeypatch):
    monkeypatch.delenv("LABORBRIDGE_LANG", raising=False)
    _place(folder, "a", "--k", "4")
    _place(folder, "b", "--k", "1", "--no-certify")  # one candidate each, no pricing: fewer placed
    db = f"sqlite:///{(folder / 'data' / 'runs.db').resolve()}"
    runner = CliRunner()
    listed = runner.invoke(app, ["runs", "list", "--db", db], env=WIDE)
    assert listed.exit_code == 0 and "已记录的匹配运行" in listed.stdout and "批量匹配" in listed.stdout
    diff_json = runner.invoke(app, ["runs", "diff", "latest~1", "latest", "--db", db, "--json"])
    d = json.loads(diff_json.stdout)
    assert d["changes"], "the second run keeps only each worker's best job: some worker changes"
    assert all(c["why_zh"] and not c["why_zh"].isascii() for c in d["changes"])
    shown = _invoke(["runs", "diff", "latest~1", "latest", "--db", db, "--workers", "200"], WIDE)
    assert shown.exit_code == 0
    assert "原因" in shown.stdout and "匹配度变化" in shown.stdout
    assert d["changes"][0]["why_zh"][:6] in shown.stdout  # the why column says it in Chinese
    en = _invoke(["runs", "diff", "latest~1", "latest", "--db", db], {**WIDE, "LABORBRIDGE_LANG": "en"})
    assert "why" in en.stdout and "原因" not in en.stdout


def test_fairs_import_keeps_the_good_rows_and_names_each_bad_one(folder, monkeypatch):
    monkeypatch.setenv("LABORBRIDGE_LANG", "en")
    path = folder / "fairs.csv"
    path.write_text(
        "招聘会编号,日期,结对县代码,招聘会类型,达成意向人数,录用人数\n"
        "F1,2026-03-01,623024,专场,40,25\n"
        "F2,2026-13-01,623024,专场,1,1\n"  # no such month
        "F3,2026-04-01,623024,路演,1,1\n"  # no such fair type
        "F4,2026/5/1,623024,网络,12,3\n"
        "F5,2026-05-02,62302X,定向,1,1\n",  # not an admin code
        encoding="utf-8",
    )
    db = f"sqlite:///{folder / 'fairs.db'}"
    r = CliRunner().invoke(app, ["fairs", "import", str(path), "--db", db])
    assert r.exit_code == 0, r.output
    assert "recorded 2 job fairs" in r.stdout and "rejected: 3" in r.stdout
    for row, field in ((3, "held_on"), (4, "fair_type"), (6, "county_code")):
        assert f"row {row}" in r.stdout and field in r.stdout
    from matcher.store import open_engine
    from matcher.store.runs_repo import job_fairs

    engine = open_engine(db)
    fairs = {f["fair_id"]: f for f in job_fairs(engine)}
    engine.dispose()
    assert set(fairs) == {"F1", "F4"}
    f1 = fairs["F1"]
    assert (f1["fair_type"], f1["n_intents"], f1["n_hires"]) == ("dedicated", 40, 25)
    assert fairs["F4"]["fair_type"] == "online"
    bad_only = folder / "bad_fairs.csv"
    bad_only.write_text("fair_id,held_on,county_code\nX,never,623024\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["fairs", "import", str(bad_only), "--db", db])
    assert r.exit_code == 1 and "recorded 0 job fairs" in r.stdout and "held_on" in r.stdout
