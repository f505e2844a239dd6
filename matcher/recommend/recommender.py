"""Per-worker job recommendations and per-job worker candidates, fitted once and answered fast.

:class:`Recommender` follows the estimator contract: the constructor stores parameters;
:meth:`Recommender.fit` builds everything a query needs (``context_``, ``index_``, job and worker
vectors, n-gram sets, occupation codes, congestion penalties); a query then costs one index search
(plus one encode for a new profile) and vectorised scoring of a few hundred pairs.

Candidates of a worker are the union of two channels, both inside the worker's accepted locations:
the ``fetch`` nearest jobs by embedding (FAISS, partitioned by location), and the jobs whose CSCO
code equals one of the worker's wished codes (at most ``fetch`` of them, nearest first). The hard
rules (location, age, gender, openings left, worker not yet placed) drop pairs outright; the rest
are scored (:mod:`matcher.scoring.factors`), ranked by score plus the wish priority (the chance that
the job is of a wished occupation, :func:`matcher.scoring.occupations.wish_probability`, times
``wish_priority``) minus the congestion penalty (:mod:`matcher.scoring.congestion`) and explained
(:mod:`matcher.scoring.explain`). Batch and single calls run the same code on one or many rows, so
they give the same answer.

What a request costs: every unplaced known worker's top ``precompute_k`` is computed at fit, in
bulk, and kept as arrays (:class:`matcher.recommend.toplists.TopLists`); a request for a known worker slices
them and builds the ``k`` explained items, or finds them in a small cache. A new profile costs one
encode, one index search over its locations and the factors of a few hundred pairs, with n-gram
overlaps counted by look-up (:class:`matcher.scoring.overlap.PairOverlap`) and wished phrases classified
once per distinct phrase. Skill-gap suggestions are made only for a list without a good match,
from opening counts made at fit (:class:`matcher.scoring.skillgap.OpeningCounts`), and kept per worker kind.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import numpy as np

from embeddings.encoder import MATCHING_KIND, Encoder
from matcher.dataset import Dataset
from matcher.errors import NotFoundError
from matcher.recommend.results import JobCandidates, Recommendation, ScoredItem, recruiter_view
from matcher.recommend.toplists import TopLists
from matcher.records import Worker
from matcher.scoring.candidates import (
    LEXICAL_GRAMS,
    SKILL_GRAMS,
    CodeIndex,
    Edges,
    allowed_lists,
    pair_factors,
    skill_sides,
    top_k_per_worker,
)
from matcher.scoring.congestion import congestion_penalty, expected_applicants
from matcher.scoring.context import MatchContext
from matcher.scoring.explain import explain, factor_medians
from matcher.scoring.factors import (
    FACTORS,
    SCORE_DECIMALS,
    EdgeFactors,
    ScoringConfig,
    age_gender_ok,
    fit_dense_range,
)
from matcher.scoring.features import job_text, worker_occupation_text, worker_skill_text, worker_text
from matcher.scoring.lru import LRUCache
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import OccupationSides, wish_weight
from matcher.scoring.overlap import PairOverlap
from matcher.scoring.skillgap import OpeningCounts, SkillSuggestion

if TYPE_CHECKING:
    from embeddings.index import IndexKind

_CHUNK = 512  # worker rows scored at once in a batch (bounds the memory of the pair arrays)


@dataclass(frozen=True)
class _Rows:
    """The worker side of a query: a context whose worker arrays hold the queried workers."""

    ctx: MatchContext
    vectors: np.ndarray  # float32 (W, dim)
    codes: np.ndarray  # int64 (W, MAX_CODES), -1 padded: each wish's most likely code
    occupations: OccupationSides  # the wishes' and the jobs' code beliefs
    lexical: PairOverlap
    skills: PairOverlap
    placed: np.ndarray  # bool (W,)
    workers: Sequence[Worker]


class Recommender:
    """Fit once on a data set, then recommend jobs to workers and workers to jobs.

    Parameters
    ----------
    config:
        Weights and factor settings (:class:`ScoringConfig`); ``congestion_lambda`` > 0 spreads lists.
    year:
        Reference year for ages and pairings (default: this year).
    fetch:
        Jobs fetched per worker from each channel before scoring (more: better recall, slower).
    csco_path:
        CSCO table for the occupation factor; ``None``: the shipped table;
        ``""`` switches the factor off (its weight is dropped).
    title_model:
        Title → code model file (``TitleClassifier.save``); ``None``: the shipped one.
    index_kind:
        :class:`embeddings.index.VectorIndex` kind.
    gap_top:
        Occupations suggested to a worker without a good match (0: no skill-gap suggestions).
    precompute_k:
        Length of each known worker's list computed at fit (0: none); a request for at most this
        many items is a slice of it, a longer one is computed then.
    cache_size:
        Known workers whose explained items are kept between requests (0: none).
    """

    def __init__(
        self,
        config: ScoringConfig | None = None,
        *,
        year: int | None = None,
        fetch: int = 100,
        csco_path: str | os.PathLike[str] | None = None,
        title_model: str | os.PathLike[str] | None = None,
        index_kind: IndexKind = "auto",
        gap_top: int = 3,
        precompute_k: int = 20,
        cache_size: int = 2048,
    ) -> None:
        self.config = config
        self.year = year
        self.fetch = fetch
        self.csco_path = csco_path
        self.title_model = title_model
        self.index_kind = index_kind
        self.gap_top = gap_top
        self.precompute_k = precompute_k
        self.cache_size = cache_size

    # ------------------------------------------------------------------ fitting
    def fit(self, dataset: Dataset, encoder: Encoder, *, placements: Mapping[str, str] | None = None) -> Self:
        """Build the fitted state from ``dataset`` with ``encoder`` (an :class:`embeddings.Encoder`).

        ``placements`` (worker_id → job_id, e.g. an earlier assignment) marks those workers placed and
        takes one opening from each of their jobs.
        """
        from embeddings.index import VectorIndex

        ds = dataset
        config = self.config or ScoringConfig()
        self.year_ = self.year or dt.date.today().year
        self.dataset_ = ds
        self.encoder_ = encoder
        self.context_ = ctx = MatchContext.build(ds, self.year_)
        self.worker_pos_ = {w.worker_id: i for i, w in enumerate(ds.workers)}
        self.job_pos_ = {j.job_id: i for i, j in enumerate(ds.jobs)}
        self.job_titles_ = [j.title for j in ds.jobs]
        self.job_location_codes_ = [ds.job_location(j) for j in ds.jobs]
        self.worker_vectors_ = _encode(encoder, [worker_text(w) for w in ds.workers], encoder.dim)
        self.job_vectors_ = _encode(encoder, [job_text(j) for j in ds.jobs], encoder.dim)
        self.index_ = VectorIndex(kind=self.index_kind).fit(
            self.job_vectors_ if ds.jobs else np.zeros((0, encoder.dim), np.float32),
            np.arange(ctx.n_jobs, dtype=np.int64),
            partitions=ctx.job_location,
        )
        job_side = skill_sides([j.title for j in ds.jobs], [j.description for j in ds.jobs])
        occupation_texts = [worker_occupation_text(w) for w in ds.workers]
        lexical = NgramSets(*LEXICAL_GRAMS).fit(occupation_texts, self.job_titles_)
        self.lexical_ = PairOverlap.from_ngrams(lexical)
        self.skills_ = PairOverlap.from_ngrams(
            NgramSets(*SKILL_GRAMS).fit([worker_skill_text(w) for w in ds.workers], job_side)
        )
        self._fit_occupations(ds, encoder, config)
        ctx = self.context_
        self.weights_ = self.config_.weights.vector()
        self.placed_ = np.zeros(ctx.n_workers, dtype=bool)
        self.openings_left_ = ctx.job_openings.copy()
        for wid, jid in (placements or {}).items():
            if wid in self.worker_pos_:
                self.placed_[self.worker_pos_[wid]] = True
            if jid in self.job_pos_:
                j = self.job_pos_[jid]
                self.openings_left_[j] = max(0, self.openings_left_[j] - 1)
        self.code_index_ = CodeIndex(ctx)
        self.penalty_ = np.zeros(ctx.n_jobs, dtype=np.float64)
        self.applicants_ = np.zeros(ctx.n_jobs, dtype=np.float64)
        with _one_search_thread():
            edges = None
            if self.config_.congestion_lambda > 0 and ctx.n_workers and ctx.n_jobs:
                edges = self._fit_congestion()
            self.top_ = self._fit_top_lists(edges)
        self.openings_ = OpeningCounts().fit(ctx, self.openings_left_, self.job_titles_)
        self.items_cache_: LRUCache[int, tuple[ScoredItem, ...]] = LRUCache(self.cache_size)
        self.gap_cache_: LRUCache[tuple, tuple[SkillSuggestion, ...]] = LRUCache(4096)
        return self

    def _fit_top_lists(self, edges: Edges | None) -> TopLists:
        """Every unplaced known worker's ``precompute_k`` best pairs, by rank score, best first.

        ``edges`` (every candidate pair, from the congestion fit) are ranked again with the final
        penalty; without them the pairs are computed here, in chunks, as a batch call does.
        """
        k, n = max(self.precompute_k, 0), self.context_.n_workers
        self.factor_median_ = np.full((n, len(FACTORS)), np.nan)
        known = self._known_rows()
        if edges is None:
            rows = np.flatnonzero(~self.placed_) if k else np.zeros(0, np.int64)
            top = self._top_edges(known, rows, k, penalised=True, medians=self.factor_median_)
        else:
            top = edges.take(top_k_per_worker(edges.worker, self._rank_scores(known, edges), k))
            self.factor_median_ = factor_medians(edges.worker, edges.factors.values, n)
        return TopLists.from_edges(top, n, k, self._rank_scores(known, top))

    def _fit_congestion(self) -> Edges:
        """Expected applicants from every unplaced known worker's top ``congestion_k``, damped over rounds.

        Round 0 counts the un-penalised lists; each later round moves halfway towards the counts of
        the lists penalised with the previous estimate, so jobs do not swap places all at once.
        """
        cfg, n_jobs = self.config_, self.context_.n_jobs
        edges = self.candidate_edges(
            [self.dataset_.workers[i].worker_id for i in np.flatnonzero(~self.placed_)]
        )
        unpenalised = self._rank_scores(self._known_rows(), edges, penalised=False)
        top = top_k_per_worker(edges.worker, unpenalised, cfg.congestion_k)
        applicants = expected_applicants(edges.job[top], n_jobs)
        for _ in range(cfg.congestion_rounds):
            penalty = congestion_penalty(applicants, self.openings_left_, cfg.congestion_lambda)
            top = top_k_per_worker(edges.worker, unpenalised - penalty[edges.job], cfg.congestion_k)
            applicants = 0.5 * applicants + 0.5 * expected_applicants(edges.job[top], n_jobs)
        self.applicants_ = applicants
        self.penalty_ = congestion_penalty(applicants, self.openings_left_, cfg.congestion_lambda)
        return edges

    def _fit_occupations(self, ds: Dataset, encoder: Encoder, config: ScoringConfig) -> None:
        """Codes of wishes and uncoded job titles (the context's ``job_code`` gets the predictions);
        ``csco_path=""`` switches the occupation factor off (its weight is dropped)."""
        from matcher.scoring.occupations import MAX_CODES, Beliefs, OccupationSides, classify_data

        self.config_ = fit_dense_range(config, self.worker_vectors_, self.job_vectors_)
        if self.csco_path == "":
            self.occupation_model_ = None
            self.occupation_table_ = None
            self.occupation_names_: dict[int, str] = {}
            self.occupations_ = OccupationSides(
                Beliefs.empty(len(ds.workers), MAX_CODES), Beliefs.empty(len(ds.jobs), 1)
            )
            weights = self.config_.weights.model_copy(update={"occupation": 0.0})
            self.config_ = self.config_.model_copy(update={"weights": weights})
        else:
            model, self.occupations_, self.context_ = classify_data(
                ds.workers, ds.jobs, self.context_, encoder, self.csco_path, self.title_model
            )
            self.occupation_model_ = model
            self.occupation_table_ = str(model.table)
            self.occupation_names_ = model.names
        self.worker_codes_ = self.occupations_.workers.top1()

    # ------------------------------------------------------------------ queries
    def prepare_profiles(self, workers: Sequence[Worker], encoder: Encoder | None = None) -> np.ndarray:
        """All that new profiles need of the model, done now: their text vectors (returned) and their
        new wished phrases classified (kept). :meth:`recommend` with these ``vectors`` then runs
        without the model, so a service can encode in a worker thread and rank on its event loop.

        ``encoder``: another way to the same model for the profile texts (a service passes one
        without the disk cache: one-off texts need not be kept); default: the fitted one."""
        self._check_fitted()
        workers = list(workers)
        if self.occupation_model_ is not None:
            self.occupation_model_.worker_beliefs(workers)  # keeps the new phrases' codes
        encoder = encoder if encoder is not None else self.encoder_
        if encoder.model_id != self.encoder_.model_id:
            raise ValueError(f"encoder {encoder.model_id!r} is not the fitted {self.encoder_.model_id!r}")
        return _encode(encoder, [worker_text(w) for w in workers], self.encoder_.dim)

    def recommend(
        self, workers: Iterable[str | Worker], k: int = 10, *, vectors: np.ndarray | None = None
    ) -> list[Recommendation]:
        """Top-``k`` jobs for each worker: a known ``worker_id`` or a new :class:`Worker` profile.

        ``vectors``: the new profiles' vectors, in their order (:meth:`prepare_profiles`)."""
        self._check_fitted()
        items = list(workers)
        out: list[Recommendation | None] = [None] * len(items)
        known = [(i, w) for i, w in enumerate(items) if isinstance(w, str)]
        new = [(i, w) for i, w in enumerate(items) if not isinstance(w, str)]
        if known:
            rows = np.array([self._worker_row(w) for _, w in known], dtype=np.int64)
            if k <= self.top_.k:
                recs = [self._from_top_lists(r, k) for r in rows.tolist()]
            else:
                recs = self._recommend_rows(self._known_rows(), rows, k)
            for (i, _), rec in zip(known, recs, strict=True):
                out[i] = rec
        if new:
            side = self._profile_rows([w for _, w in new], vectors)
            rows = np.arange(len(new), dtype=np.int64)
            for (i, _), rec in zip(new, self._recommend_rows(side, rows, k), strict=True):
                out[i] = rec
        return [r for r in out if r is not None]

    def recommend_one(
        self, worker: str | Worker, k: int = 10, *, vector: np.ndarray | None = None
    ) -> Recommendation:
        """Top-``k`` jobs for one worker; the same answer as :meth:`recommend` on a list of one."""
        self._check_fitted()
        if isinstance(worker, str) and k <= self.top_.k:
            return self._from_top_lists(self._worker_row(worker), k)
        return self.recommend([worker], k, vectors=None if vector is None else vector[None, :])[0]

    def candidates_for_job(self, job_id: str, k: int = 20) -> JobCandidates:
        """The ``k`` best workers for job ``job_id`` (unplaced, passing every hard rule)."""
        self._check_fitted()
        if job_id not in self.job_pos_:
            raise NotFoundError(f"job {job_id} is not in the data set")
        j = self.job_pos_[job_id]
        if self.openings_left_[j] <= 0:
            return JobCandidates(job_id, (), (), excluded="no openings left")
        ctx = self.context_
        ok = ctx.worker_allowed[:, ctx.job_location[j]] & ~self.placed_
        ok &= age_gender_ok(
            ctx.worker_age,
            ctx.worker_male,
            np.full(ctx.n_workers, ctx.job_age_min[j]),
            np.full(ctx.n_workers, ctx.job_age_max[j]),
            np.full(ctx.n_workers, ctx.job_gender[j]),
        )
        ws = np.flatnonzero(ok)
        cos = self.worker_vectors_[ws] @ self.job_vectors_[j]
        near = ws[np.argsort(-cos, kind="stable")[: self.fetch]]
        same = (
            ws[np.any(self.worker_codes_[ws] == ctx.job_code[j], axis=1)] if ctx.job_code[j] >= 0 else ws[:0]
        )
        ew = np.unique(np.concatenate([near, same])).astype(np.int64)
        ej = np.full(ew.shape[0], j, dtype=np.int64)
        edges = self._score(self._known_rows(), ew, ej)
        rank = self._rank_scores(self._known_rows(), edges, penalised=False)
        order = np.lexsort((edges.worker, -rank))[:k]
        top = edges.take(order)
        items = self._items(
            self._known_rows(),
            top.worker,
            top.job,
            top.score,
            rank[order],
            top.factors.values,
            self.factor_median_,
        )
        views = tuple(recruiter_view(self.dataset_.workers[int(w)], self.year_) for w in top.worker)
        return JobCandidates(job_id, items, views)

    def candidate_edges(self, worker_ids: Sequence[str] | None = None) -> Edges:
        """Every scored candidate pair of known workers (all workers by default), before ranking.

        For benchmarks and tuning: re-weighting ``edges.factors`` re-ranks without fetching again.
        """
        self._check_fitted()
        rows = (
            np.arange(self.context_.n_workers)
            if worker_ids is None
            else np.array([self._worker_row(w) for w in worker_ids], dtype=np.int64)
        )
        parts = [
            self._pairs_scored(self._known_rows(), rows[s : s + _CHUNK]) for s in range(0, len(rows), _CHUNK)
        ]
        return Edges.concat(parts)

    # ------------------------------------------------------------------ internals
    def _from_top_lists(self, row: int, k: int) -> Recommendation:
        """Known worker ``row``'s top ``k`` (at most ``precompute_k``) from the lists made at fit."""
        worker = self.dataset_.workers[row]
        if self.placed_[row]:
            return Recommendation(worker.worker_id, (), excluded="already placed")
        top = self.top_
        span = top.span(row, k)
        n = span.stop - span.start
        items = self.items_cache_.get(row)
        if items is None or len(items) < n:
            jobs, score, rank = top.job[span], top.score[span], top.rank[span]
            side = self._known_rows()
            items = self._items(
                side, np.full(n, row), jobs, score, rank, top.values[span], self.factor_median_
            )
            self.items_cache_.put(row, items)
        items = items[:n]
        return Recommendation(worker.worker_id, items, self._gap(self._known_rows(), row, items))

    def _recommend_rows(self, side: _Rows, rows: np.ndarray, k: int) -> list[Recommendation]:
        medians = np.full((len(side.workers), len(FACTORS)), np.nan)
        edges = self._top_edges(side, rows, k, penalised=True, medians=medians)
        rank = self._rank_scores(side, edges)
        # Edges come grouped by row; a row asked for twice has its group once (the first).
        cuts = np.flatnonzero(edges.worker[1:] != edges.worker[:-1]) + 1
        bounds = np.r_[0, cuts, len(edges)].tolist() if len(edges) else [0]
        group: dict[int, slice] = {}
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            group.setdefault(int(edges.worker[a]), slice(a, b))
        out = []
        for r in rows.tolist():
            worker = side.workers[r]
            if side.placed[r]:
                out.append(Recommendation(worker.worker_id, (), excluded="already placed"))
                continue
            es = group.get(r, slice(0, 0))
            items = self._items(
                side,
                edges.worker[es],
                edges.job[es],
                edges.score[es],
                rank[es],
                edges.factors.values[es],
                medians,
            )
            out.append(Recommendation(worker.worker_id, items, self._gap(side, r, items)))
        return out

    def _gap(self, side: _Rows, row: int, items: tuple[ScoredItem, ...]) -> tuple[SkillSuggestion, ...]:
        """Skill-gap suggestions when the list has no good match; the same for workers alike in
        locations, age, gender, wished codes and skills text, so kept per such kind."""
        if not self.gap_top or (items and items[0].score >= self.config_.good_match):
            return ()
        ctx = side.ctx
        wished = tuple(int(c) for c in side.codes[row].tolist() if c >= 0)
        age, male = int(ctx.worker_age[row]), bool(ctx.worker_male[row])
        skill_text = worker_skill_text(side.workers[row])
        key = (int(ctx.worker_county[row]), int(ctx.worker_mobility[row]), age, male, wished, skill_text)
        gap = self.gap_cache_.get(key)
        if gap is None:
            gap = tuple(
                self.openings_.suggest(
                    ctx.worker_allowed[row],
                    age,
                    male,
                    wished_codes=wished,
                    skill_text=skill_text,
                    names=self.occupation_names_,
                    top=self.gap_top,
                )
            )
            self.gap_cache_.put(key, gap)
        return gap

    def _rank_scores(self, side: _Rows, edges: Edges, penalised: bool = True) -> np.ndarray:
        """What lists are ordered by: the score plus the wish priority, less (``penalised``) the
        congestion penalty of the job."""
        wish = wish_weight(side.occupations, edges.worker, edges.job, self.config_.wish_priority)
        rank = edges.score + wish
        return rank - self.penalty_[edges.job] if penalised else rank

    def _top_edges(
        self,
        side: _Rows,
        rows: np.ndarray,
        k: int,
        penalised: bool = False,
        medians: np.ndarray | None = None,
    ) -> Edges:
        """The ``k`` best pairs of each row, ordered by row then rank (best first). ``medians`` (rows of
        ``side``, factors) gets each row's median candidate's factor values."""
        parts = []
        for s in range(0, len(rows), _CHUNK):
            edges = self._pairs_scored(side, rows[s : s + _CHUNK])
            if medians is not None and len(edges):
                medians[np.unique(edges.worker)] = factor_medians(edges.worker, edges.factors.values)
            rank = self._rank_scores(side, edges, penalised)
            sel = top_k_per_worker(edges.worker, rank, k)  # grouped by worker, best first
            parts.append(edges.take(sel))
        return Edges.concat(parts)

    def _pairs_scored(self, side: _Rows, rows: np.ndarray) -> Edges:
        """Candidate pairs of ``rows`` from both channels, passing the hard rules, scored."""
        ctx = side.ctx
        rows = rows[~side.placed[rows]]
        if rows.size == 0 or ctx.n_jobs == 0:
            return Edges.empty()
        fetch = min(ctx.n_jobs, self.fetch)
        _, ids = self.index_.search(side.vectors[rows], fetch, allowed=_allowed(ctx, rows))
        ew = np.repeat(rows, ids.shape[1])
        ej = ids.ravel()
        cw, cj = self._code_channel(side, rows)
        ew = np.concatenate([ew[ej >= 0], cw])
        ej = np.concatenate([ej[ej >= 0], cj])
        key = np.unique(ew * ctx.n_jobs + ej)  # sorted by (row, job): a deterministic edge order
        ew, ej = key // ctx.n_jobs, key % ctx.n_jobs
        return self._score(side, ew, ej)

    def _code_channel(self, side: _Rows, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Jobs whose code is one of the row's wished codes, in accepted locations; ``fetch`` nearest."""
        return self.code_index_.pairs(
            side.ctx, side.codes[rows], rows, side.vectors, self.job_vectors_, self.fetch
        )

    def _score(self, side: _Rows, ew: np.ndarray, ej: np.ndarray) -> Edges:
        ctx = side.ctx
        ok = ctx.hard_rules(ew, ej) & (self.openings_left_[ej] > 0) & ~side.placed[ew]
        ew, ej = ew[ok], ej[ok]
        cos, factors = self._factors(side, ew, ej)
        score = _weighted_sum(factors.values, self.weights_)
        return Edges(ew.astype(np.int32), ej.astype(np.int32), cos, factors, score)

    def pair_factors(self, worker_rows: np.ndarray, job_rows: np.ndarray) -> EdgeFactors:
        """Factor values of any pairs of known workers and jobs (rows), rules not applied: for pairs
        the retrieval did not fetch (tuning from recorded outcomes)."""
        self._check_fitted()
        return self._factors(self._known_rows(), worker_rows, job_rows)[1]

    def _factors(self, side: _Rows, ew: np.ndarray, ej: np.ndarray) -> tuple[np.ndarray, EdgeFactors]:
        return pair_factors(
            side.ctx,
            side.vectors,
            self.job_vectors_,
            ew,
            ej,
            self.config_,
            occupations=side.occupations,
            lexical=side.lexical,
            skills=side.skills,
        )

    def _items(
        self,
        side: _Rows,
        rows: np.ndarray,
        jobs: np.ndarray,
        score: np.ndarray,
        rank: np.ndarray,
        values: np.ndarray,
        medians: np.ndarray | None = None,
    ) -> tuple[ScoredItem, ...]:
        """Explained items of pairs (rows[i], jobs[i]) with their scores, rank scores and factor values;
        ``medians[row]``: the row's median candidate's factor values (claims of fit only above it)."""
        contributions = (values.astype(np.float64) * self.weights_).tolist()
        ds, ctx = self.dataset_, self.context_
        out = []
        for w, j, s, rs, vals, contrib in zip(
            rows.tolist(),
            jobs.tolist(),
            score.tolist(),
            rank.tolist(),
            values.tolist(),
            contributions,
            strict=True,
        ):
            worker, job = side.workers[w], ds.jobs[j]
            rounded = {f: round(v, SCORE_DECIMALS) for f, v in zip(FACTORS, contrib, strict=True)}
            zh, en = explain(
                worker,
                job,
                ds.enterprise_by_id[job.enterprise_id],
                dict(zip(FACTORS, vals, strict=True)),
                rounded,
                location_code=self.job_location_codes_[j],
                occupation_name=self.occupation_names_.get(int(ctx.job_code[j]), ""),
                median=None if medians is None else dict(zip(FACTORS, medians[w].tolist(), strict=True)),
            )
            out.append(ScoredItem(worker.worker_id, job.job_id, s, rs, rounded, zh, en))
        return tuple(out)

    def _known_rows(self) -> _Rows:
        return _Rows(
            self.context_,
            self.worker_vectors_,
            self.worker_codes_,
            self.occupations_,
            self.lexical_,
            self.skills_,
            self.placed_,
            self.dataset_.workers,
        )

    def _profile_rows(self, workers: list[Worker], vectors: np.ndarray | None = None) -> _Rows:
        """The worker side of new profiles: one encode (unless ``vectors`` are given), codes of new
        wish phrases, n-grams."""
        from matcher.scoring.occupations import MAX_CODES, Beliefs

        ctx = self.context_.with_workers(workers)
        if vectors is None:
            vectors = _encode(self.encoder_, [worker_text(w) for w in workers], self.encoder_.dim)
        elif vectors.shape != (len(workers), self.encoder_.dim):
            raise ValueError(f"vectors of shape {vectors.shape} for {len(workers)} profiles")
        if self.occupation_model_ is not None:
            beliefs = self.occupation_model_.worker_beliefs(workers)
        else:
            beliefs = Beliefs.empty(len(workers), MAX_CODES)
        return _Rows(
            ctx,
            vectors,
            beliefs.top1(),
            self.occupations_.with_workers(beliefs),
            self.lexical_.with_left([worker_occupation_text(w) for w in workers]),
            self.skills_.with_left([worker_skill_text(w) for w in workers]),
            np.zeros(len(workers), dtype=bool),
            workers,
        )

    def _worker_row(self, worker_id: str) -> int:
        try:
            return self.worker_pos_[worker_id]
        except KeyError:
            raise NotFoundError(f"worker {worker_id} is not in the data set") from None

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise RuntimeError("Recommender is not fitted; call fit() first")


@contextmanager
def _one_search_thread() -> Iterator[None]:
    """Index searches of this thread on one core while the lists are made at fit.

    The lists are searched in chunks of hundreds of workers over a few small partitions each; on a
    shared two-core machine OpenMP's spin-waiting threads cost four times what they gain (measured:
    2.2 s against 0.54 s for 2,048 workers). The OpenMP setting is per calling thread, so requests
    served meanwhile on other threads keep theirs.
    """
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


def _weighted_sum(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Scores (E,) float64: factor values times weights, summed column by column, so a pair's score
    has the same bits whether it is scored alone or among a million (a matrix product does not)."""
    v = values.astype(np.float64)
    out = v[:, 0] * weights[0]
    for f in range(1, v.shape[1]):
        out += v[:, f] * weights[f]
    return out


def _allowed(ctx: MatchContext, rows: np.ndarray) -> list[list[int]]:
    """The accepted locations of each row (one row: without grouping the rows first)."""
    if len(rows) == 1:
        return [np.flatnonzero(ctx.worker_allowed[int(rows[0])]).tolist()]
    return allowed_lists(ctx, rows)


def _encode(encoder: Encoder, texts: list[str], dim: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(encoder.encode(texts, kind=MATCHING_KIND), dtype=np.float32)
