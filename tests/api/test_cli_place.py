"""`laborbridge sample` then `laborbridge place`, through the CLI, with a fake encoder."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

import matcher.placement.pipeline
from api.cli import app
from matcher.ingest import load_folder
from matcher.placement.check import check_placement
from matcher.placement.options import DEFAULT_MIN_FIT
from tests.fakes import FAKE_MIN_FIT, FakeEncoder

FAKE = str(FAKE_MIN_FIT)


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr(matcher.placement.pipeline, "make_encoder", lambda model, cache_dir: FakeEncoder())


def test_sample_then_place_writes_a_feasible_run(tmp_path, fake_model):
    runner = CliRunner()
    data = tmp_path / "data"
    out = tmp_path / "run"
    r = runner.invoke(
        app, ["sample", str(data), "--workers", "120", "--jobs", "30", "--seed", "5", "--year", "2026"]
    )
    assert r.exit_code == 0, r.output
    args = ["place", str(data), "--out", str(out), "--k", "10", "--year", "2026", "--json", "--min-fit", FAKE]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["status"] == "OPTIMAL"
    assert summary["n_workers"] == 120 and summary["n_jobs"] == 30
    assert 0 < summary["n_placed"] <= summary["n_openings"]
    ds = load_folder(data)
    lines = (out / "assignments.csv").read_text(encoding="utf-8").splitlines()[1:]
    pairs = [tuple(line.split(",")[:2]) for line in lines]
    assert len(pairs) == summary["n_placed"]
    assert check_placement(ds, 2026, pairs) == []


def test_place_needs_a_folder_or_a_store(tmp_path):
    r = CliRunner().invoke(app, ["place", "--out", str(tmp_path)])
    assert r.exit_code != 0


def test_place_takes_weights_and_k_from_a_config_file(tmp_path, fake_model):
    runner = CliRunner()
    data = tmp_path / "data"
    r = runner.invoke(
        app, ["sample", str(data), "--workers", "60", "--jobs", "15", "--seed", "2", "--year", "2026"]
    )
    assert r.exit_code == 0, r.output
    cfg = tmp_path / "tuned.toml"
    cfg.write_text("[scoring.weights]\ndense = 1.0\nlexical = 0.0\n\n[candidates]\nk = 7\n", encoding="utf-8")
    args = ["place", str(data), "--out", str(tmp_path / "run"), "--year", "2026", "--json", "--no-record"]
    args += ["--min-fit", FAKE]
    r = runner.invoke(app, [*args, "--config", str(cfg), "--prices"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["k"] == 7
    assert summary["scoring"]["weights"]["dense"] == 1.0 and summary["scoring"]["weights"]["lexical"] == 0.0
    prices = summary["shadow_prices"]
    assert prices, "an oversubscribed sample has jobs where one more opening helps"
    assert all(p["price"] > 0 for p in prices)
    assert [p["price"] for p in prices] == sorted((p["price"] for p in prices), reverse=True)
    r = runner.invoke(app, [*args, "--config", str(cfg), "--k", "3"])
    assert json.loads(r.stdout)["k"] == 3 and json.loads(r.stdout)["shadow_prices"] == []


def test_place_honours_the_k_setting_below_flag_and_config(tmp_path, fake_model, monkeypatch):
    """``LABORBRIDGE_K`` is the CLI's default k too; ``--k`` still wins."""
    from api.settings import get_settings

    runner = CliRunner()
    _sample(runner, tmp_path / "data")
    monkeypatch.setenv("LABORBRIDGE_K", "5")
    get_settings.cache_clear()
    args = ["place", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--year", "2026", "--json"]
    args += ["--no-record", "--min-fit", FAKE]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["k"] == 5
    r = runner.invoke(app, [*args, "--k", "9"])
    assert json.loads(r.stdout)["k"] == 9


def _sample(runner, data, workers=60):
    r = runner.invoke(
        app, ["sample", str(data), "--workers", str(workers), "--jobs", "15", "--seed", "2", "--year", "2026"]
    )
    assert r.exit_code == 0, r.output


def _reasons(out):
    with (out / "unplaced.csv").open(encoding="utf-8") as fh:
        return {r["worker_id"]: r["reason"] for r in csv.DictReader(fh)}


def test_place_keeps_employed_workers_and_the_default_min_fit_unless_told(tmp_path, fake_model):
    runner = CliRunner()
    data, out = tmp_path / "data", tmp_path / "run"
    _sample(runner, data)
    employed = {w.worker_id for w in load_folder(data).workers if w.employment_status.value == "employed"}
    assert employed
    args = ["place", str(data), "--out", str(out), "--year", "2026", "--json", "--no-record"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["include_employed"] is False and summary["min_fit"] == DEFAULT_MIN_FIT
    assert {w for w, reason in _reasons(out).items() if reason == "employed_kept"} == employed
    assert summary["unplaced_reasons"]["employed_kept"] == len(employed)
    on_disk = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert on_disk["include_employed"] is False and on_disk["min_fit"] == DEFAULT_MIN_FIT


def test_place_include_employed_and_min_fit_flags_are_recorded_in_run_json(tmp_path, fake_model):
    runner = CliRunner()
    data, out = tmp_path / "data", tmp_path / "run"
    _sample(runner, data)
    args = ["place", str(data), "--out", str(out), "--year", "2026", "--json", "--no-record"]
    r = runner.invoke(app, [*args, "--include-employed", "--min-fit", "0.12"])
    assert r.exit_code == 0, r.output
    on_disk = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert on_disk["include_employed"] is True and on_disk["min_fit"] == 0.12
    assert on_disk["unplaced_reasons"]["employed_kept"] == 0
    assert "employed_kept" not in _reasons(out).values()
    with (out / "assignments.csv").open(encoding="utf-8") as fh:
        assert all(float(row["score"]) >= 0.12 for row in csv.DictReader(fh))


@pytest.mark.parametrize("bad", ["1", "-0.5", "lots"])
def test_place_rejects_a_min_fit_outside_zero_to_one(tmp_path, fake_model, bad):
    runner = CliRunner()
    data = tmp_path / "data"
    _sample(runner, data, workers=20)
    r = runner.invoke(
        app, ["place", str(data), "--out", str(tmp_path / "run"), "--no-record", "--min-fit", bad]
    )
    assert r.exit_code != 0
    assert not (tmp_path / "run" / "run.json").exists()
