"""Tune the scoring weights, the dense/lexical fusion weight and k against a known answer key.

The answer key is the sample generator's latent truth (``truth.csv`` beside a ``laborbridge sample``
folder, or :attr:`matcher.sample.generate.SampleData.truth`): each worker's true occupation and preferences,
which the recommender never sees. Relevance of a recommended job, as a graded gain for nDCG@10
(the same key as ``benchmarks/bench_quality.py``):

- 2 when its CSCO code is the worker's true occupation, 1 when only the 小类 agrees, 0 otherwise;
- plus 1 when the occupation gain is positive and the job also fits the worker's latent wage, place
  (Tianjin or home) and dorm needs.

precision@10 counts exact-occupation jobs in the top 10; the ideal DCG is over every job the worker
can take (hard rules, openings left), so nDCG also charges what candidate retrieval missed.

The workers are split (seeded) into a train and a held-out half. Everything is chosen on train:

1. the relevance weights (``dense``, ``lexical``, ``occupation``, ``wage``, ``stay_fit``, ``skills``),
   by random search (Dirichlet samples) then coordinate search; ``pairing`` and ``employment_base``
   are programme preferences the key cannot reward, held at the base configuration's values;
2. the fusion weight ``lexical / (dense + lexical)``, by a line search with ``dense + lexical`` fixed;
3. k, the candidate jobs fetched per worker (``Recommender.fetch``): the smallest k of the grid
   within ``k_tolerance`` of the best train nDCG (bigger k costs time at every query).

Held-out figures are reported for the result and for the base configuration; the tuned one is
returned only when it is at least as good on the held-out half, else the base is kept (``kept_base``).
"""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from matcher.errors import InputError
from matcher.scoring.candidates import Edges, top_k_per_worker
from matcher.scoring.context import MatchContext, code_number
from matcher.scoring.factors import FACTORS, ScoreWeights, ScoringConfig

K_EVAL = 10
POLICY = ("pairing", "employment_base")
FREE = tuple(f for f in FACTORS if f not in POLICY)
FUSION_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
FLOORS = {"wage": 0.05}
"""Policy floors (see :class:`~matcher.scoring.factors.ScoreWeights`): a caseworker expects a job below the
worker's minimum wage to rank lower, though the answer key barely rewards it."""
_DISC = 1.0 / np.log2(np.arange(K_EVAL) + 2)


# ---- answer key ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """Latent truth per worker of a data set (rows in the data set's worker order)."""

    known: np.ndarray  # bool (W,): the worker has a truth row
    code: np.ndarray  # int64 (W,) true CSCO code number
    to_tianjin: np.ndarray  # bool (W,)
    min_wage: np.ndarray  # float64 (W,)
    needs_dorm: np.ndarray  # bool (W,)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any], worker_ids: list[str]) -> Truth:
        """From ``truth`` columns (``SampleData.truth`` or ``truth.csv`` read as lists)."""
        pos = {w: i for i, w in enumerate(worker_ids)}
        n = len(worker_ids)
        out = cls(
            np.zeros(n, bool), np.full(n, -1, np.int64), np.zeros(n, bool), np.zeros(n), np.zeros(n, bool)
        )
        for r, wid in enumerate(columns["worker_id"]):
            i = pos.get(str(wid))
            if i is None:
                continue
            out.known[i] = True
            out.code[i] = code_number(str(columns["true_occupation_code"][r]))
            out.to_tianjin[i] = str(columns["true_preferred_location"][r]) == "tianjin"
            out.min_wage[i] = float(columns["true_min_wage"][r])
            out.needs_dorm[i] = str(columns["true_needs_dorm"][r]).lower() in ("true", "1")
        return out

    @classmethod
    def read_csv(cls, path: str | Path, worker_ids: list[str]) -> Truth:
        """From a ``truth.csv`` written by ``laborbridge sample``."""
        path = Path(path)
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise InputError(f"cannot read the answer key: {exc.strerror}", file=str(path)) from exc
        need = (
            "worker_id",
            "true_occupation_code",
            "true_preferred_location",
            "true_min_wage",
            "true_needs_dorm",
        )
        missing = [c for c in need if rows and c not in rows[0]]
        if not rows or missing:
            raise InputError(f"needs the columns {', '.join(need)}", file=str(path), field=",".join(missing))
        return cls.from_columns({c: [r[c] for r in rows] for c in need}, worker_ids)


