"""A batch placement: data set → texts → vectors → candidates → optimal assignment.

:func:`run_placement` does the work and returns a :class:`PlacementRun`. Scores are rounded to
``SCORE_DECIMALS`` before solving, so the objective is exactly the optimum over the scores written to
``candidates.csv`` (:mod:`matcher.placement.files`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.dataset import Dataset
from matcher.placement.options import HELD_EMPLOYED, HELD_NO_FIT, PlaceOptions
from matcher.placement.pricing import Certificate
from matcher.placement.progress import Progress, StageTimer, as_progress
from matcher.scoring.candidates import Edges, TextSides
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import SCORE_DECIMALS, EdgeFactors, ScoringConfig, fit_dense_range
from matcher.scoring.features import job_text, worker_occupation_text, worker_skill_text, worker_text
from matcher.scoring.occupations import OccupationSides, classify_data, wish_weight

if TYPE_CHECKING:
    from embeddings.cache import CachedEncoder
    from optimizer import PlacementProblem, PlacementResult, SolveOptions


@dataclass
class PlacementRun:
    """Everything a placement produced."""

    dataset: Dataset
    options: PlaceOptions
    context: MatchContext
    edges: Edges
    result: PlacementResult
    model_id: str
    seconds: dict[str, float]
    occupation_table: str | None = None
    worker_codes: np.ndarray | None = None  # (W, MAX_CODES) wished CSCO code numbers, -1 padded
    occupation_names: dict[int, str] = field(default_factory=dict)
    problem: PlacementProblem | None = None  # the problem that was solved
    solve_options: SolveOptions | None = None
    held_back: np.ndarray | None = None  # int8 (W,): 0, or a code of HELD_BACK_REASONS (see hold_back)
    occupations: OccupationSides | None = None  # code beliefs of wishes and job titles
    job_code_predicted: np.ndarray | None = None  # bool (J,): the job's code came from its title
    scoring: ScoringConfig | None = None  # the scoring used (dense range fitted on the data)
    wishes: dict[str, Any] | None = None  # wish_fulfilment, once computed
    engine: dict[str, Any] | None = None  # what ran it: the engine, regions and components
    guidance: dict[int, Any] | None = None  # unplaced worker → Guidance, once computed (guidance.py)
    certificate: Certificate | None = None  # what pricing out proved (options.certify)

    @property
    def effective_scoring(self) -> ScoringConfig:
        """The scoring the run used: its options' with the dense range fitted on the data."""
        return self.scoring or self.options.scoring

    @property
    def n_placed(self) -> int:
        return int((self.result.assignment >= 0).sum())


def make_encoder(model: str, cache_dir: str | None) -> CachedEncoder:
    """The named model behind the persistent embedding cache."""
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    inner = load_encoder(model)
    return CachedEncoder(inner, cache_dir) if cache_dir else CachedEncoder(inner)


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
    engine: Any = None,
) -> PlacementRun:
    """Run the whole placement on ``ds``; ``progress`` is told each stage and its advance.

    ``encoder`` (an :class:`embeddings.Encoder`) defaults to ``options.model`` behind the cache.
    ``engine`` (:mod:`matcher.placement.engine`) runs the encoding, the retrieval and scoring and
    the solving; the default runs them in this process. Every engine cuts the work the same way,
    so the assignment is the same whichever runs it.
    """
    from matcher.placement.decompose import solve_in_pieces
    from matcher.placement.engine import LocalEngine, encode_texts, retrieve_and_score

    engine = engine or LocalEngine()
    info: dict[str, Any] = dict(engine.describe())
    timer = StageTimer(as_progress(progress))
    with timer.stage("features"):
        ctx = MatchContext.build(ds, options.year)
        w_texts = [worker_text(w) for w in ds.workers]
        j_texts = [job_text(j) for j in ds.jobs]
        sides = TextSides(
            worker_occupations=[worker_occupation_text(w) for w in ds.workers],
            worker_skills=[worker_skill_text(w) for w in ds.workers],
            job_titles=[j.title for j in ds.jobs],
            job_descriptions=[j.description for j in ds.jobs],
        )
    with timer.stage("encode", len(w_texts) + len(j_texts)) as p:
        named = options.model if encoder is None else None  # a cluster's workers load it by name
        encoder = encoder or make_encoder(options.model, options.cache_dir)
        before = getattr(encoder, "encoded_count", None)
        vecs = encode_texts(engine, encoder, w_texts + j_texts, p, model=named)
        if before is not None:  # a re-run encodes only what changed: how much that was
            info["texts_encoded"] = encoder.encoded_count - before
        wv, jv = vecs[: len(w_texts)], vecs[len(w_texts) :]
        del vecs
        model_id = encoder.model_id
    with timer.stage("occupations"):
        given_codes = ctx.job_code
        occupation, sides_occ, ctx = classify_data(
            ds.workers, ds.jobs, ctx, encoder, options.csco_path, options.title_model
        )
        codes = sides_occ.workers.top1()
        scoring = fit_dense_range(options.scoring, wv, jv)
    k, chosen = options.k, "given"
    if options.k_auto and options.certify:
        from matcher.placement.pricing import auto_k

        k, chosen = auto_k(ctx, eligible_workers(ctx, options)), "from the data"
    info["k"], info["k_chosen"] = k, chosen
    with timer.stage("retrieve_score", ctx.n_workers) as p:
        keep = HoldBack(ctx, options, drop=lambda e: _drop_excluded(ds, ctx, e, options.exclude))
        edges = retrieve_and_score(
            engine,
            ctx,
            wv,
            jv,
            sides,
            sides_occ,
            scoring,
            k,
            options.index_kind,
            p,
            on_regions=lambda n: info.update(regions=n),
            keep=keep,
        )
        ctx, held = keep.finish(ctx, edges)
    certificate, result = None, None
    if options.certify:
        with timer.stage("price_out"):
            edges, held, certificate, result = price_out(
                ds, ctx, edges, held, replace(options, k=k), engine, wv, jv, sides, sides_occ, scoring
            )
    with timer.stage("solve"):
        problem, solve_options = build_problem(ds, ctx, edges, options, occupations=sides_occ)
        if result is None:  # side rules, shadow prices, or no pricing: solve the whole problem
            result = solve_in_pieces(problem, solve_options, engine)
        info["components"] = int(result.stage_seconds.get("components", 0))
        if certificate is not None:
            certificate.settle(result)
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
    run.engine = info
    run.certificate = certificate
    return run


