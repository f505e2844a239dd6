"""BENCHMARKS.md from fixture JSON: summary, peers, pipeline bottleneck, chosen k, GPU column."""

from __future__ import annotations

import json

import pytest

from benchmarks.report import render, write_report
from benchmarks.report_sections import bottleneck, fmt, pipeline_runs

MACHINE = {"cpu_model": "Test CPU", "cores": 2, "memory_gib": 24.0, "gpu": None, "load_avg": [1.0, 1.0, 1.0]}


def envelope(name: str, result: dict, **kw) -> dict:
    return {"benchmark": name, "scale": "S", "status": "ok", "seed": 0, "machine": MACHINE, "versions": {},
            "command": ["python", "-m", f"benchmarks.bench_{name}"], "result": result, **kw}  # fmt: skip


STAGES = {
    "load": {"seconds": 4.0, "peak_rss_mib": 300},
    "features": {"seconds": 2.0, "peak_rss_mib": 350},
    "encode": {"seconds": 60.0, "peak_rss_mib": 900},
    "retrieve": {"seconds": 8.0, "peak_rss_mib": 950},
    "score": {"seconds": 5.0, "peak_rss_mib": 960},
    "solve": {"seconds": 9.0, "peak_rss_mib": 1000},
    "record": {"seconds": 1.0, "peak_rss_mib": 1000},
    "export": {"seconds": 3.0, "peak_rss_mib": 1000},
}
CACHED = {**STAGES, "encode": {"seconds": 2.0, "peak_rss_mib": 500}}

FIXTURES = {
    "optimizer": {
        "sizes": {
            "S": {
                "n_workers": 10,
                "n_jobs": 2,
                "n_edges": 20,
                "gap": 0.0,
                "n_placed": 100,
                "objective_rel_diff": 1e-15,
                "lp_objective": 5.0,
                "time_ratio_flow_over_highs": 0.08,
                "baselines": {
                    "greedy": {"objective_loss_rel": 0.005, "placed_loss": 2},
                    "stable_matching": {"objective_loss_rel": 0.004, "placed_loss": 0},
                },
            },
        }
    },  # fmt: skip
    "candidates": {
        "chosen_k": 50,
        "choice_rule": "smallest k of [10, 20, 50, 100] ...",
        "encoder": {"model_id": "bench-hashed", "why": "cheap"},
        "sizes": {"workers": 10000, "jobs": 2000, "openings": 6500},
        "all_edges": {"edges": 900000, "edges_per_worker": 90.0},
        "by_k": [
            {
                "k": k,
                "retrieval": {
                    "edges": 10 * k,
                    "objective_loss_rel": loss,
                    "placed_loss": 3,
                    "placed_loss_rel": loss,
                    "time_ratio_to_all_edges": 0.1,
                },
                "oracle_top_k_of_full_graph": {"objective_loss_rel": loss / 2},
            }
            for k, loss in ((10, 0.03), (50, 0.004))
        ],
    },  # fmt: skip
    "pipeline": {"runs": {"cold": {"stages": STAGES}, "cached": {"stages": CACHED}}},
    "quality": {
        "synthetic": {
            "runs": {
                "dense_only (reference)": {
                    "test": {"ndcg_at_10": 0.70},
                    "test_ratio_to_dense_only": {"ndcg_at_10": 1},
                },
                "lexical_only": {
                    "test": {"ndcg_at_10": 0.53},
                    "test_ratio_to_dense_only": {"ndcg_at_10": 0.76},
                },
                "tuned": {"test": {"ndcg_at_10": 0.74}, "test_ratio_to_dense_only": {"ndcg_at_10": 1.06}},
            }
        },
        "congestion": {
            "runs": [
                {"lambda": 0.0, "ndcg_at_10": 0.7},
                {"lambda": 0.1, "ndcg_at_10": 0.65, "concentration_ratio_to_lambda0": 0.77},
            ]
        },
    },  # fmt: skip
}


@pytest.fixture
def results_dir(tmp_path):
    for name, result in FIXTURES.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(envelope(name, result)), encoding="utf-8")
    (tmp_path / "api.json").write_text(
        json.dumps({"benchmark": "api", "status": "missing", "scale": "S", "result": None}), encoding="utf-8"
    )
    return tmp_path


def test_report_names_the_bottleneck_and_the_chosen_k(results_dir, tmp_path):
    text = write_report(results_dir, tmp_path / "B.md").read_text(encoding="utf-8")
    assert "**Bottleneck stage of the pipeline**: cold: **encode**; cached: **solve**" in text
    assert "**Default k** (candidate study): 50" in text
    assert "**Chosen default k = 50**" in text
    assert "| api | S | missing |" in text


