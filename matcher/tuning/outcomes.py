"""Tune the scoring weights against recorded placement outcomes (``laborbridge tune --from-outcomes``).

Offices do not have the sample generator's latent truth; they have recorded runs and follow-ups
(``laborbridge runs outcomes RUN FILE``). The answer key here is one label per followed-up
placement (:func:`outcome_label`):

- *retained* (positive): still employed after N months;
- *left* (negative): never started, or left before N months.

N is ``months`` when given, else each follow-up's own horizon: the longest of ``employed_6m`` and
``employed_3m`` that is known. A follow-up that cannot say either way at N is left out.

A weight set is judged on the labelled placements of a set of workers by

    objective = ½ (MRR(retained) − MRR(left)) + ½ (2·AUC − 1)

where the reciprocal rank of a placed job is taken among the worker's candidate jobs
(``Recommender.candidate_edges``, plus the placed job itself, its factors recomputed when
retrieval did not fetch it; ties count half), and AUC is the chance that a retained placement
scores above a left one. Both halves lie in [-1, 1]: the first asks that a worker's retained job
rank above their other candidates and a job they left rank below them, the second that retained
placements score above left ones across workers.

The workers are split (seeded, within each kind) into a train and a held-out half. Every factor
weight is searched on train with :func:`matcher.tuning.search.search_weights` (outcomes can reward the
programme factors too; policy floors still hold; a factor constant over every pair keeps the
base's share). Held-out figures are reported for the tuned and the base weights; the base is
kept unless the tuned weights are better on the held-out half.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.errors import InputError
from matcher.scoring.candidates import Edges
from matcher.scoring.factors import FACTORS, ScoreWeights, ScoringConfig
from matcher.tuning.search import TuneResult, search_result, search_weights

DAYS_PER_MONTH = 30.44
HORIZONS = (3, 6)  # the follow-up columns employed_3m, employed_6m
MIN_OUTCOMES = 30


def outcome_label(outcome: Mapping[str, Any], months: int | None = None) -> bool | None:
    """True when the placed worker was still employed after ``months`` (default: the follow-up's
    own horizon), False when they never started or left before, None when the follow-up cannot say.
    """
    if not outcome.get("started", True):
        return False
    left = outcome.get("left_after_days")
    known = {
        h: bool(outcome[f"employed_{h}m"]) for h in HORIZONS if outcome.get(f"employed_{h}m") is not None
    }
    if months is None:
        if known:
            return known[max(known)]
        # no employment flag: a worker who left within the shortest horizon left early
        return False if left is not None and left < HORIZONS[0] * DAYS_PER_MONTH else None
    if left is not None and left < months * DAYS_PER_MONTH:
        return False
    if any(not v for h, v in known.items() if h <= months):
        return False
    if any(v for h, v in known.items() if h >= months):
        return True
    if left is not None:  # left, but only after N months
        return True
    return None


def labelled_placements(
    outcomes: Iterable[Mapping[str, Any]], months: int | None = None
) -> list[dict[str, Any]]:
    """``{run_id, worker_id, job_id, retained}`` per followed-up placement with a label.

    A (worker, job) pair followed up in several runs counts once, with its newest follow-up.
    """
    by_pair: dict[tuple[str, str], dict[str, Any]] = {}
    for o in sorted(outcomes, key=lambda o: (str(o.get("recorded_at") or ""), o["run_id"])):
        label = outcome_label(o, months)
        key = (o["worker_id"], o["job_id"])
        if label is None:
            by_pair.pop(key, None)
            continue
        by_pair[key] = {"run_id": o["run_id"], "worker_id": key[0], "job_id": key[1], "retained": label}
    return [by_pair[k] for k in sorted(by_pair)]


def stored_outcomes(engine: Any, runs: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Recorded outcomes of ``runs`` (ids, prefixes or ``latest~N``; default: every run) and the run ids."""
    from matcher.store.runs_repo import outcomes, resolve_run_id

    if not runs:
        rows = outcomes(engine)
        return rows, sorted({r["run_id"] for r in rows})
    ids = list(dict.fromkeys(resolve_run_id(engine, r) for r in runs))
    return [o for run_id in ids for o in outcomes(engine, run_id)], ids


# ---- the answer key on a fitted recommender ----------------------------------------------------