def eligible_workers(ctx: MatchContext, options: PlaceOptions) -> np.ndarray:
    """Bool (W,): the workers a run may place (the employed only with ``include_employed``)."""
    if options.include_employed:
        return np.ones(ctx.n_workers, dtype=bool)
    return np.asarray(ctx.worker_unemployed, dtype=bool).copy()


def price_out(
    ds: Dataset,
    ctx: MatchContext,
    edges: Edges,
    held: np.ndarray,
    options: PlaceOptions,
    engine: Any,
    wv: np.ndarray,
    jv: np.ndarray,
    sides: TextSides,
    occupations: OccupationSides,
    scoring: ScoringConfig,
) -> tuple[Edges, np.ndarray, Certificate, Any]:
    """The top-k ``edges`` grown by pricing out until the flow core is optimal over every
    rule-passing pair (:mod:`matcher.placement.pricing`); ``held`` no longer holds back a worker
    who gained an edge. The last result is returned when it is the whole problem's answer (no side
    rule left out, no shadow prices asked), else None."""
    from matcher.placement.decompose import solve_in_pieces
    from matcher.placement.pricing import PairPricer, certify, count_rule_passing, flow_core

    eligible = eligible_workers(ctx, options)
    exclude = None
    if options.exclude:
        w_idx = {w.worker_id: i for i, w in enumerate(ds.workers)}
        e_idx = {e.enterprise_id: i for i, e in enumerate(ds.enterprises)}
        n_ent = max(len(ds.enterprises), 1)
        exclude = np.array(
            [w_idx[w] * n_ent + e_idx[e] for w, e in options.exclude if w in w_idx and e in e_idx],
            dtype=np.int64,
        )
    pricer = PairPricer(
        ctx,
        wv,
        jv,
        sides,
        occupations,
        scoring,
        eligible=eligible,
        min_fit=options.min_fit,
        exclude=exclude,
        needs_dorm=options.rules.dorm_beds and bool(np.any(ctx.enterprise_dorm_beds >= 0)),
        wish_bonus=options.wish_bonus,
    )

    whole = [True]

    def solve_graph(graph: Edges) -> tuple[Any, Any, Any]:
        problem, solve_options = build_problem(ds, ctx, graph, options, occupations=occupations)
        core, core_options, stripped = flow_core(problem, solve_options)
        result = solve_in_pieces(core, core_options, engine)
        whole[0] = not stripped and not solve_options.shadow_prices
        if result.solver != "ortools_min_cost_flow":  # crossing dorm beds: the flow core alone
            from optimizer import solve

            core_options = replace(core_options, enforce_dorm_beds=False)
            result = solve(core, core_options)
            whole[0] = False
        return core, core_options, result

    n_pairs = count_rule_passing(ctx, eligible, exclude)
    edges, _, _, result, cert = certify(edges, pricer, solve_graph, k=options.k, rule_passing_pairs=n_pairs)
    has = np.bincount(edges.worker, minlength=ctx.n_workers) > 0
    held = np.where(has & (held == HELD_NO_FIT), 0, held).astype(np.int8)
    return edges, held, cert, result if whole[0] and cert.status == "optimal" else None


