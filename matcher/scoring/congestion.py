"""Congestion: spread recommendations when many similar workers would all be shown the same jobs.

A job that sits in the top-k of far more workers than it has openings is oversold: most of those
workers will apply and be turned away. The recommender ranks by

    rank_score(w, j) = score(w, j) + β · P(j wished by w) - λ · max(0, ln(A_j / O_j))

(``β · P``: the wish priority, ``ScoringConfig.wish_priority`` times the probability that the job is
of one of the worker's wished occupations, :func:`matcher.scoring.occupations.wish_probability`)
where ``O_j`` is the job's openings left and ``A_j`` its *expected applicants*: the number of known
workers who have ``j`` in their top ``congestion_k`` (by the rest of the rank score; measured once,
at fit). A job shown to no more workers than it has openings is not penalised; one shown to e times
as many loses λ. ``A`` starts from the un-penalised lists; since a penalty moves workers elsewhere,
``congestion_rounds`` damped rounds then re-count the penalised lists,
``A ← (A + count under penalty(A)) / 2``, so the crowd does not just move, all together, to the next
job.
The score reported with a recommendation is always the un-penalised ``score``; ``λ`` is
``ScoringConfig.congestion_lambda`` (0 switches congestion off).

:func:`concentration` measures how concentrated a set of recommendations is: the share of all
recommendation slots taken by the most-recommended 1% of jobs.
"""

from __future__ import annotations

import math

import numpy as np


def expected_applicants(top_jobs: np.ndarray, n_jobs: int) -> np.ndarray:
    """Applicants per job (float64, (n_jobs,)): how many top-k lists each job index appears in."""
    return np.bincount(np.asarray(top_jobs, dtype=np.int64), minlength=n_jobs).astype(np.float64)


def congestion_penalty(applicants: np.ndarray, openings: np.ndarray, lam: float) -> np.ndarray:
    """``λ · max(0, ln(applicants / openings))`` per job; 0 where a job has no applicants or openings."""
    applicants = np.asarray(applicants, dtype=np.float64)
    openings = np.asarray(openings, dtype=np.float64)
    ok = (applicants > 0) & (openings > 0)
    ratio = np.divide(applicants, openings, out=np.ones_like(applicants), where=ok)
    return lam * np.maximum(0.0, np.log(ratio))


def concentration(recommended_jobs: np.ndarray, n_jobs: int, top_share: float = 0.01) -> float:
    """Share of all recommendation slots taken by the top ``top_share`` of jobs (at least one job).

    ``recommended_jobs`` holds one job index per slot (every item of every list). 1% of jobs taking
    1% of slots is perfectly even; taking 30% means a few jobs are shown to most workers.
    """
    jobs = np.asarray(recommended_jobs, dtype=np.int64)
    if jobs.size == 0 or n_jobs == 0:
        return 0.0
    counts = np.sort(np.bincount(jobs, minlength=n_jobs))[::-1]
    top = max(1, math.ceil(top_share * n_jobs))
    return float(counts[:top].sum() / jobs.size)


def oversubscription(recommended_jobs: np.ndarray, openings: np.ndarray) -> float:
    """Share of recommendation slots on jobs shown to more workers than their openings, beyond them."""
    jobs = np.asarray(recommended_jobs, dtype=np.int64)
    if jobs.size == 0:
        return 0.0
    counts = np.bincount(jobs, minlength=len(openings))
    return float(np.maximum(0, counts - np.asarray(openings)).sum() / jobs.size)