@dataclass(frozen=True)
class OutcomeKey:
    """Labelled placements of a fitted recommender's workers, with the pairs to rank them among."""

    worker: np.ndarray  # int64 (L,) worker row of each labelled placement
    retained: np.ndarray  # bool (L,)
    placed: np.ndarray  # float64 (L, F) factor values of the placed pair
    owner: np.ndarray  # int64 (C,) labelled placement each competing candidate belongs to
    others: np.ndarray  # float64 (C, F) factor values of the worker's other candidates

    @classmethod
    def build(cls, rec: Any, labelled: Sequence[Mapping[str, Any]]) -> tuple[OutcomeKey, dict[str, int]]:
        """The key for fitted ``rec``; placements whose worker or job is not in its data set are
        left out (counted in the returned dict)."""
        skipped = {"worker_not_in_data": 0, "job_not_in_data": 0}
        rows: list[tuple[int, int, bool]] = []
        for p in labelled:
            w, j = rec.worker_pos_.get(p["worker_id"]), rec.job_pos_.get(p["job_id"])
            if w is None:
                skipped["worker_not_in_data"] += 1
            elif j is None:
                skipped["job_not_in_data"] += 1
            else:
                rows.append((w, j, bool(p["retained"])))
        n_f = len(FACTORS)
        if not rows:
            empty = np.zeros(0, np.int64)
            return cls(empty, np.zeros(0, bool), np.zeros((0, n_f)), empty, np.zeros((0, n_f))), skipped
        lw = np.array([r[0] for r in rows], np.int64)
        lj = np.array([r[1] for r in rows], np.int64)
        workers = np.unique(lw)
        edges: Edges = rec.candidate_edges([rec.dataset_.workers[i].worker_id for i in workers])
        ew, ej = edges.worker.astype(np.int64), edges.job.astype(np.int64)
        values = edges.factors.values.astype(np.float64)
        n_jobs = max(rec.context_.n_jobs, 1)
        pair_at = {int(k): e for e, k in enumerate((ew * n_jobs + ej).tolist())}
        placed = np.zeros((len(rows), n_f))
        missing = []
        for i, key in enumerate((lw * n_jobs + lj).tolist()):
            e = pair_at.get(key)
            if e is None:
                missing.append(i)
            else:
                placed[i] = values[e]
        if missing:
            placed[missing] = _factors_of(rec, lw[missing], lj[missing])
        # each labelled placement competes with its worker's other candidates
        starts = np.searchsorted(ew, workers)
        ends = np.searchsorted(ew, workers, side="right")
        slot = np.searchsorted(workers, lw)
        owner = np.concatenate(
            [np.full(ends[s] - starts[s], i, np.int64) for i, s in enumerate(slot.tolist())]
            or [np.zeros(0, np.int64)]
        )
        idx = np.concatenate(
            [np.arange(starts[s], ends[s]) for s in slot.tolist()] or [np.zeros(0, np.int64)]
        ).astype(np.int64)
        keep = ej[idx] != lj[owner]
        return cls(lw, np.array([r[2] for r in rows]), placed, owner[keep], values[idx[keep]]), skipped

    def metrics(self, w: np.ndarray, rows: np.ndarray) -> dict[str, float]:
        """Objective, MRR of retained and left placements and AUC, over labelled placements ``rows``."""
        s = self.placed @ w
        c = self.others @ w
        above = np.bincount(self.owner, weights=c > s[self.owner] + 1e-12, minlength=len(s))
        tied = np.bincount(self.owner, weights=np.abs(c - s[self.owner]) <= 1e-12, minlength=len(s))
        rr = 1.0 / (1.0 + above + 0.5 * tied)
        pos, neg = rows[self.retained[rows]], rows[~self.retained[rows]]
        mrr_pos = float(rr[pos].mean()) if len(pos) else 0.0
        mrr_neg = float(rr[neg].mean()) if len(neg) else 0.0
        auc = _auc(s[pos], s[neg])
        return {
            "objective": 0.5 * (mrr_pos - mrr_neg) + 0.5 * (2 * auc - 1),
            "mrr_retained": mrr_pos,
            "mrr_left": mrr_neg,
            "auc": auc,
        }


