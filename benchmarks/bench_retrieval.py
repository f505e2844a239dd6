"""Retrieval benchmark: exact vs HNSW vs IVF, and the two location-filter strategies.

Synthetic, seeded data with cluster structure: ``--clusters`` random unit centres in 384-d, each job
vector a centre plus Gaussian noise, L2-normalised; queries are drawn the same way. For each size:

- build time, batch QPS and recall@10/@50 of HNSW and IVF against exact ``IndexFlatIP``;
- single-query latency p50/p99 (``search_one``).

At ``--filter-size`` jobs: ~16 district labels (70% of jobs) and ~100 county labels (30%); each query
allows its home county plus 0-16 districts (1-17 labels). Both strategies answer the same batch; the
script checks they agree (exact) and reports time per query for batch and single calls.

    python -m benchmarks.bench_retrieval --out benchmarks/results/retrieval.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from benchmarks import write_json
from embeddings.index import VectorIndex

DIM = 384
DISTRICTS = list(range(120101, 120117))
COUNTIES = list(range(620000, 620100))


def clustered(rng: np.random.Generator, centres: np.ndarray, n: int, noise: float) -> np.ndarray:
    """``n`` unit vectors around random ``centres``."""
    x = centres[rng.integers(0, len(centres), n)]
    x = x + noise * rng.standard_normal(x.shape).astype(np.float32) / np.sqrt(DIM)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall(approx: np.ndarray, exact: np.ndarray, k: int) -> float:
    """Mean |approx top-k ∩ exact top-k| / k."""
    hits = [len(np.intersect1d(a[:k], e[:k])) for a, e in zip(approx, exact, strict=True)]
    return float(np.mean(hits) / k)


def latency(
    index: VectorIndex, queries: np.ndarray, k: int, allowed: list[Any] | None = None
) -> dict[str, float]:
    """p50/p99 of ``search_one`` in milliseconds."""
    times = []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        index.search_one(q, k, None if allowed is None else allowed[i])
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def bench_kinds(
    rng: np.random.Generator, centres: np.ndarray, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Exact, HNSW and IVF at ``n`` jobs."""
    jobs = clustered(rng, centres, n, args.noise)
    queries = clustered(rng, centres, args.queries, args.noise)
    ids = np.arange(n, dtype=np.int64)
    out: dict[str, Any] = {"n_jobs": n, "n_queries": args.queries}
    exact_ids = None
    for kind in ("flat", "hnsw", "ivf"):
        index = VectorIndex(
            kind,
            ef_search=args.ef_search,
            nprobe=args.nprobe,
            hnsw_m=args.hnsw_m,
            ef_construction=args.ef_construction,
        )
        t0 = time.perf_counter()
        index.fit(jobs, ids)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, got = index.search(queries, 50)
        search_s = time.perf_counter() - t0
        if kind == "flat":
            exact_ids = got
        out[kind] = {
            "build_s": round(build_s, 3),
            "batch_qps": round(args.queries / search_s, 1),
            "recall@10": recall(got, exact_ids, 10),
            "recall@50": recall(got, exact_ids, 50),
            "single": latency(index, queries[: args.single], 10),
            "params": {
                k: v
                for k, v in index.get_params().items()
                if k in ("hnsw_m", "ef_construction", "ef_search", "nprobe")
            },
        }
        if kind == "ivf":
            out[kind]["params"]["nlist"] = int(index.index_[0].nlist)
        print(kind, n, json.dumps(out[kind]), flush=True)
        del index
    return out


def realistic_partitions(
    rng: np.random.Generator, n_jobs: int, n_queries: int
) -> tuple[np.ndarray, list[list[int]]]:
    """70% of jobs in 16 districts, 30% in 100 counties. Each county is paired with one district; a
    worker allows the home county only (20%), plus the paired district (40%), plus 1-2 more districts
    (20%), or plus every district (20%): 1-17 labels."""
    in_district = rng.random(n_jobs) < 0.7
    parts = np.where(in_district, rng.choice(DISTRICTS, n_jobs), rng.choice(COUNTIES, n_jobs)).astype(
        np.int32
    )
    paired = {c: DISTRICTS[i % len(DISTRICTS)] for i, c in enumerate(COUNTIES)}
    allowed = []
    for _ in range(n_queries):
        county = int(rng.choice(COUNTIES))
        pattern = rng.choice(4, p=[0.2, 0.4, 0.2, 0.2])
        if pattern == 0:
            allowed.append([county])
        elif pattern == 1:
            allowed.append([county, paired[county]])
        elif pattern == 2:
            extra = rng.choice(DISTRICTS, int(rng.integers(1, 3)), replace=False).tolist()
            allowed.append(sorted({county, paired[county], *extra}))
        else:
            allowed.append([county, *DISTRICTS])
    return parts, allowed


