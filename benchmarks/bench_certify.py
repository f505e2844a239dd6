"""Pricing out: what certifying the optimum over every rule-passing pair costs, against the plain
top-k solve and against solving on all of those pairs.

    python -m benchmarks.bench_certify --workers 10000 --jobs 2000 --out benchmarks/results/certify.json

On a seeded sample (``matcher.sample.generate``, loaded through ``load_folder``), the product's
placement (``run_placement``) runs twice on the same encoder: ``certify=False`` (the top-k optimum)
and ``certify=True`` (top-k, then pricing rounds until no missing pair can improve the optimum).
The all-edges reference enumerates every pair the hard rules allow, scores each with the product's
code and solves on all of them, as ``bench_candidates`` does; it runs only when its estimated
memory (``--all-edges-max-gib``) fits, and the JSON says why when it does not.

Measured at 10k x 2k (S, also in count mode), 20k x 4k (M, label 20k) and 100k x 20k (L, label
100k; the all-edges reference does not fit there). Pricing sweeps every rule-passing pair twice
(about 1.9e8 at 100k x 20k), bounds each block of them and scores exactly only those whose bound
reaches the minimum fit and the thresholds: the first round at its own duals (its violators), the
second at a margin below its duals (the pool); later rounds test only the pool (``round_log``:
``pool``), sweeping again the rows and columns whose duals fell below the pool's floors.

Times compared are the stages that differ: retrieval and scoring, pricing out, and solving
(features, encoding and occupation coding are the same in every arm). Encoder: ``hashed``, the
benchmarks' deterministic stand-in (``bench_candidates.HashedNgramEncoder``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from benchmarks.bench_candidates import all_pairs, load_encoder, score_pairs, text_sides
from matcher.ingest import load_folder
from matcher.placement.options import DEFAULT_K, PlaceOptions
from matcher.placement.pipeline import build_problem, hold_back, run_placement
from matcher.sample.generate import generate_sample, write_sample
from matcher.scoring.features import job_text, worker_text

_STAGES = ("retrieve_score", "price_out", "solve")
_BYTES_PER_EDGE = 260  # all-edges peak RSS per rule-passing pair (candidates_20k: 2.7 GiB, 11.1M pairs)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _arm(run: Any) -> dict[str, Any]:
    s = {k: round(v, 3) for k, v in run.seconds.items()}
    return {
        "objective": round(float(run.result.objective), 6),
        "placed": run.n_placed,
        "edges": len(run.edges),
        "status": run.result.status,
        "k": (run.engine or {}).get("k", run.options.k),
        "k_chosen": (run.engine or {}).get("k_chosen"),
        "seconds": round(sum(run.seconds.get(k, 0.0) for k in _STAGES), 3),
        "stage_seconds": s,
    }


def _all_edges(ds: Any, run: Any, encoder: Any, options: PlaceOptions) -> dict[str, Any]:
    from optimizer import solve

    t0 = time.perf_counter()
    ctx = run.context
    wv = np.asarray(encoder.encode([worker_text(w) for w in ds.workers]), dtype=np.float32)
    jv = np.asarray(encoder.encode([job_text(j) for j in ds.jobs]), dtype=np.float32)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ew, ej = all_pairs(ctx)
    full = score_pairs(ctx, ew, ej, wv, jv, run.scoring, text_sides(ds), run.occupations)
    del ew, ej
    _, full, _ = hold_back(ctx, full, options)
    cand_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    problem, solve_options = build_problem(ds, ctx, full, options, occupations=run.occupations)
    result = solve(problem, dataclasses.replace(solve_options, shadow_prices=False))
    solve_s = time.perf_counter() - t0
    return {
        "objective": round(float(result.objective), 6),
        "placed": int(result.n_placed),
        "edges": len(full),
        "status": result.status,
        "seconds": round(cand_s + solve_s, 3),
        "stage_seconds": {"score_all_pairs": round(cand_s, 3), "solve": round(solve_s, 3)},
        "encode_seconds_not_counted": round(encode_s, 3),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    t_all = time.perf_counter()
    data = generate_sample(args.workers, args.jobs, seed=args.seed, year=args.year)
    with tempfile.TemporaryDirectory(prefix="lb-bench-cert-") as tmp:
        write_sample(data, tmp, truth=False)
        ds = load_folder(tmp)
    del data
    encoder = load_encoder(args.model, args.cache_dir)
    # no --k: the plain arm uses the product's top-k default, the certified arm picks k from the data
    base = PlaceOptions(
        year=args.year, k=args.k or DEFAULT_K, k_auto=args.k is None, mode=args.mode, model=args.model
    )
    plain_run = run_placement(ds, dataclasses.replace(base, certify=False), encoder=encoder)
    plain = _arm(plain_run)
    del plain_run
    print(f"plain top-{plain['k']}: {json.dumps(plain)}", flush=True)
    cert_run = run_placement(ds, base, encoder=encoder)
    cert = _arm(cert_run)
    assert cert_run.certificate is not None
    cert["certificate"] = cert_run.certificate.to_dict(seconds=True)
    print(f"certified: {json.dumps(cert)}", flush=True)
    n_pairs = cert_run.certificate.rule_passing_pairs
    need_gib = n_pairs * _BYTES_PER_EDGE / 2**30
    ref: dict[str, Any]
    if args.skip_all_edges:
        ref = {"skipped": "not asked (--skip-all-edges)"}
    elif need_gib > args.all_edges_max_gib:
        ref = {
            "skipped": f"{n_pairs:,} rule-passing pairs need about {need_gib:.1f} GiB "
            f"(> {args.all_edges_max_gib} GiB allowed on this shared machine)"
        }
    else:
        ref = _all_edges(ds, cert_run, encoder, base)
    print(f"all edges: {json.dumps(ref)}", flush=True)
    out: dict[str, Any] = {
        "encoder": {"name": args.model, "model_id": encoder.model_id},
        "mode": args.mode,
        "k": {"plain_top_k": plain["k"], "certified": cert["k"], "certified_k_chosen": cert["k_chosen"]},
        "sizes": {
            "workers": len(ds.workers),
            "jobs": len(ds.jobs),
            "openings": int(sum(j.openings for j in ds.jobs)),
            "rule_passing_pairs": n_pairs,
        },
        "plain_top_k": plain,
        "certified": cert,
        "all_edges": ref,
        "rounds": cert_run.certificate.rounds,
        "edges_added": cert_run.certificate.edges_added,
        "certified_status": cert_run.certificate.status,
        "time_ratio_certified_to_plain": round(cert["seconds"] / max(plain["seconds"], 1e-9), 3),
        "plain_objective_loss_rel": round(
            (cert["objective"] - plain["objective"]) / max(abs(cert["objective"]), 1e-12), 6
        ),
    }
    if "objective" in ref:
        out["time_ratio_certified_to_all_edges"] = round(cert["seconds"] / max(ref["seconds"], 1e-9), 3)
        out["certified_minus_all_edges_objective"] = round(cert["objective"] - ref["objective"], 6)
        out["certified_placed_minus_all_edges"] = cert["placed"] - ref["placed"]
    out["seconds_total"] = round(time.perf_counter() - t_all, 1)
    out["peak_rss_mib"] = round(_peak_mib(), 1)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=10_000)
    p.add_argument("--jobs", type=int, default=2_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--year", type=int, default=2025)
    p.add_argument(
        "--k", type=int, default=None, help="both arms' k (default: product default / from the data)"
    )
    p.add_argument("--mode", choices=("score", "count"), default="score")
    p.add_argument("--model", default="hashed", help="hashed (cheap stand-in) | default | a folder")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--all-edges-max-gib", type=float, default=4.0)
    p.add_argument("--skip-all-edges", action="store_true")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/certify.json"))
    args = p.parse_args(argv)
    progress = logging.getLogger("matcher.placement.pricing")  # each round and location, as it goes
    progress.setLevel(logging.DEBUG)
    progress.addHandler(logging.StreamHandler(sys.stdout))
    result = {"benchmark": "certify", "seed": args.seed, "year": args.year, **run(args)}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