def _factors_of(rec: Any, ew: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """Factor values of pairs retrieval did not fetch, from the recommender's fitted state."""
    return np.asarray(rec.pair_factors(ew, ej).values, dtype=np.float64)


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a retained placement scores above a left one), ties half (0.5 when a side is empty)."""
    if not len(pos) or not len(neg):
        return 0.5
    both = np.concatenate([pos, neg])
    _, inv, counts = np.unique(np.round(both, 12), return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # rank (0-based) of the first of each tied group
    ranks = first[inv] + (counts[inv] - 1) / 2.0 + 1.0
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def split_labelled(key: OutcomeKey, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, held-out) labelled-placement indices, split by worker within each kind
    (a worker with any retained placement counts as retained), sorted."""
    rng = np.random.default_rng(seed)
    workers = np.unique(key.worker)
    kind = np.isin(workers, key.worker[key.retained])
    held: list[np.ndarray] = []
    for k in (True, False):
        group = rng.permutation(workers[kind == k])
        held.append(group[: int(round(len(group) * test_share))])
    is_held = np.isin(key.worker, np.concatenate(held))
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def check_enough(
    key: OutcomeKey, skipped: Mapping[str, int], where: str, minimum: int = MIN_OUTCOMES
) -> None:
    """:class:`InputError` naming what is missing when the key cannot tune anything."""
    n_pos = int(key.retained.sum())
    n_neg = int(len(key.retained) - n_pos)
    if n_pos + n_neg >= minimum and n_pos and n_neg:
        return
    lack = []
    if n_pos + n_neg < minimum:
        lack.append(f"at least {minimum} followed-up placements with a known outcome")
    if not n_pos:
        lack.append("placements still employed at the horizon (retained)")
    if not n_neg:
        lack.append("placements that ended early (left or never started)")
    left_out = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items() if v)
    raise InputError(
        f"tuning from outcomes needs {' and '.join(lack)}; found {n_pos + n_neg} "
        f"({n_pos} retained, {n_neg} left){f'; left out {left_out}' if left_out else ''}. "
        "Record follow-ups with `laborbridge runs outcomes RUN FILE`",
        file=where,
    )


def tune_from_outcomes(
    recommender: Any,
    labelled: Sequence[Mapping[str, Any]],
    *,
    n_random: int = 200,
    n_rounds: int = 4,
    test_share: float = 0.5,
    seed: int = 0,
    min_outcomes: int = MIN_OUTCOMES,
    source: str = "recorded outcomes",
) -> TuneResult:
    """Tune every factor weight on a fitted ``Recommender`` (its ``config_`` is the base) so that
    retained placements rank high and left ones low; see the module doc."""
    rec = recommender
    base_cfg: ScoringConfig = rec.config_
    key, skipped = OutcomeKey.build(rec, labelled)
    check_enough(key, skipped, source, min_outcomes)
    train, test = split_labelled(key, test_share, seed)
    # a factor constant over every pair here cannot be learnt from these outcomes
    both = np.concatenate([key.placed, key.others])
    free = [f for f, v in zip(FACTORS, np.ptp(both, axis=0) > 0, strict=True) if v]
    if not free:
        raise InputError("the followed-up placements give no factor that separates jobs", file=source)
    weights, train_best, curve = search_weights(
        lambda w: key.metrics(w, train)["objective"],
        base_cfg.weights,
        np.random.default_rng(seed),
        n_random,
        n_rounds,
        free=free,
        curve_key="train_objective",
    )
    held = {
        "base": key.metrics(base_cfg.weights.vector(), test),
        "tuned": key.metrics(ScoreWeights(**weights).vector(), test),
    }
    n_pos = int(key.retained.sum())
    report = {
        "answer_key": "followed-up placements: retained (employed at the horizon) vs left early",
        "objective": "½ (MRR retained − MRR left, among the worker's candidates) + ½ (2·AUC − 1)",
        "labelled": {"retained": n_pos, "left": int(len(key.retained) - n_pos), **skipped},
        "split": {
            "train_placements": int(len(train)),
            "held_out_placements": int(len(test)),
            "held_out_workers": int(len(np.unique(key.worker[test]))),
            "seed": seed,
        },
    }
    return search_result(
        base_cfg,
        rec.fetch,
        weights,
        curve,
        ("objective", train_best),
        held,
        (n_random, n_rounds, free),
        report,
    )


__all__ = [
    "OutcomeKey",
    "check_enough",
    "labelled_placements",
    "outcome_label",
    "split_labelled",
    "stored_outcomes",
    "tune_from_outcomes",
]
