"""Hard rules and the score of a (worker, job) pair, vectorised over candidate edges.

A pair's score lies in [0, 1]: a weighted sum of factor values, each in [0, 1], with weights
that sum to 1. Each factor's contribution (weight × value) is kept so an explanation can show
what made the score; the contributions add up to the score exactly.

Factors
    dense            cosine similarity of the profile and posting embeddings, rescaled from
                     [dense_lo, dense_hi] to [0, 1]
    lexical          character n-gram similarity of the wished occupations and the job title
    occupation       the worker's wished CSCO codes against the job's: 1 exact, 0.6 same 小类,
                     0.3 same 中类
    wage             1 when the job's minimum wage meets the worker's minimum, partial when only
                     its maximum does, 0 when neither; 0.5 when either side is unknown
    pairing          the job is in a Tianjin district paired with the worker's home county
    employment_base  the employer is a selected employment base (就业基地)
    stay_fit         away from home: the job offers accommodation; at home (local workshop):
                     1 for workers who prefer to stay (mobility ``local``), 0.5 otherwise
    skills           share of the job title's and description's character bigrams found in the
                     worker's skills and experience

Hard rules (a pair failing one is never a candidate): location (the worker's accepted
locations), age limits at the reference year, gender requirement; and, for recommendations, no
openings left on the job, or the worker already placed (:mod:`matcher.recommend.recommender`).

The configuration is one :class:`ScoringConfig`; :meth:`ScoringConfig.from_file` reads it from JSON
or TOML (any subset of the fields; the rest keep their defaults), e.g.::

    [weights]
    dense = 0.3
    occupation = 0.25

    congestion_lambda = 0.1
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from matcher.errors import ConfigError

SCORE_DECIMALS = 6
"""Scores, contributions and prices are rounded to this many decimals wherever they are kept or
written, and a placement solves on the rounded scores, so its objective is exactly the optimum over
the scores in its files."""


def score_text(x: float) -> str:
    """A score as the files write it (``SCORE_DECIMALS`` decimals)."""
    return f"{x:.{SCORE_DECIMALS}f}"


FACTORS: tuple[str, ...] = (
    "dense",
    "lexical",
    "occupation",
    "wage",
    "pairing",
    "employment_base",
    "stay_fit",
    "skills",
)


class ScoreWeights(BaseModel):
    """Factor weights; normalised to sum to 1 when used.

    The occupation match carries the most weight: a job of the worker's wished occupation must outscore
    a job of another occupation unless a hard fact says otherwise. A sure match leads an unrelated job
    by 0.36; the hard facts (wage far below the minimum, no accommodation away from home: ``wage`` +
    ``stay_fit`` = 0.15) and the programme preferences and skills (``pairing`` + ``employment_base`` +
    ``skills`` = 0.11) together cannot close that, while the dense and lexical factors, which measure
    the same fit in other ways, usually widen it.

    The split between the three text factors was measured on real job-board phrases with cross-fitted
    title models (``python -m benchmarks quality_real``, both seeds, BENCHMARKS.md): the word overlap
    of wish and title is worth about twice what it was given (lexical 0.10 → 0.18 of the total, the
    rest scaled down in proportion: hit@3 0.804/0.876 → 0.829/0.882, placed in a wished occupation
    0.671/0.660 → 0.690/0.686 of the most possible); a heavier occupation weight, lighter coarse
    credits or a wider dense share did not help on both seeds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dense: float = Field(0.20, ge=0)
    lexical: float = Field(0.18, ge=0)
    occupation: float = Field(0.36, ge=0)
    wage: float = Field(0.09, ge=0)
    pairing: float = Field(0.04, ge=0)
    employment_base: float = Field(0.03, ge=0)
    stay_fit: float = Field(0.06, ge=0)
    skills: float = Field(0.04, ge=0)

    @model_validator(mode="after")
    def _positive_total(self) -> ScoreWeights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one scoring weight must be positive")
        return self

    def vector(self) -> np.ndarray:
        """Weights in :data:`FACTORS` order, normalised to sum to 1."""
        w = np.array([getattr(self, f) for f in FACTORS], dtype=np.float64)
        return w / w.sum()


