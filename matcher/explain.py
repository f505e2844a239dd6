"""Short sentences, in Chinese and English, that say why a job fits a worker.

A caseworker reads them aloud to the worker, so each clause names a concrete fact (the wished
occupation, the paired district, the wage against the worker's minimum), strongest first, and a
clause that counts against the job (wage below the minimum, no dorm) is said too.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.geo import is_tianjin, place_name
from matcher.records import Enterprise, Job, Worker
from matcher.scoring import FACTORS

_STRONG = 0.5


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
) -> list[Clause]:
    """The clauses for one pair, strongest contribution first; negative facts last."""
    out: list[Clause] = []
    neg: list[Clause] = []
    c = contributions
    title = job.title
    if values.get("occupation", 0) >= 1.0:
        name = occupation_name or title
        out.append(
            Clause(
                "occupation",
                c["occupation"],
                f"与期望职业一致（{name}）",
                f"matches the wished occupation ({name})",
            )
        )
    elif values.get("occupation", 0) > 0 or values.get("lexical", 0) >= _STRONG:
        key = "occupation" if values.get("occupation", 0) > 0 else "lexical"
        out.append(
            Clause(key, c[key], f"与期望职业相近（{title}）", f"close to the wished occupation ({title})")
        )
    if values.get("dense", 0) >= _STRONG and not out:
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
    )
    if not cl:
        return "可考虑", "a possible match"
    return "；".join(x.zh for x in cl), "; ".join(x.en for x in cl)


def factor_dict(row) -> dict[str, float]:  # noqa: ANN001 - a numpy row
    """A factor row as ``{name: value}`` rounded for display."""
    return {f: round(float(v), 4) for f, v in zip(FACTORS, row, strict=True)}
