"""HTTP service benchmark: recommendation latency (p50, p99) and throughput under concurrent clients.

Builds a store with a seeded sample (``--jobs`` jobs, ``--workers`` workers), creates a key, starts
the service as a uvicorn subprocess on 127.0.0.1, waits for ``/ready`` (the model and index load
once at start-up), then drives it from ``--concurrency`` asyncio clients (httpx) on loopback:

- known workers: ``GET /workers/{id}/recommendations`` (no encoding: the vectors are fitted);
- new profiles: ``POST /recommendations`` with a profile whose text is new (one encode each).

Before them, ``/health`` (no work) and ``/me`` (authentication only) under the same load give the
transport floor of the machine: what any route costs here before it does anything.
Requests are bounded in count (``--requests``, ``--profile-requests``) and in time
(``--max-seconds`` per phase). The reference, measured in the same run, is the in-process domain
call (``Recommender.recommend_one``) on the same data and encoder, so the HTTP overhead comes out
as a ratio. The server is stopped at the end. JSON goes to ``--out``.

``--model hash`` (the default here) serves with a 384-dimension character-n-gram hashing encoder
(the dimension of the default model), so start-up takes seconds; the known-worker path never
encodes, so its figures are those of the product. A new profile's encode is then nearly free, so
the run also measures the real model's one-text encode latency (``--encode-model``, in process)
and reports ``profile_estimate_p99_ms`` = HTTP p99 with the hashing encoder + that encode's p99.
``--model default`` serves the real model end to end (``laborbridge serve``): the first start-up
encodes every job and worker text once (cached on disk afterwards), which at 50k jobs on two
loaded cores takes a long time.

    python -m benchmarks.bench_api --jobs 50000 --workers 5000 --out benchmarks/results/api.json
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
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

SECRET = "bench-api-secret-0123456789"
YEAR = 2026
TARGETS = {"known_p99_ms": 50.0, "profile_p99_ms": 150.0, "errors": 0}


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
    """The app the benchmark serves with ``--model hash`` (uvicorn ``--factory`` target)."""
    from api.app import create_app

    return create_app(encoder=HashEncoder())


# ----------------------------------------------------------------------------- set-up
def build_store(root: Path, n_workers: int, n_jobs: int, seed: int) -> tuple[str, Path, float]:
    from matcher.sample import generate_sample, write_sample
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


def wait_ready(port: int, key: str, timeout: float, proc: subprocess.Popen) -> float:
    import httpx

    t0 = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=5) as c:
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                if c.get("/ready").status_code == 200:
                    return time.perf_counter() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.5)
    raise SystemExit("server not ready in time")


def stop_server(proc: subprocess.Popen) -> int | None:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# ----------------------------------------------------------------------------- load
def profiles(data: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` new profiles: sample workers' matching fields with a unique note, so each text is new."""
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
                "experience": f"{r['experience'][:200]} 第{i}次登记",
                "desired_occupations": [s for s in r["desired_occupations"].split(";") if s][:10],
                "mobility": r["mobility"],
            }
        )
    return out


