"""Title → CSCO code accuracy of the title model, by cross-validation over the dev titles.

Protocol: the labelled dev titles (``title_norm_dev.csv``; rows whose code is blank or not in the
table are left out and counted) are split into ``--folds`` folds by a seeded permutation that stays
fixed (seed 20240601). Each fold is classified by a :class:`embeddings.title_model.TitleClassifier`
trained on the other folds and the CSCO table (its channel weights fitted on inner folds of those
titles alone: nested, the held-out fold chooses nothing), and by the reference measured in the same
run: the nearest CSCO name by character-bigram TF-IDF (one document per code: name + aliases).

Reported, pooled over the folds: exact top-1 / top-3 / top-5, same-小类 top-1 (first three code
groups agree: about a third of the errors are parent/child granularity), the gain over the
reference, and calibration: accuracy of the answers the model is sure of (top probability ≥ 0.5)
and of those it calls unsure.

    python -m benchmarks.bench_classify --out benchmarks/results/classify.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from benchmarks.titles import load_labelled, load_occupations, train

SURE = 0.5


def accuracy(proba: np.ndarray, codes: list[str], gold: list[str]) -> dict[str, float]:
    """Top-1/3/5 exact and top-1 same-小类 accuracy of scores ``proba`` (n, codes)."""
    from embeddings.occupations import minor_group

    top = np.argsort(-proba, axis=1, kind="stable")[:, :5]
    cand = np.asarray(codes)[top]
    g = np.asarray(gold)
    return {
        "top1": float((cand[:, 0] == g).mean()),
        "top3": float((cand[:, :3] == g[:, None]).any(axis=1).mean()),
        "top5": float((cand == g[:, None]).any(axis=1).mean()),
        "top1_minor": float(
            np.mean([minor_group(a) == minor_group(b) for a, b in zip(cand[:, 0], g, strict=True)])
        ),
    }


def baseline_scores(occupations: list[Any], titles: list[str]) -> np.ndarray:
    """Char-bigram TF-IDF cosine of the (cleaned) title against one document (name + aliases) per code."""
    from embeddings.lexical import LexicalIndex
    from embeddings.occupations import clean_title

    docs = [" ".join([o.name, *o.aliases]) for o in occupations]
    lex = LexicalIndex(ngram_range=(2, 2), scheme="tfidf").fit(docs)
    return lex.score_matrix([clean_title(t) for t in titles]).toarray()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/classify.json"))
    p.add_argument("--model", default="default", help="encoder name for embeddings.encoder.load_encoder")
    p.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: user cache)")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the model's)")
    args = p.parse_args(argv)
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    t0 = time.perf_counter()
    occupations = load_occupations()
    codes = [o.code for o in occupations]
    labelled = load_labelled(occupations)
    encoder = CachedEncoder(load_encoder(args.model), args.cache_dir)
    params = {} if args.steps is None else {"steps": args.steps}
    perm = np.random.default_rng(args.seed).permutation(len(labelled.titles))
    proba = np.zeros((len(perm), len(codes)), dtype=np.float32)
    fit_s = []
    for part in np.array_split(perm, args.folds):
        t = time.perf_counter()
        clf = train(occupations, labelled.take(np.setdiff1d(perm, part)), encoder, **params)
        fit_s.append(round(time.perf_counter() - t, 1))
        proba[part] = clf.predict_proba([labelled.titles[int(i)] for i in part])
    model = accuracy(proba, codes, labelled.codes)
    base = accuracy(baseline_scores(occupations, labelled.titles), codes, labelled.codes)
    best = proba.max(axis=1)
    right = np.asarray(codes)[proba.argmax(axis=1)] == np.asarray(labelled.codes)
    result = {
        "benchmark": "classify",
        "seed": args.seed,
        "folds": args.folds,
        "titles": len(labelled.titles),
        "rows_left_out": labelled.left_out,
        "codes": len(codes),
        "model_id": encoder.model_id,
        "title_model": model,
        "baseline_tfidf": base,
        "gain_over_baseline": {k: round(model[k] - base[k], 4) for k in model},
        "calibration": {
            "sure_share": round(float((best >= SURE).mean()), 4),
            "sure_top1": round(float(right[best >= SURE].mean()), 4) if (best >= SURE).any() else None,
            "unsure_top1": round(float(right[best < SURE].mean()), 4) if (best < SURE).any() else None,
            "mean_top_probability": round(float(best.mean()), 4),
        },
        "fit_s": fit_s,
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    write_json(args.out, result)
    print({k: result[k] for k in ("title_model", "baseline_tfidf", "gain_over_baseline", "calibration")})
    return result


if __name__ == "__main__":
    main()
