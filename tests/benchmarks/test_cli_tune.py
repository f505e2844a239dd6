"""``laborbridge tune`` on a sample folder with its answer key, with the fake encoder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from matcher.scoring.factors import ScoringConfig
from matcher.tuning.search import read_k
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
    assert read_k(out) == report["k"]
    assert report["k"] in ((100,) if report["kept_base"] else (10, 30))  # the base keeps its own k
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


# ---- --from-outcomes ------------------------------------------------------------------------------


def _record_run_with_outcomes(url, rec, labelled, n=None):
    """A recorded run placing the ``labelled`` workers, with their follow-ups (retained → employed_3m)."""
    import datetime as dt

    from matcher.runs.record import RunRecord
    from matcher.store import open_engine
    from matcher.store.runs_repo import record_outcomes, record_run

    ds = rec.dataset_
    labelled = labelled[:n]
    assignments = []
    for p in labelled:
        job = ds.job_by_id[p["job_id"]]
        assignments.append(
            {
                "worker_id": p["worker_id"],
                "job_id": job.job_id,
                "enterprise_id": job.enterprise_id,
                "home_county_code": ds.worker_by_id[p["worker_id"]].home_county_code,
                "location_code": ds.job_location(job),
                "score": 0.5,
                "factors": {},
            }
        )
    summary = {
        "input_sha256": "0" * 64,
        "model": "fake",
        "versions": {},
        "status": "optimal",
        "solver": "test",
        "objective": 0.0,
        "bound": 0.0,
        "gap": 0.0,
        "n_workers": len(labelled),
        "n_jobs": len(ds.jobs),
        "n_openings": 0,
        "n_placed": len(labelled),
        "n_candidates": 0,
    }
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    record = RunRecord(
        "20250301T000000-abcdef", now, "plan", None, {"year": YEAR}, summary, assignments, [], "x"
    )
    engine = open_engine(url)
    run_id = record_run(engine, record)
    record_outcomes(
        engine,
        run_id,
        [
            {"worker_id": p["worker_id"], "started": True, "employed_3m": p["retained"], "employed_6m": None}
            for p in labelled
        ],
    )
    engine.dispose()
    return run_id


def test_tune_from_outcomes_learns_what_kept_workers_employed(sample_dir, fitted, tmp_path):
    from tests.benchmarks.test_tuning_outcomes import WAGE, _wage_answer

    rec, _ = fitted
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    run_id = _record_run_with_outcomes(url, rec, _wage_answer(rec))
    out = tmp_path / "tuned.toml"
    args = ["tune", str(sample_dir), "--db", url, "--from-outcomes", "--run", "latest", "--out", str(out)]
    res = runner.invoke(app, [*args, "--year", str(YEAR), "--random", "20", "--rounds", "1", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["runs"] == [run_id]
    assert report["labelled"]["retained"] and report["labelled"]["left"]
    assert not report["kept_base"]
    cfg = ScoringConfig.from_file(out)
    assert cfg.weights.vector()[WAGE] > ScoringConfig().weights.vector()[WAGE]
    assert read_k(out) == report["k"] == 100


def test_tune_from_too_few_outcomes_says_what_is_missing(sample_dir, fitted, tmp_path):
    from tests.benchmarks.test_tuning_outcomes import _wage_answer

    rec, _ = fitted
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    _record_run_with_outcomes(url, rec, _wage_answer(rec), n=12)
    out = tmp_path / "tuned.toml"
    res = runner.invoke(app, ["tune", str(sample_dir), "--db", url, "--from-outcomes", "--out", str(out)])
    assert res.exit_code != 0
    message = str(res.exception) + res.output
    assert "at least 30" in message and "runs outcomes" in message
    assert not out.exists()


def test_months_and_run_need_from_outcomes(sample_dir, tmp_path):
    res = runner.invoke(app, ["tune", str(sample_dir), "--months", "3", "--out", str(tmp_path / "t.toml")])
    assert res.exit_code != 0
    assert "--from-outcomes" in res.output


# ---- --from-titles --------------------------------------------------------------------------------


def _titles_csv(path):
    """Ten codes, four titles each: two shared words per code, one noise word per title."""
    codes = [f"{i}-0{i}-01-0{j}" for i, j in ((2, 1), (3, 2), (4, 3), (5, 4), (6, 5))]
    codes += [f"{i}-0{i}-02-0{j}" for i, j in ((2, 1), (3, 2), (4, 3), (5, 4), (6, 5))]
    words = "焊工 电工 保安 厨师 司机 会计 护工 保洁 仓管 销售".split()
    noise = "急招 日结 包吃住 五险 高薪 双休 长白班 学徒".split()
    lines = ["job_name,expected_code"]
    for c, w in zip(codes, words, strict=True):
        lines += [f"{w}{noise[k % len(noise)]},{c}" for k in range(4)]
        lines[-1] = f"{w}师傅{noise[1]},{c}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tune_from_titles_writes_a_config_with_held_out_hits(tmp_path):
    titles = _titles_csv(tmp_path / "titles.csv")
    out = tmp_path / "tuned.json"
    args = ["tune", "--from-titles", str(titles), "--out", str(out), "--random", "5", "--rounds", "1"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["problem"] == {"workers": 20, "jobs": 20, "codes": 10, "seed": 0}
    held = report["held_out"]
    assert set(held["tuned"]) == {"hit_at_3", "ndcg_at_10"}
    assert held["tuned"]["ndcg_at_10"] > held["base"]["ndcg_at_10"] or report["kept_base"]
    assert ScoringConfig.from_file(out).weights.vector().sum() == pytest.approx(1.0)


def test_tune_from_titles_names_the_rows_it_left_out(tmp_path):
    titles = _titles_csv(tmp_path / "titles.csv")
    with titles.open("a", encoding="utf-8") as fh:
        fh.write("焊工,4-07\n")
    args = ["tune", "--from-titles", str(titles), "--out", str(tmp_path / "t.toml"), "--random", "2"]
    res = runner.invoke(app, [*args, "--rounds", "0"])
    assert res.exit_code == 0, res.output
    assert "row 42" in res.output and "expected_code" in res.output


def test_tune_from_too_few_titles_is_an_error(tmp_path):
    few = tmp_path / "titles.csv"
    few.write_text("job_name,expected_code\n焊工,4-07-05-01\n焊工师傅,4-07-05-01\n", encoding="utf-8")
    res = runner.invoke(app, ["tune", "--from-titles", str(few), "--out", str(tmp_path / "t.toml")])
    assert res.exit_code != 0
    assert "too few labelled titles" in str(res.exception) + res.output
