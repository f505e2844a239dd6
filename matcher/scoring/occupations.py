"""The occupation layer: job titles and workers' wishes → CSCO 2022 codes with probabilities.

Workers write what they want in their own words (保安, 后厨, 什么都行) and many jobs come without a
code. Both sides go through one trained classifier (:class:`embeddings.title_model.TitleClassifier`,
trained on real labelled job-board titles and the CSCO names and aliases) that ships with the
product: the table ``data/csco22.csv`` and the model ``data/title_model.npz`` are package data.
``LABORBRIDGE_CSCO`` (or an explicit path) points to another table; a path that does not exist is an
error, never a silent switch-off. A table the shipped model was not trained on is classified by the
zero-shot :class:`embeddings.occupations.OccupationClassifier`, with a warning.

Each phrase keeps its top :data:`TOP` codes with probabilities (:class:`Beliefs`). The occupation
factor of a pair (:func:`occupation_match`) is the Bhattacharyya coefficient of the two distributions
(1 when both sides surely name the same code), at the code, 小类 and 中类 levels, the coarser levels
discounted to 0.6 and 0.3 as before; a job with a code in the data is certain of it. The
placement's wish priority weighs the probability that a job is of a wished occupation
(:func:`wish_probability`); a run reports placements whose most likely codes agree (:func:`in_wished`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from matcher.errors import ConfigError
from matcher.records import Job, Worker
from matcher.scoring.context import MatchContext, code_number
from matcher.scoring.factors import SCORE_DECIMALS
from matcher.scoring.lru import LRUCache

log = logging.getLogger(__name__)

MAX_CODES = 3
"""Wished occupations of a worker that count (the first three)."""
TOP = 3
"""Codes kept per phrase."""
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SHIPPED_TABLE = DATA_DIR / "csco22.csv"
SHIPPED_MODEL = DATA_DIR / "title_model.npz"
_VAGUE = frozenset({"什么都行", "都可以", "不限", "随便", "无", "没有", "都行", "服从安排"})
LEVELS = ((1, 1.0), (100, 0.6), (10000, 0.3))  # code, 小类, 中类: divisor of the code number, credit


def find_csco_table(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The CSCO table: ``explicit`` (``--csco`` or the ``csco`` setting), else the shipped one.

    A folder means its ``csco22.csv``. A path given but not found raises :class:`ConfigError`.
    """
    if explicit is None or explicit == "":
        return SHIPPED_TABLE
    path = Path(explicit)
    if path.is_dir():
        path = path / "csco22.csv"
    if not path.is_file():
        raise ConfigError(
            f"CSCO occupation table not found: {path} (from --csco or LABORBRIDGE_CSCO); "
            "leave it unset to use the table that ships with laborbridge"
        )
    return path


