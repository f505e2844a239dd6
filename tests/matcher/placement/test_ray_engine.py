"""The ray engine on a Ray cluster started here: the same run as the local engine, also when a
worker process dies mid-run (Ray retries the task)."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray")

from matcher.errors import ConfigError  # noqa: E402
from matcher.ingest import load_folder  # noqa: E402
from matcher.placement.decompose import components  # noqa: E402
from matcher.placement.engine import make_engine  # noqa: E402
from matcher.placement.files import write_run  # noqa: E402
from matcher.placement.options import PlaceOptions  # noqa: E402
from matcher.placement.pipeline import run_placement  # noqa: E402
from matcher.placement.ray_engine import EncodePool, RayEngine, encode_pool_plan  # noqa: E402
from matcher.runs.record import build_record  # noqa: E402
from matcher.sample.national import generate_national, write_national  # noqa: E402
from matcher.store import open_engine  # noqa: E402
from matcher.store.runs_repo import record_run, run_assignments, run_unplaced  # noqa: E402
from tests.fakes import FAKE_MIN_FIT, FakeEncoder  # noqa: E402

YEAR = 2025
SLOW = pytest.mark.slow  # a Ray instance takes 10-30 s to start on a shared 2-core machine


@pytest.fixture(scope="module")
def cluster():
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 << 20)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    data, about = generate_national(1500, 300, seed=11, year=YEAR)
    write_national(data, about, out)
    return load_folder(out)


def _options(**kw):
    return PlaceOptions(year=YEAR, k=8, min_fit=FAKE_MIN_FIT, shadow_prices=True, **kw)


@pytest.fixture(scope="module")
def local_run(national):
    return run_placement(national, _options(), encoder=FakeEncoder())


def _files(run, out):
    write_run(run, out)
    summary = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for how in ("seconds", "engine"):  # how it ran, not what it found
        summary.pop(how)
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "run.json"}
    return summary, files


def _store_rows(run, tmp_path, name):
    engine = open_engine(f"sqlite:///{tmp_path / name}")
    try:
        run_id = record_run(engine, build_record(run))
        strip = lambda rows: [{k: v for k, v in r.items() if k != "run_id"} for r in rows]  # noqa: E731
        return strip(run_assignments(engine, run_id)), strip(run_unplaced(engine, run_id))
    finally:
        engine.dispose()


@SLOW
def test_ray_engine_gives_the_local_run(cluster, national, local_run, tmp_path):
    engine = RayEngine(head_edges=300)  # the larger components on the head, the rest in tasks
    run = run_placement(national, _options(), encoder=FakeEncoder(), engine=engine)
    sizes = [c.n_edges for c in components(run.problem)]
    assert max(sizes) > 300 >= min(sizes)  # both ways of solving were used
    assert run.engine["engine"] == "ray" and run.engine["regions"] == 6
    assert run.engine["components"] == local_run.engine["components"] > 1
    assert build_record(run).assignment_sha256 == build_record(local_run).assignment_sha256
    # pricing out over the pieces' merged duals certifies both runs alike
    assert run.certificate is not None and local_run.certificate is not None
    assert run.certificate.to_dict() == local_run.certificate.to_dict()
    assert run.certificate.status == "optimal"
    assert _files(run, tmp_path / "ray") == _files(local_run, tmp_path / "local")
    assert _store_rows(run, tmp_path, "ray.db") == _store_rows(local_run, tmp_path, "local.db")


@SLOW
def test_a_worker_killed_mid_run_is_retried_and_the_answer_is_the_same(
    cluster, national, local_run, tmp_path
):
    engine = RayEngine(fault_dir=tmp_path)
    run = run_placement(national, _options(), encoder=FakeEncoder(), engine=engine)
    # the first retrieval task and the first solve task each killed their own worker process
    assert (tmp_path / "score.killed").exists() and (tmp_path / "solve.killed").exists()
    assert build_record(run).assignment_sha256 == build_record(local_run).assignment_sha256


def test_engine_names_and_addresses_are_checked():
    with pytest.raises(ConfigError, match="unknown engine 'spark'"):
        make_engine("spark")
    with pytest.raises(ConfigError, match="--ray-address needs --engine ray"):
        make_engine("local", "127.0.0.1:6379")
    with pytest.raises(ConfigError, match="use HOST:PORT"):
        make_engine("ray", "no-port-here")


def test_an_unreachable_cluster_is_a_clear_error_not_a_hang():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConfigError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        make_engine("ray", f"127.0.0.1:{port}")


def _node(cpus, gpus=0, alive=True):
    res = {"CPU": float(cpus)}
    if gpus:
        res["GPU"] = float(gpus)
    return {"Alive": alive, "Resources": res}


def test_encoding_uses_one_actor_per_gpu_where_the_cluster_has_gpus():
    nodes = [_node(16, gpus=2), _node(16, gpus=1), _node(8), _node(16, gpus=4, alive=False)]
    assert encode_pool_plan(nodes, "e5", chunks=100) == EncodePool(True, 3, 1, 1)
    # never more actors than chunks
    assert encode_pool_plan(nodes, "e5", chunks=2) == EncodePool(True, 2, 1, 1)
    # an encoder object (a stand-in) is not moved to a GPU
    assert encode_pool_plan(nodes, None, chunks=100) == EncodePool(False, 3, 0, 8)


def test_encoding_without_gpus_uses_one_actor_per_node_on_its_cores():
    assert encode_pool_plan([_node(2), _node(4)], "e5", chunks=10) == EncodePool(False, 2, 0, 2)
    assert encode_pool_plan([], "e5", chunks=10) == EncodePool(False, 1, 0, 1)
    assert encode_pool_plan([_node(2)], "e5", chunks=0) == EncodePool(False, 1, 0, 2)
