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
