"""``laborbridge recommend`` and ``candidates`` on a data folder, with the fake encoder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from matcher.records import COLUMNS, to_row
from tests.fakes import FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    ds = small_dataset()
    d = tmp_path_factory.mktemp("data")
    for kind, records in [("workers", ds.workers), ("enterprises", ds.enterprises), ("jobs", ds.jobs)]:
        with (d / f"{kind}.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv.DictWriter(fh, fieldnames=COLUMNS[kind], lineterminator="\n")
            wr.writeheader()
            # the fixture's ID numbers are not valid ones: leave them out so every row loads
            wr.writerows(
                {**to_row(r), "id_number": "", "phone": ""} if kind == "workers" else to_row(r)
                for r in records
            )
    return d


@pytest.fixture(autouse=True)
def _fake_encoder(monkeypatch):
    monkeypatch.setattr("api.cli.recommend.make_encoder", FakeEncoder)


def _json(args):
    res = runner.invoke(app, [*args, "--year", str(YEAR), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_recommend_json_for_a_known_worker(folder):
    out = _json(["recommend", "w004", "--data", str(folder), "--k", "3"])
    assert out["worker_id"] == "w004"
    assert 0 < len(out["items"]) <= 3
    item = out["items"][0]
    assert abs(sum(item["factors"].values()) - item["score"]) < 1e-5
    assert item["explanation_zh"] and item["explanation_en"]


def test_recommend_a_profile_file_like_the_known_worker(folder, tmp_path):
    w = small_dataset().workers[4]
    profile = {k: v for k, v in to_row(w).items() if k not in ("worker_id", "name", "id_number", "phone")}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    new = _json(["recommend", "--profile-file", str(path), "--data", str(folder), "--k", "3"])
    known = _json(["recommend", "w004", "--data", str(folder), "--k", "3"])
    assert [i["job_id"] for i in new["items"]] == [i["job_id"] for i in known["items"]]


def test_candidates_json_has_no_personal_data(folder):
    out = _json(["candidates", "j2", "--data", str(folder), "--k", "5"])
    assert out["job_id"] == "j2" and out["items"]
    text = json.dumps(out, ensure_ascii=False)
    assert "测试" not in text  # names
    assert set(out["items"][0]["worker"]) >= {"worker_id", "age", "gender", "education", "skills"}


def test_table_output_and_usage_errors(folder):
    res = runner.invoke(app, ["recommend", "w004", "--data", str(folder), "--year", str(YEAR)])
    assert res.exit_code == 0 and "w004" in res.output
    res = runner.invoke(app, ["recommend", "--data", str(folder)])
    assert res.exit_code != 0
    res = runner.invoke(app, ["recommend", "nobody", "--data", str(folder), "--year", str(YEAR)])
    assert res.exit_code != 0