def test_summary_gives_reference_and_ratio(results_dir):
    from benchmarks.harness import load_results

    text = render(load_results(results_dir))
    assert "| optimizer | S | ok | flow time / HiGHS LP (S) |  | HiGHS LP | 0.08 | — |" in text
    assert "| pipeline | S | ok | cached run / cold run (time) |" in text
    assert "Machine: Test CPU, 2 cores, 24.0 GiB memory, GPU: none" in text


def test_peers_table_gathers_optimizer_and_quality(results_dir):
    from benchmarks.harness import load_results

    text = render(load_results(results_dir))
    assert "| greedy first-come-first-served | optimizer S | objective / optimal | 0.995 | flow |" in text
    assert "| worker-proposing stable matching | optimizer S | placed / optimal | 1 | flow |" in text
    assert "| lexical-only (char n-gram) | quality, synthetic | nDCG@10 / hybrid | 0.7162 | hybrid |" in text
    assert "congestion control λ=0.1" in text


def test_gpu_column_quotes_absolute_figures_only_from_gpu_runs(tmp_path):
    gpu_stages = {"encode": {"seconds": 3.0}, "solve": {"seconds": 9.0}}
    result = {"runs": {"cold": {"stages": STAGES}, "gpu_cold": {"stages": gpu_stages}}}
    (tmp_path / "pipeline.json").write_text(json.dumps(envelope("pipeline", result)), encoding="utf-8")
    from benchmarks.harness import load_results

    text = render(load_results(tmp_path))
    assert "gpu_cold 12.0 s" in text


@pytest.mark.parametrize(
    "result",
    [
        {"runs": {"cold": {"stages": STAGES}}},
        {"cold": {"stages": STAGES}},
        {"stages": {s: {"cold": v} for s, v in STAGES.items()}},
    ],
)
def test_pipeline_shapes_are_all_understood(result):
    runs = pipeline_runs(result)
    assert bottleneck(runs["cold"]) == "encode"


def test_pipeline_repeat_list_is_cold_then_cached():
    """bench_pipeline --repeat 2 writes a list of runs with peak_rss_mb."""
    as_mb = {s: {"seconds": v["seconds"], "peak_rss_mb": v["peak_rss_mib"]} for s, v in STAGES.items()}
    runs = pipeline_runs({"runs": [{"stages": as_mb}, {"stages": {**as_mb, "encode": {"seconds": 1.0}}}]})
    assert list(runs) == ["cold", "cached"]
    assert bottleneck(runs["cold"]) == "encode" and bottleneck(runs["cached"]) == "solve"
    assert runs["cold"]["load"]["peak_rss_mib"] == 300


def test_fmt():
    assert fmt(1234567) == "1,234,567"
    assert fmt(0.000012) == "1.2e-05"
    assert fmt(None) == "n/a"
    assert fmt(True) == "yes"
    assert fmt("a|b") == "a\\|b"


def test_api_section_puts_latencies_against_the_targets():
    from benchmarks.report_sections import _api

    phase = {"n_ok": 100, "n_errors": 0, "p50_ms": 10.0, "p99_ms": 40.0, "throughput_rps": 1000.0}
    r = {
        "targets": {"known_p99_ms": 50.0, "profile_p99_ms": 150.0},
        "params": {"concurrency": 32, "model": "default", "server_workers": 2},
        "sizes": {"jobs": 50000, "workers": 10000},
        "floor_health": dict(phase, throughput_rps=10000.0),
        "known": phase,
        "profile": dict(phase, p99_ms=300.0, n_errors=2),
        "profile_sweep": {"4": dict(phase, p99_ms=120.0)},
        "mixed": {
            "clients": {"known": 28, "profile": 4},
            "known": phase,
            "profile": dict(phase, p99_ms=90.0),
        },
        "http_over_direct_p50": {"known": 50.0},
    }
    rows, body = _api(r)
    by_figure = {fig: (val, ref, rat) for fig, val, ref, rat in rows}
    assert by_figure["known worker p99 ms, 32 clients"] == (40.0, "target 50 ms", 0.8)
    assert by_figure["new profile p99 ms, 32 clients"] == (300.0, "target 150 ms", 2.0)
    assert by_figure["mixed (4 of 32 post profiles): profile p99 ms"][2] == 0.6
    assert by_figure["errors"][0] == 2
    assert "| profile, 4 clients | 100 | 0 | 10 | 120 | 0.1 |" in body
    r["params"]["model"] = "hash"  # a stand-in encoder says nothing about the profile target
    hashed = [fig for fig, *_ in _api(r)[0]]
    assert not any(fig.startswith("new profile") or "post profiles" in fig for fig in hashed)
    assert "mixed: known p99 ms" in hashed


