"""Matching quality on real job-board phrases: wishes in workers' own words against real job titles.

Cases (per seed): the labelled dev titles (``title_norm_dev.csv``) are split in two halves A and B.
For each half H, a title model is trained on the *other* half and the CSCO table (so no case title
ever trained the model that classifies it), and a matching problem is built from H's titles in the
blue-collar and service groups (4-02, 4-03, 4-07-05, 4-09, 4-10, 4-12, 6-): per code, its titles
alternate between job titles (jobs carry no occupation code) and worker wishes (one worker each,
the raw title as the desired occupation). Workers accept every location; jobs have one opening, no
wage, age or gender rule. Both halves' figures are pooled.

Reported per seed, for the product (``Recommender`` and ``run_placement`` with default settings) and
for the reference computed in the same run, a char-bigram TF-IDF cosine of wish against job title
(ranked for recommendations; the same optimizer on its scores for placements):

- ``hit_at_3``: share of workers whose top 3 holds a job of their wished occupation (label);
- ``placed_in_wished``: placements whose job has the worker's wished label, and ``most_possible``
  (per label, min(workers wishing it, its jobs)); their ratio is the figure to beat;
- ``run_wishes``: what the run itself reports (``run.json``'s ``wishes``, on predicted codes).

    python -m benchmarks.bench_quality_real --seeds 1 2 --out benchmarks/results/quality_real.json
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from benchmarks.titles import load_labelled, load_occupations, train

GROUPS = ("4-02", "4-03", "4-07-05", "4-09", "4-10", "4-12", "6-")
COUNTY, DISTRICT = "623024", "120102"
YEAR = 2024
WORKER_COLUMNS = (
    "worker_id name id_number phone gender birth_year home_county_code education skills experience "
    "desired_occupations mobility min_wage employment_status current_employer group_id"
).split()


def build_case(examples: list[tuple[str, str]], folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write a data folder from ``(title, code)`` pairs; returns worker → label and job → label."""
    by_code: dict[str, list[str]] = defaultdict(list)
    for title, code in examples:
        if code.startswith(GROUPS):
            by_code[code].append(title)
    workers, jobs = [], []
    for code in sorted(by_code):
        for i, title in enumerate(by_code[code]):
            (jobs if i % 2 == 0 else workers).append((title, code))
    folder.mkdir(parents=True, exist_ok=True)
    worker_label, job_label = {}, {}
    with (folder / "workers.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(WORKER_COLUMNS)
        for i, (title, code) in enumerate(workers):
            wid = f"W{i:05d}"
            worker_label[wid] = code
            row = {"worker_id": wid, "name": "求职者", "gender": "male", "birth_year": 1990}
            row |= {"home_county_code": COUNTY, "desired_occupations": title.replace(";", " ")}
            row |= {"mobility": "anywhere", "employment_status": "unemployed"}
            wr.writerow([row.get(c, "") for c in WORKER_COLUMNS])
    with (folder / "enterprises.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(
            ["enterprise_id", "name", "kind", "location_code", "employment_base", "capacity", "dorm_beds"]
        )
        wr.writerow(["E1", "用人单位", "company", DISTRICT, "false", "", ""])
    with (folder / "jobs.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(
            ["job_id", "enterprise_id", "title", "description", "occupation_code", "openings", "wage_min",
             "wage_max", "location_code", "age_min", "age_max", "gender", "accommodation"]
        )  # fmt: skip
        for i, (title, code) in enumerate(jobs):
            jid = f"J{i:05d}"
            job_label[jid] = code
            wr.writerow([jid, "E1", title, "", "", 1, "", "", "", "", "", "any", "true"])
    return worker_label, job_label


def most_possible(worker_label: dict[str, str], job_label: dict[str, str]) -> int:
    jobs = Counter(job_label.values())
    return sum(min(n, jobs[c]) for c, n in Counter(worker_label.values()).items())


def tfidf_reference(ds: Any, worker_label: dict[str, str], job_label: dict[str, str]) -> dict[str, int]:
    """Char-bigram TF-IDF of wish vs title: hits in the top 3, and the optimal placement on its scores."""
    from embeddings.lexical import LexicalIndex
    from optimizer import PlacementProblem, SolveOptions, solve

    titles = [j.title for j in ds.jobs]
    wishes = [" ".join(w.desired_occupations) for w in ds.workers]
    s = LexicalIndex(ngram_range=(2, 2), scheme="tfidf").fit(titles).score_matrix(wishes).toarray()
    labels = np.array([job_label[j.job_id] for j in ds.jobs])
    wl = np.array([worker_label[w.worker_id] for w in ds.workers])
    top = np.argsort(-s, axis=1, kind="stable")[:, :3]
    hits = int((labels[top] == wl[:, None]).any(axis=1).sum())
    ew, ej = np.nonzero(s > 0)
    problem = PlacementProblem(
        n_workers=len(wl),
        n_jobs=len(labels),
        edge_worker=ew.astype(np.int32),
        edge_job=ej.astype(np.int32),
        edge_score=np.round(s[ew, ej], 6),
        job_openings=np.ones(len(labels), np.int64),
    )
    res = solve(problem, SolveOptions(mode="score", deterministic=True))
    a = np.asarray(res.assignment)
    placed = np.flatnonzero(a >= 0)
    return {
        "hits_at_3": hits,
        "placed": int(placed.size),
        "placed_in_wished": int((labels[a[placed]] == wl[placed]).sum()),
    }


def product(
    folder: Path, model_path: Path, encoder: Any, worker_label: dict[str, str], job_label: dict[str, str]
) -> dict[str, Any]:
    """The product's figures on one case folder: recommendations and a default placement run."""
    from matcher.ingest import load_folder
    from matcher.placement.options import PlaceOptions
    from matcher.placement.pipeline import run_placement
    from matcher.placement.summary import run_summary
    from matcher.recommend.recommender import Recommender

    ds = load_folder(folder)
    rec = Recommender(year=YEAR, title_model=str(model_path)).fit(ds, encoder)
    hits = 0
    for r in rec.recommend([w.worker_id for w in ds.workers], k=3):
        hits += any(job_label[i.job_id] == worker_label[r.worker_id] for i in r.items)
    run = run_placement(ds, PlaceOptions(year=YEAR, title_model=str(model_path)), encoder=encoder)
    a = np.asarray(run.result.assignment)
    placed = np.flatnonzero(a >= 0)
    in_wished = sum(
        job_label[ds.jobs[int(a[w])].job_id] == worker_label[ds.workers[int(w)].worker_id] for w in placed
    )
    ref = tfidf_reference(ds, worker_label, job_label)
    return {
        "workers": len(ds.workers),
        "jobs": len(ds.jobs),
        "hits_at_3": int(hits),
        "placed": int(placed.size),
        "placed_in_wished": int(in_wished),
        "most_possible": most_possible(worker_label, job_label),
        "run_wishes": run_summary(run)["wishes"],
        "reference": ref,
    }


def pooled(parts: list[dict[str, Any]]) -> dict[str, Any]:
    n = sum(p["workers"] for p in parts)
    most = sum(p["most_possible"] for p in parts)
    out = {
        "workers": n,
        "jobs": sum(p["jobs"] for p in parts),
        "hit_at_3": round(sum(p["hits_at_3"] for p in parts) / n, 4),
        "placed_in_wished_of_possible": round(sum(p["placed_in_wished"] for p in parts) / most, 4),
        "reference_hit_at_3": round(sum(p["reference"]["hits_at_3"] for p in parts) / n, 4),
        "reference_placed_in_wished_of_possible": round(
            sum(p["reference"]["placed_in_wished"] for p in parts) / most, 4
        ),
        "placed_in_wished": sum(p["placed_in_wished"] for p in parts),
        "most_possible": most,
    }
    out["hit_at_3_over_reference"] = round(out["hit_at_3"] - out["reference_hit_at_3"], 4)
    out["placed_over_reference"] = round(
        out["placed_in_wished_of_possible"] - out["reference_placed_in_wished_of_possible"], 4
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/quality_real.json"))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--model", default="default")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument(
        "--steps", type=int, default=None, help="training steps of the title models (default: the model's)"
    )
    args = p.parse_args(argv)
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    t0 = time.perf_counter()
    occupations = load_occupations()
    labelled = load_labelled(occupations)
    encoder = CachedEncoder(load_encoder(args.model), args.cache_dir)
    params = {} if args.steps is None else {"steps": args.steps}
    result: dict[str, Any] = {
        "benchmark": "quality_real",
        "model": encoder.model_id,
        "groups": list(GROUPS),
        "seeds": {},
    }
    with tempfile.TemporaryDirectory(prefix="quality-real-") as tmp:
        for seed in args.seeds:
            perm = np.random.default_rng(seed).permutation(len(labelled.titles))
            halves = np.array_split(perm, 2)
            parts = []
            for h in (0, 1):
                model_path = Path(tmp) / f"model-{seed}-{h}.npz"
                train(occupations, labelled.take(halves[1 - h]), encoder, **params).save(model_path)
                folder = Path(tmp) / f"case-{seed}-{h}"
                wl, jl = build_case(labelled.take(halves[h]), folder)
                parts.append(product(folder, model_path, encoder, wl, jl))
            result["seeds"][str(seed)] = {"pooled": pooled(parts), "halves": parts}
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    write_json(args.out, result)
    for seed, r in result["seeds"].items():
        print(seed, r["pooled"])
    return result


if __name__ == "__main__":
    main()
