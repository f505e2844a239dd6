"""HTTP service benchmark: recommendation latency (p50, p99) and throughput under concurrent clients.

Builds a store with a seeded sample (``--jobs`` jobs, ``--workers`` workers), creates a key, starts
the service as a uvicorn subprocess on 127.0.0.1 (``--server-workers`` processes), waits until every
process answers ``/ready`` (the model and index load once at start-up), then drives it with wrk, a C
load generator, from ``--concurrency`` keep-alive connections on loopback (closed loop: each client
sends its next request when the last one is answered). wrk records every latency and stops each
phase after its request count (or ``--max-seconds``). Phases:

- floor: ``GET /health`` (no work) and ``GET /me`` (authentication only): what any route costs here;
- known: ``GET /workers/{id}/recommendations`` for random stored workers (no encoding);
- profile: ``POST /recommendations`` with a profile whose text is new (one encode each), at
  ``--concurrency`` and at each of ``--profile-sweep`` concurrencies;
- mixed: ``--concurrency`` clients at once, ``--mixed-profile-clients`` of them posting new profiles
  and the rest asking for known workers (two wrk processes, one per kind, so each kind has its own
  latencies).

wrk must be installed (Debian: ``apt-get install wrk``; ``make bench`` does it). The reference,
measured in the same run, is the in-process domain call (``Recommender.recommend_one``) on the same
data and encoder, so the HTTP overhead comes out as a ratio. JSON goes to ``--out``.

``--model hash`` (the default here) serves with a 384-dimension character-n-gram hashing encoder
(the dimension of the default model), so start-up takes seconds; the known-worker path never
encodes, so its figures are those of the product, but a new profile's encode is nearly free.
``--model default`` serves the real model end to end (``laborbridge serve``): start-up encodes every
job and worker text once; give ``--cache-dir`` to keep those vectors on disk for the next run.

    python -m benchmarks.bench_api --jobs 50000 --workers 10000 --server-workers 2 --out api.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json

SECRET = "bench-api-secret-0123456789"
YEAR = 2026
TARGETS = {"known_p99_ms": 50.0, "profile_p99_ms": 150.0, "errors": 0}
SPARE = 200  # profiles kept back for the in-process reference


class HashEncoder:
    """Character uni- and bigram hashing into 384 dimensions, L2-normalised: similar texts get
    similar vectors, at the default model's dimension, with no model to run."""

    dim = 384
    model_id = "bench-hash-ngram-384"

    def encode(self, texts: Sequence[str], *, kind: str = "passage", batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            grams = list(t) + [a + b for a, b in zip(t, t[1:], strict=False)]
            idx = [zlib.crc32(g.encode()) % self.dim for g in grams]
            np.add.at(out[i], idx, 1.0)
            out[i, 0] += 0.1
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def bench_app() -> Any:
    """The app the benchmark serves with ``--model hash`` (uvicorn ``--factory`` target): the
    hashing encoder runs in its own process, as the product's model does."""
    from api.app import create_app
    from api.settings import get_settings
    from embeddings.process import ProcessPool

    s = get_settings()
    encoder = ProcessPool(
        HashEncoder, processes=s.api_encoder_processes, threads=s.api_compute_threads, nice=s.api_encoder_nice
    )
    return create_app(encoder=encoder)


# ----------------------------------------------------------------------------- set-up
def build_store(root: Path, n_workers: int, n_jobs: int, seed: int) -> tuple[str, Path, float]:
    from matcher.sample.generate import generate_sample, write_sample
    from matcher.store import import_paths

    data = root / "data"
    write_sample(generate_sample(n_workers, n_jobs, seed=seed, year=YEAR), data, truth=False)
    url = f"sqlite:///{root / 'db' / 'laborbridge.db'}"
    t0 = time.perf_counter()
    report = import_paths(url, [data], key=SECRET.encode())
    if not report.total_imported:
        raise SystemExit("sample import failed")
    return url, data, time.perf_counter() - t0


def make_key(url: str) -> str:
    from api.auth import create_key
    from matcher.store import open_engine

    engine = open_engine(url)
    try:
        return create_key(engine, "city_admin", label="bench")[0]
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: argparse.Namespace, url: str, port: int, log: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        LABORBRIDGE_DB_URL=url,
        LABORBRIDGE_SECRET_KEY=SECRET,
        LABORBRIDGE_API_RATE_PER_S="0",
        LABORBRIDGE_API_YEAR=str(YEAR),
    )
    if args.cache_dir:
        env["LABORBRIDGE_CACHE_DIR"] = str(args.cache_dir)
    if args.model == "hash":
        cmd = [sys.executable, "-m", "uvicorn", "benchmarks.bench_api:bench_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(args.server_workers)]
        cmd += ["--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "75"]
    else:
        env["LABORBRIDGE_MODEL"] = args.model
        cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", str(args.server_workers), "--log-level", "warning"]
    fh = log.open("w")
    return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[1])


def wait_ready(port: int, key: str, timeout: float, proc: subprocess.Popen, processes: int) -> float:
    """Seconds until every server process is ready: ``/ready`` answers 200 on many fresh
    connections in a row (a process still fitting answers 503, and fresh connections spread over
    the processes)."""
    import httpx

    t0 = time.perf_counter()
    in_a_row, needed = 0, 10 * processes
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/ready", headers={"X-API-Key": key}, timeout=5)
            in_a_row = in_a_row + 1 if r.status_code == 200 else 0
        except httpx.TransportError:
            in_a_row = 0
        if in_a_row >= needed:
            return time.perf_counter() - t0
        time.sleep(0.05 if in_a_row else 0.5)
    raise SystemExit("server not ready in time")


def stop_server(proc: subprocess.Popen) -> int | None:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# ----------------------------------------------------------------------------- load
def profiles(data: Path, n: int, seed: int, nonce: str = "") -> list[dict[str, Any]]:
    """``n`` new profiles: sample workers' matching fields with a unique note, so each text is new
    (``nonce`` makes them new to an embedding cache kept from an earlier run too)."""
    import csv

    with (data / "workers.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = rng.choice(rows)
        out.append(
            {
                "worker_id": f"new{i}",
                "gender": r["gender"],
                "birth_year": int(r["birth_year"]),
                "home_county_code": r["home_county_code"],
                "education": r["education"],
                "skills": [s for s in r["skills"].split(";") if s][:10],
                "experience": f"{r['experience'][:200]} 第{i}次登记{nonce}",
                "desired_occupations": [s for s in r["desired_occupations"].split(";") if s][:10],
                "mobility": r["mobility"],
            }
        )
    return out


Request = tuple[str, str, Any]  # (method, path, JSON body or None)

# wrk's Lua: each connection takes the next request of the list (cycling); the thread stops after
# ``stop_after`` answers; ``done`` prints the run's counts and latency percentiles (microseconds).
_WRK_LUA = r"""
wrk.headers["X-API-Key"] = %(key)s
wrk.headers["Content-Type"] = "application/json"
local reqs = {
%(reqs)s
}
local sent, answered, stop_after = 0, 0, %(stop_after)d
request = function()
  sent = sent + 1
  local r = reqs[((sent - 1) %% #reqs) + 1]
  return wrk.format(r[1], r[2], nil, r[3])
end
response = function(status, headers, body)
  answered = answered + 1
  if answered == stop_after then
    wrk.thread:stop()
    io.write("WRK-STOPPED\n")
    io.flush()
  end
end
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format(
    "WRK-RESULT {\"requests\": %%d, \"duration_us\": %%d, \"connect\": %%d, \"read\": %%d, " ..
    "\"write\": %%d, \"status\": %%d, \"timeout\": %%d, \"p50_us\": %%d, \"p90_us\": %%d, " ..
    "\"p99_us\": %%d, \"mean_us\": %%.1f, \"max_us\": %%d}\n",
    s.requests, s.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


def _lua_str(text: str) -> str:
    level = "=" * 4
    if f"]{level}]" in text:
        raise ValueError("text holds the Lua long-bracket terminator")
    return f"[{level}[{text}]{level}]"


def wrk_command(
    port: int,
    key: str,
    requests: list[Request],
    connections: int,
    max_s: float,
    folder: Path,
    *,
    stop_after: int | None = None,
) -> list[str]:
    """The wrk command line (and its Lua script, written to ``folder``) for one phase."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: install it (Debian: apt-get install wrk; or `make bench-deps`)")
    lines = []
    for method, path, body in requests:
        payload = "nil" if body is None else _lua_str(json.dumps(body, ensure_ascii=False))
        lines.append(f"  {{{_lua_str(method)}, {_lua_str(path)}, {payload}}},")
    script = _WRK_LUA % {
        "key": _lua_str(key),
        "reqs": "\n".join(lines),
        "stop_after": stop_after or len(requests),
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkstemp(suffix=".lua", dir=folder)[1])
    path.write_text(script, encoding="utf-8")
    # One wrk thread: it drives thousands of requests a second on a few percent of one core.
    return [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(max_s))}s",
        "--timeout",
        "30s",
        "-s",
        str(path),
        f"http://127.0.0.1:{port}",
    ]