class AnswerKey:
    """Gains of (worker, job) pairs and each worker's ideal DCG@10, for a fitted ``Recommender``."""

    def __init__(self, ctx: MatchContext, truth: Truth, openings_left: np.ndarray) -> None:
        self.ctx = ctx
        self.truth = truth
        self.openings_left = openings_left
        self.wage_top = np.where(np.isnan(ctx.job_wage_max), ctx.job_wage_min, ctx.job_wage_max)
        self.idcg = self._ideal_dcg()

    def gain(self, ew: np.ndarray, ej: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(graded gain, exact-occupation flag) per pair."""
        ctx, t = self.ctx, self.truth
        jc, tc = ctx.job_code[ej], t.code[ew]
        exact = jc == tc
        occ = np.where(exact, 2.0, np.where(jc // 100 == tc // 100, 1.0, 0.0))
        place_ok = ctx.job_is_tianjin[ej] == t.to_tianjin[ew]
        wage_ok = ~(self.wage_top[ej] < t.min_wage[ew])
        dorm_ok = ~t.needs_dorm[ew] | ctx.job_accommodation[ej] | ~ctx.away_from_home(ew, ej)
        return occ + ((occ > 0) & place_ok & wage_ok & dorm_ok), exact

    def _ideal_dcg(self) -> np.ndarray:
        """Best DCG@10 over every reachable job: from the counts of gains 3, 2 and 1 per worker."""
        ctx = self.ctx
        counts = np.zeros((ctx.n_workers, 4), dtype=np.int64)
        for loc in np.unique(ctx.job_location):
            jobs = np.flatnonzero((ctx.job_location == loc) & (self.openings_left > 0))
            workers = np.flatnonzero(ctx.worker_allowed[:, loc] & self.truth.known)
            if not len(jobs) or not len(workers):
                continue
            ew, ej = np.repeat(workers, len(jobs)), np.tile(jobs, len(workers))
            ok = ctx.hard_rules(ew, ej)
            g = self.gain(ew[ok], ej[ok])[0].astype(np.int64)
            np.add.at(counts, (ew[ok], g), 1)
        cum = np.r_[0.0, np.cumsum(_DISC)]  # cum[m]: the first m discounts

        def upto(m: np.ndarray) -> np.ndarray:
            return cum[np.minimum(m, K_EVAL)]

        n3, n2, n1 = counts[:, 3], counts[:, 2], counts[:, 1]
        return 3 * upto(n3) + 2 * (upto(n3 + n2) - upto(n3)) + (upto(n3 + n2 + n1) - upto(n3 + n2))


def ranking_metrics(
    edges: Edges, score: np.ndarray, key: AnswerKey, rows: np.ndarray, k: int = K_EVAL
) -> dict[str, float]:
    """precision@k and nDCG@k of ranking ``edges`` by ``score``, over worker indices ``rows``."""
    sel = top_k_per_worker(edges.worker, score, k)
    ew, ej = edges.worker[sel].astype(np.int64), edges.job[sel].astype(np.int64)
    gain, exact = key.gain(ew, ej)
    starts = np.r_[0, np.flatnonzero(np.diff(ew)) + 1]
    pos = np.arange(len(sel)) - np.repeat(starts, np.diff(np.r_[starts, len(sel)]))
    n = key.ctx.n_workers
    dcg = np.bincount(ew, weights=gain / np.log2(pos + 2), minlength=n)
    hits = np.bincount(ew, weights=exact.astype(float), minlength=n)
    has = key.idcg[rows] > 0
    return {
        "precision_at_10": float((hits[rows] / k).mean()) if len(rows) else 0.0,
        "ndcg_at_10": float((dcg[rows][has] / key.idcg[rows][has]).mean()) if has.any() else 0.0,
    }


# ---- search -------------------------------------------------------------------------------------


def _vector(w: Mapping[str, float]) -> np.ndarray:
    v = np.array([w.get(f, 0.0) for f in FACTORS], dtype=np.float64)
    return v / v.sum()


def fusion_of(w: Mapping[str, float]) -> float:
    """The fusion weight ``lexical / (dense + lexical)`` of a weight set (0 when both are 0)."""
    total = w["dense"] + w["lexical"]
    return w["lexical"] / total if total > 0 else 0.0


def improve_weights(
    score: Callable[[dict[str, float]], float],
    full: Callable[[Mapping[str, float]], dict[str, float]],
    free: Sequence[str],
    start: Mapping[str, float],
    rng: np.random.Generator,
    n_random: int,
    n_rounds: int,
) -> tuple[dict[str, float], float]:
    """Random search (Dirichlet over the ``free`` weights) then coordinate search (each free weight
    scaled by 0, ½, ¾, 1½, 2 while that helps), from ``full(start)``, maximising ``score``.

    ``full`` turns raw free weights into a complete, normalised weight set. Returns the best set
    and its score.
    """
    best_w = full(start)
    best = score(best_w)
    for _ in range(n_random):
        cand = full(dict(zip(free, rng.dirichlet(np.ones(len(free))), strict=True)))
        s = score(cand)
        if s > best:
            best_w, best = cand, s
    for _ in range(n_rounds):
        improved = False
        for f in free:
            for mult in (0.0, 0.5, 0.75, 1.5, 2.0):
                raw = dict(best_w, **{f: best_w[f] * mult if best_w[f] > 0 else 0.05 * mult})
                if sum(raw[g] for g in free) <= 0:
                    continue
                cand = full(raw)
                s = score(cand)
                if s > best + 1e-6:
                    best_w, best, improved = cand, s, True
        if not improved:
            break
    return best_w, best


def search_weights(
    evaluate: Callable[[np.ndarray], float],
    base: ScoreWeights,
    rng: np.random.Generator,
    n_random: int,
    n_rounds: int,
    floors: Mapping[str, float] = FLOORS,
    free: Sequence[str] = FREE,
    curve_key: str = "train_ndcg_at_10",
) -> tuple[dict[str, float], float, list[dict[str, float]]]:
    """Random then coordinate search over the ``free`` weights, then the fusion line search.

    The other factors keep their share of ``base``. Free weights never go below their ``floors``.
    Returns the best weights (summing to 1), their score and the fusion curve (fusion →
    score, under ``curve_key``).
    """
    start = base.model_dump()
    total = sum(start.values())
    free = tuple(f for f in FACTORS if f in free)
    policy = {f: start.get(f, 0.0) / total for f in FACTORS if f not in free}
    rest = 1.0 - sum(policy.values())

    def full(w: Mapping[str, float]) -> dict[str, float]:
        s = sum(w[f] for f in free)
        out = {f: rest * w[f] / s for f in free}
        low = {f: v for f, v in floors.items() if f in out and out[f] < v}
        if low:  # raise them to the floor, scale the others into what is left
            others = [f for f in free if f not in low]
            left, mass = rest - sum(low.values()), sum(out[f] for f in others)
            out = {**{f: out[f] * left / mass if mass else left / len(others) for f in others}, **low}
        return {**out, **policy}

    best_w, best = improve_weights(lambda w: evaluate(_vector(w)), full, free, start, rng, n_random, n_rounds)
    mass = best_w["dense"] + best_w["lexical"]
    curve = []
    for alpha in sorted({*FUSION_GRID, round(fusion_of(best_w), 3)}):
        cand = dict(best_w, dense=mass * (1 - alpha), lexical=mass * alpha)
        s = evaluate(_vector(cand)) if mass > 0 else best
        curve.append({"fusion": alpha, curve_key: round(s, 5)})
        if s > best + 1e-6:
            best_w, best = cand, s
    return {f: round(v, 4) for f, v in best_w.items()}, best, curve


@dataclass
class TuneResult:
    """What :func:`tune` chose and why; ``config`` and ``k`` are what to write."""

    config: ScoringConfig
    k: int
    kept_base: bool
    report: dict[str, Any] = field(default_factory=dict)


def search_result(
    base_cfg: ScoringConfig,
    base_k: int,
    weights: dict[str, float],
    curve: Any,
    train: tuple[str, float],
    held: Mapping[str, Mapping[str, float]],
    search: tuple[int, int, Sequence[str]],
    report: dict[str, Any],
) -> TuneResult:
    """The result of a weight search that keeps the base unless the tuned weights are strictly better
    on the held-out half (``held["tuned"]`` against ``held["base"]`` under the ``train`` metric's name);
    ``report`` (what the answer key and split were) gets the figures every such search reports."""
    metric, train_best = train
    tuned_cfg = base_cfg.model_copy(update={"weights": ScoreWeights(**weights)})
    kept_base = not held["tuned"][metric] > held["base"][metric] + 1e-9
    n_random, n_rounds, free = search
    report = {
        **report,
        "base_config": base_cfg.model_dump(),
        "base_k": base_k,
        "tuned_weights": weights,
        "fusion_weight": round(fusion_of(weights), 4),
        "fusion_curve_train": curve,
        f"train_{metric}": round(train_best, 5),
        "held_out": {k: {m: round(v, 5) for m, v in d.items()} for k, d in held.items()},
        "kept_base": kept_base,
        "search": {"random": n_random, "coordinate_rounds": n_rounds, "free_factors": list(free)},
    }
    return TuneResult(base_cfg if kept_base else tuned_cfg, base_k, kept_base, report)


def split_workers(n: int, test_share: float, seed: int, known: np.ndarray | None = None) -> tuple[Any, Any]:
    """Seeded (train, held-out) worker indices, sorted; workers without truth are left out."""
    idx = np.arange(n) if known is None else np.flatnonzero(known)
    perm = np.random.default_rng(seed).permutation(idx)
    n_test = int(round(len(perm) * test_share))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def tune(
    recommender: Any,
    truth: Truth,
    *,
    ks: tuple[int, ...] = (20, 50, 100, 200),
    n_random: int = 200,
    n_rounds: int = 4,
    test_share: float = 0.5,
    seed: int = 0,
    k_tolerance: float = 0.002,
    min_k: int = 1,
) -> TuneResult:
    """Tune on a fitted :class:`matcher.recommend.recommender.Recommender` (its ``config_`` is the base)."""
    rec = recommender
    base_cfg: ScoringConfig = rec.config_
    key = AnswerKey(rec.context_, truth, rec.openings_left_)
    train, test = split_workers(rec.context_.n_workers, test_share, seed, truth.known)
    if not len(train) or not len(test):
        raise InputError("too few workers with an answer key to split into train and held-out halves")

    def edges_at(k: int) -> Edges:
        # fitted state does not depend on ``fetch``: a shallow copy with another fetch shares it
        r = copy.copy(rec)
        r.fetch = k
        return r.candidate_edges()

    ks = tuple(sorted(set(ks)))
    edges = {k: edges_at(k) for k in sorted(set(ks) | {rec.fetch})}
    top = edges[max(edges)]

    def on(e: Edges, w: np.ndarray, rows: np.ndarray) -> dict[str, float]:
        return ranking_metrics(e, e.factors.values.astype(np.float64) @ w, key, rows)

    weights, train_best, curve = search_weights(
        lambda w: on(top, w, train)["ndcg_at_10"],
        base_cfg.weights,
        np.random.default_rng(seed),
        n_random,
        n_rounds,
    )
    w_tuned = _vector(weights)
    by_k = [{"k": k, "edges": len(edges[k]), **on(edges[k], w_tuned, train)} for k in ks]
    floor = min(min_k, max(ks))
    eligible = [r for r in by_k if r["k"] >= floor]
    best_k = max(r["ndcg_at_10"] for r in eligible)
    k = min(int(r["k"]) for r in eligible if r["ndcg_at_10"] >= best_k - k_tolerance)
    tuned_cfg = base_cfg.model_copy(update={"weights": ScoreWeights(**weights)})

    base_vec = base_cfg.weights.vector()
    held = {
        "base": on(edges[rec.fetch], base_vec, test),
        "tuned": on(edges[k], w_tuned, test),
        "dense_only": on(edges[k], _vector({"dense": 1.0}), test),
        "lexical_only": on(edges[k], _vector({"lexical": 1.0}), test),
    }
    base_ndcg = held["base"]["ndcg_at_10"]
    kept_base = held["tuned"]["ndcg_at_10"] < base_ndcg
    held_out = {
        name: {**m, "ndcg_ratio_to_base": round(m["ndcg_at_10"] / base_ndcg, 4) if base_ndcg else None}
        for name, m in held.items()
    }
    report = {
        "answer_key": "gain 2 exact true occupation, 1 same 小类, +1 if it also fits latent wage/place/dorm",
        "split": {"train_workers": int(len(train)), "held_out_workers": int(len(test)), "seed": seed},
        "base_config": base_cfg.model_dump(),
        "base_k": rec.fetch,
        "tuned_weights": weights,
        "fusion_weight": round(fusion_of(weights), 4),
        "fusion_curve_train": curve,
        "train_ndcg_at_10": round(train_best, 5),
        "k_grid_train": by_k,
        "k_tolerance": k_tolerance,
        "chosen_k": k,
        "held_out": held_out,
        "kept_base": kept_base,
        "search": {"random": n_random, "coordinate_rounds": n_rounds, "policy_factors_held": list(POLICY)},
    }
    if kept_base:
        return TuneResult(base_cfg, rec.fetch, True, report)
    return TuneResult(tuned_cfg, k, False, report)


# ---- the file -----------------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)


def write_config(
    path: str | Path, config: ScoringConfig, k: int, notes: Mapping[str, Any] | None = None
) -> Path:
    """Write ``config`` (``[scoring]``) and ``k`` (``[candidates]``) as TOML, or JSON for ``.json``.

    :meth:`ScoringConfig.from_file` reads the ``[scoring]`` table back; ``[candidates] k`` is the
    candidate jobs per worker (``place --k``, ``Recommender(fetch=k)``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scoring = config.model_dump()
    weights = scoring.pop("weights")
    notes = dict(notes or {})
    if path.suffix.lower() == ".json":
        body = {"scoring": {**scoring, "weights": weights}, "candidates": {"k": k}, "tuning": notes}
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path
    lines = ["# Written by `laborbridge tune`: read by ScoringConfig.from_file ([scoring]).", ""]
    if notes:
        lines.append("[tuning]")
        lines += [
            f"{k_} = {_toml_value(v)}" for k_, v in notes.items() if isinstance(v, str | int | float | bool)
        ]
        lines.append("")
    lines += ["[candidates]", f"k = {k}", "", "[scoring]"]
    lines += [f"{k_} = {_toml_value(v)}" for k_, v in scoring.items()]
    lines += ["", "[scoring.weights]"]
    lines += [f"{k_} = {_toml_value(v)}" for k_, v in weights.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_k(path: str | Path) -> int | None:
    """``[candidates] k`` of a configuration file written by :func:`write_config`, if any."""
    import tomllib

    path = Path(path)
    raw = path.read_text(encoding="utf-8")
    data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw)
    k = data.get("candidates", {}).get("k") if isinstance(data, dict) else None
    return int(k) if isinstance(k, int) else None


__all__ = [
    "AnswerKey",
    "Truth",
    "TuneResult",
    "fusion_of",
    "ranking_metrics",
    "read_k",
    "search_result",
    "search_weights",
    "split_workers",
    "tune",
    "write_config",
]
