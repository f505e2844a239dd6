"""What the recommender returns: ranked, explained items for a worker, or for a job.

Each item carries its score in [0, 1], the per-factor contributions (they add up to the score) and
a short explanation in Chinese and English. A job's candidate list shows only what a recruiter
needs of each worker (no name, ID number or phone; experience scrubbed of numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matcher.geo import place_name
from matcher.records import Worker
from matcher.scoring.factors import SCORE_DECIMALS
from matcher.scoring.features import scrub
from matcher.scoring.skillgap import SkillSuggestion


@dataclass(frozen=True)
class ScoredItem:
    """One (worker, job) pair in a ranked list."""

    worker_id: str
    job_id: str
    score: float
    """The pair's score in [0, 1] (never the congestion-adjusted rank score)."""
    rank_score: float
    """What the list is ordered by: ``score`` plus the wish priority times the probability that the
    job is of a wished occupation (``ScoringConfig.wish_priority``), minus the congestion penalty of
    the job."""
    factors: dict[str, float]
    """Per-factor contributions (weight × value); they add up to ``score``."""
    explanation_zh: str
    explanation_en: str


@dataclass(frozen=True)
class Recommendation:
    """The top jobs for one worker; ``excluded`` says why a list is empty on purpose."""

    worker_id: str
    items: tuple[ScoredItem, ...]
    skill_gap: tuple[SkillSuggestion, ...] = ()
    excluded: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``laborbridge recommend --json`` and the API."""
        out: dict[str, Any] = {
            "worker_id": self.worker_id,
            "items": [
                {
                    "job_id": it.job_id,
                    "score": round(it.score, SCORE_DECIMALS),
                    "factors": dict(it.factors),  # items may be shared (cached): hand out a copy
                    "explanation_zh": it.explanation_zh,
                    "explanation_en": it.explanation_en,
                }
                for it in self.items
            ],
        }
        if self.skill_gap:
            out["skill_gap"] = [s.to_dict() for s in self.skill_gap]
        if self.excluded:
            out["excluded"] = self.excluded
        return out


@dataclass(frozen=True)
class JobCandidates:
    """The best workers for one job, each with a recruiter's view of the worker."""

    job_id: str
    items: tuple[ScoredItem, ...]
    workers: tuple[dict[str, Any], ...] = field(default=())
    excluded: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``laborbridge candidates --json`` and the API."""
        out: dict[str, Any] = {
            "job_id": self.job_id,
            "items": [
                {
                    "worker_id": it.worker_id,
                    "score": round(it.score, SCORE_DECIMALS),
                    "factors": it.factors,
                    "explanation_zh": it.explanation_zh,
                    "explanation_en": it.explanation_en,
                    "worker": prof,
                }
                for it, prof in zip(self.items, self.workers, strict=True)
            ],
        }
        if self.excluded:
            out["excluded"] = self.excluded
        return out


def recruiter_view(worker: Worker, year: int) -> dict[str, Any]:
    """What a recruiter may see of a worker: no name, ID number, phone or employer; text scrubbed."""
    return {
        "worker_id": worker.worker_id,
        "age": worker.age(year),
        "gender": worker.gender.value,
        "home_county_code": worker.home_county_code,
        "home_county": place_name(worker.home_county_code),
        "education": scrub(worker.education),
        "skills": [scrub(s) for s in worker.skills],
        "experience": scrub(worker.experience),
        "desired_occupations": [scrub(d) for d in worker.desired_occupations],
        "mobility": worker.mobility.value,
        "min_wage": worker.min_wage,
    }