class ScoringConfig(BaseModel):
    """Everything that shapes a score; one object, loaded from ``--config`` or defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: ScoreWeights = ScoreWeights()
    dense_lo: float = 0.70
    dense_hi: float = 0.95
    dense_from_data: bool = True
    """Set ``dense_lo``/``dense_hi`` from the data (:func:`fit_dense_range`): embedding cosines of
    one model live in a narrow band (multilingual-e5-small: most pairs between 0.75 and 0.9), so a
    fixed range lets the dense factor barely separate jobs. ``false``, or a configured ``dense_lo`` or
    ``dense_hi``, keeps the configured range."""
    wage_partial: float = 0.5
    wish_priority: float = Field(1.0, ge=0, le=10)
    """Recommendations rank by ``score + wish_priority * p`` (less the congestion penalty), ``p`` the
    probability that the job is of one of the worker's wished occupations
    (:func:`matcher.scoring.occupations.wish_probability`): the placement's wish bonus
    (``--wish-bonus``, default 1) for lists, so a job surely of a wished occupation leads the list and
    one only probably of it gains that share. 0 ranks by score alone. The score itself (what the
    factors add up to) is not changed."""
    congestion_lambda: float = Field(0.0, ge=0)
    """Recommendations rank by ``score - congestion_lambda * max(0, ln(applicants / openings))``
    (plus the wish priority; see :mod:`matcher.scoring.congestion`); 0: no congestion penalty."""
    congestion_k: int = Field(10, ge=1, le=1000)
    """Expected applicants of a job: the known workers with it in their un-penalised top ``congestion_k``."""
    congestion_rounds: int = Field(3, ge=0, le=20)
    """Damped rounds re-estimating applicants from the penalised lists (0: un-penalised lists only)."""
    good_match: float = Field(0.55, ge=0, le=1)
    """A worker whose best score is below this gets skill-gap suggestions (see
    :mod:`matcher.scoring.skillgap`)."""

    @model_validator(mode="after")
    def _range(self) -> ScoringConfig:
        if not self.dense_hi > self.dense_lo:
            raise ValueError("dense_hi must be greater than dense_lo")
        return self

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ScoringConfig:
        """Read a configuration from a ``.json`` or ``.toml`` file (a ``[scoring]`` table, or top level).

        Unknown fields and bad values raise :class:`~matcher.errors.ConfigError` naming the file.
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read scoring configuration ({exc.strerror})") from exc
        try:
            if path.suffix.lower() == ".toml":
                data = tomllib.loads(raw.decode("utf-8"))
            else:
                data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("scoring"), dict):
            data = data["scoring"]
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the scoring configuration must be an object/table")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise ConfigError(f"{path}: field {where}: {first['msg']}") from exc


@dataclass(frozen=True)
class EdgeFactors:
    """Factor values of E edges: ``values[e, f]`` in [0, 1] for factor ``FACTORS[f]``."""

    values: np.ndarray  # float32 (E, F)

    def contributions(self, weights: ScoreWeights) -> np.ndarray:
        """Per-factor contributions (E, F); each row sums to the edge's score."""
        return self.values * weights.vector().astype(np.float32)

    def scores(self, weights: ScoreWeights) -> np.ndarray:
        """Scores (E,) in [0, 1], float64."""
        return self.values.astype(np.float64) @ weights.vector()


def dense_factor(cosine: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Rescale cosine similarities to [0, 1]."""
    span = config.dense_hi - config.dense_lo
    return np.clip((cosine - config.dense_lo) / span, 0.0, 1.0).astype(np.float32)


def fit_dense_range(
    config: ScoringConfig, worker_vecs: np.ndarray, job_vecs: np.ndarray, *, pairs: int = 200_000
) -> ScoringConfig:
    """``config`` with the dense range standardised on the data (when ``dense_from_data``).

    The cosines of up to ``pairs`` (worker, job) pairs drawn with a fixed seed give a mean ``mu`` and
    a deviation ``sd``; the factor then runs from 0 at ``mu`` (a typical unrelated pair) to 1 at
    ``mu + 3 sd`` (rare, close pairs). Same vectors, same range: a run is reproducible. Both ends are
    rounded to 0.01, so one edited profile among many does not move every score a little (a service
    answering from the stored record before its refit gives the answer the refit gives).
    """
    explicit = {"dense_lo", "dense_hi"} & config.model_fields_set  # a configured range is kept
    if not config.dense_from_data or explicit or len(worker_vecs) == 0 or len(job_vecs) == 0:
        return config
    rng = np.random.default_rng(0)
    n = min(pairs, len(worker_vecs) * len(job_vecs))
    w = rng.integers(0, len(worker_vecs), n)
    j = rng.integers(0, len(job_vecs), n)
    cos = np.concatenate(
        [
            np.einsum("ij,ij->i", worker_vecs[w[s : s + 65_536]], job_vecs[j[s : s + 65_536]])
            for s in range(0, n, 65_536)
        ]
    ).astype(np.float64)
    mu, sd = float(cos.mean()), float(max(cos.std(), 1e-3))
    lo = round(mu, 2)
    return config.model_copy(update={"dense_lo": lo, "dense_hi": max(round(mu + 3 * sd, 2), lo + 0.01)})


def wage_factor(
    min_wage: np.ndarray, wage_min: np.ndarray, wage_max: np.ndarray, partial: float = 0.5
) -> np.ndarray:
    """Wage fit per edge; arrays are float with NaN for unknown."""
    lo = np.where(np.isnan(wage_min), wage_max, wage_min)
    hi = np.where(np.isnan(wage_max), wage_min, wage_max)
    unknown = np.isnan(min_wage) | np.isnan(lo)
    full = lo >= min_wage
    part = hi >= min_wage
    # Partial credit scales with how much of the wage band reaches the minimum.
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(hi > lo, (hi - min_wage) / (hi - lo), 1.0)
    part_val = partial * np.clip(frac, 0.0, 1.0)
    out = np.where(full, 1.0, np.where(part, part_val, 0.0))
    return np.where(unknown, 0.5, out).astype(np.float32)


def age_gender_ok(
    age: np.ndarray, gender_male: np.ndarray, age_min: np.ndarray, age_max: np.ndarray, job_gender: np.ndarray
) -> np.ndarray:
    """Hard rules on edges: age in [age_min, age_max] (-1: no limit); gender 0 any, 1 male, 2 female."""
    ok = (age_min < 0) | (age >= age_min)
    ok &= (age_max < 0) | (age <= age_max)
    ok &= (job_gender == 0) | ((job_gender == 1) & gender_male) | ((job_gender == 2) & ~gender_male)
    return ok
