"""The API benchmark end to end at its smallest size: a real server, wrk, every phase, the verdict."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from benchmarks import bench_api
from benchmarks.registry import REGISTRY

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("wrk") is None and not os.environ.get("CI"), reason="wrk is not installed"
    ),
]


def test_the_smallest_api_benchmark_runs_every_phase(tmp_path):
    out = tmp_path / "api.json"
    result = bench_api.main([*REGISTRY["api"].argv("T"), "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["known"] == result["known"]
    assert result["known"]["n_ok"] >= 50 and result["known"]["n_errors"] == 0
    assert result["profile"]["n_ok"] >= 10 and result["profile"]["n_errors"] == 0
    assert set(result["profile_sweep"]) == {"1"}
    assert result["mixed"]["known"]["n_ok"] > 0 and result["mixed"]["profile"]["n_ok"] > 0
    assert result["pass"]["no_errors"] is True
    assert result["server_exit"] == 0
    assert result["reference_in_process"]["known"]["p50_ms"] > 0
