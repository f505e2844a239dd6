"""``laborbridge tune`` on a sample folder with its answer key, with the fake encoder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from matcher.scoring import ScoringConfig
from matcher.tuning import read_k
from tests.benchmarks.conftest import YEAR
from tests.fakes import FakeEncoder

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_encoder(monkeypatch):
    monkeypatch.setattr("api.cli.tune.make_encoder", FakeEncoder)
    monkeypatch.setenv("LABORBRIDGE_CSCO", "")


def test_tune_writes_a_config_that_scoring_reads(sample_dir, tmp_path):
    out = tmp_path / "tuned.toml"
    args = ["tune", str(sample_dir), "--out", str(out), "--year", str(YEAR), "--random", "4", "--rounds", "1"]
    res = runner.invoke(app, [*args, "--k", "10", "--k", "30", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    cfg = ScoringConfig.from_file(out)
    assert read_k(out) == report["k"] in (10, 30)
    if not report["kept_base"]:
        assert cfg.weights.model_dump() == report["tuned_weights"]
    assert (
        report["held_out"]["tuned"]["ndcg_at_10"] >= report["held_out"]["base"]["ndcg_at_10"]
        or report["kept_base"]
    )


def test_tune_needs_the_answer_key(tmp_path):
    (tmp_path / "workers.csv").write_text("worker_id\n", encoding="utf-8")
    res = runner.invoke(app, ["tune", str(tmp_path), "--out", str(tmp_path / "t.toml")])
    assert res.exit_code != 0
    assert "truth.csv" in str(res.exception) or "truth.csv" in res.output