async def drive(
    port: int, key: str, requests: list[tuple[str, str, Any]], concurrency: int, max_s: float
) -> dict:
    """Send ``requests`` from ``concurrency`` clients; latencies of the 2xx answers, errors, throughput."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    nxt = 0
    deadline = time.perf_counter() + max_s
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, limits=limits, timeout=30
    ) as client:

        async def one_client() -> None:
            nonlocal nxt
            while nxt < len(requests) and time.perf_counter() < deadline:
                method, path, body = requests[nxt]
                nxt += 1
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, path, json=body)
                    ok = r.status_code == 200
                    why = str(r.status_code)
                except httpx.HTTPError as exc:
                    ok, why = False, type(exc).__name__
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[why] = errors.get(why, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return summarise(latencies, wall, errors, len(requests))


def summarise(
    latencies: list[float], wall: float, errors: dict[str, int] | None = None, planned: int = 0
) -> dict:
    ms = np.array(latencies) * 1000
    out: dict[str, Any] = {"n_ok": int(ms.size), "wall_s": round(wall, 3)}
    if errors is not None:
        out.update(n_planned=planned, n_errors=sum(errors.values()), errors=errors)
        out["throughput_rps"] = round(ms.size / wall, 1) if wall else None
    if ms.size:
        for q in (50, 90, 99):
            out[f"p{q}_ms"] = round(float(np.percentile(ms, q)), 3)
        out["mean_ms"], out["max_ms"] = round(float(ms.mean()), 3), round(float(ms.max()), 3)
    return out


# ----------------------------------------------------------------------------- reference
def reference(
    url: str, model: str, worker_ids: list[str], profs: list[dict], n_known: int, n_prof: int
) -> dict:
    """In-process ``Recommender.recommend_one`` latency on the same store and encoder (sequential)."""
    from api.services import SerialEncoder
    from matcher.placement import make_encoder
    from matcher.recommend import Recommender
    from matcher.records import Worker
    from matcher.store import load_dataset

    encoder = HashEncoder() if model == "hash" else make_encoder(model, None)
    t0 = time.perf_counter()
    rec = Recommender(year=YEAR).fit(load_dataset(url), SerialEncoder(encoder))
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
    from matcher.features import worker_text
    from matcher.records import Worker

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
    ap.add_argument("--workers", type=int, default=5_000)
    ap.add_argument("--requests", type=int, default=10_000, help="known-worker requests")
    ap.add_argument("--profile-requests", type=int, default=2_000, help="new-profile requests")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument(
        "--floor-requests", type=int, default=2000, help="/health and /me requests (transport floor)"
    )
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--max-seconds", type=float, default=300.0, help="time bound per phase")
    ap.add_argument(
        "--model", default="hash", help="hash (see module doc), or a model name for LABORBRIDGE_MODEL"
    )
    ap.add_argument(
        "--encode-model", default="default", help="real model timed for one-text encodes ('' skips)"
    )
    ap.add_argument("--server-workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--ready-timeout", type=float, default=3600.0)
    ap.add_argument("--reference-n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    result: dict[str, Any] = {
        "benchmark": "api",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "targets": TARGETS,
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
        profs = profiles(data, args.profile_requests + args.warmup, args.seed)

        port = free_port()
        proc = start_server(args, url, port, root / "server.log")
        try:
            result["server_ready_s"] = round(wait_ready(port, key, args.ready_timeout, proc), 2)
            known_reqs = [
                ("GET", f"/workers/{rng.choice(worker_ids)}/recommendations?k=10", None)
                for _ in range(args.requests + args.warmup)
            ]
            prof_reqs = [("POST", "/recommendations", {"profile": p, "k": 10}) for p in profs]
            # The transport floor: a route that does nothing, and one that only authenticates.
            floor = [("GET", "/health", None)] * args.floor_requests
            result["floor_health"] = asyncio.run(drive(port, key, floor, args.concurrency, args.max_seconds))
            floor = [("GET", "/me", None)] * args.floor_requests
            result["floor_auth"] = asyncio.run(drive(port, key, floor, args.concurrency, args.max_seconds))
            asyncio.run(drive(port, key, known_reqs[: args.warmup], args.concurrency, args.max_seconds))
            result["known"] = asyncio.run(
                drive(port, key, known_reqs[args.warmup :], args.concurrency, args.max_seconds)
            )
            asyncio.run(drive(port, key, prof_reqs[: args.warmup], args.concurrency, args.max_seconds))
            result["profile"] = asyncio.run(
                drive(port, key, prof_reqs[args.warmup :], args.concurrency, args.max_seconds)
            )
        finally:
            result["server_exit"] = stop_server(proc)
            result["server_log_tail"] = (root / "server.log").read_text(errors="replace")[-2000:]
        sample_ids = rng.sample(worker_ids, min(len(worker_ids), args.reference_n))
        ref = reference(url, args.model, sample_ids, profs, args.reference_n, min(args.reference_n, 200))
        result["reference_in_process"] = ref
    known, prof = result["known"], result["profile"]
    result["http_over_direct_p50"] = {
        "known": round(known["p50_ms"] / ref["known"]["p50_ms"], 2),
        "profile": round(prof["p50_ms"] / ref["profile"]["p50_ms"], 2),
    }
    if args.model == "hash" and args.encode_model:
        enc = encode_latency(args.encode_model, profs, 100)
        result["real_model_encode_one"] = enc
        result["profile_estimate_p99_ms"] = round(prof["p99_ms"] + enc["p99_ms"], 3)
    prof_p99 = result.get("profile_estimate_p99_ms", prof["p99_ms"])
    result["pass"] = {
        "known_p99": known["p99_ms"] <= TARGETS["known_p99_ms"],
        "profile_p99": prof_p99 <= TARGETS["profile_p99_ms"],
        "no_errors": known["n_errors"] + prof["n_errors"] == 0 and known["n_ok"] == args.requests,
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return result


if __name__ == "__main__":
    main()