@dataclass(frozen=True)
class Beliefs:
    """Top codes with probabilities for N items of S slots each (a worker's wishes; a job's one title).

    ``codes`` int64 (N, S, K) code numbers (4070501), -1 padded; ``probs`` float32 (N, S, K).
    """

    codes: np.ndarray
    probs: np.ndarray

    @classmethod
    def empty(cls, n: int, slots: int) -> Beliefs:
        return cls(np.full((n, slots, TOP), -1, np.int64), np.zeros((n, slots, TOP), np.float32))

    def top1(self) -> np.ndarray:
        """(N, S) the most likely code of each slot, -1 for an empty slot."""
        return self.codes[:, :, 0].copy()

    def take(self, rows: slice | np.ndarray) -> Beliefs:
        return Beliefs(self.codes[rows], self.probs[rows])

    def coarse(self, divisor: int) -> Beliefs:
        """The same beliefs about the code's group (``code // divisor``), probabilities summed."""
        if divisor == 1:
            return self
        group = np.where(self.codes >= 0, self.codes // divisor, -1)
        probs = self.probs.copy()
        k = group.shape[2]
        for a in range(k):  # fold later duplicates of a group into its first slot
            for b in range(a + 1, k):
                same = (group[:, :, b] == group[:, :, a]) & (group[:, :, a] >= 0)
                probs[:, :, a] += np.where(same, probs[:, :, b], 0)
                probs[:, :, b] = np.where(same, 0, probs[:, :, b])
                group[:, :, b] = np.where(same, -1, group[:, :, b])
        return Beliefs(group, probs)


@dataclass(frozen=True)
class OccupationSides:
    """What each side is believed to do: workers' wishes and jobs' titles as code beliefs; their
    coarse levels (小类, 中类) are computed once, when first needed."""

    workers: Beliefs  # (W, MAX_CODES, TOP)
    jobs: Beliefs  # (J, 1, TOP)
    _levels: dict[tuple[str, int], Beliefs] = field(default_factory=dict, compare=False, repr=False)

    def worker_rows(self, rows: slice | np.ndarray) -> OccupationSides:
        """The same jobs (their levels kept) with the workers of ``rows``."""
        return self.with_workers(self.workers.take(rows))

    def with_workers(self, workers: Beliefs) -> OccupationSides:
        """The same jobs (their levels kept) with other workers (e.g. new profiles)."""
        jobs = {key: b for key, b in self._levels.items() if key[0] == "jobs"}
        return OccupationSides(workers, self.jobs, jobs)

    def level(self, side: str, divisor: int) -> Beliefs:
        """``side`` (``workers`` or ``jobs``) believed about ``code // divisor``."""
        key = (side, divisor)
        if key not in self._levels:
            self._levels[key] = getattr(self, side).coarse(divisor)
        return self._levels[key]


def _sharing_a_code(
    w: Beliefs, j: Beliefs, ew: np.ndarray, ej: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, wish codes (R, S, K), job codes (R, K))`` of the edges (ew, ej) where some wish
    shares a top code with the job's title (elsewhere every term of a comparison is 0)."""
    jc = j.codes[ej, 0, :]  # (E, K)
    wcs = w.codes[ew]  # (E, S, K)
    flat = wcs.reshape(wcs.shape[0], -1)
    hit = np.zeros(flat.shape[0], dtype=bool)
    for k in range(jc.shape[1]):  # one job code at a time: (E, S*K), not (E, S, K, K)
        code = jc[:, k : k + 1]
        hit |= ((flat == code) & (code >= 0)).any(axis=1)
    rows = np.flatnonzero(hit)
    return rows, wcs[rows], jc[rows]


def occupation_match(sides: OccupationSides, ew: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """Occupation factor (E,) in [0, 1] of edges (ew, ej): the best wish's Bhattacharyya coefficient
    with the job's title, at the code (×1), 小类 (×0.6) and 中类 (×0.3) levels, whichever is highest.

    Works on (E, TOP) arrays one wish and one code at a time, so memory grows with E alone; only
    the edges where some code is shared at a level are summed there (elsewhere every term is 0).
    """
    out = np.zeros(ew.shape[0], dtype=np.float32)
    if not out.size:
        return out
    for divisor, credit in LEVELS:
        w, j = sides.level("workers", divisor), sides.level("jobs", divisor)
        rows, wcs, jc = _sharing_a_code(w, j, ew, ej)
        if not rows.size:
            continue
        jp, wps = j.probs[ej[rows], 0, :], w.probs[ew[rows]]
        best = out[rows]
        for s in range(w.codes.shape[1]):
            bc = np.zeros(rows.size, dtype=np.float32)
            for k in range(w.codes.shape[2]):
                wc, wp = wcs[:, s, k], wps[:, s, k]  # (E,)
                same = (jc == wc[:, None]) & (wc[:, None] >= 0)
                bc += np.where(same, np.sqrt(wp[:, None] * jp), 0).sum(axis=1)
            np.maximum(best, credit * np.minimum(bc, 1.0), out=best)
        out[rows] = best
    return out


def in_wished(worker_codes: np.ndarray, job_code: np.ndarray, ew: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """(E,) bool: the job's code (given, or the most likely from its title) is the most likely code of
    one of the worker's wishes (``worker_codes`` (W, MAX_CODES), -1 padded). What a run counts as
    "placed in a wished occupation" (``run.json``'s ``wishes``); the placement objective weighs the
    probability of it instead (:func:`wish_probability`)."""
    wished = worker_codes[ew]
    return ((wished == job_code[ej][:, None]) & (wished >= 0)).any(axis=1)


def wish_probability(sides: OccupationSides, ew: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """(E,) float64 in [0, 1]: the probability that the job of each edge (ew, ej) is of one of the
    worker's wished occupations, the two sides' beliefs taken as independent:
    ``sum_c p_job(c) * (1 - prod_s (1 - p_wish_s(c)))`` over the job's top codes ``c`` and the
    worker's wishes ``s``. A job with a given code that every reading of a wish names scores 1; a
    pair sharing no top code scores 0.

    The placement objective adds the wish bonus times this, so the flow places as many workers in a
    wished occupation as it expects to (a hard rule on the most likely codes alone stakes the whole
    bonus on a guess that is wrong for about 4 titles in 10 where neither side is coded)."""
    out = np.zeros(ew.shape[0], dtype=np.float64)
    if not out.size:
        return out
    rows, wcs, jc = _sharing_a_code(sides.workers, sides.jobs, ew, ej)
    if not rows.size:
        return out
    jp = sides.jobs.probs[ej[rows], 0, :].astype(np.float64)
    wps = sides.workers.probs[ew[rows]].astype(np.float64)
    total = np.zeros(rows.size, dtype=np.float64)
    for k in range(jc.shape[1]):
        code = jc[:, k]
        missed = np.ones(rows.size, dtype=np.float64)  # no wish names the job's code k
        for s in range(wcs.shape[1]):
            same = (wcs[:, s, :] == code[:, None]) & (code[:, None] >= 0)
            named = np.where(same, wps[:, s, :], 0).sum(axis=1)
            missed *= 1.0 - np.minimum(named, 1.0)
        total += np.where(code >= 0, jp[:, k], 0) * (1.0 - missed)
    out[rows] = np.clip(total, 0.0, 1.0)
    return out


def wish_weight(sides: OccupationSides, ew: np.ndarray, ej: np.ndarray, bonus: float) -> np.ndarray:
    """(E,) the wish priority of edges (ew, ej) in the placement objective and the recommendations'
    rank: ``bonus`` times :func:`wish_probability`, rounded to ``SCORE_DECIMALS`` as scores are (so a
    run's objective and pricing out add exactly the same amounts)."""
    if bonus == 0:
        return np.zeros(ew.shape[0], dtype=np.float64)
    return np.round(bonus * wish_probability(sides, ew, ej), SCORE_DECIMALS)


class OccupationModel:
    """The CSCO table and its classifier; each distinct phrase is classified once (kept up to
    ``cache_size`` phrases).

    ``encoder`` is the matching model (an :class:`embeddings.encoder.Encoder`); the shipped
    classifier uses it when it is the model it was trained with, else n-grams alone.
    """

    def __init__(
        self,
        encoder: Any,
        table: str | os.PathLike[str] | None = None,
        *,
        title_model: str | os.PathLike[str] | None = None,
        cache_size: int = 100_000,
    ) -> None:
        from embeddings.occupations import load_csco

        self.table = find_csco_table(table)
        self.occupations = load_csco(self.table)
        self.names = {code_number(o.code): o.name for o in self.occupations}
        self.title_model = Path(title_model) if title_model else SHIPPED_MODEL
        self.classifier = self._load_classifier(encoder)
        self._wishes: LRUCache[str, tuple[np.ndarray, np.ndarray]] = LRUCache(cache_size)

    def _load_classifier(self, encoder: Any) -> Any:
        from embeddings.occupations import OccupationClassifier
        from embeddings.title_model import TitleClassifier

        if self.title_model != SHIPPED_MODEL and not self.title_model.is_file():
            raise ConfigError(f"title model not found: {self.title_model}")
        try:
            return TitleClassifier.load(self.title_model, self.occupations, encoder)
        except (OSError, ValueError) as exc:
            log.warning("%s; classifying with the zero-shot CSCO retrieval instead", exc)
        cache = getattr(getattr(encoder, "cache", None), "cache_dir", None)
        return _Softmaxed(OccupationClassifier(encoder, cache_dir=cache).fit(self.occupations))

    def phrase_beliefs(
        self, phrases: Sequence[str], *, remember: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """(codes (n, TOP) int64, probs (n, TOP) float32) of each phrase; vague or blank: -1 / 0.

        Each distinct phrase is classified once; with ``remember`` the answers are kept (the most
        recently used ``cache_size`` of them) for later calls, as wishes repeat across profiles."""
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        new = []
        for p in dict.fromkeys(phrases):
            known = self._wishes.get(p) if remember else None
            if known is not None:
                found[p] = known
            elif p.strip() and p not in _VAGUE:
                new.append(p)
        if new:
            for phrase, result in zip(new, self.classifier.classify(new, k=TOP), strict=True):
                codes = np.array([code_number(m.code) for m in result.top], dtype=np.int64)
                found[phrase] = (codes, np.array([m.score for m in result.top], dtype=np.float32))
                if remember:
                    self._wishes.put(phrase, found[phrase])
        none = (np.full(TOP, -1, np.int64), np.zeros(TOP, np.float32))
        rows = [found.get(p, none) for p in phrases]
        if not rows:
            return np.zeros((0, TOP), np.int64), np.zeros((0, TOP), np.float32)
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])

    def worker_beliefs(self, workers: Sequence[Worker]) -> Beliefs:
        """(W, MAX_CODES, TOP): the first :data:`MAX_CODES` wishes of each worker."""
        out = Beliefs.empty(len(workers), MAX_CODES)
        slots = [
            (i, s, p) for i, w in enumerate(workers) for s, p in enumerate(w.desired_occupations[:MAX_CODES])
        ]
        if slots:
            codes, probs = self.phrase_beliefs([p for _, _, p in slots])
            at = (np.array([i for i, _, _ in slots]), np.array([s for _, s, _ in slots]))
            out.codes[at], out.probs[at] = codes, probs
        return out

    def job_beliefs(self, jobs: Sequence[Job]) -> Beliefs:
        """(J, 1, TOP): a job with a valid code is certain of it; the others are classified by title."""
        out = Beliefs.empty(len(jobs), 1)
        given = np.array([code_number(j.occupation_code or "") for j in jobs], dtype=np.int64)
        out.codes[:, 0, 0] = given
        out.probs[:, 0, 0] = (given >= 0).astype(np.float32)
        todo = np.flatnonzero(given < 0)
        if todo.size:
            codes, probs = self.phrase_beliefs([jobs[int(j)].title for j in todo], remember=False)
            out.codes[todo, 0], out.probs[todo, 0] = codes, probs
        return out


def classify_data(
    workers: Sequence[Worker],
    jobs: Sequence[Job],
    ctx: MatchContext,
    encoder: Any,
    table: str | os.PathLike[str] | None = None,
    title_model: str | os.PathLike[str] | None = None,
) -> tuple[OccupationModel, OccupationSides, MatchContext]:
    """Classify every wish and every uncoded job title once; the context's ``job_code`` gets each
    uncoded job's predicted code (so code channels, skill-gap hints and names see it)."""
    model = OccupationModel(encoder, table, title_model=title_model)
    sides = OccupationSides(model.worker_beliefs(workers), model.job_beliefs(jobs))
    job_code = np.where(ctx.job_code >= 0, ctx.job_code, sides.jobs.codes[:, 0, 0]).astype(np.int64)
    return model, sides, replace(ctx, job_code=job_code)


class _Softmaxed:
    """A zero-shot retrieval classifier whose top scores are turned into probabilities (a softmax
    with temperature 0.05 over the top codes: fused scores of different codes differ by hundredths)."""

    def __init__(self, inner: Any, temperature: float = 0.05) -> None:
        self.inner = inner
        self.temperature = temperature

    def classify(self, titles: Sequence[str], k: int = 5) -> list[Any]:
        from dataclasses import replace

        out = []
        for r in self.inner.classify(titles, k=max(k, 10)):
            s = np.array([m.score for m in r.top]) / self.temperature
            p = np.exp(s - s.max())
            p /= p.sum()
            top = tuple(replace(m, score=float(q)) for m, q in zip(r.top[:k], p[:k], strict=False))
            out.append(replace(r, score=top[0].score, top=top))
        return out
