"""The certificate of pricing out: the rounds that solve, read the duals, price out every
missing pair and add the violators until none is left (:func:`certify`), what they proved
(:class:`Certificate`), the count of rule-passing pairs it is stated over
(:func:`count_rule_passing`), and the k a certified run starts from (:func:`auto_k`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.scoring.candidates import Edges
from matcher.scoring.context import MatchContext

if TYPE_CHECKING:
    from matcher.placement.pricing import PairPricer

log = logging.getLogger("matcher.placement.pricing")  # one logger for pricing out's progress

MAX_ROUNDS = 50


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
                "pool": pricer.pool_size,
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
    "auto_k",
    "certify",
    "count_rule_passing",
    "edge_keys",
    "flow_core",
]
