"""Skill gap: for a worker without a good match, which occupations would open the most jobs.

Counted over the jobs the worker could actually take if they had the skills: open jobs (openings
left) in the worker's accepted locations whose age and gender requirements the worker meets. Jobs
are grouped by their CSCO code; the occupations with the most openings (then the most jobs) come
first, leaving out the ones the worker already wishes for. Each suggestion names the occupation
(the CSCO name, else the most common job title with that code) and a training to take, in Chinese
and English.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from matcher.context import MatchContext
from matcher.scoring import age_gender_ok


@dataclass(frozen=True)
class SkillSuggestion:
    """An occupation to train for, and what it would open."""

    code: str  # CSCO code, e.g. 4-07-05-01
    name: str
    jobs: int  # open jobs with this code the worker could take
    openings: int  # openings left on those jobs
    training_zh: str
    training_en: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def code_text(number: int) -> str:
    """The code number 4070501 as ``4-07-05-01``."""
    s = f"{number:07d}"
    return f"{s[0]}-{s[1:3]}-{s[3:5]}-{s[5:7]}"


def suggest_occupations(
    ctx: MatchContext,
    row: int,
    openings_left: np.ndarray,
    *,
    wished_codes: Sequence[int] = (),
    names: Mapping[int, str] | None = None,
    job_titles: Sequence[str] = (),
    top: int = 3,
) -> list[SkillSuggestion]:
    """Up to ``top`` occupations for worker ``row`` of ``ctx``, most openings first (see module doc)."""
    ok = ctx.worker_allowed[row, ctx.job_location] & (openings_left > 0) & (ctx.job_code >= 0)
    n = ctx.n_jobs
    ok &= age_gender_ok(
        np.full(n, ctx.worker_age[row]),
        np.full(n, ctx.worker_male[row]),
        ctx.job_age_min,
        ctx.job_age_max,
        ctx.job_gender,
    )
    ok &= ~np.isin(ctx.job_code, np.asarray([c for c in wished_codes if c >= 0], dtype=np.int64))
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return []
    codes, inverse = np.unique(ctx.job_code[idx], return_inverse=True)
    openings = np.bincount(inverse, weights=openings_left[idx]).astype(np.int64)
    jobs = np.bincount(inverse).astype(np.int64)
    order = np.lexsort((codes, -jobs, -openings))[:top]
    out = []
    for g in order:
        number = int(codes[g])
        name = (names or {}).get(number) or _common_title(idx[inverse == g], job_titles) or code_text(number)
        out.append(
            SkillSuggestion(
                code=code_text(number),
                name=name,
                jobs=int(jobs[g]),
                openings=int(openings[g]),
                training_zh=f"参加{name}职业技能培训，可应聘{int(jobs[g])}个岗位（{int(openings[g])}个名额）",
                training_en=(
                    f"vocational training as {name} ({code_text(number)}) would open "
                    f"{int(jobs[g])} jobs with {int(openings[g])} openings"
                ),
            )
        )
    return out


def _common_title(job_idx: np.ndarray, titles: Sequence[str]) -> str:
    if not len(titles):
        return ""
    picked = [titles[int(j)] for j in job_idx]
    return max(sorted(set(picked)), key=picked.count)
