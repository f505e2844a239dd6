"""Tune the scoring weights on labelled job titles (``laborbridge tune --from-titles FILE``).

A labelled-titles file (CSV with ``job_name,expected_code``, e.g. the job-board titles of
``title_norm_dev.csv``) becomes a small matching problem, seeded (:func:`title_problem`): per
code, half of its titles (rounded up) become jobs, without an occupation code, and the other
half become the wishes of one worker each. All jobs are at one Tianjin district that every
worker accepts, with no age, gender or wage rules, so only the words decide.

A job is relevant to a worker when its label equals the worker's wished label. The weights are
searched (:func:`matcher.tuning.search.search_weights`; programme factors, and factors constant over
the problem, held at the base's share) for
nDCG@10 on a train half of the workers; hit@3 (a relevant job in the top 3) and nDCG@10 are
reported on the held-out half for the tuned and the base weights, and the base is kept unless
the tuned weights are better there.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matcher.dataset import Dataset
from matcher.errors import InputError
from matcher.records import Enterprise, Job, Mobility, Worker
from matcher.scoring.candidates import Edges, top_k_per_worker
from matcher.scoring.context import code_number
from matcher.scoring.factors import FACTORS, ScoreWeights, ScoringConfig
from matcher.tuning.search import K_EVAL, POLICY, TuneResult, search_result, search_weights, split_workers

_CODE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")
_DISC = 1.0 / np.log2(np.arange(K_EVAL) + 2)
HIT_K = 3
DISTRICT = "120101"  # the one Tianjin district of every job
COUNTY = "623024"  # every worker's home county


def read_titles(path: str | Path) -> tuple[list[tuple[str, str]], list[InputError]]:
    """``(title, code)`` rows of a labelled-titles CSV (``job_name``, ``expected_code``), and the
    rows left out (no title, or no CSCO code: the job-board file has a few), each naming its row."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except OSError as exc:
        raise InputError(f"cannot read the labelled titles: {exc.strerror}", file=str(path)) from exc
    missing = [c for c in ("job_name", "expected_code") if c not in header]
    if missing:
        raise InputError("needs the columns job_name, expected_code", file=str(path), field=",".join(missing))
    out: list[tuple[str, str]] = []
    rejected: list[InputError] = []
    for i, r in enumerate(rows, start=2):
        title, code = (r.get("job_name") or "").strip(), (r.get("expected_code") or "").strip()
        if not title and not code:
            continue
        if not title:
            rejected.append(InputError("empty title", file=str(path), row=i, field="job_name"))
        elif not _CODE.match(code):
            reason = "not a CSCO code like 4-07-05-01"
            rejected.append(InputError(reason, file=str(path), row=i, field="expected_code", value=code))
        else:
            out.append((title, code))
    return out, rejected


@dataclass(frozen=True)
class TitleProblem:
    """The data set built from labelled titles, with each worker's and job's label."""

    dataset: Dataset
    worker_label: np.ndarray  # int64 (W,) code number of the wished title
    job_label: np.ndarray  # int64 (J,) code number of the job's title


def title_problem(rows: list[tuple[str, str]], seed: int = 0) -> TitleProblem:
    """Per code, shuffle (seeded) its titles: the first half, rounded up, become jobs, the rest
    worker wishes (a code with one title gives a job only)."""
    by_code: dict[str, list[str]] = defaultdict(list)
    for title, code in rows:
        by_code[code].append(title)
    rng = np.random.default_rng(seed)
    enterprise = Enterprise(enterprise_id="E1", name="labelled titles", location_code=DISTRICT)
    workers: list[Worker] = []
    jobs: list[Job] = []
    w_label: list[int] = []
    j_label: list[int] = []
    for code in sorted(by_code):
        titles = [by_code[code][i] for i in rng.permutation(len(by_code[code]))]
        n_jobs = len(titles) - len(titles) // 2
        for t in titles[:n_jobs]:
            jobs.append(Job(job_id=f"J{len(jobs) + 1}", enterprise_id="E1", title=t, openings=1))
            j_label.append(code_number(code))
        for t in titles[n_jobs:]:
            workers.append(
                Worker(
                    worker_id=f"W{len(workers) + 1}",
                    gender="female" if len(workers) % 2 else "male",
                    birth_year=1995,
                    home_county_code=COUNTY,
                    desired_occupations=(t,),
                    mobility=Mobility.anywhere,
                )
            )
            w_label.append(code_number(code))
    ds = Dataset(workers=workers, enterprises=[enterprise], jobs=jobs, input_sha256="")
    return TitleProblem(ds, np.array(w_label, np.int64), np.array(j_label, np.int64))