def bench_filters(rng: np.random.Generator, centres: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    """Partition-per-index vs over-fetch-and-filter at ``--filter-size`` jobs, exact flat and auto."""
    n = args.filter_size
    jobs = clustered(rng, centres, n, args.noise)
    queries = clustered(rng, centres, args.filter_queries, args.noise)
    parts, allowed = realistic_partitions(rng, n, args.filter_queries)
    ids = np.arange(n, dtype=np.int64)
    out: dict[str, Any] = {
        "n_jobs": n,
        "n_queries": args.filter_queries,
        "n_labels": int(len(np.unique(parts))),
        "distinct_allowed_sets": len({tuple(sorted(a)) for a in allowed}),
        "mean_allowed_labels": float(np.mean([len(a) for a in allowed])),
    }
    answers = {}
    for kind in ("flat", "hnsw"):
        for strategy in ("partition", "overfetch"):
            index = VectorIndex(kind, location_strategy=strategy, ef_search=args.ef_search)
            t0 = time.perf_counter()
            index.fit(jobs, ids, parts)
            build_s = time.perf_counter() - t0
            nq = len(queries) if kind == "flat" else args.filter_hnsw_queries
            t0 = time.perf_counter()
            _, got = index.search(queries[:nq], args.k, allowed[:nq])
            batch_s = time.perf_counter() - t0
            answers[(kind, strategy)] = got
            res = {
                "build_s": round(build_s, 3),
                "batch_s": round(batch_s, 3),
                "batch_queries": nq,
                "batch_qps": round(nq / batch_s, 1),
                "single": latency(index, queries[: args.single], args.k, allowed),
            }
            if kind == "hnsw":
                res["recall@50_vs_exact"] = recall(got, answers[("flat", "partition")][:nq], args.k)
            out[f"{kind}/{strategy}"] = res
            print(kind, strategy, json.dumps(res), flush=True)
    a, b = answers[("flat", "partition")], answers[("flat", "overfetch")]
    # both are exact: they may differ only where two jobs have bit-identical scores at the k-th place
    out["flat_strategies_rows_differing"] = int((a != b).any(axis=1).sum())
    out["flat_partition_speedup_batch"] = round(
        out["flat/partition"]["batch_qps"] / out["flat/overfetch"]["batch_qps"], 2
    )
    out["flat_partition_speedup_single_p50"] = round(
        out["flat/overfetch"]["single"]["p50_ms"] / out["flat/partition"]["single"]["p50_ms"], 2
    )
    return out


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "faiss_omp_threads": faiss.omp_get_max_threads(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/retrieval.json"))
    p.add_argument("--sizes", type=int, nargs="+", default=[50_000, 500_000])
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--single", type=int, default=200, help="queries timed one by one")
    p.add_argument("--filter-size", type=int, default=50_000)
    p.add_argument("--filter-queries", type=int, default=20_000)
    p.add_argument("--filter-hnsw-queries", type=int, default=500, help="HNSW over-fetch is slow: fewer")
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--clusters", type=int, default=256)
    p.add_argument("--noise", type=float, default=2.0, help="noise norm relative to the centre")
    p.add_argument("--ef-search", type=int, default=128)
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=80)
    p.add_argument("--nprobe", type=int, default=16)
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--skip-kinds", action="store_true", help="only the location-filter comparison")
    p.add_argument("--skip-filters", action="store_true", help="only exact/HNSW/IVF")
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((args.clusters, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    result: dict[str, Any] = {
        "benchmark": "retrieval",
        "machine": machine(),
        "seed": args.seed,
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    t0 = time.perf_counter()
    if not args.skip_filters:
        result["filters"] = bench_filters(rng, centres, args)
    if not args.skip_kinds:
        result["kinds"] = [bench_kinds(rng, centres, n, args) for n in args.sizes]
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
