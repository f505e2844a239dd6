"""Inner folds for choosing a title-model variant without touching the classify benchmark's test folds.

The titles of the benchmark's outer fold 0 training part (:mod:`benchmarks.bench_classify`'s seeded
permutation, seed 20240601) are split into ``--inner-folds`` folds by a second seeded permutation;
each inner fold is classified by a model fitted on the others (:func:`benchmarks.titles.train`, so
fits are cached and calibrated on folds of their own examples as the shipped model is). Pooled
top-1 / top-3 / same-小类 top-1 and the mean log-loss of the gold code are written with the
parameters, so a variant and its base, run in the same window, compare title by title::

    python -m benchmarks.classify_inner --name base --out /tmp/inner
    python -m benchmarks.classify_inner --name l2 --params '{"l2_dense": 3e-4}' --out /tmp/inner

A variant that edits the fitting code gets fits of its own (the cache keys on it); one that only
changes parameters passes them with ``--params`` (:class:`embeddings.title_model.TitleClassifier`'s).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_json
from benchmarks.bench_classify import accuracy
from benchmarks.titles import load_labelled, load_occupations, train

OUTER_SEED = 20240601
OUTER_FOLDS = 5


def inner_folds(n: int, inner: int = 3, seed: int = 777) -> list[np.ndarray]:
    """Title indices of the inner folds: the outer fold 0 training part of the benchmark's split of
    ``n`` titles, permuted by ``seed`` and cut into ``inner`` folds."""
    perm = np.random.default_rng(OUTER_SEED).permutation(n)
    train_part = np.setdiff1d(perm, np.array_split(perm, OUTER_FOLDS)[0])
    return np.array_split(np.random.default_rng(seed).permutation(train_part), inner)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="the variant's name (file stem of the outputs)")
    p.add_argument("--params", default="{}", help="TitleClassifier parameters as a JSON object")
    p.add_argument("--out", type=Path, default=Path("/tmp/classify_inner"))
    p.add_argument("--inner-folds", type=int, default=3)
    p.add_argument("--seed", type=int, default=777, help="seed of the inner split")
    p.add_argument("--model", default="default", help="the encoder (the product default)")
    args = p.parse_args(argv)
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    t0 = time.perf_counter()
    params = json.loads(args.params)
    occupations = load_occupations()
    codes = [o.code for o in occupations]
    labelled = load_labelled(occupations)
    encoder = CachedEncoder(load_encoder(args.model))
    folds = inner_folds(len(labelled.titles), args.inner_folds, args.seed)
    pool = np.concatenate(folds)
    proba = np.zeros((len(pool), len(codes)), dtype=np.float32)
    start = 0
    for fold in folds:
        clf = train(
            occupations, labelled.take(np.setdiff1d(pool, fold)), encoder, calibrate_folds=2, **params
        )
        proba[start : start + len(fold)] = clf.predict_proba([labelled.titles[int(i)] for i in fold])
        start += len(fold)
    gold = [labelled.codes[int(i)] for i in pool]
    index = {c: i for i, c in enumerate(codes)}
    at_gold = proba[np.arange(len(gold)), [index[c] for c in gold]]
    result: dict[str, Any] = {
        "name": args.name,
        "params": params,
        "titles": len(gold),
        **accuracy(proba, codes, gold),
        "logloss": float(-np.log(np.maximum(at_gold, 1e-12)).mean()),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / f"{args.name}.npy", proba)  # in the order of the folds, for paired comparisons
    write_json(args.out / f"{args.name}.json", result)
    print(result)
    return result


if __name__ == "__main__":
    main()