def title_metrics(
    edges: Edges, score: np.ndarray, problem: TitleProblem, rows: np.ndarray
) -> dict[str, float]:
    """hit@3 and nDCG@10 (binary gains; the ideal counts every job of the worker's label)."""
    sel = top_k_per_worker(edges.worker, score, K_EVAL)
    ew, ej = edges.worker[sel].astype(np.int64), edges.job[sel].astype(np.int64)
    rel = (problem.job_label[ej] == problem.worker_label[ew]).astype(float)
    starts = np.r_[0, np.flatnonzero(np.diff(ew)) + 1]
    pos = np.arange(len(sel)) - np.repeat(starts, np.diff(np.r_[starts, len(sel)]))
    n = len(problem.worker_label)
    dcg = np.bincount(ew, weights=rel * _DISC[np.minimum(pos, K_EVAL - 1)], minlength=n)
    hit = np.bincount(ew, weights=rel * (pos < HIT_K), minlength=n) > 0
    labels, counts = np.unique(problem.job_label, return_counts=True)
    n_rel = np.zeros(n, np.int64)
    at = np.searchsorted(labels, problem.worker_label)
    found = (at < len(labels)) & (labels[np.minimum(at, len(labels) - 1)] == problem.worker_label)
    n_rel[found] = counts[at[found]]
    idcg = np.r_[0.0, np.cumsum(_DISC)][np.minimum(n_rel, K_EVAL)]
    if not len(rows):
        return {"hit_at_3": 0.0, "ndcg_at_10": 0.0}
    return {"hit_at_3": float(hit[rows].mean()), "ndcg_at_10": float((dcg[rows] / idcg[rows]).mean())}


def tune_from_titles(
    recommender: Any,
    problem: TitleProblem,
    *,
    n_random: int = 200,
    n_rounds: int = 4,
    test_share: float = 0.5,
    seed: int = 0,
    source: str = "labelled titles",
) -> TuneResult:
    """Tune on a ``Recommender`` fitted on ``problem.dataset`` (its ``config_`` is the base)."""
    rec = recommender
    base_cfg: ScoringConfig = rec.config_
    n = len(problem.worker_label)
    train, test = split_workers(n, test_share, seed)
    if len(train) < 2 or len(test) < 2:
        raise InputError(
            "too few labelled titles: needs codes with at least two titles each (one job, one wish) "
            f"for at least 4 workers; found {n}",
            file=source,
        )
    edges = rec.candidate_edges()
    values = edges.factors.values.astype(np.float64)

    def on(w: np.ndarray, rows: np.ndarray) -> dict[str, float]:
        return title_metrics(edges, values @ w, problem, rows)

    # a factor constant over the problem (wage, place, dorm: no rules here) cannot be learnt from it
    varies = np.ptp(values, axis=0) > 0 if len(values) else np.zeros(len(FACTORS), bool)
    free = [f for f, v in zip(FACTORS, varies, strict=True) if v and f not in POLICY]
    if not free:
        raise InputError("the labelled titles give no factor that separates jobs", file=source)
    weights, train_best, curve = search_weights(
        lambda w: on(w, train)["ndcg_at_10"],
        base_cfg.weights,
        np.random.default_rng(seed),
        n_random,
        n_rounds,
        free=free,
    )
    held = {"base": on(base_cfg.weights.vector(), test), "tuned": on(ScoreWeights(**weights).vector(), test)}
    report = {
        "answer_key": "a job is relevant when its title's label equals the worker's wished title's label",
        "problem": {
            "workers": n,
            "jobs": len(problem.job_label),
            "codes": int(len(np.unique(problem.job_label))),
            "seed": seed,
        },
        "split": {"train_workers": int(len(train)), "held_out_workers": int(len(test)), "seed": seed},
    }
    return search_result(
        base_cfg,
        rec.fetch,
        weights,
        curve,
        ("ndcg_at_10", train_best),
        held,
        (n_random, n_rounds, free),
        report,
    )


__all__ = ["TitleProblem", "read_titles", "title_metrics", "title_problem", "tune_from_titles"]
