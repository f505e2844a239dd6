"""Pricing out: the placement optimal over every rule-passing pair, without scoring them all.

The solver sees the top-k candidate graph. Its optimal duals (:func:`optimizer.duals.flow_duals`:
a worker value ``u_w`` and a job price ``v_j`` that fold in the enterprise and dorm capacities)
say which missing pair could still improve the optimum: only one whose weight (score, plus the
priority bonus) exceeds ``u_w + v_j``. :class:`PairPricer` finds every such pair without scoring
all of them:

* **occupation pairs** — the worker wishes for the job's occupation group (中类, top codes of both
  sides): enumerated from an index of jobs by (group, location), then bounded exactly;
* **every other pair** has an occupation factor of 0, so its score is at most
  ``w_dense * dense(cos) + B_j`` (``B_j``: the job's best case of the other factors), and it can
  improve the optimum only if ``cos - g * beta_j > lo + g * alpha_w`` (``g = span / w_dense``,
  ``alpha``/``beta`` the worker's and job's parts of the threshold). That is an inner-product
  threshold on the vectors augmented with one column, searched in a flat FAISS index per location
  partition (:class:`embeddings.index.VectorIndex`) with a growing k; pairs whose threshold lies below
  the dense range (``alpha_w + beta_j < 0``) are taken whole.

Every pair found is bounded (lexical and skills factors at 1, the rest exact), then scored with
the placement's own code and tested against the duals exactly; those that fail are added to the
graph and the problem is solved again, until none is left (:func:`certify`). The run then is optimal
over all ``N`` pairs the hard rules allow (``N`` counted by class, never enumerated).

Every engine solves the graph component by component (:mod:`matcher.placement.decompose`, the Ray
engine on its cluster); the duals are read once from the merged assignment, over the whole network
(a missing pair may join two components), by the same function whichever engine solved it, so the
certificate covers each component and the pairs between them alike.
"""

from __future__ import annotations

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
    allowed_lists,
    compute_factors,
    context_factors,
    pair_cosines,
    skill_sides,
    text_factors,
)
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import FACTORS, SCORE_DECIMALS, EdgeFactors, ScoringConfig
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.occupations import OccupationSides, in_wished

_BLOCK = 2_000  # workers priced at once
_PAIR_CHUNK = 500_000  # pairs bounded / scored at once
_GROUP_DIVISOR = 10_000  # 中类: the coarsest level the occupation factor credits
MAX_ROUNDS = 50
_SLACK = 1e-4  # float32 inner products: the search keeps pairs this close below the threshold too