def wrk_result(proc: subprocess.CompletedProcess | subprocess.Popen, out: str, planned: int) -> dict:
    """The figures of one wrk run, in milliseconds."""
    line = next((ln for ln in out.splitlines() if ln.startswith("WRK-RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result (exit {proc.returncode}):\n{out[-2000:]}")
    w = json.loads(line.removeprefix("WRK-RESULT "))
    errors = {k: w[k] for k in ("connect", "read", "write", "status", "timeout") if w[k]}
    wall = w["duration_us"] / 1e6
    n_ok = w["requests"] - w["status"]
    return {
        "n_ok": n_ok,
        "n_planned": planned,
        "n_errors": sum(errors.values()),
        "errors": errors,
        "wall_s": round(wall, 3),
        "throughput_rps": round(n_ok / wall, 1) if wall else None,
        **{f"p{q}_ms": round(w[f"p{q}_us"] / 1000, 3) for q in (50, 90, 99)},
        "mean_ms": round(w["mean_us"] / 1000, 3),
        "max_ms": round(w["max_us"] / 1000, 3),
    }


def drive(
    port: int,
    key: str,
    phases: list[tuple[list[Request], int]],
    max_s: float,
    folder: Path,
    *,
    time_bound: bool = False,
) -> list[dict]:
    """Run one wrk per ``(requests, connections)`` at the same time; their results, in order.

    Each stops after its requests, or with ``time_bound`` after ``max_s`` only (cycling its list)."""
    import threading

    procs, outs, readers = [], [], []
    for requests, connections in phases:
        stop = 2**31 - 1 if time_bound else len(requests)
        cmd = wrk_command(port, key, requests, connections, max_s, folder, stop_after=stop)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        # wrk's main thread sleeps for the whole -d; once its client thread has stopped after the
        # last answer, SIGINT wakes it to print the figures (the run's duration ends there).
        reader = threading.Thread(target=_read_wrk, args=(proc, lines), daemon=True)
        reader.start()
        procs.append(proc)
        outs.append(lines)
        readers.append(reader)
    for proc, reader in zip(procs, readers, strict=True):
        try:
            proc.wait(timeout=max_s + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(10)
    return [
        wrk_result(p, "".join(out), len(reqs)) for p, out, (reqs, _) in zip(procs, outs, phases, strict=True)
    ]


def _read_wrk(proc: subprocess.Popen, lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("WRK-STOPPED"):
            proc.send_signal(signal.SIGINT)


def summarise(latencies: list[float], wall: float) -> dict:
    ms = np.array(latencies) * 1000
    out: dict[str, Any] = {"n_ok": int(ms.size), "wall_s": round(wall, 3)}
    if ms.size:
        for q in (50, 90, 99):
            out[f"p{q}_ms"] = round(float(np.percentile(ms, q)), 3)
        out["mean_ms"], out["max_ms"] = round(float(ms.mean()), 3), round(float(ms.max()), 3)
    return out


# ----------------------------------------------------------------------------- reference
def reference(
    url: str,
    model: str,
    worker_ids: list[str],
    profs: list[dict],
    n_known: int,
    n_prof: int,
    cache_dir: Path | None = None,
) -> dict:
    """In-process ``Recommender.recommend_one`` latency on the same store and encoder (sequential);
    ``profs`` must be profiles the server was not sent (their texts are new here too)."""
    from embeddings.batching import BatchingEncoder
    from matcher.placement.pipeline import make_encoder
    from matcher.recommend.recommender import Recommender
    from matcher.records import Worker
    from matcher.store import load_dataset

    encoder = HashEncoder() if model == "hash" else make_encoder(model, str(cache_dir) if cache_dir else None)
    t0 = time.perf_counter()
    rec = Recommender(year=YEAR).fit(load_dataset(url), BatchingEncoder(encoder))
    fit_s = time.perf_counter() - t0
    known = []
    for wid in worker_ids[:n_known]:
        t = time.perf_counter()
        rec.recommend_one(wid, k=10)
        known.append(time.perf_counter() - t)
    prof = []
    for p in profs[:n_prof]:
        w = Worker.model_validate(p)
        t = time.perf_counter()
        rec.recommend_one(w, k=10)
        prof.append(time.perf_counter() - t)
    return {
        "fit_s": round(fit_s, 2),
        "known": summarise(known, sum(known)),
        "profile": summarise(prof, sum(prof)),
    }


def encode_latency(model: str, profs: list[dict], n: int) -> dict:
    """The real model's latency to encode one new profile text (in process, sequential)."""
    from embeddings.encoder import load_encoder
    from matcher.records import Worker
    from matcher.scoring.features import worker_text

    t0 = time.perf_counter()
    enc = load_encoder(model)
    load_s = time.perf_counter() - t0
    texts = [worker_text(Worker.model_validate(p)) for p in profs[:n]]
    enc.encode(texts[:2], kind="query")  # warm-up
    lat = []
    for t in texts:
        s = time.perf_counter()
        enc.encode([t], kind="query")
        lat.append(time.perf_counter() - s)
    return {"model": enc.model_id, "load_s": round(load_s, 2), **summarise(lat, sum(lat))}


def machine() -> dict[str, Any]:
    versions = {}
    for name in (
        "laborbridge",
        "fastapi",
        "starlette",
        "uvicorn",
        "httpx",
        "pydantic",
        "numpy",
        "faiss-cpu",
        "torch",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_avg_at_start": list(os.getloadavg()),
        "versions": versions,
    }


def main(argv: Sequence[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=10_000, help="known-worker requests")
    ap.add_argument("--profile-requests", type=int, default=1_000, help="new-profile requests")
    ap.add_argument("--warmup", type=int, default=1_000, help="known-worker requests before measuring")
    ap.add_argument("--floor-requests", type=int, default=5_000, help="/health and /me requests")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--profile-sweep", default="1,4,8", help="more concurrencies for new profiles ('' skips)")
    ap.add_argument("--sweep-requests", type=int, default=200, help="new-profile requests per sweep step")
    ap.add_argument(
        "--mixed-profile-clients",
        type=int,
        default=4,
        help="clients posting profiles in the mixed phase (0 skips)",
    )
    ap.add_argument("--mixed-seconds", type=float, default=20.0)
    ap.add_argument("--max-seconds", type=float, default=300.0, help="time bound per phase")
    ap.add_argument(
        "--model", default="hash", help="hash (see module doc), or a model name for LABORBRIDGE_MODEL"
    )
    ap.add_argument("--cache-dir", type=Path, default=None, help="embedding cache of the served model")
    ap.add_argument(
        "--encode-model", default="default", help="real model timed for one-text encodes ('' skips)"
    )
    ap.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--ready-timeout", type=float, default=3600.0)
    ap.add_argument("--reference-n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if not 0 <= args.mixed_profile_clients < args.concurrency:
        ap.error("--mixed-profile-clients must leave at least one of --concurrency clients for known workers")
    sweep = [int(c) for c in args.profile_sweep.split(",") if c.strip()]
    n_mixed = args.mixed_profile_clients and max(
        200, int(args.mixed_profile_clients * args.mixed_seconds * 100)
    )
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it (Debian: apt-get install wrk; or `make bench-deps`)")

    result: dict[str, Any] = {
        "benchmark": "api",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "targets": TARGETS,
        "load_generator": _wrk_version(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        root = Path(tmp)
        url, data, import_s = build_store(root, args.workers, args.jobs, args.seed)
        key = make_key(url)
        rng = random.Random(args.seed)
        from matcher.store import load_dataset

        ds = load_dataset(url)
        worker_ids = [w.worker_id for w in ds.workers]
        result["sizes"] = {
            "jobs": len(ds.jobs),
            "workers": len(ds.workers),
            "enterprises": len(ds.enterprises),
        }
        result["import_s"] = round(import_s, 2)
        del ds
        n_prof = args.profile_requests + sum(args.sweep_requests for _ in sweep) + n_mixed + 100 + SPARE
        profs = profiles(data, n_prof, args.seed, nonce=f" {os.urandom(4).hex()}")
        prof_reqs: list[Request] = [("POST", "/recommendations", {"profile": p, "k": 10}) for p in profs]
        taken = 0

        def next_profiles(n: int) -> list[Request]:
            nonlocal taken
            taken += n
            return prof_reqs[taken - n : taken]

        def known(n: int) -> list[Request]:
            return [
                ("GET", f"/workers/{rng.choice(worker_ids)}/recommendations?k=10", None) for _ in range(n)
            ]

        sample_ids = rng.sample(worker_ids, min(len(worker_ids), args.reference_n))
        spare = profs[-SPARE:]  # never sent to the server
        ref: dict[str, Any] = {}
        if args.model != "hash":
            # First, so that its fit (all cores) fills the embedding cache the server then reads.
            ref = reference(url, args.model, sample_ids, spare, args.reference_n, SPARE, args.cache_dir)

        port = free_port()
        proc = start_server(args, url, port, root / "server.log")
        lua = root / "lua"
        c, t = args.concurrency, args.max_seconds
        try:
            result["server_ready_s"] = round(
                wait_ready(port, key, args.ready_timeout, proc, args.server_workers), 2
            )
            # The transport floor: a route that does nothing, and one that only authenticates.
            floor = args.floor_requests
            result["floor_health"] = drive(port, key, [([("GET", "/health", None)] * floor, c)], t, lua)[0]
            result["floor_auth"] = drive(port, key, [([("GET", "/me", None)] * floor, c)], t, lua)[0]
            result["warmup_known"] = drive(port, key, [(known(args.warmup), c)], t, lua)[0]
            result["known"] = drive(port, key, [(known(args.requests), c)], t, lua)[0]
            drive(port, key, [(next_profiles(100), min(c, 8))], t, lua)  # warm-up
            result["profile"] = drive(port, key, [(next_profiles(args.profile_requests), c)], t, lua)[0]
            result["profile_sweep"] = {
                str(n): drive(port, key, [(next_profiles(args.sweep_requests), n)], t, lua)[0] for n in sweep
            }
            if args.mixed_profile_clients:
                m = args.mixed_profile_clients
                mixed_profiles = next_profiles(n_mixed)
                k_res, p_res = drive(
                    port,
                    key,
                    [(known(max(args.requests, 1000)), c - m), (mixed_profiles, m)],
                    args.mixed_seconds,
                    lua,
                    time_bound=True,
                )
                p_res["texts_repeated"] = p_res["n_ok"] > len(mixed_profiles)
                result["mixed"] = {
                    "clients": {"known": c - m, "profile": m},
                    "known": k_res,
                    "profile": p_res,
                }
        finally:
            result["server_exit"] = stop_server(proc)
            result["server_log_tail"] = (root / "server.log").read_text(errors="replace")[-2000:]
        if not ref:
            ref = reference(url, args.model, sample_ids, spare, args.reference_n, SPARE, args.cache_dir)
        result["reference_in_process"] = ref
    kn, pr = result["known"], result["profile"]
    result["http_over_direct_p50"] = {
        "known": round(kn["p50_ms"] / ref["known"]["p50_ms"], 2),
        "profile": round(pr["p50_ms"] / ref["profile"]["p50_ms"], 2),
    }
    if args.model == "hash" and args.encode_model:
        result["real_model_encode_one"] = encode_latency(args.encode_model, profs, 100)
    result["pass"] = {
        "known_p99": kn["p99_ms"] <= TARGETS["known_p99_ms"],
        "profile_p99": pr["p99_ms"] <= TARGETS["profile_p99_ms"] if args.model != "hash" else None,
        "no_errors": kn["n_errors"] + pr["n_errors"] == 0
        and kn["n_ok"] >= args.requests
        and pr["n_ok"] >= args.profile_requests,
    }
    print(write_json(args.out, result) if args.out else json.dumps(result, ensure_ascii=False, indent=2))
    return result


def _wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    first = (out.stdout + out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "wrk"


if __name__ == "__main__":
    main()
