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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from matcher.scoring.candidates import (
    LEXICAL_GRAMS,
    SKILL_GRAMS,
    Edges,
    TextSides,
    context_factors,
    pair_cosines,
    pair_factors,
    skill_sides,
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
from matcher.scoring.occupations import LEVELS as OCCUPATION_LEVELS
from matcher.scoring.occupations import OccupationSides, occupation_match, wish_weight

log = logging.getLogger(__name__)

_GRID = 2_000_000  # (worker, job) cells of one block of the sweep
_TABLE_MAX = 20_000_000  # distinct (wish, title) texts whose lexical overlap is tabled once
_COS_SLACK = 1e-4  # a block's matrix-product cosine may differ this much from the pair's own
_COL = {f: i for i, f in enumerate(FACTORS)}
MAX_ROUNDS = 50
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
_BOUND_SLACK = 1e-6  # a bound or weight compared with a threshold: rounding of scores and duals
_CELL_SLACK = 1e-4  # a block's float32 bound against its threshold (float32 sums of terms below 1e2)
_DROP_TOL = 1e-9  # a dual this far below its floor still counts as at it (pairs within _BOUND_SLACK are kept)


@dataclass
class Certificate:
    """What pricing out proved about a placement (``run.json``'s ``certificate``)."""

    status: str  # "optimal" | "flow_bound" | "not_certified"
    rule_passing_pairs: int
    rounds: int = 0
    edges_added: int = 0
    candidates_scored: int = 0
    k: int = 0
    flow_objective: float | None = None  # the flow core's optimum over all rule-passing pairs
    flow_placed: int | None = None  # and the workers it places
    gap: float | None = None  # flow_objective - the run's objective (side rules enforced)
    reason: str | None = None
    seconds: float = 0.0
    round_log: list[dict[str, Any]] = field(default_factory=list)

    def settle(self, result: Any) -> None:
        """Judge the run's final ``result`` (an optimizer.PlacementResult on the priced graph).

        Optimal over all pairs when it reaches the flow core's optimum over all pairs (side rules
        satisfied by the flow); else that optimum is a proven bound and the gap is reported.
        """
        if self.status == "not_certified" or self.flow_objective is None:
            return
        self.gap = max(0.0, self.flow_objective - float(result.objective))
        reached = self.gap <= 1e-6 * max(1.0, abs(self.flow_objective))
        if self.flow_placed is not None:
            reached &= int(result.n_placed) >= self.flow_placed
        self.status = "optimal" if reached else "flow_bound"

    def line(self) -> str:
        """One sentence for the CLI summary and the API."""
        n = f"{self.rule_passing_pairs:,}"
        how = f"{self.rounds} pricing round(s), {self.edges_added:,} edge(s) added to the top-{self.k} graph"
        if self.status == "optimal":
            return f"optimal over all {n} rule-passing pairs ({how})"
        if self.status == "flow_bound":
            return (
                f"flow core optimal over all {n} rule-passing pairs ({how}); side rules enforced "
                f"with a gap of at most {self.gap:.6f} to its optimum {self.flow_objective:.6f}"
            )
        return f"not certified over all {n} rule-passing pairs: {self.reason}"

    def to_dict(self, seconds: bool = False) -> dict[str, Any]:
        """JSON-ready; ``seconds``: with the timings (how it ran), which ``run.json`` keeps in its
        own ``seconds`` (stage ``price_out``) so that one answer gives one ``run.json``."""
        timing = ("solve_s", "price_s")
        out = {
            "status": self.status,
            "statement": self.line(),
            "rule_passing_pairs": self.rule_passing_pairs,
            "rounds": self.rounds,
            "edges_added": self.edges_added,
            "candidates_scored": self.candidates_scored,
            "k": self.k,
            "flow_objective": None if self.flow_objective is None else round(self.flow_objective, 6),
            "gap": None if self.gap is None else round(self.gap, 6),
            "reason": self.reason,
            "round_log": [{k: v for k, v in r.items() if seconds or k not in timing} for r in self.round_log],
        }
        if seconds:
            out["seconds"] = round(self.seconds, 3)
        return out


AUTO_K_MIN, AUTO_K_MAX = 10, 100


def auto_k(ctx: MatchContext, eligible: np.ndarray) -> int:
    """k for a certified run when none was given: ``AUTO_K_PER_DEMAND`` candidates per unit of
    demand (eligible workers per opening), within [``AUTO_K_MIN``, ``AUTO_K_MAX``].

    With pricing out k only sets the speed: too small and more pairs come back in pricing rounds
    (each a solve and a search), too large and retrieval and the solves grow. The more workers
    compete for each opening, the deeper into its list a worker must look; BENCHMARKS.md
    (``certify``) measures the rule against fixed k.
    """
    openings = max(int(ctx.job_openings.sum()), 1)
    demand = int(eligible.sum()) / openings
    return int(np.clip(np.ceil(AUTO_K_PER_DEMAND * demand), AUTO_K_MIN, AUTO_K_MAX))


AUTO_K_PER_DEMAND = 10


def count_rule_passing(ctx: MatchContext, eligible: np.ndarray, exclude: np.ndarray | None = None) -> int:
    """Pairs the hard rules allow for the ``eligible`` workers, counted by class, never listed.

    Workers fall into classes of (accepted places, age, gender) and jobs into (place, age limits,
    gender); every class pair is checked once and counted as the product of the class sizes. The
    pairs of ``exclude`` (keys ``worker * n_enterprises + enterprise``) are taken off.
    """
    total = _count_by_class(ctx, eligible)
    if exclude is not None and exclude.size:
        n_ent = max(int(ctx.enterprise_base.shape[0]), 1)
        keys = np.unique(exclude)
        ew = np.repeat(keys // n_ent, ctx.n_jobs)
        ej = np.tile(np.arange(ctx.n_jobs), keys.size)
        hit = (ctx.job_enterprise[ej] == np.repeat(keys % n_ent, ctx.n_jobs)) & eligible[ew]
        total -= int(ctx.hard_rules(ew[hit], ej[hit]).sum())
    return total


def _count_by_class(ctx: MatchContext, eligible: np.ndarray) -> int:
    w = np.flatnonzero(eligible)
    if w.size == 0 or ctx.n_jobs == 0:
        return 0
    _, allow_id = np.unique(ctx.worker_allowed[w], axis=0, return_inverse=True)
    wkey = np.stack([allow_id.ravel(), ctx.worker_age[w], ctx.worker_male[w]], axis=1)
    wcls, wfirst, wcount = np.unique(wkey, axis=0, return_index=True, return_counts=True)
    jkey = np.stack([ctx.job_location, ctx.job_age_min, ctx.job_age_max, ctx.job_gender], axis=1)
    _, jfirst, jcount = np.unique(jkey, axis=0, return_index=True, return_counts=True)
    rep_w = w[wfirst].astype(np.int64)
    total = 0
    step = max(1, 4_000_000 // max(jfirst.size, 1))
    for s in range(0, rep_w.size, step):
        rw = rep_w[s : s + step]
        ew = np.repeat(rw, jfirst.size)
        ej = np.tile(jfirst.astype(np.int64), rw.size)
        ok = ctx.hard_rules(ew, ej).reshape(rw.size, jfirst.size)
        total += int((wcount[s : s + step, None] * jcount[None, :] * ok).sum())
    del wcls
    return total


class PairPricer:
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
        self.lexical_table_ = _overlap_table(self.lexical_, sides.worker_occupations, sides.job_titles)
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
        coefficient at most 1), lexical at 1 without the table, skills at 1).
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
        per_row = wt[c["pairing"]] * ctx.paired[ctx.worker_county[rows], loc] + wt[c["skills"]]
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
        (less the whole wish bonus where the job may be wished), with ``_CELL_SLACK`` to spare."""
        r, c = row_need[rows], col_need[jobs]
        small = max(float(np.abs(r).max(initial=0)), float(np.abs(c).max(initial=0))) < 1e2
        dtype = np.float32 if small else np.float64  # float32 sums stay within the slack below 1e2
        need = (r - _CELL_SLACK).astype(dtype)[:, None] + c.astype(dtype)[None, :]
        if block.wish is not None:
            np.subtract(need, dtype(self.wish_bonus), out=need, where=block.wish)
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
        keep: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
        cap: int | None = None,
    ) -> _Swept:
        """Every eligible, rule-passing, not excluded pair whose exact score reaches ``min_fit``
        and whose objective weight (score, priority ``bonus``, wish bonus) reaches
        ``floor_u[w] + floor_v[j]`` (and passes ``keep(ew, ej, score)``): sorted keys ``w * J + j``
        and their scores (keys None once more than ``cap`` are kept). ``workers_in`` / ``jobs_in``
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
                del block
                values = np.ones((ew.size, len(FACTORS)), dtype=np.float32)
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
                values[:, col["skills"]] = skills_factor(self.skills_, ew, ej)
                scored += int(ew.size)
                # every factor exact but dense (the block's cosine, plus its slack): a tight bound
                top = EdgeFactors(values).scores(self.scoring.weights) + _BOUND_SLACK
                weight = top + bonus[ew] + self._wish(ew, ej)
                at = np.flatnonzero((top >= self.min_fit - 1e-9) & (weight >= floor_u[ew] + floor_v[ej]))
                ew, ej, values = ew[at], ej[at], values[at]
                values[:, col["dense"]] = dense_factor(pair_cosines(self.wv, self.jv, ew, ej), self.scoring)
                score = self._scores(values)
                weight = score + bonus[ew] + self._wish(ew, ej) + _BOUND_SLACK
                hit = (score >= self.min_fit - 1e-9) & (weight >= floor_u[ew] + floor_v[ej])
                if keep is not None:
                    hit &= keep(ew, ej, score)
                at = np.flatnonzero(hit)
                keys_out.append(ew[at] * n_j + ej[at])
                scores_out.append(score[at])
                kept += int(at.size)
                if cap is not None and kept > cap:
                    return _Swept(None, np.zeros(0), scored)
        if not keys_out:
            return _Swept(np.zeros(0, np.int64), np.zeros(0), scored)
        keys, scores = np.concatenate(keys_out), np.concatenate(scores_out)
        order = np.argsort(keys, kind="stable")
        return _Swept(keys[order], scores[order], scored)

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

    def _wish(self, w: np.ndarray, j: np.ndarray) -> np.ndarray | float:
        """The objective's wish bonus of pairs (w, j): the bonus times the probability that the
        job is of a wished occupation (0 when the run gives none)."""
        if self.wish_bonus == 0 or not w.size:
            return 0.0
        return wish_weight(self.occupations, w, j, self.wish_bonus)

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


@dataclass(frozen=True)
class _Block:
    """One (workers x jobs) block of the sweep, as matrices (:meth:`PairPricer._block_bound`)."""

    cos: np.ndarray  # float32 matrix-product cosines
    occ: np.ndarray  # bool: the pair shares a code at some occupation level (中类 at least)
    wish: np.ndarray | None  # bool: the pair shares a top code: the job may be wished (None: no bonus)
    bound: np.ndarray  # float32: upper bound of the score


@dataclass(frozen=True)
class _Swept:
    keys: np.ndarray | None  # None: more fitting pairs than the pool may hold
    scores: np.ndarray
    scored: int


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
    sets: NgramSets, left: list[str], right: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(table, left_text, right_text)``: the overlap of every distinct left text with every
    distinct right text (``sets.overlap`` of their first rows, so each value is the one a pair of
    those texts gets), and each row's text number; None when the table would exceed ``_TABLE_MAX``."""
    l_first, l_text = _distinct(left)
    r_first, r_text = _distinct(right)
    if l_first.size * r_first.size > _TABLE_MAX:
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


def edge_keys(edges: Edges, n_jobs: int) -> np.ndarray:
    """Sorted keys ``w * J + j`` of ``edges``."""
    return np.sort(edges.worker.astype(np.int64) * n_jobs + edges.job)


def certify(
    edges: Edges,
    pricer: PairPricer,
    solve_graph: Callable[[Edges], tuple[Any, Any, Any]],
    *,
    k: int,
    rule_passing_pairs: int,
    max_rounds: int = MAX_ROUNDS,
) -> tuple[Edges, Any, Any, Any, Certificate]:
    """Solve on ``edges``, price out every missing pair, add the violators, solve again, until none.

    ``solve_graph(edges)`` returns ``(problem, solve_options, result)`` of the flow core on those
    edges (side rules that the flow cannot carry left out; see :func:`flow_core`). Returns the final
    edges, the flow core's problem, options and result, and the :class:`Certificate`.
    """
    from optimizer.duals import flow_duals
    from optimizer.errors import SolverError

    t0 = time.perf_counter()
    cert = Certificate("not_certified", rule_passing_pairs, k=k)
    log.info(
        "pricing out over %d rule-passing pairs from the top-%d graph (%d edges)",
        rule_passing_pairs,
        k,
        len(edges),
    )
    while True:
        t1 = time.perf_counter()
        problem, options, result = solve_graph(edges)
        t_solve = time.perf_counter() - t1
        try:
            duals = flow_duals(problem, options, result.edge_selected)
        except SolverError as exc:
            cert.reason = f"the flow core's duals are not feasible ({exc})"
            break
        if duals is None:
            cert.reason = "lexicographic priority is solved in stages that one set of duals does not certify"
            break
        bonus = np.zeros(problem.n_workers)
        if options.priority == "weighted" and problem.worker_unemployed is not None:
            bonus = options.priority_weight * problem.worker_unemployed.astype(np.float64)
        t2 = time.perf_counter()
        new, scored = pricer.violators(duals, edge_keys(edges, problem.n_jobs), bonus)
        cert.rounds += 1
        cert.candidates_scored += scored
        log.info(
            "pricing round %d: %d edges, objective %.6f, %d placed, %d violators, %d scored, "
            "solve %.1f s, price %.1f s",
            cert.rounds,
            len(edges),
            float(result.objective),
            int(result.n_placed),
            len(new),
            scored,
            t_solve,
            time.perf_counter() - t2,
        )
        cert.round_log.append(
            {
                "edges": len(edges),
                "objective": round(float(result.objective), 6),
                "placed": int(result.n_placed),
                "violators": len(new),
                "scored": scored,
                "solve_s": round(t_solve, 3),
                "price_s": round(time.perf_counter() - t2, 3),
            }
        )
        if not len(new):
            cert.status = "optimal"
            cert.flow_objective = float(result.objective)
            cert.flow_placed = int(result.n_placed)
            break
        if cert.rounds >= max_rounds:
            cert.reason = f"violators remained after {max_rounds} rounds"
            break
        cert.edges_added += len(new)
        edges = _merged(edges, new)
    cert.seconds = time.perf_counter() - t0
    return edges, problem, options, result, cert


def _merged(edges: Edges, new: Edges) -> Edges:
    out = Edges.concat([edges, new])
    return out.take(np.lexsort((out.job, out.worker)))


def flow_core(problem: Any, options: Any) -> tuple[Any, Any, bool]:
    """``problem`` without the side rules a flow cannot carry (groups, district targets, county
    fairness), options without shadow prices; and whether anything was left out."""
    import dataclasses

    stripped = problem.worker_group is not None or bool(problem.district_targets)
    stripped |= problem.county_min_share is not None
    core = dataclasses.replace(
        problem,
        worker_group=None,
        job_district=None,
        district_targets=None,
        district_paired_counties=None,
        county_min_share=None,
    )
    return core, dataclasses.replace(options, shadow_prices=False), stripped


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