def test_optimizer_section_gives_each_side_rule_run_and_the_gap_without_the_lp():
    from benchmarks.report_sections import _optimizer

    rule = {"solver": "highs_mip", "status": "OPTIMAL", "time_ratio_vs_plain": 3.0, "score_cost_rel": 0.01}
    r = {
        "sizes": {"L": {"n_workers": 10, "n_jobs": 2, "n_edges": 20, "proven_rel_gap": 5e-8}},
        "side_rules": {"XS": {"size": "XS", "plain": {"seconds": 1.0}, "dorm_beds_crossing": rule}},
    }
    rows, body = _optimizer(r)
    assert rows == [
        ("proven rel. gap of the flow (L)", 5e-8, "its own bound", None),
        ("side rules proven optimal (XS)", "1 of 1", "", None),
    ]
    assert "| L | 10 | 2 | 20 | 5.0e-08 | — | — |" in body
    assert "Side rules at XS" in body and "| dorm_beds_crossing | highs_mip | OPTIMAL | 3 | 0.01 |" in body
    assert "n/a" not in body
    rules_only = _optimizer({"sizes": {}, "side_rules": r["side_rules"]})[1]
    assert rules_only.startswith("Side rules at XS") and "| size |" not in rules_only  # no empty table


def test_sections_say_where_figures_come_from_without_none_or_machine_paths(tmp_path):
    from benchmarks.harness import load_results

    cmd = ["python", "-m", "benchmarks.bench_candidates", "--cache-dir", "/tmp/x", "--ks", "10"]
    earlier = {"date": "2026-11-28", "note": "Figures from an earlier run, not re-run."}
    result = FIXTURES["candidates"]
    extra = {"variant_of": "candidates", "extra_args": ["--cache-dir", "/tmp/x", "--ks", "10"]}
    files = {
        "candidates.json": envelope("candidates", result, started_at="2026-12-01T10:00:00+00:00"),
        "candidates_x.json": envelope("candidates_x", result, **extra),
        "candidates_y.json": envelope(
            "candidates_y", result, started_at=None, earlier_run=earlier, command=cmd
        ),
        "bare.json": {"figure_ratio": 2.0},
    }
    for name, data in files.items():
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
    text = render(load_results(tmp_path))
    assert "(scale S, seed 0, run 2026-12-01)" in text
    assert "| candidates_x | S + args | ok |" in text
    assert "`python -m benchmarks candidates --scale S --label x -- --cache-dir CACHE_DIR --ks 10`" in text
    assert "`python -m benchmarks.bench_candidates --cache-dir CACHE_DIR --ks 10`" in text  # no extra_args
    assert "run 2026-11-28)\n\n*Figures from an earlier run, not re-run.*" in text
    assert (
        "| bare | — | ok |" in text and "Run outside the harness: no command, scale or seed recorded." in text
    )
    assert "None" not in text and "n/a" not in text and "/tmp/" not in text


def test_every_committed_result_comes_from_the_harness_and_renders_cleanly():
    """benchmarks/results holds harness envelopes only (a run, or an earlier run converted and
    saying so), and BENCHMARKS.md from them has no missing scale, n/a cell, machine path or empty table."""
    from pathlib import Path

    from benchmarks.harness import RESULTS_DIR, SCALES, load_results

    results = load_results(RESULTS_DIR)
    assert results
    for name, env in results.items():
        assert env["scale"] in SCALES and "extra_args" in env and env.get("command"), name
        assert env.get("started_at") or dig_date(env), name
        assert (env.get("machine") or {}).get("cores"), name
        assert not any(Path(str(a)).is_absolute() for a in env["command"]), name
    text = render(results)
    for bad in ("scale None", "n/a", "/work/", "/tmp/", "Run outside the harness"):
        assert bad not in text, bad
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---"):
            assert i + 1 < len(lines) and lines[i + 1].startswith("| "), f"empty table under {lines[i - 1]}"


def dig_date(env: dict) -> str | None:
    return (env.get("earlier_run") or {}).get("date")
