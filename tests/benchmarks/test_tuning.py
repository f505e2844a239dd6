"""matcher.tuning.search: the answer key, the held-out split, the search and the configuration file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matcher.errors import InputError
from matcher.scoring.factors import ScoreWeights, ScoringConfig
from matcher.tuning.search import (
    AnswerKey,
    Truth,
    fusion_of,
    ranking_metrics,
    read_k,
    split_workers,
    tune,
    write_config,
)


def test_metrics_match_the_quality_benchmark(fitted):
    """Same answer key and metrics as benchmarks/bench_quality.py, on the same edges and weights."""
    from benchmarks import bench_quality as bq
    from matcher.sample.generate import generate_sample

    rec, truth = fitted
    data = generate_sample(160, 50, seed=3, year=rec.year_)
    edges = rec.candidate_edges()
    gain_fn, idcg = bq.synthetic_truth(rec, data.truth)
    gain, exact = gain_fn(edges.worker.astype(np.int64), edges.job.astype(np.int64))
    key = AnswerKey(rec.context_, truth, rec.openings_left_)
    np.testing.assert_allclose(key.idcg, idcg)
    rows = np.arange(rec.context_.n_workers)
    w = bq.weights_vec(ScoreWeights().model_dump())
    theirs = bq.metrics(edges, bq.ranked(edges, w), gain, exact, idcg, rows)
    ours = ranking_metrics(edges, edges.factors.values.astype(np.float64) @ w, key, rows)
    assert ours == pytest.approx(theirs)


def test_split_is_seeded_disjoint_and_leaves_out_workers_without_truth():
    known = np.ones(100, dtype=bool)
    known[:10] = False
    train, test = split_workers(100, 0.3, seed=1, known=known)
    again = split_workers(100, 0.3, seed=1, known=known)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not set(train) & set(test)
    assert set(train) | set(test) == set(range(10, 100))
    assert len(test) == 27


def test_tune_never_returns_a_config_worse_than_the_base_on_held_out(fitted):
    rec, truth = fitted
    res = tune(rec, truth, ks=(10, 30), n_random=8, n_rounds=1, seed=0)
    held = res.report["held_out"]
    assert held["tuned"]["ndcg_at_10"] >= held["base"]["ndcg_at_10"] or res.kept_base
    assert res.k in (10, 30)
    assert sum(res.config.weights.vector()) == pytest.approx(1.0)
    assert 0.0 <= res.report["fusion_weight"] <= 1.0
    assert res.report["split"]["train_workers"] + res.report["split"]["held_out_workers"] == 160


def test_tune_respects_min_k(fitted):
    rec, truth = fitted
    res = tune(rec, truth, ks=(5, 10, 30), n_random=2, n_rounds=0, min_k=30)
    assert res.kept_base or res.k == 30


def test_tune_is_deterministic(fitted):
    rec, truth = fitted
    a = tune(rec, truth, ks=(10, 30), n_random=5, n_rounds=1, seed=4)
    b = tune(rec, truth, ks=(10, 30), n_random=5, n_rounds=1, seed=4)
    assert a.config == b.config and a.k == b.k


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_written_config_reads_back_with_from_file(tmp_path, suffix):
    cfg = ScoringConfig(weights=ScoreWeights(dense=0.5, lexical=0.1, skills=0.2), congestion_lambda=0.05)
    path = write_config(tmp_path / f"tuned{suffix}", cfg, 40, {"source": 'sample "x"', "kept_base": False})
    assert ScoringConfig.from_file(path) == cfg
    assert read_k(path) == 40


def test_fusion_weight_is_lexical_share_of_dense_plus_lexical():
    assert fusion_of({"dense": 0.3, "lexical": 0.1}) == pytest.approx(0.25)
    assert fusion_of({"dense": 0.0, "lexical": 0.0}) == 0.0


def test_truth_csv_without_the_key_columns_names_the_file(tmp_path):
    bad = tmp_path / "truth.csv"
    bad.write_text("worker_id,signal\nW1,stated\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        Truth.read_csv(bad, ["W1"])
    assert err.value.file == str(bad)


def test_truth_ignores_unknown_workers():
    cols = {
        "worker_id": ["W1", "W9"],
        "true_occupation_code": ["4-07-05-01", "4-07-05-01"],
        "true_preferred_location": ["tianjin", "home"],
        "true_min_wage": ["3000", "2000"],
        "true_needs_dorm": ["true", "false"],
    }
    t = Truth.from_columns(cols, ["W0", "W1"])
    assert t.known.tolist() == [False, True]
    assert t.code[1] == 4070501 and t.needs_dorm[1] and t.to_tianjin[1]
    assert json.dumps(t.min_wage.tolist()) == "[0.0, 3000.0]"


def test_search_keeps_the_wage_floor_and_sums_to_one():
    from matcher.tuning.search import FLOORS, search_weights

    def evaluate(w: np.ndarray) -> float:  # rewards dense only: the search wants wage at 0
        return float(w[0])

    weights, _, _ = search_weights(evaluate, ScoreWeights(), np.random.default_rng(0), 20, 2)
    assert weights["wage"] >= FLOORS["wage"] - 1e-4
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
