"""The run lifecycle through the CLI: place (recorded), runs list/show/diff, what-if, exports,
job fairs, the programme report, outcomes and re-matching. Fake encoder, real solver and store,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import matcher.placement.pipeline
from api.cli import app
from tests.conftest import BACKENDS, store_url
from tests.fakes import FAKE_MIN_FIT

YEAR = "2026"


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    from tests.fakes import FakeEncoder

    mp = pytest.MonkeyPatch()
    mp.setattr(matcher.placement.pipeline, "make_encoder", lambda model, cache_dir: FakeEncoder())
    root = tmp_path_factory.mktemp("cli_runs")
    runner = CliRunner()
    with store_url(request, request.param, root) as url:
        data = root / "data"
        for args in (
            ["sample", str(data), "--workers", "150", "--jobs", "40", "--seed", "11", "--year", YEAR],
            ["import", str(data), "--db", url],
        ):
            r = runner.invoke(app, args)
            assert r.exit_code == 0, r.output
        yield runner, root, data, url
    mp.undo()


def _json(runner, args):
    if args[0] == "place":  # the fake encoder's scores lie below the default minimum fit
        args = [*args, "--min-fit", str(FAKE_MIN_FIT)]
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_place_from_the_store_records_the_run_there_reproducibly(store):
    runner, root, _, url = store
    a = _json(runner, ["place", "--db", url, "--out", str(root / "a"), "--k", "8", "--year", YEAR])
    b = _json(runner, ["place", "--db", url, "--out", str(root / "b"), "--k", "8", "--year", YEAR])
    assert a["run_id"] != b["run_id"]
    for key in (
        "status",
        "objective",
        "bound",
        "n_workers",
        "n_jobs",
        "n_openings",
        "n_placed",
        "k",
        "model",
        "solver",
        "seconds",
        "input_sha256",
        "versions",
    ):
        assert key in a
    assert (root / "a" / "assignments.csv").read_text() == (root / "b" / "assignments.csv").read_text()
    runs = _json(runner, ["runs", "list", "--db", url])
    assert [r["run_id"] for r in runs][:2] == [b["run_id"], a["run_id"]]
    shown = _json(runner, ["runs", "show", b["run_id"][:-1], "--db", url])
    assert (
        shown["assignment_sha256"]
        == _json(runner, ["runs", "show", a["run_id"], "--db", url])["assignment_sha256"]
    )
    assert all(x["explanation_zh"] for x in shown["assignments"])
    # In UTC on every backend (the run id holds the UTC second), also from a server in +08:00.
    created = dt.datetime.fromisoformat(shown["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    stamp = dt.datetime.strptime(b["run_id"][:15], "%Y%m%dT%H%M%S")
    assert created.replace(microsecond=0, tzinfo=None) == stamp
    d = _json(runner, ["runs", "diff", a["run_id"], b["run_id"], "--db", url])
    assert d["changes"] == [] and d["params_changed"] == {} and d["same_input"]


def test_diff_shows_parameters_and_moved_workers(store):
    runner, root, _, url = store
    _json(runner, ["place", "--db", url, "--out", str(root / "c"), "--k", "8", "--year", YEAR])
    _json(
        runner,
        [
            "place",
            "--db",
            url,
            "--out",
            str(root / "d"),
            "--k",
            "8",
            "--year",
            YEAR,
            "--mode",
            "count",
            "--priority",
            "lexicographic",
        ],
    )
    d = _json(runner, ["runs", "diff", "latest~1", "latest", "--db", url])
    assert d["params_changed"]["mode"] == {"a": "score", "b": "count"}
    assert d["params_changed"]["rules.priority"] == {"a": "none", "b": "lexicographic"}
    assert d["placed"]["change"] == d["counts"]["newly_placed"] - d["counts"]["newly_unplaced"]


def test_runs_of_one_data_folder_share_the_folders_store(store):
    runner, root, data, _ = store
    s = _json(
        runner,
        [
            "place",
            str(data),
            "--out",
            str(root / "f"),
            "--k",
            "5",
            "--year",
            YEAR,
            "--district-target",
            "河东区=3",
            "--no-dorm-beds",
        ],
    )
    assert (data / "runs.db").exists() and not (root / "f" / "runs.db").exists()
    assert s["record_db"] == f"sqlite:///{(data / 'runs.db').resolve()}"
    assert s["rules"]["district_targets"] == {"120102": 3} and s["rules"]["dorm_beds"] is False
    again = _json(runner, ["place", str(data), "--out", str(root / "f2"), "--k", "6", "--year", YEAR])
    assert again["record_db"] == s["record_db"]  # another --out, the same store: one list, one diff
    listed = _json(runner, ["runs", "list", "--db", s["record_db"]])
    assert [r["run_id"] for r in listed][:2] == [again["run_id"], s["run_id"]]
    r = runner.invoke(
        app, ["place", str(data), "--out", str(root / "g"), "--k", "5", "--no-record", "--json"]
    )
    assert r.exit_code == 0 and not (root / "g" / "runs.db").exists()
    with (root / "f" / "unplaced.csv").open() as fh:
        assert next(csv.reader(fh)) == ["worker_id", "reason", "rule", "guidance_zh", "guidance_en"]


def test_what_if_reports_the_change_and_records_nothing(store):
    runner, root, data, url = store
    before = len(_json(runner, ["runs", "list", "--db", url]))
    with (data / "jobs.csv").open(encoding="utf-8") as fh:
        job = next(csv.DictReader(fh))["job_id"]
    w = _json(
        runner,
        [
            "place",
            "--db",
            url,
            "--out",
            str(root / "w"),
            "--k",
            "8",
            "--year",
            YEAR,
            "--what-if",
            f"openings {job} +50",
        ],
    )
    assert w["objective"]["change"] >= 0 and w["placed"]["change"] >= 0
    assert w["placed"]["change"] == len(w["newly_placed"]) - len(w["newly_unplaced"])
    assert all(x["job_new"] == job for x in w["newly_placed"]) or w["moved"]
    assert len(_json(runner, ["runs", "list", "--db", url])) == before
    assert (root / "w" / "what_if.json").exists() and not (root / "w" / "assignments.csv").exists()
    relax = _json(
        runner,
        [
            "place",
            "--db",
            url,
            "--out",
            str(root / "w2"),
            "--k",
            "8",
            "--year",
            YEAR,
            "--district-target",
            "120102=40",
            "--what-if",
            "relax target 河东区",
        ],
    )
    assert relax["objective"]["change"] >= -1e-9
    bad = runner.invoke(app, ["place", "--db", url, "--out", str(root / "w3"), "--what-if", "openings"])
    assert bad.exit_code != 0


@pytest.mark.slow
def test_exports_report_fairs_outcomes_and_rematch(store):
    runner, root, _, url = store
    s = _json(runner, ["place", "--db", url, "--out", str(root / "e"), "--k", "8", "--year", YEAR])
    r = runner.invoke(app, ["export", "lists", "--run", s["run_id"], "--db", url, "--out", str(root / "x")])
    assert r.exit_code == 0, r.output
    assert (root / "x" / "岗位供给清单.xlsx").exists() and (root / "x" / "未安置名单.xlsx").exists()
    # the old spelling still works for one release, and says what replaces it
    r = runner.invoke(app, ["exports", "--run", s["run_id"], "--db", url, "--out", str(root / "y")])
    assert r.exit_code == 0 and "export lists" in r.stderr
    assert sorted(p.name for p in (root / "y").iterdir()) == sorted(p.name for p in (root / "x").iterdir())
    bad = runner.invoke(
        app, ["export", "lists", "--run", s["run_id"], "--db", url, "--unmasked", "--out", "z"]
    )
    assert bad.exit_code != 0 and "for records" in str(bad.exception)
    bad = runner.invoke(app, ["export", "workers", "--run", s["run_id"], "--db", url])
    assert bad.exit_code != 0 and "export lists" in str(bad.exception)
    fairs = root / "fairs.csv"
    fairs.write_text(
        "招聘会编号,日期,地点,帮扶区代码,结对县代码,参会企业数,岗位数,参会人数,录用人数\n"
        "F1,2026-03-01,迭部县,120102,623024,10,200,300,40\n"
        "F2,2025-03-01,迭部县,120102,623024,10,200,300,40\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["fairs", "import", str(fairs), "--db", url]).exit_code == 0
    placed = list(csv.DictReader((root / "e" / "assignments.csv").open()))[:4]
    outcomes = root / "outcomes.csv"
    rows = ["劳动力编号,是否到岗,到岗日期,离职天数,三个月在岗,六个月在岗"]
    rows += [f"{p['worker_id']},是,2026-03-01,20,否," for p in placed[:2]]
    rows += [f"{p['worker_id']},是,2026-03-01,,是,是" for p in placed[2:]]
    outcomes.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["runs", "outcomes", s["run_id"], str(outcomes), "--db", url])
    assert r.exit_code == 0, r.output
    rm = _json(
        runner,
        [
            "place",
            "--db",
            url,
            "--out",
            str(root / "r"),
            "--k",
            "8",
            "--year",
            YEAR,
            "--rematch",
            s["run_id"],
        ],
    )
    assert rm["n_workers"] == 2
    shown = _json(runner, ["runs", "show", rm["run_id"], "--db", url, "--workers", "10"])
    assert shown["kind"] == "rematch" and shown["base_run_id"] == s["run_id"]
    left_from = {p["worker_id"]: p["enterprise_id"] for p in placed[:2]}
    assert all(a["enterprise_id"] != left_from[a["worker_id"]] for a in shown["assignments"])
    out = root / "report.xlsx"
    r = runner.invoke(app, ["report", "--year", YEAR, "--db", url, "--out", str(out)])
    assert r.exit_code == 0, r.output
    fig = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert fig["city"]["job_fairs"] == 1 and fig["city"]["jobs_target"] == 50_000
    assert fig["annual_flow_report"]["due"] == "2027-01-20"
    by_ent = fig["stable_employment"]["by_enterprise"]
    assert sum(e["started"] for e in by_ent) == 4 and sum(e["stayed_3m"] for e in by_ent) == 2
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "进度图" and "各区进度" in wb.sheetnames
    assert wb["各区进度"]["B2"].value == "和平区"