class _FullOverlap:
    """Stands in for an n-gram overlap at its upper bound (1 for every pair)."""

    def overlap(self, ew: np.ndarray, ej: np.ndarray, normalise: str = "min") -> np.ndarray:
        return np.ones(ew.shape[0], dtype=np.float32)


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
    least score an edge may have; ``worker_codes`` (W, MAX_CODES) and ``wish_bonus``: a pair in a
    wished occupation weighs its score plus the bonus in the objective
    (:func:`matcher.placement.pipeline.objective_weights`), so it is priced with it. Such a pair
    shares its occupation group with a wish: it is always among the occupation pairs, enumerated
    and tested exactly.
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
        worker_codes: np.ndarray | None = None,
        wish_bonus: float = 0.0,
    ) -> None:
        self.ctx, self.wv, self.jv = ctx, worker_vecs, job_vecs
        self.worker_codes, self.wish_bonus = worker_codes, wish_bonus
        self.sides, self.occupations, self.scoring = sides, occupations, scoring
        self.eligible, self.min_fit, self.needs_dorm = eligible, min_fit, needs_dorm
        self.exclude = np.zeros(0, np.int64) if exclude is None else np.unique(exclude)
        self.n_ent = max(int(ctx.enterprise_base.shape[0]), 1)
        self.weights = scoring.weights.vector()
        self.lexical_ = NgramSets(*LEXICAL_GRAMS).fit(sides.worker_occupations, sides.job_titles)
        job_side = skill_sides(sides.job_titles, sides.job_descriptions)
        self.skills_ = NgramSets(*SKILL_GRAMS).fit(sides.worker_skills, job_side)
        self.allowed_ = allowed_lists(ctx)
        # every pair bounded so far: its bound and (NaN until needed) its exact score
        self.pool_keys_ = np.zeros(0, np.int64)
        self.pool_bound_ = np.zeros(0)
        self.pool_exact_ = np.zeros(0)
        # jobs by (occupation group, location)
        n_loc = max(len(ctx.location_codes), 1)
        jg = occupations.level("jobs", _GROUP_DIVISOR).codes[:, 0, :]
        jj, kk = np.nonzero(jg >= 0)
        keys = jg[jj, kk] * n_loc + ctx.job_location[jj]
        order = np.lexsort((jj, keys))
        self.group_keys_, self.group_jobs_ = keys[order], jj[order].astype(np.int64)
        self.worker_groups_ = occupations.level("workers", _GROUP_DIVISOR).codes
        self.n_loc = n_loc
        # the job's best case of every factor but dense and occupation (score units)
        col = {f: i for i, f in enumerate(FACTORS)}
        wt = self.weights
        wage_known = ~(np.isnan(ctx.job_wage_min) & np.isnan(ctx.job_wage_max))
        paired_any = np.asarray(ctx.paired.any(axis=0))[ctx.job_location]
        self.job_best_ = (
            wt[col["lexical"]]
            + wt[col["skills"]]
            + wt[col["stay_fit"]]
            + wt[col["wage"]] * np.where(wage_known, 1.0, 0.5)
            + wt[col["pairing"]] * paired_any
            + wt[col["employment_base"]] * ctx.enterprise_base[ctx.job_enterprise]
        )
        self.w_dense = float(wt[col["dense"]])
        self.w_occupation = float(wt[col["occupation"]])
        self.dense_gain = (scoring.dense_hi - scoring.dense_lo) / self.w_dense if self.w_dense > 0 else np.inf

    # ---- the pairs a pricing round must look at ---------------------------------------------
    def _occupation_pairs(self, rows: np.ndarray) -> np.ndarray:
        """Keys (w * J + j) of the pairs of ``rows`` sharing an occupation group, in accepted places."""
        g = self.worker_groups_[rows].reshape(rows.size, -1)
        rw, slot = np.nonzero(g >= 0)
        if rw.size == 0:
            return np.zeros(0, np.int64)
        wg = np.unique(np.stack([rw, g[rw, slot]], axis=1), axis=0)
        wi, loc = np.nonzero(self.ctx.worker_allowed[rows[wg[:, 0]]])
        key = wg[wi, 1] * self.n_loc + loc
        lo = np.searchsorted(self.group_keys_, key, side="left")
        n = np.searchsorted(self.group_keys_, key, side="right") - lo
        at = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n - lo, n)
        ew = rows[wg[np.repeat(wi, n), 0]].astype(np.int64)
        return ew * self.ctx.n_jobs + self.group_jobs_[at]  # with repeats: the caller sorts them out

    def _dense_pairs(self, rows: np.ndarray, alpha: np.ndarray, index: Any) -> np.ndarray:
        """Keys of the pairs of ``rows`` over the augmented inner-product threshold: one FAISS
        range search (radius 0) per location partition, the threshold carried by the last column."""
        lo = self.scoring.dense_lo
        t = lo + self.dense_gain * alpha[rows]
        ones = np.ones((rows.size, 1), np.float32)
        q = np.hstack([self.wv[rows], ones, -t[:, None].astype(np.float32)]).astype(np.float32)
        r, ids, _ = index.search_range(q, -_SLACK, allowed=[self.allowed_[int(w)] for w in rows])
        return rows[r].astype(np.int64) * self.ctx.n_jobs + ids

    def _free_pairs(self, rows: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Keys of the pairs whose threshold lies below the dense range (``alpha + beta < 0``)."""
        ctx = self.ctx
        out: list[np.ndarray] = []
        for loc in np.unique(ctx.job_location):
            jobs = np.flatnonzero(ctx.job_location == loc)
            ws = rows[ctx.worker_allowed[rows, loc]]
            if not ws.size:
                continue
            order = np.argsort(beta[jobs], kind="stable")
            jobs, b = jobs[order], beta[jobs][order]
            n = np.searchsorted(b, -alpha[ws], side="left")
            if not n.any():
                continue
            ew = np.repeat(ws, n).astype(np.int64)
            at = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
            out.append(ew * ctx.n_jobs + jobs[at])
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    # ---- score and test ----------------------------------------------------------------------
    def _factors(self, ew: np.ndarray, ej: np.ndarray, upper: bool) -> tuple[np.ndarray, EdgeFactors]:
        """Cosines and factors of pairs; ``upper``: the n-gram factors at their bound of 1."""
        cos = pair_cosines(self.wv, self.jv, ew, ej)
        full = cast(Any, _FullOverlap()) if upper else None
        factors = compute_factors(
            self.ctx,
            ew,
            ej,
            cos,
            self.scoring,
            occupations=self.occupations,
            lexical=full or self.lexical_,
            skills=full or self.skills_,
        )
        return cos, factors

    def _scores(self, values: np.ndarray) -> np.ndarray:
        return np.round(EdgeFactors(values).scores(self.scoring.weights), SCORE_DECIMALS)

    def _bounded_and_exact(
        self,
        ew: np.ndarray,
        ej: np.ndarray,
        occupation: np.ndarray,
        wanted: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each pair's bound and, where ``wanted(bound, rows)`` says so, its exact score (else NaN).

        Three steps, each on what the one before leaves: the factors read off the records exactly
        with the rest at their best (occupation 0 where the pair shares no occupation group:
        ``occupation`` False); then the cosine and the occupation factor exactly; then the n-gram
        factors, which makes the score exact.
        """
        col = {f: i for i, f in enumerate(FACTORS)}
        bound = np.empty(ew.size)
        exact = np.full(ew.size, np.nan)
        for s in range(0, ew.size, _PAIR_CHUNK):
            rows = np.arange(s, min(s + _PAIR_CHUNK, ew.size))
            w, j = ew[rows], ej[rows]
            values = np.ones((rows.size, len(FACTORS)), dtype=np.float32)
            context_factors(values, self.ctx, w, j, self.scoring)
            values[:, col["occupation"]] = occupation[rows]
            b = EdgeFactors(values).scores(self.scoring.weights) + 1e-6  # scores keep 6 decimals
            bound[rows] = b
            at = np.flatnonzero(wanted(b, rows))
            if not at.size:
                continue
            rows, w, j = rows[at], w[at], j[at]
            _, f = self._factors(w, j, upper=True)
            b = f.scores(self.scoring.weights) + 1e-6
            bound[rows] = b
            at = np.flatnonzero(wanted(b, rows))
            if at.size:
                values = f.values[at].copy()  # the exact n-gram factors on the rows that need them
                text_factors(values, w[at], j[at], self.lexical_, self.skills_)
                exact[rows[at]] = self._scores(values)
        return bound, exact

    def _test(
        self, keys: np.ndarray, occupation_keys: np.ndarray, duals: Any, bonus: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Keys of the pairs of ``keys`` that pass every rule and fail the duals' test; and how
        many pairs were scored exactly. Bounds and exact scores are kept for later rounds."""
        ctx = self.ctx
        ew, ej = keys // ctx.n_jobs, keys % ctx.n_jobs
        ok = self.eligible[ew] & ctx.hard_rules(ew, ej)
        if self.exclude.size:
            ok &= ~np.isin(ew * self.n_ent + ctx.job_enterprise[ej], self.exclude)
        keys, ew, ej = keys[ok], ew[ok], ej[ok]

        def beats(weight: np.ndarray, rows: np.ndarray) -> np.ndarray:
            need = self._needs(ew[rows], ej[rows])
            gain = weight + bonus[ew[rows]] + self._wish(ew[rows], ej[rows])
            return (weight >= self.min_fit - 1e-9) & (duals.gains(ew[rows], ej[rows], gain, need) > 0)

        known = _isin_sorted(keys, self.pool_keys_)
        bound = np.empty(keys.size)
        exact = np.full(keys.size, np.nan)
        if known.any():
            at = np.searchsorted(self.pool_keys_, keys[known])
            bound[known], exact[known] = self.pool_bound_[at], self.pool_exact_[at]
        new = np.flatnonzero(~known)
        scored = 0
        if new.size:
            occupation = _isin_sorted(keys[new], occupation_keys)
            bound[new], exact[new] = self._bounded_and_exact(
                ew[new], ej[new], occupation, lambda b, rows: beats(b, new[rows])
            )
            scored += int(np.isfinite(exact[new]).sum())
        late = np.flatnonzero(known & np.isnan(exact))  # bounded before, worth scoring now
        late = late[beats(bound[late], late)]
        if late.size:
            _, f = self._factors(ew[late], ej[late], upper=False)
            exact[late] = self._scores(f.values)
            scored += int(late.size)
        self._remember(keys, bound, exact)
        has = np.flatnonzero(np.isfinite(exact))
        return keys[has[beats(exact[has], has)]], scored

    def _remember(self, keys: np.ndarray, bound: np.ndarray, exact: np.ndarray) -> None:
        """Merge (keys, bounds, exact scores) into the pool (sorted by key; newer values win).
        A pair whose bound is below the minimum fit can never be added: it is not kept."""
        fits = bound >= self.min_fit - 1e-9
        keys, bound, exact = keys[fits], bound[fits], exact[fits]
        all_keys = np.concatenate([keys, self.pool_keys_])
        order = np.argsort(all_keys, kind="stable")  # this round's first among equal keys
        all_keys = all_keys[order]
        first = np.r_[True, all_keys[1:] != all_keys[:-1]] if all_keys.size else np.zeros(0, dtype=bool)
        self.pool_keys_ = all_keys[first]
        self.pool_bound_ = np.concatenate([bound, self.pool_bound_])[order][first]
        self.pool_exact_ = np.concatenate([exact, self.pool_exact_])[order][first]

    def edges_of(self, keys: np.ndarray) -> Edges:
        """Scored edges of the pairs ``keys`` (sorted ``w * J + j``), as the placement scores them."""
        ew = (keys // self.ctx.n_jobs).astype(np.int32)
        ej = (keys % self.ctx.n_jobs).astype(np.int32)
        cos, factors = self._factors(ew, ej, upper=False)
        return Edges(ew, ej, cos, factors, self._scores(factors.values))

    def _wish(self, w: np.ndarray, j: np.ndarray) -> np.ndarray | float:
        """The objective's wish bonus of pairs (w, j) (0 when the run gives none)."""
        if self.worker_codes is None or self.wish_bonus == 0 or not w.size:
            return 0.0
        return self.wish_bonus * in_wished(self.worker_codes, self.ctx.job_code, w, j)

    def _needs(self, w: np.ndarray, j: np.ndarray) -> np.ndarray | None:
        if not self.needs_dorm:
            return None
        return self.ctx.away_from_home(w, j) & self.ctx.job_accommodation[j]

    def violators(self, duals: Any, present: np.ndarray, bonus: np.ndarray) -> tuple[Edges, int]:
        """Every rule-passing pair missing from ``present`` (sorted keys ``w * J + j``) whose
        weight beats the duals (``duals``: :class:`optimizer.duals.FlowDuals`), scored; and how many
        pairs were scored exactly. ``bonus``: each worker's priority bonus."""
        from embeddings.index import VectorIndex

        ctx = self.ctx
        alpha = duals.worker_value() - bonus  # the worker's part of the threshold
        beta = duals.job_price() - self.job_best_  # the job's part
        ones = np.ones((ctx.n_jobs, 1), np.float32)
        aug = np.hstack([self.jv, (-self.dense_gain * beta)[:, None], ones]).astype(np.float32)
        index = VectorIndex(kind="flat").fit(aug, np.arange(ctx.n_jobs, dtype=np.int64), ctx.job_location)
        # a worker whose value beats the best any pair could score needs no search
        best = self.w_dense + self.w_occupation + float(self.job_best_.max(initial=0.0))
        if self.worker_codes is not None:
            best += self.wish_bonus  # a pair in a wished occupation weighs its score plus the bonus
        v_min = float(duals.job_price().min(initial=0.0))
        rows_all = np.flatnonzero(self.eligible & (alpha + v_min < best))
        parts: list[np.ndarray] = []
        scored = 0
        for s in range(0, rows_all.size, _BLOCK):
            rows = rows_all[s : s + _BLOCK]
            occupation = _sorted_unique(self._occupation_pairs(rows))
            keys = _sorted_unique(
                np.concatenate(
                    [occupation, self._dense_pairs(rows, alpha, index), self._free_pairs(rows, alpha, beta)]
                )
            )
            keys = keys[~_isin_sorted(keys, present)]
            found, n = self._test(keys, occupation, duals, bonus)
            scored += n
            parts.append(found)
        return self.edges_of(np.sort(np.concatenate(parts))) if parts else Edges.empty(), scored


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` of int64 keys by sorting (faster than its hashing at these sizes)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys


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
    "AUTO_K_PER_DEMAND",
    "MAX_ROUNDS",
    "Certificate",
    "PairPricer",
    "auto_k",
    "certify",
    "count_rule_passing",
    "edge_keys",
    "flow_core",
]