class HoldBack:
    """:func:`hold_back`, applied to a run's edges block by block as they come (``__call__``; first
    ``drop``, then scores rounded to ``SCORE_DECIMALS``), then :meth:`finish` on all that was kept.
    Every step is per edge, so this keeps exactly the edges :func:`hold_back` keeps."""

    def __init__(
        self, ctx: MatchContext, options: PlaceOptions, drop: Callable[[Edges], Edges] | None = None
    ) -> None:
        self.employed = None if options.include_employed else ~ctx.worker_unemployed
        self.min_fit = options.min_fit
        self.drop = drop
        self.had = np.zeros(ctx.n_workers, dtype=bool)  # a candidate before the min_fit cut

    def __call__(self, edges: Edges) -> Edges:
        if self.drop is not None:
            edges = self.drop(edges)
        score = np.round(edges.score, SCORE_DECIMALS)
        keep = np.ones(len(edges), dtype=bool) if self.employed is None else ~self.employed[edges.worker]
        self.had[edges.worker[keep]] = True
        keep &= score >= self.min_fit
        return Edges(
            edges.worker[keep],
            edges.job[keep],
            edges.cosine[keep],
            EdgeFactors(edges.factors.values[keep]),
            score[keep],
        )

    def finish(self, ctx: MatchContext, edges: Edges) -> tuple[MatchContext, np.ndarray]:
        """The context the run solves on and why each held-back worker got no edge (``edges``:
        every edge kept)."""
        n = ctx.n_workers
        held = np.zeros(n, dtype=np.int8)
        if self.employed is not None:
            held[self.employed] = HELD_EMPLOYED
            group = np.where(self.employed, -1, ctx.worker_group).astype(np.int32)
            ctx = replace(ctx, worker_group=group)
        held[self.had & (np.bincount(edges.worker, minlength=n) == 0)] = HELD_NO_FIT
        return ctx, held


def hold_back(
    ctx: MatchContext, edges: Edges, options: PlaceOptions
) -> tuple[MatchContext, Edges, np.ndarray]:
    """The edges a run may use, and why each worker held back got none (codes of ``HELD_BACK_REASONS``).

    Unless ``options.include_employed``, employed workers lose every edge (``employed_kept``) and
    leave their co-villager group, so the rest of the group can still go together. Edges scoring
    below ``options.min_fit`` are dropped; a worker who had a candidate but none that fits gets
    ``no_fitting_job``. (Scores are rounded to ``SCORE_DECIMALS`` first, as a run's are.)
    """
    keep = HoldBack(ctx, options)
    edges = keep(edges)
    ctx, held = keep.finish(ctx, edges)
    return ctx, edges, held


def objective_weights(edges: Edges, wish_bonus: float, occupations: OccupationSides | None) -> np.ndarray:
    """Each edge's weight in the placement objective: its score, plus ``wish_bonus`` times the
    probability that the job is of one of the worker's wished occupations
    (:func:`~matcher.scoring.occupations.wish_probability`; rounded as the scores are)."""
    if occupations is None or wish_bonus == 0 or len(edges) == 0:
        return edges.score
    wish = wish_weight(occupations, edges.worker, edges.job, wish_bonus)
    return np.round(edges.score + wish, SCORE_DECIMALS)


def build_problem(
    ds: Dataset,
    ctx: MatchContext,
    edges: Edges,
    options: PlaceOptions,
    *,
    job_openings: np.ndarray | None = None,
    district_targets: Mapping[str, int] | None = None,
    occupations: OccupationSides | None = None,
) -> tuple[Any, Any]:
    """The optimizer's problem and options for these edges, with the side rules of ``options``.

    ``job_openings`` and ``district_targets`` override the data set's (what-if analysis).
    District ids in the problem are location indices of ``ctx``. With the code beliefs of wishes and
    titles (``occupations``), an edge weighs its score plus ``options.wish_bonus``
    (:data:`~matcher.placement.options.DEFAULT_WISH_BONUS`) times the probability that its job is of
    a wished occupation (:func:`objective_weights`).
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
        edge_score=objective_weights(edges, options.wish_bonus, occupations),
        job_openings=ctx.job_openings if job_openings is None else job_openings,
        job_enterprise=ctx.job_enterprise,
        enterprise_capacity=ctx.enterprise_capacity,
        worker_county=ctx.worker_county,
        worker_unemployed=ctx.worker_unemployed,
        county_min_share=rules.county_share,
        **extra,
    )
    solve_options = SolveOptions(
        mode=options.mode,
        priority=rules.priority,
        priority_weight=rules.priority_weight,
        enforce_dorm_beds=rules.dorm_beds,
        time_limit_s=rules.time_limit_s,
        deterministic=True,
        seed=rules.seed,
        shadow_prices=options.shadow_prices,
    )
    return problem, solve_options
