"""The ray section of BENCHMARKS.md: both engines, the identity check, and a labelled projection."""

from __future__ import annotations

from benchmarks.report_ray import render_ray


def _run(seconds: float, peak: float, sha: str) -> dict:
    stages = {
        s: {"seconds": seconds, "peak_rss_mb": peak}
        for s in ("features", "encode", "retrieve_score", "solve")
    }
    return {
        "stages": stages,
        "total_seconds": 4 * seconds,
        "throughput_per_s": {"encode": 1000.0, "retrieve_score": 500.0, "solve": 100_000.0},
        "engine": {"regions": 6, "components": 9},
        "n_edges": 10_000,
        "assignment_sha256": sha,
    }


def test_the_section_says_whether_the_engines_agree_and_labels_the_projection():
    r = {
        "workers": 1000,
        "jobs": 100,
        "k": 50,
        "model": "stand-in",
        "cities": ["天津市", "北京市"],
        "stand_in": {
            "local": _run(2.0, 500.0, "a" * 64),
            "ray": _run(1.0, 900.0, "a" * 64),
            "identical_assignment": True,
            "ray_over_local_time": 0.5,
        },
    }
    rows, body = render_ray(r)
    assert rows[0][1] == "yes"
    assert "not a measurement" in body and "no GPU was available here" in body
    assert "30,000,000 workers" in body and "1M workers × 100k jobs was not measured" in body
    r["stand_in"]["identical_assignment"] = False
    assert render_ray(r)[0][0][1] == "NO"
