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
  at most ``3 * |worker's n-grams| / |job's n-grams|`` (and 1): a bound of each cell's score, and
  of its weight with the wish bonus at most the bonus times the two sides' code masses
  (:func:`~matcher.placement.sweep.wish_caps`) where the pair shares a top code (elsewhere the
  probability that the job is wished is 0);
* only the cells whose bound reaches ``min_fit`` and the *floors* ``f_w + g_j`` (a margin,
  :data:`FLOOR_MARGIN`, below the duals the pool is built at) are listed, checked against the hard
  rules and scored exactly with the placement's own functions (the costly factors one by one, each
  pair dropped as soon as a bound rules it out); those that still reach both are kept in a pool,
  with their wish bonus.

The first round's duals come from the top-k graph and later rounds move them far; so the first
round sweeps at its own duals and keeps only its violators, and the pool is built at the second
round's (:data:`WARM_START`). The pool so holds every fitting pair that can beat any duals at or
above the floors. Each round
tests the pool against that round's duals (one vectorised test), after sweeping again the rows of
the workers and the columns of the jobs whose dual fell below its floor (at the constant that
leaves the least to sweep); it adds the violators (at most :data:`ADD_MAX`, each worker's best) to
the graph and solves again, until none is left (:func:`certify`). When the pool would hold more
than ``POOL_MAX`` pairs, its margin shrinks (the floors rise toward the duals) until it holds about
half as many; only when more than that beat the duals themselves does every round sweep with that
round's duals. The run then is optimal over
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

from collections.abc import Callable
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
from matcher.placement.sweep import (
    _BOUND_SLACK,
    PairSweep,
    _isin_sorted,
    _overlap_table,
    _Swept,
    log,
    wish_caps,
)
from matcher.scoring.candidates import (
    LEXICAL_GRAMS,
    SKILL_GRAMS,
    Edges,
    TextSides,
    skill_sides,
)
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import SCORE_DECIMALS, ScoringConfig
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import LEVELS as OCCUPATION_LEVELS
from matcher.scoring.occupations import OccupationSides

_TABLE_MAX = 20_000_000  # distinct (wish, title) texts whose lexical overlap is tabled once
POOL_MAX = 25_000_000
"""Fitting pairs (score at least ``min_fit``) kept between pricing rounds, 20 bytes each (key,
score, wish bonus): the pool's memory. When more reach the floors, the margin below the duals
shrinks until about half of this many do; only when more than this many beat the duals themselves
does each round sweep every rule-passing pair again."""
ADD_MAX = 20_000_000
"""Violators added to the graph in one round at most: beyond it, each worker's best (largest gain)
up to one share for all; those left out come back in a later round if they still beat its duals."""
FLOOR_MARGIN = 0.1
"""The pool keeps the fitting pairs whose weight reaches the duals it is built at (``u_w + v_j``)
less this margin (in score units: a tenth of the score's range): infinite keeps every fitting pair;
nearer 0 keeps fewer but sweeps again more rows and columns when duals fall. On the generated
100k x 20k sample the second round's duals move on by less than this for all but a few hundred
workers and jobs, where the first round's (a top-k graph's) move for most jobs."""
WARM_START = True
"""The first round's duals (of the top-k graph) are weak: the first round sweeps at them and keeps
only its violators, and the pool is built at the second round's duals, which later rounds move
little (False: the pool is built at the first round's)."""
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
        floor_margin: float | None = None,
        warm_start: bool | None = None,
        add_max: int | None = None,
        wish_bonus: float = 0.0,
    ) -> None:
        self.ctx, self.wv, self.jv = ctx, worker_vecs, job_vecs
        self.wish_bonus = wish_bonus
        self.wish_row_, self.wish_col_ = wish_caps(occupations)
        self.sides, self.occupations, self.scoring = sides, occupations, scoring
        self.eligible, self.min_fit, self.needs_dorm = eligible, min_fit, needs_dorm
        self.pool_max = pool_max
        self.floor_margin = FLOOR_MARGIN if floor_margin is None else floor_margin
        self.margin_ = self.floor_margin  # the pool's margin (less than floor_margin if it had to shrink)
        self.warm_start = WARM_START if warm_start is None else warm_start
        self.warmed_ = False  # the first round has been priced (warm_start: without a pool)
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
        self.pool_wish_ = np.zeros(0, np.int32)  # their wish bonuses, in units of 1e-6 (_to_micro)
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
        The first call (the second with ``warm_start``: the first then sweeps at its duals and
        keeps only the violators) sweeps every rule-passing pair once and keeps in a pool each
        fitting pair whose weight reaches the *floors* ``f_w + g_j``, ``floor_margin`` below that
        round's duals ``u_w + v_j``. The pool thus holds every pair that can beat any duals at or
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

        def missing_and_beats(
            ew: np.ndarray, ej: np.ndarray, score: np.ndarray, wish: np.ndarray
        ) -> np.ndarray:
            weight = score + bonus[ew] + wish
            return ~_isin_sorted(ew * n_j + ej, present) & (
                duals.gains(ew, ej, weight, self._needs(ew, ej)) > 0
            )

        scored = 0
        if self.pool_keys_ is not None and not np.array_equal(bonus, self.pool_bonus_):
            self.pool_keys_ = None  # the pool was kept for other weights: start again
        warming = self.warm_start and not self.warmed_
        self.warmed_ = True
        if self.pool_keys_ is None and not self.pool_overflow_ and not warming:
            self.margin_ = self.floor_margin
            self.floor_u_, self.floor_v_ = self._floor(u), self._floor(v)
            self.pool_bonus_ = bonus.copy()
            swept = self._sweep(
                self.floor_u_, self.floor_v_, bonus, cap=self.pool_max, tighten=self._tightener(u, v, bonus)
            )
            scored += swept.scored
            if swept.keys is None:
                self.pool_overflow_ = True
            else:
                self.pool_keys_, self.pool_scores_ = swept.keys, swept.scores
                self.pool_wish_ = _to_micro(swept.wish)
        elif self.pool_keys_ is not None:
            scored += self._lower_floors(u, v, bonus)
        if self.pool_keys_ is not None:
            new = ~_isin_sorted(self.pool_keys_, present)
            keys, scores, wish = (
                self.pool_keys_[new],
                self.pool_scores_[new],
                _from_micro(self.pool_wish_[new]),
            )
        else:
            swept = self._sweep(u, v, bonus, keep=missing_and_beats)
            scored += swept.scored
            assert swept.keys is not None
            keys, scores, wish = swept.keys, swept.scores, swept.wish
        ew, ej = keys // n_j, keys % n_j
        gain = np.asarray(duals.gains(ew, ej, scores + bonus[ew] + wish, self._needs(ew, ej)))
        at = np.flatnonzero(gain > 0)
        found = keys[at[_best_per_worker(ew[at], gain[at], self.add_max)]]
        return self.edges_of(found), scored

    @property
    def pool_size(self) -> int | None:
        """Pairs in the pool (None: none kept, every round sweeps)."""
        return None if self.pool_keys_ is None else int(self.pool_keys_.size)

    def _floor(self, dual: np.ndarray) -> np.ndarray:
        """Floors half the margin (``floor_margin``, or less where the pool had to shrink) below
        ``dual``: a pair's floors ``f_w + g_j`` are the margin below its test ``u_w + v_j``,
        whatever constant the duals carry."""
        return dual - 0.5 * self.margin_

    def _tightener(
        self, u: np.ndarray, v: np.ndarray, bonus: np.ndarray
    ) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray | None]:
        """What the pool's sweep does when more than ``pool_max`` pairs reach the floors: the
        margin shrinks to keep about half of them (those nearest to beating the duals ``u``,
        ``v``), the floors rise to it, and the sweep goes on; None once the margin is 0 and
        still too many reach it (every round then sweeps). The pool so stays within ``pool_max``
        and still holds every fitting pair reaching its floors."""
        n_j = self.ctx.n_jobs

        def tighten(keys: np.ndarray, scores: np.ndarray, wish: np.ndarray) -> np.ndarray | None:
            ew, ej = keys // n_j, keys % n_j
            weight = scores + bonus[ew] + wish + _BOUND_SLACK  # as the sweep tests its floors
            slack = weight - (u[ew] + v[ej])
            target = max(self.pool_max // 2, 1)
            if slack.size <= target or self.margin_ <= 0:
                return None
            margin = max(0.0, -float(np.partition(slack, slack.size - target)[slack.size - target]))
            if margin >= self.margin_:
                return None
            self.margin_ = margin
            self.floor_u_[:] = self._floor(u)
            self.floor_v_[:] = self._floor(v)
            mask = weight >= self.floor_u_[ew] + self.floor_v_[ej]
            log.info("pool over %d pairs: margin below the duals cut to %.4f", self.pool_max, margin)
            return mask if int(mask.sum()) <= self.pool_max else None

        return tighten

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
        wish = np.concatenate([self.pool_wish_, _to_micro(swept.wish)])
        keys, first = np.unique(keys, return_index=True)
        self.pool_keys_, self.pool_scores_, self.pool_wish_ = keys, scores[first], wish[first]
        return swept.scored


_UNIT = 10.0**SCORE_DECIMALS


def _to_micro(wish: np.ndarray) -> np.ndarray:
    """Wish bonuses (rounded to ``SCORE_DECIMALS`` decimals, as :func:`wish_weight` rounds them) as
    integers of that unit, int32 while they fit (4 bytes a pair in the pool instead of 8);
    :func:`_from_micro` gives back the very same floats (``np.round`` divides the rounded integer
    by the same unit)."""
    units = np.rint(np.asarray(wish, dtype=np.float64) * _UNIT)
    fits = units.size == 0 or float(np.abs(units).max()) < 2**31
    return units.astype(np.int32 if fits else np.int64)


def _from_micro(units: np.ndarray) -> np.ndarray:
    return units.astype(np.float64) / _UNIT


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
    "FLOOR_MARGIN",
    "WARM_START",
    "MAX_ROUNDS",
    "Certificate",
    "PairPricer",
    "auto_k",
    "certify",
    "count_rule_passing",
    "edge_keys",
    "flow_core",
]
