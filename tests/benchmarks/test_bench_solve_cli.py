"""The solve benchmark at its tiny scale: it runs the real command and agrees with HiGHS."""

from __future__ import annotations

import json

from benchmarks import bench_solve_cli
from benchmarks.registry import REGISTRY


def test_solve_benchmark_runs_the_command_and_matches_highs(tmp_path):
    out = tmp_path / "solve_cli.json"
    result = bench_solve_cli.main([*REGISTRY["solve_cli"].argv("T"), "--out", str(out)])
    assert json.loads(out.read_text())["whole"]["n_edges"] == result["whole"]["n_edges"] > 0
    assert result["whole"]["objective_equal_rel_1e9"] and result["whole"]["status"] == "OPTIMAL"
    assert min(result["whole"]["command_cpu_s"]) > 0 and result["whole"]["highs_cpu_seconds"] > 0
    read = result["read"]
    assert read["read_seconds"] > 0 and read["flow_seconds"] > 0 and read["row_reader_seconds"] > 0


def test_job_quality_shares_a_term_of_every_score_and_keeps_the_edges():
    import numpy as np

    from benchmarks.bench_optimizer import instance

    plain = instance(300, 60, k=10, seed=4)
    assert all(np.array_equal(plain[n], instance(300, 60, k=10, seed=4, quality=0.0)[n]) for n in plain)
    crowded = instance(300, 60, k=10, seed=4, quality=0.6)
    for name in ("edge_worker", "edge_job", "job_openings"):
        assert np.array_equal(plain[name], crowded[name])
    # what is left after the uniform part is one value per job, the same for every worker
    left = crowded["edge_score"] - 0.4 * plain["edge_score"]
    per_job = np.full(60, np.nan)
    per_job[crowded["edge_job"]] = left
    assert np.allclose(left, per_job[crowded["edge_job"]]) and np.ptp(per_job[~np.isnan(per_job)]) > 0.3
