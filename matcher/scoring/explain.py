"""Short sentences, in Chinese and English, that say why a job fits a worker.

A caseworker reads them aloud to the worker, so each clause names a concrete fact (the wished
occupation, the paired district, the wage against the worker's minimum), strongest first, and a
clause that counts against the job (wage below the minimum, no dorm) is said too.

A claim of closeness ("与期望职业相近", "与求职意向相似") is made only when that factor ranks the job
above the worker's median candidate (:func:`factor_medians`): a factor every candidate shares
explains nothing. "与期望职业一致" is said whenever both sides surely name the same occupation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from matcher.geo import is_tianjin, place_name
from matcher.records import Enterprise, Job, Worker

_STRONG = 0.5
_SAME = 0.8  # occupation factor from which both sides name the same code (e.g. each 0.8 sure of it)


@dataclass(frozen=True)
class Clause:
    factor: str
    weight: float  # contribution to the score, for ordering
    zh: str
    en: str


def _top_wage(job: Job) -> int:
    """The most the job pays (its maximum, else its minimum)."""
    return job.wage_max if job.wage_max is not None else (job.wage_min or 0)


def _wage_text(job: Job) -> tuple[str, str]:
    if job.wage_min is not None and job.wage_max is not None and job.wage_min != job.wage_max:
        return f"{job.wage_min}–{job.wage_max}", f"{job.wage_min}–{job.wage_max}"
    w = job.wage_min if job.wage_min is not None else job.wage_max
    return str(w), str(w)


def clauses(
    worker: Worker,
    job: Job,
    enterprise: Enterprise,
    values: dict[str, float],
    contributions: dict[str, float],
    *,
    location_code: str,
    occupation_name: str = "",
    median: Mapping[str, float] | None = None,
) -> list[Clause]:
    """The clauses for one pair, strongest contribution first; negative facts last.

    ``median``: the worker's median candidate's factor values; a fit is claimed only above it."""
    out: list[Clause] = []
    neg: list[Clause] = []
    c = contributions

    def above(factor: str) -> bool:
        m = (median or {}).get(factor)
        return m is None or not np.isfinite(m) or values.get(factor, 0) > m

    title = job.title
    occupation = values.get("occupation", 0)
    if occupation >= _SAME:  # a sure match is said even when the worker's other candidates share it
        name = occupation_name or title
        out.append(
            Clause(
                "occupation",
                c["occupation"],
                f"与期望职业一致（{name}）",
                f"matches the wished occupation ({name})",
            )
        )
    elif (close_occupation := occupation >= _STRONG and above("occupation")) or (
        values.get("lexical", 0) >= _STRONG and above("lexical")
    ):
        key = "occupation" if close_occupation else "lexical"
        out.append(
            Clause(key, c[key], f"与期望职业相近（{title}）", f"close to the wished occupation ({title})")
        )
    if values.get("dense", 0) >= _STRONG and above("dense") and not out:
        out.append(
            Clause(
                "dense", c["dense"], "与求职意向和经历相似", "similar to the worker's wishes and experience"
            )
        )
    place = place_name(location_code)
    if values.get("pairing", 0) >= 1.0:
        out.append(Clause("pairing", c["pairing"], f"位于结对区{place}", f"in the paired district {place}"))
    elif location_code == worker.home_county_code:
        out.append(
            Clause("stay_fit", c.get("stay_fit", 0), f"在家乡{place}就近就业", f"close to home in {place}")
        )
    if values.get("employment_base", 0) >= 1.0:
        out.append(
            Clause("employment_base", c["employment_base"], "就业基地企业", "an employment-base enterprise")
        )
    away = location_code != worker.home_county_code
    if away and job.accommodation:
        out.append(Clause("stay_fit", c.get("stay_fit", 0), "提供住宿", "accommodation provided"))
    elif away and is_tianjin(location_code):
        neg.append(Clause("stay_fit", 0.0, "不提供住宿", "no accommodation"))
    wz, we = _wage_text(job)
    if worker.min_wage is not None and (job.wage_min is not None or job.wage_max is not None):
        if values.get("wage", 0) >= 1.0:
            out.append(
                Clause(
                    "wage",
                    c["wage"],
                    f"月薪{wz}≥期望{worker.min_wage}",
                    f"wage {we} ≥ wished {worker.min_wage}",
                )
            )
        elif values.get("wage", 0) > 0 or _top_wage(job) >= worker.min_wage:
            neg.append(
                Clause(
                    "wage",
                    0.0,
                    f"月薪{wz}部分达到期望{worker.min_wage}",
                    f"wage {we} partly meets {worker.min_wage}",
                )
            )
        else:
            neg.append(
                Clause(
                    "wage",
                    0.0,
                    f"月薪{wz}低于期望{worker.min_wage}",
                    f"wage {we} below wished {worker.min_wage}",
                )
            )
    if values.get("skills", 0) >= _STRONG:
        out.append(Clause("skills", c["skills"], "技能或经历对口", "skills or experience fit"))
    out.sort(key=lambda cl: -cl.weight)
    return out + neg


def explain(
    worker: Worker,
    job: Job,
    enterprise: Enterprise,
    values: dict[str, float],
    contributions: dict[str, float],
    *,
    location_code: str,
    occupation_name: str = "",
    median: Mapping[str, float] | None = None,
) -> tuple[str, str]:
    """(Chinese, English) sentences for one pair, e.g. 与期望职业一致（保安员）；位于结对区东丽区."""
    cl = clauses(
        worker,
        job,
        enterprise,
        values,
        contributions,
        location_code=location_code,
        occupation_name=occupation_name,
        median=median,
    )
    if not cl:
        return "可考虑", "a possible match"
    return "；".join(x.zh for x in cl), "; ".join(x.en for x in cl)


def factor_medians(worker: np.ndarray, values: np.ndarray, n: int | None = None) -> np.ndarray:
    """Each worker's median factor values over its candidate edges: (n, F) with NaN for a worker
    without edges; with ``n=None``, (distinct workers, F) in the order of ``np.unique(worker)``.

    ``worker`` (E,) are the edges' worker rows, ``values`` (E, F) their factor values.
    """
    rows, starts, counts = np.unique(np.sort(worker), return_index=True, return_counts=True)
    med = np.empty((rows.size, values.shape[1]), dtype=np.float64)
    lo, hi = starts + (counts - 1) // 2, starts + counts // 2
    for f in range(values.shape[1]):
        v = values[np.lexsort((values[:, f], worker)), f].astype(np.float64)
        med[:, f] = (v[lo] + v[hi]) / 2
    if n is None:
        return med
    out = np.full((n, values.shape[1]), np.nan, dtype=np.float64)
    out[rows] = med
    return out
