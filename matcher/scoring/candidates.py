"""Candidate edges: retrieve the nearest jobs per worker, apply the hard rules, score, keep top k.

The dense channel retrieves from a FAISS index partitioned by location, so a worker only ever
sees jobs in their accepted locations; age and gender rules are applied to what comes back. The
index over-fetches (``fetch_factor`` × k) so that after the rules and the full score, each worker
keeps the k best-scoring jobs among those retrieved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.scoring.context import MatchContext
from matcher.scoring.factors import FACTORS, EdgeFactors, ScoringConfig, dense_factor, wage_factor
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import OccupationSides, occupation_match
from matcher.scoring.overlap import PairOverlap


@dataclass(frozen=True)
class Edges:
    """Candidate (worker, job) pairs with their factors and scores, grouped by worker."""

    worker: np.ndarray  # int32 (E,)
    job: np.ndarray  # int32 (E,)
    cosine: np.ndarray  # float32 (E,)
    factors: EdgeFactors
    score: np.ndarray  # float64 (E,)

    def __len__(self) -> int:
        return int(self.worker.shape[0])

    @classmethod
    def empty(cls) -> Edges:
        z = np.zeros(0, np.int32)
        factors = EdgeFactors(np.zeros((0, len(FACTORS)), np.float32))
        return cls(z, z, np.zeros(0, np.float32), factors, np.zeros(0))

    @classmethod
    def concat(cls, parts: Sequence[Edges]) -> Edges:
        """The edges of ``parts`` one after another (indices int32, as everywhere)."""
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.worker for p in parts]).astype(np.int32, copy=False),
            np.concatenate([p.job for p in parts]).astype(np.int32, copy=False),
            np.concatenate([p.cosine for p in parts]),
            EdgeFactors(np.concatenate([p.factors.values for p in parts])),
            np.concatenate([p.score for p in parts]),
        )

    def take(self, mask_or_idx: np.ndarray) -> Edges:
        return Edges(
            self.worker[mask_or_idx],
            self.job[mask_or_idx],
            self.cosine[mask_or_idx],
            EdgeFactors(self.factors.values[mask_or_idx]),
            self.score[mask_or_idx],
        )


@dataclass(frozen=True)
class TextSides:
    """Texts the lexical factors compare; one entry per worker / per job."""

    worker_occupations: list[str]
    worker_skills: list[str]
    job_titles: list[str]
    job_descriptions: list[str]


def allowed_lists(ctx: MatchContext, workers: np.ndarray | None = None) -> list[list[int]]:
    """For each worker, the location indices (partitions) it accepts."""
    rows = ctx.worker_allowed if workers is None else ctx.worker_allowed[workers]
    if rows.shape[0] == 0:
        return []
    # each row's bits packed into one bytes value: distinct rows by hashing, not a row-wise sort
    packed = np.packbits(rows, axis=1)
    first: dict[bytes, int] = {}
    which = [first.setdefault(r, len(first)) for r in map(bytes, packed)]
    lists = [np.flatnonzero(rows[i]).tolist() for i in _first_rows(which, len(first))]
    return [lists[i] for i in which]


def _first_rows(which: list[int], n: int) -> list[int]:
    """The first position of each of the ``n`` numbers in ``which`` (numbered as first seen)."""
    out: list[int] = []
    for i, w in enumerate(which):
        if w == len(out):
            out.append(i)
            if len(out) == n:
                break
    return out


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of an int array, by an in-place sort (numpy's hashing path is slower here)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if a.size else a


LEXICAL_GRAMS = (1, 2)
"""n-gram lengths of the lexical factor (wished occupations against job titles)."""
SKILL_GRAMS = (2, 2)
"""n-gram lengths of the skills factor (skills against a job's title and description)."""


def skill_sides(titles: Sequence[str], descriptions: Sequence[str]) -> list[str]:
    """The job side of the skills factor: each job's title and description."""
    return [f"{t} {d}" for t, d in zip(titles, descriptions, strict=True)]


def compute_factors(
    ctx: MatchContext,
    ew: np.ndarray,
    ej: np.ndarray,
    cosine: np.ndarray,
    config: ScoringConfig,
    *,
    texts: TextSides | None = None,
    occupations: OccupationSides | None = None,
    lexical: NgramSets | PairOverlap | None = None,
    skills: NgramSets | PairOverlap | None = None,
) -> EdgeFactors:
    """Factor values for edges (ew, ej); see :mod:`matcher.scoring.factors` for each factor.

    ``lexical`` and ``skills`` are fitted n-gram sets (workers left, jobs right); when they are not
    given they are fitted here from ``texts``.
    """
    if texts is None and (lexical is None or skills is None):
        raise ValueError("compute_factors needs texts, or both fitted lexical and skills n-gram sets")
    n = ew.shape[0]
    values = np.zeros((n, len(FACTORS)), dtype=np.float32)
    col = {f: i for i, f in enumerate(FACTORS)}
    values[:, col["dense"]] = dense_factor(cosine, config)
    if lexical is None:
        assert texts is not None
        lexical = NgramSets(*LEXICAL_GRAMS).fit(texts.worker_occupations, texts.job_titles)
    if occupations is not None:
        values[:, col["occupation"]] = occupation_match(occupations, ew, ej)
    context_factors(values, ctx, ew, ej, config)
    if skills is None:
        assert texts is not None
        job_side = skill_sides(texts.job_titles, texts.job_descriptions)
        skills = NgramSets(*SKILL_GRAMS).fit(texts.worker_skills, job_side)
    text_factors(values, ew, ej, lexical, skills)
    return EdgeFactors(values)


def context_factors(
    values: np.ndarray, ctx: MatchContext, ew: np.ndarray, ej: np.ndarray, config: ScoringConfig
) -> None:
    """Fill the factors read off the records (``wage``, ``pairing``, ``employment_base``,
    ``stay_fit``) of ``values`` (E, F) in place, as :func:`compute_factors` computes them."""
    col = {f: i for i, f in enumerate(FACTORS)}
    values[:, col["wage"]] = wage_factor(
        ctx.worker_min_wage[ew], ctx.job_wage_min[ej], ctx.job_wage_max[ej], config.wage_partial
    )
    values[:, col["pairing"]] = ctx.paired[ctx.worker_county[ew], ctx.job_location[ej]]
    values[:, col["employment_base"]] = ctx.enterprise_base[ctx.job_enterprise[ej]]
    away = ctx.away_from_home(ew, ej)
    stays = ctx.worker_mobility[ew] == 0
    values[:, col["stay_fit"]] = np.where(away, ctx.job_accommodation[ej], np.where(stays, 1.0, 0.5))


def text_factors(
    values: np.ndarray,
    ew: np.ndarray,
    ej: np.ndarray,
    lexical: NgramSets | PairOverlap,
    skills: NgramSets | PairOverlap,
) -> None:
    """Fill the n-gram factors (``lexical``, ``skills``) of ``values`` (E, F) in place, as
    :func:`compute_factors` computes them (pricing out re-fills them on bounded rows)."""
    col = {f: i for i, f in enumerate(FACTORS)}
    values[:, col["lexical"]] = lexical.overlap(ew, ej, normalise="min")
    values[:, col["skills"]] = np.clip(skills.overlap(ew, ej, normalise="right") * 3.0, 0.0, 1.0)


def pair_factors(
    ctx: MatchContext,
    worker_vecs: np.ndarray,
    job_vecs: np.ndarray,
    ew: np.ndarray,
    ej: np.ndarray,
    config: ScoringConfig,
    *,
    texts: TextSides | None = None,
    occupations: OccupationSides | None = None,
    lexical: NgramSets | PairOverlap | None = None,
    skills: NgramSets | PairOverlap | None = None,
) -> tuple[np.ndarray, EdgeFactors]:
    """The cosine (E,) and the factors of pairs (ew, ej) from their vectors: what retrieval, pricing
    out and the recommender score every pair with (:func:`compute_factors` for the arguments)."""
    cos = pair_cosines(worker_vecs, job_vecs, ew, ej)
    factors = compute_factors(
        ctx, ew, ej, cos, config, texts=texts, occupations=occupations, lexical=lexical, skills=skills
    )
    return cos, factors


def top_k_per_worker(ew: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best edges of each worker (ties: lower edge index first), grouped by worker."""
    order = np.lexsort((-score, ew))  # a stable sort: equal scores stay in edge order
    ew_sorted = ew[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ew_sorted)) + 1]
    rank = np.arange(ew_sorted.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, ew_sorted.shape[0]]))
    return order[rank < k]


class CodeIndex:
    """Jobs grouped by (CSCO code, location): the jobs of one code in one location are one range.

    The second retrieval channel: a worker's wished codes find every job of those codes in the
    worker's accepted locations, however far its posting text is from the profile in embedding space.
    """

    def __init__(self, ctx: MatchContext) -> None:
        self.n_locations = max(len(ctx.location_codes), 1)
        self.order = np.lexsort((ctx.job_location, ctx.job_code))
        self.keys = ctx.job_code[self.order] * self.n_locations + ctx.job_location[self.order]

    def pairs(
        self,
        ctx: MatchContext,
        codes: np.ndarray,
        rows: np.ndarray,
        worker_vecs: np.ndarray,
        job_vecs: np.ndarray,
        fetch: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, jobs) int64: for each of ``rows`` (worker rows of ``ctx``; ``codes[i]`` are row i's
        wished codes, -1 padded), the ``fetch`` jobs of a wished code that pass the hard rules and
        whose postings are nearest the profile (cosine of ``worker_vecs[row]`` and ``job_vecs``);
        with ``fetch`` >= the number of jobs, every such job, unranked."""
        rw, slot = np.nonzero(codes >= 0)
        if rw.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        wish, loc = np.nonzero(ctx.worker_allowed[rows[rw]])
        key = codes[rw[wish], slot[wish]] * self.n_locations + loc
        lo = np.searchsorted(self.keys, key, side="left")
        n = np.searchsorted(self.keys, key, side="right") - lo
        at = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n - lo, n)
        wish, ej = np.repeat(wish, n), self.order[at]
        order = np.lexsort((ej, wish))  # grouped by row and wished code, each group in job order
        ew, ej = rows[rw[wish[order]]].astype(np.int64), ej[order].astype(np.int64)
        ok = ctx.hard_rules(ew, ej)  # jobs the worker may not take must not crowd out those they may
        ew, ej = ew[ok], ej[ok]
        if ew.size and fetch < ctx.n_jobs:
            sel = top_k_per_worker(ew, pair_cosines(worker_vecs, job_vecs, ew, ej), fetch)
            ew, ej = ew[sel], ej[sel]
        return ew, ej


def pair_cosines(
    worker_vecs: np.ndarray, job_vecs: np.ndarray, ew: np.ndarray, ej: np.ndarray, chunk: int = 2048
) -> np.ndarray:
    """Cosine (E,) float32 of each pair's vectors, in chunks small enough that the gathered rows
    are still in the CPU's cache when they are multiplied (a few MB; a million pairs never copy 3 GB)."""
    out = np.empty(ew.shape[0], dtype=np.float32)
    for s in range(0, ew.shape[0], chunk):
        out[s : s + chunk] = np.einsum(
            "ij,ij->i", worker_vecs[ew[s : s + chunk]], job_vecs[ej[s : s + chunk]]
        )
    return out


def retrieve_candidates(
    ctx: MatchContext,
    worker_vecs: np.ndarray,
    job_vecs: np.ndarray,
    *,
    k: int,
    config: ScoringConfig,
    texts: TextSides,
    occupations: OccupationSides | None = None,
    fetch_factor: int = 2,
    index_kind: str = "auto",
    index: Any = None,
    lexical: NgramSets | PairOverlap | None = None,
    skills: NgramSets | PairOverlap | None = None,
) -> Edges:
    """Top-k scored candidate jobs per worker, every edge passing the hard rules.

    Candidates come from the dense index (``fetch_factor`` × k nearest postings) and, with
    ``occupations``, from the jobs of each wish's most likely code (k nearest). ``index`` is a
    :class:`embeddings.index.VectorIndex` already fitted on ``job_vecs`` (ids = job positions,
    partitions = ``ctx.job_location``), e.g. one shared by many calls; else one is fitted here.
    ``lexical`` and ``skills`` are the fitted n-gram sets of :func:`compute_factors` (else fitted
    there from ``texts``).
    """
    from embeddings.index import VectorIndex

    n_jobs = ctx.n_jobs
    if ctx.n_workers == 0 or n_jobs == 0:
        return Edges.empty()
    fetch = min(n_jobs, max(k, k * fetch_factor))
    if index is None:
        index = VectorIndex(kind=index_kind).fit(  # type: ignore[arg-type]
            job_vecs, np.arange(n_jobs, dtype=np.int64), partitions=ctx.job_location
        )
    _, ids = index.search(worker_vecs, fetch, allowed=allowed_lists(ctx))
    ew = np.repeat(np.arange(ctx.n_workers, dtype=np.int64), ids.shape[1])
    ej = ids.ravel().astype(np.int64)
    ew, ej = ew[ej >= 0], ej[ej >= 0]
    if occupations is not None:
        rows = np.arange(ctx.n_workers, dtype=np.int64)
        codes = occupations.workers.top1()
        cw, cj = CodeIndex(ctx).pairs(ctx, codes, rows, worker_vecs, job_vecs, k)
        key = _sorted_unique(np.concatenate([ew * n_jobs + ej, cw * n_jobs + cj]))
        ew, ej = key // n_jobs, key % n_jobs
    ok = ctx.hard_rules(ew, ej)
    ew, ej = ew[ok].astype(np.int32), ej[ok].astype(np.int32)
    cos, factors = pair_factors(
        ctx,
        worker_vecs,
        job_vecs,
        ew,
        ej,
        config,
        texts=texts,
        occupations=occupations,
        lexical=lexical,
        skills=skills,
    )
    score = factors.scores(config.weights)
    sel = np.sort(top_k_per_worker(ew, score, k))
    return Edges(ew[sel], ej[sel], cos[sel], EdgeFactors(factors.values[sel]), score[sel])
