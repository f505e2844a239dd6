"""A columnar view of a :class:`~matcher.dataset.Dataset` for vectorised rules and scoring.

Workers and jobs get dense indices (their order in the data set); locations get indices into
``location_codes``. Everything the hard rules and the factors need per worker or per job is an
array here, so candidate edges can be checked and scored without a Python loop over edges.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from matcher.dataset import Dataset
from matcher.errors import InputError
from matcher.geo import PairingMap, accepted_locations, is_tianjin
from matcher.records import Gender, JobGender, Mobility, Worker

_MOBILITY = {Mobility.local: 0, Mobility.paired: 1, Mobility.anywhere: 2}


def code_number(code: str) -> int:
    """A CSCO code ``4-07-05-01`` as the number 4070501 (-1 for blank or malformed)."""
    digits = code.replace("-", "")
    return int(digits) if len(digits) == 7 and digits.isdigit() else -1


def _f(values: list[int | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _i(values: list[int | None]) -> np.ndarray:
    return np.array([-1 if v is None else int(v) for v in values], dtype=np.int32)


@dataclass
class MatchContext:
    """Arrays over workers (W), jobs (J), enterprises (N) and locations (L)."""

    year: int
    location_codes: list[str]
    # workers
    worker_age: np.ndarray  # int32 (W,)
    worker_male: np.ndarray  # bool (W,)
    worker_min_wage: np.ndarray  # float64 (W,), NaN unknown
    worker_county: np.ndarray  # int32 (W,) location index of the home county
    worker_mobility: np.ndarray  # int8 (W,) 0 local, 1 paired, 2 anywhere
    worker_unemployed: np.ndarray  # bool (W,)
    worker_allowed: np.ndarray  # bool (W, L)
    worker_group: np.ndarray  # int32 (W,), -1 none
    # jobs
    job_location: np.ndarray  # int32 (J,)
    job_enterprise: np.ndarray  # int32 (J,)
    job_openings: np.ndarray  # int64 (J,)
    job_age_min: np.ndarray  # int32, -1 none
    job_age_max: np.ndarray
    job_gender: np.ndarray  # int8, 0 any 1 male 2 female
    job_wage_min: np.ndarray  # float64, NaN
    job_wage_max: np.ndarray
    job_accommodation: np.ndarray  # bool
    job_code: np.ndarray  # int64 code number, -1
    job_is_tianjin: np.ndarray  # bool
    # enterprises
    enterprise_base: np.ndarray  # bool (N,)
    enterprise_capacity: np.ndarray  # int64 (N,), -1 no cap
    enterprise_dorm_beds: np.ndarray  # int64 (N,), -1 unknown
    # locations
    paired: np.ndarray  # bool (L, L): paired[county_loc, district_loc]
    pairing: PairingMap | None = None  # the pairings in force at ``year`` (for new workers)

    @property
    def n_workers(self) -> int:
        return int(self.worker_age.shape[0])

    @property
    def n_jobs(self) -> int:
        return int(self.job_location.shape[0])

    @classmethod
    def build(cls, ds: Dataset, year: int) -> MatchContext:
        """Build the arrays for data set ``ds`` at reference ``year``."""
        pmap = ds.pairing_map(year)
        codes: set[str] = {w.home_county_code for w in ds.workers}
        codes |= {ds.job_location(j) for j in ds.jobs}
        codes |= set(pmap.counties_of_district) | set(pmap.districts_of_county)
        from matcher.geo import ALL_DISTRICTS

        codes |= ALL_DISTRICTS
        location_codes = sorted(codes)
        loc = {c: i for i, c in enumerate(location_codes)}
        n_loc = len(location_codes)

        paired = np.zeros((n_loc, n_loc), dtype=bool)
        for county, districts in pmap.districts_of_county.items():
            for d in districts:
                if county in loc and d in loc:
                    paired[loc[county], loc[d]] = True
        wcols = worker_columns(ds.workers, loc, pmap, year)
        ent_idx = {e.enterprise_id: i for i, e in enumerate(ds.enterprises)}
        jobs = ds.jobs
        jg = {JobGender.any: 0, JobGender.male: 1, JobGender.female: 2}
        return cls(
            year=year,
            location_codes=location_codes,
            **wcols,
            job_location=np.array([loc[ds.job_location(j)] for j in jobs], dtype=np.int32),
            job_enterprise=np.array([ent_idx[j.enterprise_id] for j in jobs], dtype=np.int32),
            job_openings=np.array([j.openings for j in jobs], dtype=np.int64),
            job_age_min=_i([j.age_min for j in jobs]),
            job_age_max=_i([j.age_max for j in jobs]),
            job_gender=np.array([jg[j.gender] for j in jobs], dtype=np.int8),
            job_wage_min=_f([j.wage_min for j in jobs]),
            job_wage_max=_f([j.wage_max for j in jobs]),
            job_accommodation=np.array([j.accommodation for j in jobs], dtype=bool),
            job_code=np.array([code_number(j.occupation_code) for j in jobs], dtype=np.int64),
            job_is_tianjin=np.array([is_tianjin(ds.job_location(j)) for j in jobs], dtype=bool),
            enterprise_base=np.array([e.employment_base for e in ds.enterprises], dtype=bool),
            enterprise_capacity=np.array(
                [-1 if e.capacity is None else e.capacity for e in ds.enterprises], dtype=np.int64
            ),
            enterprise_dorm_beds=np.array(
                [-1 if e.dorm_beds is None else e.dorm_beds for e in ds.enterprises], dtype=np.int64
            ),
            paired=paired,
            pairing=pmap,
        )

    def with_workers(self, workers: list[Worker]) -> MatchContext:
        """The same jobs and places with ``workers`` instead (e.g. a new profile); arrays are shared.

        Each worker's home county must be one of this context's locations (a paired county, or a
        place with jobs or workers), else :class:`~matcher.errors.InputError`.
        """
        loc = {c: i for i, c in enumerate(self.location_codes)}
        pmap = self.pairing or PairingMap()
        return replace(self, **worker_columns(workers, loc, pmap, self.year))

    def hard_rules(self, ew: np.ndarray, ej: np.ndarray) -> np.ndarray:
        """Bool (E,): the edges that pass location, age and gender rules."""
        from matcher.scoring.factors import age_gender_ok

        ok = self.worker_allowed[ew, self.job_location[ej]]
        ok &= age_gender_ok(
            self.worker_age[ew],
            self.worker_male[ew],
            self.job_age_min[ej],
            self.job_age_max[ej],
            self.job_gender[ej],
        )
        return ok

    def away_from_home(self, ew: np.ndarray, ej: np.ndarray) -> np.ndarray:
        """Bool (E,): the job is outside the worker's home county (needs accommodation)."""
        return self.job_location[ej] != self.worker_county[ew]


