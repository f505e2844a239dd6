"""The sweep of pricing out: every rule-passing pair whose weight can reach given thresholds,
found without scoring them all (:class:`PairSweep`, the half of
:class:`~matcher.placement.pricing.PairPricer` that lists and scores pairs).

Location by location, a block of workers against every job there, as matrices: the cosines by one
matrix product, the factors read off the records (wage, pairing, base, accommodation) and the
lexical factor (a table over the distinct wish and title texts) exactly, the occupation factor at
the credit of the finest level at which the pair shares a code (0 where none), skills at their bound
from the two sides' n-gram counts: a bound of each cell's score, and of its weight with the wish
bonus at its bound from the two sides' code masses (:func:`wish_caps`) where the pair shares a top code
(elsewhere the probability that the job is wished is 0; :meth:`PairSweep._block_bound`). Only the
cells whose bound reaches ``min_fit`` and the thresholds (the pool's floors, or a round's duals) are
listed, checked against the hard rules and scored exactly with the placement's own functions
(:meth:`PairSweep._sweep`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from matcher.scoring.candidates import (
    Edges,
    TextSides,
    context_factors,
    pair_cosines,
    pair_factors,
    text_factors,
)
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import (
    FACTORS,
    SCORE_DECIMALS,
    EdgeFactors,
    ScoringConfig,
    dense_factor,
)
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import OccupationSides, occupation_match, wish_weight

log = logging.getLogger("matcher.placement.pricing")  # one logger for pricing out's progress

_GRID = 2_000_000  # (worker, job) cells of one block of the sweep
_COS_SLACK = 1e-4  # a block's matrix-product cosine may differ this much from the pair's own
_COL = {f: i for i, f in enumerate(FACTORS)}
_BOUND_SLACK = 1e-6  # a bound or weight compared with a threshold: rounding of scores and duals
_CELL_SLACK = 1e-4  # a block's float32 bound against its threshold (float32 sums of terms below 1e2)


class PairSweep:
    """Lists and scores the pairs a block bound cannot rule out; the attributes are those
    :class:`~matcher.placement.pricing.PairPricer` sets up (the records, the vectors, the scoring,
    the occupation levels and the n-gram sets and table)."""

    ctx: MatchContext
    wv: np.ndarray
    jv: np.ndarray
    sides: TextSides
    occupations: OccupationSides
    scoring: ScoringConfig
    weights: np.ndarray
    eligible: np.ndarray
    min_fit: float
    exclude: np.ndarray
    n_ent: int
    n_loc: int
    wish_bonus: float
    wish_row_: np.ndarray  # (W,) and (J,): a pair's wish probability is at most their product
    wish_col_: np.ndarray  # (wish_caps)
    lexical_: NgramSets
    skills_: NgramSets
    lexical_table_: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    levels_: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]

    # ---- the sweep ---------------------------------------------------------------------------
    def _occupation_cells(
        self, rows: np.ndarray, loc: int, jpos: np.ndarray, n_jobs: int, level: int
    ) -> np.ndarray:
        """Flat cells ``row_position * n_jobs + job_position`` of the pairs of ``rows`` (sorted)
        and the jobs of ``loc`` (``jpos``: each job's position, -1 for jobs outside the block) that
        share a code at occupation level ``self.levels_[level]`` (top codes of both)."""
        _, job_keys, job_of, worker_codes = self.levels_[level]
        g = worker_codes[rows]
        rw, slot = np.nonzero(g >= 0)
        if rw.size == 0:
            return np.zeros(0, np.int64)
        span = int(g.max()) + 1
        pair = np.unique(rw.astype(np.int64) * span + g[rw, slot])
        key = pair % span * self.n_loc + loc
        lo = np.searchsorted(job_keys, key, side="left")
        n = np.searchsorted(job_keys, key, side="right") - lo
        at = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n - lo, n)
        pos = jpos[job_of[at]]
        cells = np.repeat(pair // span, n) * n_jobs + pos
        return cells[pos >= 0]

    def _block_bound(
        self, rows: np.ndarray, jobs: np.ndarray, loc: int, jpos: np.ndarray, lex: Any
    ) -> _Block:
        """The (rows x jobs) block of one location as matrices: each cell's matrix-product cosine,
        whether it shares an occupation code at some level, whether the job is of a wished occupation, and an
        upper bound of its score (every factor exact but dense at the block's cosine plus its
        slack, occupation at the credit of the finest level sharing a code (its Bhattacharyya
        coefficient at most 1), lexical at 1 without the table, skills at :meth:`_skills_cap`).
        ``lex``: the lexical table's columns of these jobs, weighted (None without the table).
        Float32 throughout, in place where it can be: the sweep's cost is this, cell by cell.
        """
        ctx, wt, sc = self.ctx, self.weights, self.scoring
        c, f4 = _COL, np.float32
        cos = self.wv[rows] @ self.jv[jobs].T
        span = sc.dense_hi - sc.dense_lo
        bound = cos + f4(_COS_SLACK - sc.dense_lo)
        bound *= f4(wt[c["dense"]] / span)
        np.clip(bound, f4(0), f4(wt[c["dense"]]), out=bound)
        credit = np.zeros((rows.size, jobs.size), dtype=f4)  # the highest level's credit shared
        wish = None
        for level, (level_credit, *_) in enumerate(self.levels_):
            cells = self._occupation_cells(rows, loc, jpos, jobs.size, level)
            credit.ravel()[cells] = level_credit
            if level == len(self.levels_) - 1 and self.wish_bonus != 0:  # the codes themselves
                wish = np.zeros((rows.size, jobs.size), dtype=bool)  # a top code shared: may be wished
                wish.ravel()[cells] = True
        occ = credit > 0
        bound += credit * f4(wt[c["occupation"]])
        if lex is not None and self.lexical_table_ is not None:
            bound += lex[self.lexical_table_[1][rows]]
        bound += self._wage_bound(rows, jobs) * f4(wt[c["wage"]])
        bound += self._skills_cap(rows[:, None], jobs[None, :]) * f4(wt[c["skills"]])
        per_row = wt[c["pairing"]] * ctx.paired[ctx.worker_county[rows], loc]
        if lex is None:
            per_row = per_row + wt[c["lexical"]]
        per_col = wt[c["employment_base"]] * ctx.enterprise_base[ctx.job_enterprise[jobs]]
        bound += per_row.astype(f4)[:, None]
        bound += per_col.astype(f4)[None, :]
        away = ctx.worker_county[rows] != loc
        home_fit = (wt[c["stay_fit"]] * np.where(ctx.worker_mobility[rows] == 0, 1.0, 0.5)).astype(f4)
        accommodation = (wt[c["stay_fit"]] * ctx.job_accommodation[jobs]).astype(f4)
        bound += np.where(away[:, None], accommodation[None, :], home_fit[:, None])
        return _Block(cos, occ, wish, bound)

    def _lexical_columns(self, jobs: np.ndarray) -> np.ndarray | None:
        """The weighted lexical table's columns of ``jobs`` (distinct wish texts x jobs), float32."""
        if self.lexical_table_ is None:
            return None
        table, _, j_text = self.lexical_table_
        return np.ascontiguousarray(
            table[:, j_text[jobs]] * np.float32(self.weights[_COL["lexical"]]), np.float32
        )

    def _cells(
        self, block: _Block, rows: np.ndarray, jobs: np.ndarray, row_need: np.ndarray, col_need: np.ndarray
    ) -> np.ndarray:
        """Flat cells of the block whose bound reaches ``min_fit`` and ``row_need + col_need``
        (less the wish bonus's cap where the job may be wished), with ``_CELL_SLACK`` to spare."""
        r, c = row_need[rows], col_need[jobs]
        small = max(float(np.abs(r).max(initial=0)), float(np.abs(c).max(initial=0))) < 1e2
        dtype = np.float32 if small else np.float64  # float32 sums stay within the slack below 1e2
        need = (r - _CELL_SLACK).astype(dtype)[:, None] + c.astype(dtype)[None, :]
        if block.wish is not None:
            row, col = self.wish_row_[rows].astype(dtype), self.wish_col_[jobs].astype(dtype)
            np.subtract(need, self._wish_cap(row[:, None], col[None, :]), out=need, where=block.wish)
        np.maximum(need, dtype(self.min_fit - _CELL_SLACK), out=need)
        return np.flatnonzero(block.bound >= need)

    def _wage_bound(self, rows: np.ndarray, jobs: np.ndarray) -> np.ndarray:
        """(rows x jobs) float32 upper bound of the wage factor (:func:`wage_factor`): 1 where the
        job's lower wage meets the worker's minimum, the partial credit where only its upper wage
        does (the credit scaled by at most 1), 0.5 where either side is unknown, else 0."""
        ctx, partial = self.ctx, np.float32(max(self.scoring.wage_partial, 0.0))
        lo_j = np.where(np.isnan(ctx.job_wage_min), ctx.job_wage_max, ctx.job_wage_min)[jobs]
        hi_j = np.where(np.isnan(ctx.job_wage_max), ctx.job_wage_min, ctx.job_wage_max)[jobs]
        mw = ctx.worker_min_wage[rows][:, None]
        out = np.maximum(lo_j[None, :] >= mw, (hi_j[None, :] >= mw) * partial, dtype=np.float32)
        out[np.isnan(ctx.worker_min_wage[rows])] = 0.5
        out[:, np.isnan(lo_j)] = 0.5
        return out

    def _sweep(
        self,
        floor_u: np.ndarray,
        floor_v: np.ndarray,
        bonus: np.ndarray,
        *,
        workers_in: np.ndarray | None = None,
        jobs_in: np.ndarray | None = None,
        keep: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
        cap: int | None = None,
        tighten: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray | None] | None = None,
    ) -> _Swept:
        """Every eligible, rule-passing, not excluded pair whose exact score reaches ``min_fit``
        and whose objective weight (score, priority ``bonus``, wish bonus) reaches
        ``floor_u[w] + floor_v[j]`` (and passes ``keep(ew, ej, score, wish)``): sorted keys
        ``w * J + j``, their scores and their wish bonuses (:meth:`_wish`; keys None once more than
        ``cap`` are kept). ``tighten(keys, scores, wish)``, when given, is asked first: it raises
        ``floor_u`` and ``floor_v`` in place and returns which of the pairs kept so far reach them
        (None: it cannot), and the sweep goes on at the raised floors. ``workers_in`` / ``jobs_in``
        (bool masks) restrict the sweep to those rows / columns.

        Location by location, a block of workers against every job there: an upper bound of each
        cell's weight from matrices (:meth:`_block_bound`) drops every cell that cannot reach
        either threshold before any pair is listed; the rest are checked against the hard rules,
        get the occupation, lexical and skills factors exactly, and those still reaching both their
        pair's own cosine: their scores are the ones the placement gives them.
        """
        ctx, col, n_j = self.ctx, _COL, self.ctx.n_jobs
        keys_out: list[np.ndarray] = []
        scores_out: list[np.ndarray] = []
        wish_out: list[np.ndarray] = []
        scored = kept = 0
        eligible = self.eligible if workers_in is None else self.eligible & workers_in
        row_need = floor_u - bonus
        t0 = time.perf_counter()
        locations = np.unique(ctx.job_location)
        for n_loc, loc in enumerate(locations, 1):
            log.debug(
                "sweep: location %d of %d, %d kept, %d scored, %.1f s",
                n_loc,
                locations.size,
                kept,
                scored,
                time.perf_counter() - t0,
            )
            at_loc = ctx.job_location == loc
            jobs = np.flatnonzero(at_loc if jobs_in is None else at_loc & jobs_in).astype(np.int64)
            workers = np.flatnonzero(eligible & ctx.worker_allowed[:, loc]).astype(np.int64)
            if not workers.size or not jobs.size:
                continue
            jpos = np.full(n_j, -1, np.int64)
            jpos[jobs] = np.arange(jobs.size)
            lex = self._lexical_columns(jobs)
            step = max(1, _GRID // jobs.size)
            for s in range(0, workers.size, step):
                rows = workers[s : s + step]
                block = self._block_bound(rows, jobs, int(loc), jpos, lex)
                cells = self._cells(block, rows, jobs, row_need, floor_v)
                if not cells.size:
                    continue
                ew, ej = rows[cells // jobs.size], jobs[cells % jobs.size]
                ok = ctx.hard_rules(ew, ej)
                if self.exclude.size:
                    ok &= ~_isin_sorted(ew * self.n_ent + ctx.job_enterprise[ej], self.exclude)
                cells, ew, ej = cells[ok], ew[ok], ej[ok]
                occ = block.occ.ravel()[cells]
                cos = block.cos.ravel()[cells]
                shared = np.zeros(cells.size, bool) if block.wish is None else block.wish.ravel()[cells]
                del block
                values = np.ones((ew.size, len(FACTORS)), dtype=np.float32)
                values[:, col["skills"]] = self._skills_cap(ew, ej)
                values[:, col["dense"]] = dense_factor(cos + _COS_SLACK, self.scoring)
                context_factors(values, ctx, ew, ej, self.scoring)
                values[:, col["occupation"]] = 0.0
                if occ.any():
                    values[occ, col["occupation"]] = occupation_match(self.occupations, ew[occ], ej[occ])
                if self.lexical_table_ is not None:
                    table, w_text, j_text = self.lexical_table_
                    values[:, col["lexical"]] = table[w_text[ew], j_text[ej]]
                else:
                    values[:, col["lexical"]] = self.lexical_.overlap(ew, ej, normalise="min")
                scored += int(ew.size)
                # every factor exact but dense (the block's cosine, plus its slack) and skills (at
                # its bound still): a bound that spares the skills of the pairs it rules out
                at = self._reaching(values, ew, ej, shared, bonus, floor_u, floor_v)
                ew, ej, values, shared = ew[at], ej[at], values[at], shared[at]
                values[:, col["skills"]] = skills_factor(self.skills_, ew, ej)
                # every factor exact but dense: a tight bound
                at = self._reaching(values, ew, ej, shared, bonus, floor_u, floor_v)
                ew, ej, values, shared = ew[at], ej[at], values[at], shared[at]
                values[:, col["dense"]] = dense_factor(pair_cosines(self.wv, self.jv, ew, ej), self.scoring)
                score = self._scores(values)
                hit = score >= self.min_fit - 1e-9
                wish = self._wish_where(ew, ej, shared & hit)
                hit &= score + bonus[ew] + wish + _BOUND_SLACK >= floor_u[ew] + floor_v[ej]
                if keep is not None:
                    hit &= keep(ew, ej, score, wish)
                at = np.flatnonzero(hit)
                keys_out.append(ew[at] * n_j + ej[at])
                scores_out.append(score[at])
                wish_out.append(wish[at])
                kept += int(at.size)
                if cap is not None and kept > cap:
                    so_far = [np.concatenate(out) for out in (keys_out, scores_out, wish_out)]
                    mask = None if tighten is None else tighten(*so_far)
                    if mask is None:
                        return _Swept(None, np.zeros(0), np.zeros(0), scored)
                    keys_out, scores_out, wish_out = [[a[mask]] for a in so_far]
                    kept = int(mask.sum())
                    row_need = floor_u - bonus
        if not keys_out:
            return _Swept(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), scored)
        keys, scores, wish = np.concatenate(keys_out), np.concatenate(scores_out), np.concatenate(wish_out)
        order = np.argsort(keys, kind="stable")
        return _Swept(keys[order], scores[order], wish[order], scored)

    def _reaching(
        self,
        values: np.ndarray,
        ew: np.ndarray,
        ej: np.ndarray,
        shared: np.ndarray,
        bonus: np.ndarray,
        floor_u: np.ndarray,
        floor_v: np.ndarray,
    ) -> np.ndarray:
        """Positions of the pairs whose score bound (``values``' score plus ``_BOUND_SLACK``)
        reaches ``min_fit`` and whose weight bound reaches ``floor_u[w] + floor_v[j]``."""
        top = EdgeFactors(values).scores(self.scoring.weights) + _BOUND_SLACK
        fit = top >= self.min_fit - 1e-9
        need = floor_u[ew] + floor_v[ej]
        return np.flatnonzero(fit & self._weight_reaches(ew, ej, top + bonus[ew], need, shared & fit))

    def _weight_reaches(
        self,
        ew: np.ndarray,
        ej: np.ndarray,
        base: np.ndarray,
        need: np.ndarray,
        shared: np.ndarray,
        slack: float = 0.0,
    ) -> np.ndarray:
        """Bool: ``base + wish + slack >= need`` for pairs (ew, ej), ``wish`` their wish bonus
        (:meth:`_wish`); computed only for the pairs in ``shared`` (those sharing a top code: the
        wish is 0 elsewhere) that its range [0, :meth:`_wish_cap`] leaves undecided, the only
        costly part (same answer as computing it for all; the bonus is never negative)."""
        ok = base + slack >= need
        if self.wish_bonus == 0:
            return ok
        upper = (base + self._wish_cap(self.wish_row_[ew], self.wish_col_[ej])) + slack >= need
        todo = np.flatnonzero(shared & upper & ~ok)
        if todo.size:
            wish = self._wish(ew[todo], ej[todo])
            ok[todo] = (base[todo] + wish) + slack >= need[todo]
        return ok

    # ---- score and test ----------------------------------------------------------------------
    def _scores(self, values: np.ndarray) -> np.ndarray:
        return np.round(EdgeFactors(values).scores(self.scoring.weights), SCORE_DECIMALS)

    def edges_of(self, keys: np.ndarray) -> Edges:
        """Scored edges of the pairs ``keys`` (sorted ``w * J + j``), as the placement scores them."""
        ew = (keys // self.ctx.n_jobs).astype(np.int32)
        ej = (keys % self.ctx.n_jobs).astype(np.int32)
        cos, factors = pair_factors(
            self.ctx,
            self.wv,
            self.jv,
            ew,
            ej,
            self.scoring,
            occupations=self.occupations,
            lexical=self.lexical_,
            skills=self.skills_,
        )
        return Edges(ew, ej, cos, factors, self._scores(factors.values))

    def _skills_cap(self, w: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Float32 upper bound of the skills factor of workers ``w`` and jobs ``j`` (broadcast):
        ``3 * shared / |job's n-grams|`` clipped to 1 (:func:`skills_factor`), with at most all
        of the worker's skill n-grams shared (0 for a job without any)."""
        left = self.skills_.left_size_[w].astype(np.float32)
        right = self.skills_.right_size_[j].astype(np.float32)
        cap = np.minimum(np.float32(3.0) * left / np.maximum(right, np.float32(1.0)), np.float32(1.0))
        return np.where(right > 0, cap + np.float32(1e-6), np.float32(0.0))

    def _wish_cap(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """An upper bound of the wish bonus of pairs with :func:`wish_caps` ``row`` and ``col``
        (broadcast): the bonus times their product, plus the rounding of :func:`wish_weight`."""
        return self.wish_bonus * np.minimum(row * col, 1.0) + 1e-6

    def _wish_where(self, w: np.ndarray, j: np.ndarray, where: np.ndarray) -> np.ndarray:
        """(E,) float64: :meth:`_wish` of the pairs in ``where``, 0 elsewhere (exact for pairs
        that share no top code, whose wish is 0)."""
        out = np.zeros(w.shape[0])
        at = np.flatnonzero(where)
        if at.size and self.wish_bonus != 0:
            out[at] = self._wish(w[at], j[at])
        return out

    def _wish(self, w: np.ndarray, j: np.ndarray) -> np.ndarray | float:
        """The objective's wish bonus of pairs (w, j): the bonus times the probability that the
        job is of a wished occupation (0 when the run gives none)."""
        if self.wish_bonus == 0 or not w.size:
            return 0.0
        return wish_weight(self.occupations, w, j, self.wish_bonus)


@dataclass(frozen=True)
class _Block:
    """One (workers x jobs) block of the sweep, as matrices (:meth:`PairSweep._block_bound`)."""

    cos: np.ndarray  # float32 matrix-product cosines
    occ: np.ndarray  # bool: the pair shares a code at some occupation level (中类 at least)
    wish: np.ndarray | None  # bool: the pair shares a top code: the job may be wished (None: no bonus)
    bound: np.ndarray  # float32: upper bound of the score


@dataclass(frozen=True)
class _Swept:
    keys: np.ndarray | None  # None: more fitting pairs than the pool may hold
    scores: np.ndarray
    wish: np.ndarray  # the objective's wish bonus of each pair (:meth:`PairSweep._wish`)
    scored: int


def wish_caps(occupations: OccupationSides) -> tuple[np.ndarray, np.ndarray]:
    """``(row, col)``: float64 (W,) and (J,) with
    :func:`~matcher.scoring.occupations.wish_probability` of every pair (w, j) at
    most ``row[w] * col[j]`` (and at most 1). ``row``: the most wish mass a worker puts on one
    code (the probabilities of every wish naming it summed, at most 1); ``col``: the mass of the
    job's top codes. The probability is a sum over the job's codes of the job's probability times
    that some wish names the code, which is at most the summed mass of the wishes naming it
    (a union bound)."""
    w, j = occupations.workers, occupations.jobs
    codes = w.codes.reshape(w.codes.shape[0], -1)
    probs = w.probs.reshape(codes.shape).astype(np.float64)
    mass = np.zeros(codes.shape)
    for a in range(codes.shape[1]):  # each entry: the mass of every entry naming its code
        mass[:, a] = np.where(codes == codes[:, a : a + 1], probs, 0.0).sum(axis=1)
    row = np.where(codes >= 0, np.minimum(mass, 1.0), 0.0).max(axis=1, initial=0.0)
    col = np.where(j.codes[:, 0, :] >= 0, j.probs[:, 0, :].astype(np.float64), 0.0).sum(axis=1)
    return row, col


def skills_factor(skills: NgramSets, ew: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """The ``skills`` factor of pairs, as :func:`matcher.scoring.candidates.text_factors` fills it."""
    values = np.zeros((ew.size, len(FACTORS)), dtype=np.float32)
    text_factors(values, ew, ej, cast(Any, _NoOverlap()), skills)
    return values[:, _COL["skills"]]


class _NoOverlap:
    """Stands in for the lexical n-gram sets where only the skills factor is wanted."""

    def overlap(self, ew: np.ndarray, ej: np.ndarray, normalise: str = "min") -> np.ndarray:
        return np.zeros(ew.shape[0], dtype=np.float32)


def _overlap_table(
    sets: NgramSets, left: list[str], right: list[str], limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(table, left_text, right_text)``: the overlap of every distinct left text with every
    distinct right text (``sets.overlap`` of their first rows, so each value is the one a pair of
    those texts gets), and each row's text number; None when the table would exceed ``limit`` cells."""
    l_first, l_text = _distinct(left)
    r_first, r_text = _distinct(right)
    if l_first.size * r_first.size > limit:
        return None
    li = np.repeat(l_first, r_first.size)
    ri = np.tile(r_first, l_first.size)
    table = sets.overlap(li, ri, normalise="min").reshape(l_first.size, r_first.size)
    return table, l_text, r_text


def _distinct(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct text, and each row's text number."""
    number: dict[str, int] = {}
    first: list[int] = []
    ids = np.empty(len(texts), np.int64)
    for i, t in enumerate(texts):
        n = number.setdefault(t, len(number))
        if n == len(first):
            first.append(i)
        ids[i] = n
    return np.asarray(first, np.int64), ids


def _isin_sorted(keys: np.ndarray, sorted_ref: np.ndarray) -> np.ndarray:
    if not sorted_ref.size:
        return np.zeros(keys.shape[0], dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ref, keys), sorted_ref.size - 1)
    return sorted_ref[at] == keys


__all__ = ["PairSweep", "skills_factor", "wish_caps"]
