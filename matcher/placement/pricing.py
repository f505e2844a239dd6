"""Pricing out: the placement optimal over every rule-passing pair, without scoring them all.

The solver sees the top-k candidate graph. Its optimal duals (:func:`optimizer.duals.flow_duals`:
a worker value ``u_w`` and a job price ``v_j`` that fold in the enterprise and dorm capacities)
say which missing pair could still improve the optimum: only one whose weight (score, plus the
priority bonus and the wish bonus) exceeds ``u_w + v_j`` and whose score reaches the minimum fit.
The duals are potentials (:func:`optimizer.duals.flow_duals` widens them as far as the network
allows), fixed up to a constant moved from the workers to the jobs. :class:`PairPricer` sweeps every
rule-passing pair once, without scoring them all:

* location by location, a block of workers against every job there, as matrices: the cosines by
  one matrix product, the factors read off the records (wage, pairing, base, accommodation) and
  the lexical factor (a table over the distinct wish and title texts) exactly, the occupation
  factor at the credit of the finest level at which the pair shares a code (0 where none), skills
  at 1: a bound of each cell's score, and of its weight with the whole wish bonus where the pair
  shares a top code (elsewhere the probability that the job is wished is 0);
* only the cells whose bound reaches ``min_fit`` and the *floors* ``f_w + g_j`` (a share of the
  first round's duals, :data:`FLOOR_SHARE`) are listed, checked against the hard rules and scored
  exactly with the placement's own functions; those that still reach both are kept in a pool.

The pool so holds every fitting pair that can beat any duals at or above the floors. Each round
tests the pool against that round's duals (one vectorised test), after sweeping again the rows of
the workers and the columns of the jobs whose dual fell below its floor (at the constant that
leaves the least to sweep); it adds the violators (at most :data:`ADD_MAX`, each worker's best) to
the graph and solves again, until none is left (:func:`certify`). When the pool would hold more
than ``POOL_MAX`` pairs, every round sweeps with that round's duals. The run then is optimal over
all ``N`` pairs the hard rules allow (``N`` counted by class, never enumerated).

Every engine solves the graph component by component (:mod:`matcher.placement.decompose`, the Ray
engine on its cluster); the duals are read once from the merged assignment, over the whole network
(a missing pair may join two components), by the same function whichever engine solved it, so the
certificate covers each component and the pairs between them alike.

The module holds the pool (:class:`PairPricer`); the sweep is :mod:`matcher.placement.sweep`
(:class:`~matcher.placement.sweep.PairSweep`, which :class:`PairPricer` extends) and the rounds and
their certificate are :mod:`matcher.placement.certificate`, whose public names are importable
from here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from matcher.placement.certificate import (
    AUTO_K_MAX,
    AUTO_K_MIN,
    AUTO_K_PER_DEMAND,
    MAX_ROUNDS,
    Certificate,
    auto_k,
    certify,
    count_rule_passing,
    edge_keys,
    flow_core,
)
from matcher.placement.sweep import PairSweep, _isin_sorted, _overlap_table, _Swept
from matcher.scoring.candidates import (
    LEXICAL_GRAMS,
    SKILL_GRAMS,
    Edges,
    TextSides,
    skill_sides,
)
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import ScoringConfig
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import LEVELS as OCCUPATION_LEVELS
from matcher.scoring.occupations import OccupationSides

_TABLE_MAX = 20_000_000  # distinct (wish, title) texts whose lexical overlap is tabled once
POOL_MAX = 25_000_000
"""Fitting pairs (score at least ``min_fit``) kept between pricing rounds, 16 bytes each; beyond
it, each round sweeps every rule-passing pair again."""
ADD_MAX = 20_000_000
"""Violators added to the graph in one round at most: beyond it, each worker's best (largest gain)
up to one share for all; those left out come back in a later round if they still beat its duals."""
FLOOR_SHARE = 0.5
"""The pool keeps the fitting pairs whose weight reaches this share of the first round's duals
(``u_w + v_j``): 0 keeps every fitting pair; nearer 1 keeps fewer but sweeps again more rows and
columns when duals fall."""
_DROP_TOL = 1e-9  # a dual this far below its floor still counts as at it (pairs within _BOUND_SLACK are kept)


class PairPricer(PairSweep):
    """Finds, scores and prices the rule-passing pairs a solution's duals do not certify.

    ``eligible``: workers who may be placed (employed workers are held back unless the run moves
    them); ``exclude``: (worker, enterprise) index pairs that must not be matched; ``min_fit``: the
    least score an edge may have; ``wish_bonus``: a pair weighs its score plus the bonus times the
    probability that its job is of a wished occupation in the objective
    (:func:`matcher.placement.pipeline.objective_weights`), so the duals' test adds it too.
    """

    def __init__(
        self,
        ctx: MatchContext,
        worker_vecs: np.ndarray,
        job_vecs: np.ndarray,
        sides: TextSides,
        occupations: OccupationSides,
        scoring: ScoringConfig,
        *,
        eligible: np.ndarray,
        min_fit: float,
        exclude: np.ndarray | None = None,
        needs_dorm: bool = False,
        pool_max: int = POOL_MAX,
        floor_share: float = FLOOR_SHARE,
        add_max: int | None = None,
        wish_bonus: float = 0.0,
    ) -> None:
        self.ctx, self.wv, self.jv = ctx, worker_vecs, job_vecs
        self.wish_bonus = wish_bonus
        self.sides, self.occupations, self.scoring = sides, occupations, scoring
        self.eligible, self.min_fit, self.needs_dorm = eligible, min_fit, needs_dorm
        self.pool_max, self.floor_share = pool_max, floor_share
        self.add_max = ADD_MAX if add_max is None else add_max
        self.exclude = np.zeros(0, np.int64) if exclude is None else np.unique(exclude)
        self.n_ent = max(int(ctx.enterprise_base.shape[0]), 1)
        self.weights = scoring.weights.vector()
        self.lexical_ = NgramSets(*LEXICAL_GRAMS).fit(sides.worker_occupations, sides.job_titles)
        job_side = skill_sides(sides.job_titles, sides.job_descriptions)
        self.skills_ = NgramSets(*SKILL_GRAMS).fit(sides.worker_skills, job_side)
        self.lexical_table_ = _overlap_table(
            self.lexical_, sides.worker_occupations, sides.job_titles, _TABLE_MAX
        )
        # per occupation level (中类, 小类, code: credit rising), jobs by (code at that level, location)
        self.n_loc = max(len(ctx.location_codes), 1)
        self.levels_: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
        for divisor, credit in sorted(OCCUPATION_LEVELS, key=lambda level: level[1]):
            jg = occupations.level("jobs", divisor).codes[:, 0, :]
            jj, kk = np.nonzero(jg >= 0)
            keys = jg[jj, kk] * self.n_loc + ctx.job_location[jj]
            order = np.lexsort((jj, keys))
            wg = occupations.level("workers", divisor).codes
            self.levels_.append(
                (credit, keys[order], jj[order].astype(np.int64), wg.reshape(wg.shape[0], -1))
            )
        # every fitting pair (score >= min_fit), found by the first sweep; None: not yet, or too many
        self.pool_keys_: np.ndarray | None = None
        self.pool_scores_ = np.zeros(0)
        self.pool_overflow_ = False
        self.pool_bonus_ = np.zeros(0)
        self.floor_u_ = np.zeros(ctx.n_workers)  # the pool holds every fitting pair reaching f_w + g_j
        self.floor_v_ = np.zeros(ctx.n_jobs)
        self.rows_reswept_ = 0  # workers and jobs swept again since their dual fell below its floor
        self.cols_reswept_ = 0

    # ---- the pool ----------------------------------------------------------------------------
    def _needs(self, w: np.ndarray, j: np.ndarray) -> np.ndarray | None:
        if not self.needs_dorm:
            return None
        return self.ctx.away_from_home(w, j) & self.ctx.job_accommodation[j]

    def violators(self, duals: Any, present: np.ndarray, bonus: np.ndarray) -> tuple[Edges, int]:
        """Every rule-passing pair missing from ``present`` (sorted keys ``w * J + j``) whose
        weight beats the duals (``duals``: :class:`optimizer.duals.FlowDuals`), scored; and how many
        pairs were scored exactly. ``bonus``: each worker's priority bonus.

        A pair can beat the duals only if its weight reaches ``u_w + v_j``
        (:meth:`~optimizer.duals.FlowDuals.worker_value`, :meth:`~optimizer.duals.FlowDuals.job_price`).
        The first call sweeps every rule-passing pair once and keeps in a pool each fitting pair
        whose weight reaches the *floors* ``f_w + g_j``, set a share (``floor_share``) of the way
        from 0 to that round's duals. The pool thus holds every pair that can beat any duals at or
        above the floors; a later round tests only the pool, after sweeping again the rows of the
        workers and the columns of the jobs whose dual fell below its floor (their floors lowered
        first). When the pool would hold more than ``pool_max`` pairs, every round sweeps with that
        round's duals and keeps only the violators. At most ``add_max`` violators are returned
        (each worker's best, :func:`_best_per_worker`): the rest, if still violating, come back in
        a later round, so the certificate is the same.
        """
        n_j = self.ctx.n_jobs
        u = np.asarray(duals.worker_value(), dtype=np.float64)
        v = np.asarray(duals.job_price(), dtype=np.float64)

        def beats(ew: np.ndarray, ej: np.ndarray, score: np.ndarray) -> np.ndarray:
            weight = score + bonus[ew] + self._wish(ew, ej)
            return np.asarray(duals.gains(ew, ej, weight, self._needs(ew, ej)) > 0)

        def missing_and_beats(ew: np.ndarray, ej: np.ndarray, score: np.ndarray) -> np.ndarray:
            return ~_isin_sorted(ew * n_j + ej, present) & beats(ew, ej, score)

        scored = 0
        if self.pool_keys_ is not None and not np.array_equal(bonus, self.pool_bonus_):
            self.pool_keys_ = None  # the pool was kept for other weights: start again
        if self.pool_keys_ is None and not self.pool_overflow_:
            self.floor_u_, self.floor_v_ = self._floor(u), self._floor(v)
            self.pool_bonus_ = bonus.copy()
            swept = self._sweep(self.floor_u_, self.floor_v_, bonus, cap=self.pool_max)
            scored += swept.scored
            if swept.keys is None:
                self.pool_overflow_ = True
            else:
                self.pool_keys_, self.pool_scores_ = swept.keys, swept.scores
        elif self.pool_keys_ is not None:
            scored += self._lower_floors(u, v, bonus)
        if self.pool_keys_ is not None:
            keys, scores = self.pool_keys_, self.pool_scores_
            new = ~_isin_sorted(keys, present)
            keys, scores = keys[new], scores[new]
        else:
            swept = self._sweep(u, v, bonus, keep=missing_and_beats)
            scored += swept.scored
            assert swept.keys is not None
            keys, scores = swept.keys, swept.scores
        ew, ej = keys // n_j, keys % n_j
        gain = np.asarray(duals.gains(ew, ej, scores + bonus[ew] + self._wish(ew, ej), self._needs(ew, ej)))
        at = np.flatnonzero(gain > 0)
        found = keys[at[_best_per_worker(ew[at], gain[at], self.add_max)]]
        return self.edges_of(found), scored

    def _floor(self, dual: np.ndarray) -> np.ndarray:
        """Floors ``floor_share`` of the way from 0 to ``dual`` (never above it)."""
        return np.minimum(self.floor_share * dual, dual)

    def _lower_floors(self, u: np.ndarray, v: np.ndarray, bonus: np.ndarray) -> int:
        """Lower the floors of the workers and jobs whose duals fell below them, and add to the pool
        the pairs of their rows and columns that reach the new floors; returns the pairs scored.

        Duals are potentials, fixed up to a constant moved from the workers to the jobs (a pair
        beats them by its weight against ``u_w + v_j``); the constant is chosen that leaves the
        least to sweep (:func:`_best_shift`). Rows first (with the jobs' floors as
        they are), then columns (with every worker's floor
        as it now is): afterwards the pool again holds every fitting pair reaching ``f_w + g_j``.
        """
        scored = 0
        need, room = self.floor_u_ - u - _DROP_TOL, v - self.floor_v_ + _DROP_TOL
        need[~self.eligible] = -np.inf  # no pair of theirs is ever swept
        # a row is swept against the jobs, a column against the eligible workers
        shift = _best_shift(need, room, self.ctx.n_jobs, int(self.eligible.sum()))
        u, v = u + shift, v - shift  # the same sums u_w + v_j, the fewest duals below their floors
        rows, cols = need > shift, room < shift
        if rows.any():
            self.floor_u_[rows] = self._floor(u[rows])
            scored += self._add(self._sweep(self.floor_u_, self.floor_v_, bonus, workers_in=rows))
            self.rows_reswept_ += int(rows.sum())
        if cols.any():
            self.floor_v_[cols] = self._floor(v[cols])
            scored += self._add(self._sweep(self.floor_u_, self.floor_v_, bonus, jobs_in=cols))
            self.cols_reswept_ += int(cols.sum())
        if self.pool_keys_ is not None and self.pool_keys_.size > self.pool_max:
            self.pool_keys_, self.pool_overflow_ = None, True
        return scored

    def _add(self, swept: _Swept) -> int:
        """Merge ``swept`` into the pool (a pair in both keeps its one score)."""
        assert swept.keys is not None and self.pool_keys_ is not None
        keys = np.concatenate([self.pool_keys_, swept.keys])
        scores = np.concatenate([self.pool_scores_, swept.scores])
        keys, first = np.unique(keys, return_index=True)
        self.pool_keys_, self.pool_scores_ = keys, scores[first]
        return swept.scored


def _best_per_worker(worker: np.ndarray, gain: np.ndarray, cap: int) -> np.ndarray:
    """Sorted positions of at most ``cap`` pairs: all when they are no more, else each worker's
    ``m`` of largest gain, ``m`` the most that keeps the total within ``cap`` (at least 1)."""
    if worker.size <= cap:
        return np.arange(worker.size)
    order = np.lexsort((-gain, worker))
    ws = worker[order]
    rank = np.arange(ws.size) - np.searchsorted(ws, ws, side="left")
    counts = np.bincount(ws)
    lo, hi = 1, int(counts.max())
    while lo < hi:  # the largest m with sum(min(count, m)) <= cap
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if int(np.minimum(counts, mid).sum()) <= cap else (lo, mid - 1)
    return np.sort(order[rank < lo])


def _best_shift(need: np.ndarray, room: np.ndarray, row_cost: float = 1.0, col_cost: float = 1.0) -> float:
    """The ``c`` that leaves the least to sweep again: ``row_cost`` for each worker with
    ``need_w > c``, ``col_cost`` for each job with ``room_j < c``; of the best, the one nearest 0
    (0 itself when it leaves nothing)."""
    if need.max(initial=-np.inf) <= 0 <= room.min(initial=np.inf):
        return 0.0
    need_s, room_s = np.sort(need), np.sort(room)
    cand = np.concatenate([need_s, room_s, [0.0]])
    above = need_s.size - np.searchsorted(need_s, cand, side="right")
    cost = row_cost * above + col_cost * np.searchsorted(room_s, cand, side="left")
    at = np.flatnonzero(cost == cost.min())
    return float(cand[at[np.argmin(np.abs(cand[at]))]])


__all__ = [
    "AUTO_K_MAX",
    "AUTO_K_MIN",
    "ADD_MAX",
    "AUTO_K_PER_DEMAND",
    "FLOOR_SHARE",
    "MAX_ROUNDS",
    "Certificate",
    "PairPricer",
    "auto_k",
    "certify",
    "count_rule_passing",
    "edge_keys",
    "flow_core",
]
