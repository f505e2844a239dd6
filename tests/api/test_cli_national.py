"""`laborbridge sample --national` then `place` on it; engine options are checked."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import matcher.placement.pipeline
from api.cli import app
from matcher.errors import ConfigError
from tests.fakes import FAKE_MIN_FIT, FakeEncoder


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr(matcher.placement.pipeline, "make_encoder", lambda model, cache_dir: FakeEncoder())


def test_a_national_sample_places_region_by_region(tmp_path, fake_model):
    runner = CliRunner()
    data, out = tmp_path / "data", tmp_path / "run"
    r = runner.invoke(app, ["sample", str(data), "--national", "--workers", "600", "--jobs", "120"])
    assert r.exit_code == 0, r.output
    assert "synthetic" in r.output and (data / "national.json").exists()
    args = ["place", str(data), "--out", str(out), "--k", "8", "--json", "--min-fit", str(FAKE_MIN_FIT)]
    r = runner.invoke(app, [*args, "--engine", "local"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["status"] == "OPTIMAL" and summary["n_placed"] > 0
    assert summary["engine"]["engine"] == "local" and summary["engine"]["regions"] == 6
    assert summary["engine"]["components"] >= 6


@pytest.mark.parametrize(
    "args, message",
    [
        (["place", "DATA", "--out", "OUT", "--engine", "spark"], "unknown engine 'spark'"),
        (["place", "DATA", "--out", "OUT", "--ray-address", "auto"], "--ray-address needs --engine ray"),
        (["sample", "OUT", "--cities", "2"], "--cities needs --national"),
    ],
)
def test_engine_and_sample_options_are_checked(tmp_path, args, message):
    args = [str(tmp_path / a) if a in ("DATA", "OUT") else a for a in args]
    (tmp_path / "DATA").mkdir()
    r = CliRunner().invoke(app, args)
    assert isinstance(r.exception, ConfigError) and message in str(r.exception)
