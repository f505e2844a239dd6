"""An independent check of a placement against the records and the rules.

It re-derives every rule from the records themselves (not from the arrays the pipeline built),
so it catches a wrong assignment whatever produced it: one job per worker, the openings of each
job, each enterprise's capacity, the location rule, age limits and gender requirements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from matcher.dataset import Dataset
from matcher.geo import accepted_locations
from matcher.records import JobGender


def check_placement(ds: Dataset, year: int, assignments: Iterable[tuple[str, str]]) -> list[str]:
    """Violations of ``assignments`` (worker_id, job_id) pairs; an empty list means feasible."""
    pmap = ds.pairing_map(year)
    problems: list[str] = []
    pairs = list(assignments)
    per_worker = Counter(w for w, _ in pairs)
    problems += [f"worker {w} is assigned {n} jobs" for w, n in per_worker.items() if n > 1]
    per_job = Counter(j for _, j in pairs)
    per_ent: Counter[str] = Counter()
    for w_id, j_id in pairs:
        w = ds.worker_by_id.get(w_id)
        j = ds.job_by_id.get(j_id)
        if w is None or j is None:
            problems.append(f"unknown worker {w_id} or job {j_id}")
            continue
        per_ent[j.enterprise_id] += 1
        loc = ds.job_location(j)
        if loc not in accepted_locations(w, pmap):
            problems.append(f"worker {w_id} does not accept location {loc} of job {j_id}")
        age = w.age(year)
        if (j.age_min is not None and age < j.age_min) or (j.age_max is not None and age > j.age_max):
            problems.append(f"worker {w_id} aged {age} is outside job {j_id}'s {j.age_min}-{j.age_max}")
        if j.gender is not JobGender.any and j.gender.value != w.gender.value:
            problems.append(
                f"worker {w_id} ({w.gender.value}) fails job {j_id}'s gender rule ({j.gender.value})"
            )
    for j_id, n in per_job.items():
        job = ds.job_by_id.get(j_id)
        if job is not None and n > job.openings:
            problems.append(f"job {j_id} has {n} workers for {job.openings} openings")
    for e_id, n in per_ent.items():
        cap = ds.enterprise_by_id[e_id].capacity
        if cap is not None and n > cap:
            problems.append(f"enterprise {e_id} has {n} workers over its capacity {cap}")
    return problems
