"""The benchmark harness: registry, envelope, the command line, on the tiny scale."""

from __future__ import annotations

import json

import pytest

from benchmarks.__main__ import main as bench_main
from benchmarks.harness import (
    REGISTRY,
    ROOT,
    SCALES,
    Benchmark,
    load_results,
    machine_info,
    portable_args,
    resolve,
    run_benchmark,
)


def test_every_registered_benchmark_has_arguments_for_every_scale():
    for b in REGISTRY.values():
        for scale in SCALES:
            assert isinstance(b.argv(scale), list), (b.name, scale)
            assert "--out" not in b.argv(scale), "the harness adds --out itself"


def test_resolve_accepts_name_module_and_file():
    assert resolve("optimizer").name == "optimizer"
    assert resolve("bench_optimizer").name == "optimizer"
    assert resolve("benchmarks/bench_candidates.py").name == "candidates"
    with pytest.raises(KeyError):
        resolve("nope")


def test_machine_info_records_cores_memory_cpu_and_gpu():
    m = machine_info(with_gpu=False)
    assert m["cores"] >= 1 and m["cpu_model"]
    assert "gpu" in m and "memory_gib" in m


def test_run_writes_an_envelope_around_the_result(tmp_path):
    env = run_benchmark(REGISTRY["generate"], "T", results_dir=tmp_path, echo=False, machine={}, versions={})
    assert env["status"] == "ok", env.get("error")
    on_disk = json.loads((tmp_path / "generate.json").read_text(encoding="utf-8"))
    assert on_disk["benchmark"] == "generate" and on_disk["scale"] == "T"
    assert on_disk["command"][:3] == ["python", "-m", "benchmarks.bench_generate"]
    assert on_disk["result"]["sizes"]["workers"] == 2000
    assert all(on_disk["result"]["files_identical_to_reference"].values())
    assert on_disk["peak_rss_mib"] > 0


def test_a_labelled_run_is_a_variant_beside_the_registered_one(tmp_path):
    extra = ["--jobs", "300"]
    env = run_benchmark(
        REGISTRY["generate"],
        "T",
        results_dir=tmp_path,
        extra=extra,
        label="j300",
        echo=False,
        machine={},
        versions={},
    )
    assert env["status"] == "ok", env.get("error")
    on_disk = json.loads((tmp_path / "generate_j300.json").read_text(encoding="utf-8"))
    assert (on_disk["benchmark"], on_disk["variant_of"], on_disk["extra_args"]) == (
        "generate_j300",
        "generate",
        extra,
    )
    assert on_disk["command"][-2:] == extra and on_disk["result"]["sizes"]["jobs"] == 300
    assert on_disk["sizes"] is None  # the scale's declared sizes need not hold after extra arguments
    assert not (tmp_path / "generate.json").exists()
    with pytest.raises(ValueError):
        run_benchmark(REGISTRY["generate"], "T", results_dir=tmp_path, label="../x", echo=False)


def test_commands_are_recorded_without_machine_paths():
    inside = str(ROOT / "benchmarks" / "results" / "tuned.toml")
    args = [
        "--config-out",
        inside,
        "--cache-dir",
        "/tmp/lbcache",
        "--models-dir=/var/m",
        "/srv/x",
        "--k",
        "5",
    ]
    assert portable_args(args) == [
        "--config-out",
        "benchmarks/results/tuned.toml",
        "--cache-dir",
        "CACHE_DIR",
        "--models-dir=MODELS_DIR",
        "PATH",
        "--k",
        "5",
    ]


def test_a_missing_module_is_recorded_not_raised(tmp_path):
    ghost = Benchmark("ghost", "bench_ghost_does_not_exist", "nothing", args={"T": ()})
    env = run_benchmark(ghost, "T", results_dir=tmp_path, echo=False, machine={}, versions={})
    assert env["status"] == "missing"
    assert load_results(tmp_path)["ghost"]["status"] == "missing"


def test_a_failing_benchmark_is_recorded_with_its_output(tmp_path):
    bad = Benchmark("bad", "bench_generate", "bad arguments", args={"T": ("--workers", "-5", "--jobs", "1")})
    env = run_benchmark(bad, "T", results_dir=tmp_path, echo=False, machine={}, versions={})
    assert env["status"] == "failed" and env["exit_code"] != 0
    assert "Error" in env["error"]


def test_bare_script_json_is_wrapped_when_loaded(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"a": 1}), encoding="utf-8")
    assert load_results(tmp_path)["x"] == {
        "benchmark": "x",
        "status": "ok",
        "scale": None,
        "result": {"a": 1},
    }


def test_cli_runs_one_benchmark_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    rc = bench_main(["generate", "--scale", "T", "--results-dir", str(tmp_path), "--report", str(out)])
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    assert "## generate" in text and "csv.writer" in text
    assert "| generate | T | ok |" in text


def test_cli_lists_the_registry(capsys):
    assert bench_main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in REGISTRY)
