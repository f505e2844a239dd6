"""Skill gap: for a worker without a good match, which occupations near them would open jobs.

Counted over the jobs the worker could actually take if they had the skills: open jobs (openings
given) in the worker's accepted locations whose age and gender requirements the worker meets.
Jobs are grouped by their CSCO code, leaving out the codes the worker already wishes for (a wish
with reachable openings that did not lead to a placement is no training need). Occupations are
ranked by nearness to the worker first, then by openings, then by jobs:

* nearness to the wished codes: 2 for a code of the same 小类 as a wished code (4-10-01-06 for a
  wish of 4-10-01-05), 1 for the same 中类 (4-10-03-01), else 0;
* plus nearness to the skills and experience text (:func:`matcher.scoring.features.worker_skill_text`):
  the share of its character bigrams found in the titles of the occupation's open jobs, in [0, 1].

Occupations with no nearness at all come last, the largest first, so a worker with no wishes and
no skills still gets the occupations with the most openings in reach. Each suggestion names the
occupation (the CSCO name, else the most common job title with that code) and a training to take,
in Chinese and English.

:func:`suggest_occupations` is the definition: one pass over every job. :class:`OpeningCounts`
gives the same suggestions per request from counts made once: jobs and openings per (age bracket,
gender, location, code), where an age bracket is a span of ages that every job's age limits treat
alike (at most twice the number of distinct limits, plus one), so a request sums a few hundred
counts instead of scanning the jobs; the bigrams of each code's titles are kept too, so the skills
text of a request is compared with the distinct codes only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from matcher.scoring.context import MatchContext
from matcher.scoring.factors import age_gender_ok
from matcher.scoring.ngrams import NgramSets
from matcher.scoring.overlap import PairOverlap

SAME_MINOR_GROUP = 2.0
"""Nearness of a code in the same 小类 (first three code groups) as a wished code."""
SAME_MIDDLE_GROUP = 1.0
"""Nearness of a code in the same 中类 (first two code groups) as a wished code."""


@dataclass(frozen=True)
class SkillSuggestion:
    """An occupation to train for, and what it would open."""

    code: str  # CSCO code, e.g. 4-07-05-01
    name: str
    jobs: int  # open jobs with this code the worker could take
    openings: int  # openings on those jobs
    training_zh: str
    training_en: str

    def to_dict(self) -> dict[str, object]:
        return dict(vars(self))  # flat fields: no deep copy needed (asdict's costs count per hint)


def code_text(number: int) -> str:
    """The code number 4070501 as ``4-07-05-01``."""
    s = f"{number:07d}"
    return f"{s[0]}-{s[1:3]}-{s[3:5]}-{s[5:7]}"


def code_nearness(codes: np.ndarray, wished_codes: Sequence[int]) -> np.ndarray:
    """Nearness of each code number in ``codes`` to the nearest wished code (see module doc)."""
    codes = np.asarray(codes, dtype=np.int64)
    near = np.zeros(codes.shape, dtype=np.float64)
    # 4100105 // 100 is its 小类 4-10-01, // 10000 its 中类 4-10. A worker wishes a few codes at most.
    for w in {int(c) for c in wished_codes if c >= 0}:
        near = np.maximum(near, SAME_MIDDLE_GROUP * (codes // 10_000 == w // 10_000))
        near = np.maximum(near, SAME_MINOR_GROUP * (codes // 100 == w // 100))
    return near


def suggest_occupations(
    ctx: MatchContext,
    row: int,
    openings_left: np.ndarray,
    *,
    wished_codes: Sequence[int] = (),
    skill_text: str = "",
    names: Mapping[int, str] | None = None,
    job_titles: Sequence[str] = (),
    top: int = 3,
) -> list[SkillSuggestion]:
    """Up to ``top`` occupations for worker ``row`` of ``ctx``, nearest first (see module doc).

    ``openings_left`` (J,) are the openings counted per job; ``skill_text`` is the worker's skills
    and experience, compared with the titles (``job_titles``) of each code's open jobs.
    """
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
    near = code_nearness(codes, wished_codes)
    if skill_text and len(job_titles):
        open_ = np.flatnonzero((openings_left > 0) & np.isin(ctx.job_code, codes))
        texts = _code_texts(codes, ctx.job_code[open_], [job_titles[int(j)] for j in open_])
        sets = NgramSets(2, 2).fit([skill_text], texts)
        near = near + sets.overlap(np.zeros(codes.size, np.int64), np.arange(codes.size), "left")
    order = np.lexsort((codes, -jobs, -openings, -near))[:top]
    out = []
    for g in order:
        number = int(codes[g])
        name = (names or {}).get(number) or _common_title(idx[inverse == g], job_titles) or code_text(number)
        out.append(_suggestion(number, name, int(jobs[g]), int(openings[g])))
    return out


class OpeningCounts:
    """Open jobs and their openings per (age bracket, gender, location, code), for fast suggestions.

    Fitted on a context's jobs and the openings counted; :meth:`suggest` then gives, for any worker
    (its accepted locations, age, gender, wished codes and skills text), what
    :func:`suggest_occupations` gives.
    """

    def fit(
        self, ctx: MatchContext, openings_left: np.ndarray, job_titles: Sequence[str] = ()
    ) -> OpeningCounts:
        """Count the open, coded jobs of ``ctx`` by bracket, gender, location and code."""
        self.ctx_ = ctx
        self.openings_left_ = openings_left = np.asarray(openings_left)
        self.job_titles_ = job_titles
        open_ = np.flatnonzero((openings_left > 0) & (ctx.job_code >= 0))
        limits = np.r_[ctx.job_age_min[ctx.job_age_min >= 0], ctx.job_age_max[ctx.job_age_max >= 0] + 1]
        # Ages a with the same count of limits <= a pass the same jobs' age rules.
        self.bounds_ = np.unique(limits).astype(np.int64)
        ages = np.r_[self.bounds_[:1] - 1, self.bounds_] if self.bounds_.size else np.zeros(1, np.int64)
        self.codes_, code_of = np.unique(ctx.job_code[open_], return_inverse=True)
        # The bigrams of each code's titles, to compare a request's skills text with.
        self.titles_: PairOverlap | None = None
        if len(job_titles):
            texts = _code_texts(self.codes_, ctx.job_code[open_], [job_titles[int(j)] for j in open_])
            self.titles_ = PairOverlap.from_ngrams(NgramSets(2, 2).fit([], texts))
        # (location, code) pairs that have open jobs; counts are kept per pair.
        n_codes = max(self.codes_.size, 1)
        pair_key, pair_of = np.unique(
            ctx.job_location[open_].astype(np.int64) * n_codes + code_of, return_inverse=True
        )
        self.pair_location_ = pair_key // n_codes
        self.pair_code_ = pair_key % n_codes
        n_pairs = pair_key.size
        self.jobs_ = np.zeros((ages.size, 2, n_pairs), dtype=np.int64)
        self.openings_ = np.zeros((ages.size, 2, n_pairs), dtype=np.float64)
        for b, age in enumerate(ages.tolist()):
            for male in (False, True):
                ok = age_gender_ok(
                    np.full(open_.size, age),
                    np.full(open_.size, male),
                    ctx.job_age_min[open_],
                    ctx.job_age_max[open_],
                    ctx.job_gender[open_],
                )
                self.jobs_[b, int(male)] = np.bincount(pair_of[ok], minlength=n_pairs)
                self.openings_[b, int(male)] = np.bincount(
                    pair_of[ok], weights=openings_left[open_[ok]], minlength=n_pairs
                )
        return self

    def suggest(
        self,
        allowed: np.ndarray,
        age: int,
        male: bool,
        *,
        wished_codes: Sequence[int] = (),
        skill_text: str = "",
        names: Mapping[int, str] | None = None,
        top: int = 3,
    ) -> list[SkillSuggestion]:
        """Up to ``top`` occupations for a worker accepting locations ``allowed`` (bool (L,)), of
        ``age`` and gender; the same as :func:`suggest_occupations` for that worker."""
        b = int(np.searchsorted(self.bounds_, age, side="right"))
        reach = allowed[self.pair_location_]
        jobs = np.bincount(
            self.pair_code_[reach], weights=self.jobs_[b, int(male)][reach], minlength=self.codes_.size
        )
        openings = np.bincount(
            self.pair_code_[reach], weights=self.openings_[b, int(male)][reach], minlength=self.codes_.size
        )
        jobs = jobs.astype(np.int64)
        openings = openings.astype(np.int64)
        keep = (jobs > 0) & ~np.isin(
            self.codes_, np.asarray([c for c in wished_codes if c >= 0], dtype=np.int64)
        )
        codes, jobs, openings = self.codes_[keep], jobs[keep], openings[keep]
        near = code_nearness(codes, wished_codes)
        if skill_text and self.titles_ is not None and codes.size:
            # Only the kept codes: their rows in the fitted title sets.
            rows = np.flatnonzero(keep)
            near = near + self.titles_.with_left([skill_text]).overlap(
                np.zeros(rows.size, np.int64), rows, "left"
            )
        order = np.lexsort((codes, -jobs, -openings, -near))[:top]
        out = []
        for g in order.tolist():
            number = int(codes[g])
            name = (
                (names or {}).get(number)
                or self._common_title(number, allowed, age, male)
                or code_text(number)
            )
            out.append(_suggestion(number, name, int(jobs[g]), int(openings[g])))
        return out

    def _common_title(self, number: int, allowed: np.ndarray, age: int, male: bool) -> str:
        """The most common title among the jobs with code ``number`` this worker could take."""
        ctx = self.ctx_
        idx = np.flatnonzero(ctx.job_code == number)
        ok = allowed[ctx.job_location[idx]] & (self.openings_left_[idx] > 0)
        ok &= age_gender_ok(
            np.full(idx.size, age),
            np.full(idx.size, male),
            ctx.job_age_min[idx],
            ctx.job_age_max[idx],
            ctx.job_gender[idx],
        )
        return _common_title(idx[ok], self.job_titles_)


def _suggestion(number: int, name: str, jobs: int, openings: int) -> SkillSuggestion:
    return SkillSuggestion(
        code=code_text(number),
        name=name,
        jobs=jobs,
        openings=openings,
        training_zh=f"参加{name}职业技能培训，可应聘{jobs}个岗位（{openings}个名额）",
        training_en=(
            f"vocational training as {name} ({code_text(number)}) would open "
            f"{jobs} jobs with {openings} openings"
        ),
    )


def _code_texts(codes: np.ndarray, job_codes: np.ndarray, titles: Sequence[str]) -> list[str]:
    """For each code of ``codes`` (sorted), the titles of the jobs with that code, in one text.

    Bigrams do not cross the spaces between titles, so the text's bigrams are those of its titles.
    """
    parts: list[list[str]] = [[] for _ in range(codes.size)]
    for g, title in zip(np.searchsorted(codes, job_codes).tolist(), titles, strict=True):
        parts[g].append(title)
    return [" ".join(p) for p in parts]


def _common_title(job_idx: np.ndarray, titles: Sequence[str]) -> str:
    if not len(titles):
        return ""
    picked = [titles[int(j)] for j in job_idx]
    return max(sorted(set(picked)), key=picked.count)