def worker_columns(workers: list[Worker], loc: dict[str, int], pmap: PairingMap, year: int) -> dict[str, Any]:
    """The per-worker arrays of a :class:`MatchContext` (fields ``worker_*``)."""
    # the places a worker accepts depend on home county and mobility only: one row per pair
    pairs: dict[tuple[str, Mobility], int] = {}
    firsts: list[Worker] = []
    pair_of = np.empty(len(workers), dtype=np.int64)
    for i, w in enumerate(workers):
        if w.home_county_code not in loc:
            raise InputError(
                f"home county {w.home_county_code} of worker {w.worker_id} is not a known place "
                "(no pairing, job or worker there)",
                field="home_county_code",
                value=w.home_county_code,
            )
        key = (w.home_county_code, w.mobility)
        k = pairs.get(key)
        if k is None:
            k = pairs[key] = len(firsts)
            firsts.append(w)
        pair_of[i] = k
    accepts = np.zeros((len(firsts), len(loc)), dtype=bool)
    for k, w in enumerate(firsts):
        accepts[k, [loc[c] for c in accepted_locations(w, pmap) if c in loc]] = True
    allowed = accepts[pair_of]
    groups: dict[str, int] = {}
    return dict(
        worker_age=np.array([year - w.birth_year for w in workers], dtype=np.int32),
        worker_male=np.array([w.gender is Gender.male for w in workers], dtype=bool),
        worker_min_wage=_f([w.min_wage for w in workers]),
        worker_county=np.array([loc[w.home_county_code] for w in workers], dtype=np.int32),
        worker_mobility=np.array([_MOBILITY[w.mobility] for w in workers], dtype=np.int8),
        worker_unemployed=np.array([w.employment_status.value == "unemployed" for w in workers], dtype=bool),
        worker_allowed=allowed,
        worker_group=np.array(
            [groups.setdefault(w.group_id, len(groups)) if w.group_id else -1 for w in workers],
            dtype=np.int32,
        ),
    )
