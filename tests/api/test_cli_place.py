"""`laborbridge sample` then `laborbridge place`, through the CLI, with a fake encoder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import matcher.placement
from api.cli import app
from matcher.check import check_placement
from matcher.dataset import load_folder
from tests.fakes import FakeEncoder


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr(matcher.placement, "make_encoder", lambda model, cache_dir: FakeEncoder())


def test_sample_then_place_writes_a_feasible_run(tmp_path, fake_model):
    runner = CliRunner()
    data = tmp_path / "data"
    out = tmp_path / "run"
    r = runner.invoke(
        app, ["sample", str(data), "--workers", "120", "--jobs", "30", "--seed", "5", "--year", "2026"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["place", str(data), "--out", str(out), "--k", "10", "--year", "2026", "--json"])
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
