"""The latent draws of the synthetic sample: who the workers are, which enterprises post which jobs.

Everything here works on whole numpy columns from one seeded generator; :mod:`matcher.sample.generate`
assembles the tables and :mod:`matcher.sample.text` writes the words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from matcher.geo import BUILTIN_PAIRINGS, PAIRED_COUNTIES, TIANJIN_DISTRICTS
from matcher.idcard import id_check_digits
from matcher.sample import vocab as V
from matcher.sample.arrays import Ragged, cat, choice_by_group, zfill

OPENINGS_PER_WORKER = 0.65  # sum of openings / workers, before the per-job caps bite
TIANJIN_CAP, LOCAL_CAP = 30, 10
MIN_AGE, MAX_AGE = 18, 59


@dataclass(frozen=True)
class Geo:
    """One partner city (Tianjin unless said otherwise), its districts and its paired counties."""

    districts: tuple[str, ...]
    counties: tuple[str, ...]  # paired counties with a pairing active in the year
    paired: np.ndarray  # (county, district) bool
    city: str = "天津"  # the city's short name, as in enterprise names
    names: Mapping[str, str] = field(default_factory=dict)  # names of codes outside matcher.geo's tables
    weights: Mapping[str, float] = field(default_factory=dict)  # relative sizes, else the vocabulary's
    core: frozenset[str] = V.CORE_DISTRICTS  # the city's central districts
    pairings: tuple[tuple[str, str, int], ...] = BUILTIN_PAIRINGS  # written to pairings.csv

    @classmethod
    def for_year(cls, year: int) -> Geo:
        return cls.of_city(year, tuple(TIANJIN_DISTRICTS), BUILTIN_PAIRINGS)

    @classmethod
    def of_city(
        cls, year: int, districts: tuple[str, ...], pairings: tuple[tuple[str, str, int], ...], **kw: object
    ) -> Geo:
        """The city of ``districts`` with the counties of its ``pairings`` active in ``year``."""
        active = [p for p in pairings if p[2] <= year] or list(pairings)
        counties = tuple(dict.fromkeys(c for _, c, _ in active))
        paired = np.zeros((len(counties), len(districts)), dtype=bool)
        for d, c, _ in active:
            paired[counties.index(c), districts.index(d)] = True
        return cls(districts, counties, paired, pairings=pairings, **kw)  # type: ignore[arg-type]

    def name(self, code: str) -> str:
        """The name of a district or county of this city."""
        if code in self.names:
            return self.names[code]
        return TIANJIN_DISTRICTS.get(code) or PAIRED_COUNTIES[code][0]

    def weight(self, code: str, default: Mapping[str, float]) -> float:
        return self.weights[code] if code in self.weights else default[code]


def round100(x: np.ndarray) -> np.ndarray:
    return (np.round(np.asarray(x) / 100.0) * 100).astype(np.int64)


def normalise(w: np.typing.ArrayLike) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum(axis=-1, keepdims=True)


# ---- workers ------------------------------------------------------------------------------------


def draw_workers(rng: np.random.Generator, n: int, geo: Geo) -> dict[str, np.ndarray]:
    occ = V.OCCUPATIONS
    county = rng.choice(
        len(geo.counties), n, p=normalise([geo.weight(c, V.COUNTY_WEIGHTS) for c in geo.counties])
    )
    female = (rng.random(n) < 0.45).astype(np.int64)
    age = MIN_AGE + np.floor(rng.beta(1.8, 1.6, n) * (MAX_AGE - MIN_AGE + 1)).astype(np.int64)
    band = (age >= 30).astype(np.int64) + (age >= 45)
    # True occupation given (gender, age band): popularity x gender share x fit to the age window.
    pop = np.array([o.pop for o in occ])
    male = np.array([o.male for o in occ])
    probs = []
    for g in (0, 1):
        for mid in (24, 37, 52):
            fit = np.array([1.0 if o.ages[0] <= mid <= o.ages[1] else 0.15 for o in occ])
            probs.append(pop * (male if g == 0 else 1 - male) * fit)
    true_occ = choice_by_group(rng, female * 3 + band, normalise(np.array(probs)))
    mobility = choice_by_group(
        rng, band, np.array([[0.25, 0.35, 0.40], [0.40, 0.35, 0.25], [0.60, 0.30, 0.10]])
    )
    signal = rng.choice(4, n, p=[0.55, 0.15, 0.22, 0.08])
    other = choice_by_group(rng, female * 3 + band, normalise(np.array(probs)))
    other = np.where(other == true_occ, (other + 1) % len(occ), other)
    exp_occ = np.select([signal == 1, signal == 3], [other, -1], true_occ)
    exp_occ[(signal == 0) & (rng.random(n) < 0.2)] = -1  # some who say what they want never did it
    group = _groups(rng, county)
    lead = _group_leaders(group)
    mobility = np.where(group >= 0, mobility[lead], mobility)  # co-villagers travel together
    if n and not (mobility == 2).any():
        mobility[0] = 2  # at least one worker who goes anywhere keeps every Tianjin job reachable
    to_tj = rng.random(n) < np.array([0.05, 0.8, 0.85])[mobility]
    to_tj = np.where(group >= 0, to_tj[lead], to_tj)
    employed = rng.random(n) < 0.3
    low = np.array([o.wage[0] for o in occ])[true_occ]
    stated = np.where(to_tj, np.maximum(3000, low * rng.uniform(0.75, 1.0, n)), rng.uniform(1500, 3000, n))
    min_wage = round100(stated)
    true_min = round100(min_wage * rng.uniform(0.85, 1.1, n))
    needs_dorm = to_tj & (rng.random(n) < 0.8)
    return dict(
        county=county,
        female=female,
        age=age,
        band=band,
        true_occ=true_occ,
        mobility=mobility,
        signal=signal,
        exp_occ=exp_occ,
        group=group,
        to_tj=to_tj,
        employed=employed,
        min_wage=min_wage,
        true_min=true_min,
        needs_dorm=needs_dorm,
    )


def _groups(rng: np.random.Generator, county: np.ndarray) -> np.ndarray:
    """Group number per worker (-1: none): ~10% of workers, in groups of 2-5 from one county."""
    group = np.full(len(county), -1, dtype=np.int64)
    chosen = np.flatnonzero(rng.random(len(county)) < 0.11)
    next_id = 0
    for c in range(int(county.max(initial=-1)) + 1):
        members = chosen[county[chosen] == c]
        if len(members) < 2:
            continue
        sizes = rng.integers(2, 6, len(members) // 2 + 1)
        gid = np.searchsorted(np.cumsum(sizes), np.arange(len(members)), side="right")
        counts = np.bincount(gid)
        keep = counts[gid] >= 2  # a trailing group of one is no group
        _, dense = np.unique(gid[keep], return_inverse=True)
        group[members[keep]] = next_id + dense
        next_id += int(dense.max(initial=-1)) + 1
    return group


def _group_leaders(group: np.ndarray) -> np.ndarray:
    """Index of the first member of each worker's group (the worker itself when ungrouped)."""
    lead = np.arange(len(group))
    g = group >= 0
    if g.any():
        first = np.full(int(group.max()) + 1, len(group))
        np.minimum.at(first, group[g], lead[g])
        lead[g] = first[group[g]]
    return lead


def id_numbers(rng: np.random.Generator, w: dict[str, np.ndarray], geo: Geo, year: int) -> np.ndarray:
    """Valid 18-character ID numbers, unique while a (county, birth date, gender) cell has < 499 people."""
    n = len(w["age"])
    if not n:
        return np.array([], dtype=np.str_)
    birth_year = year - w["age"]
    start = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    leap = (birth_year % 4 == 0) & ((birth_year % 100 != 0) | (birth_year % 400 == 0))
    born = start + np.floor(rng.random(n) * (365 + leap)).astype("timedelta64[D]")
    cell = (w["county"] * 80_000 + born.astype(np.int64) + 40_000) * 2 + w["female"]
    order = np.argsort(cell, kind="stable")
    sc = cell[order]
    first = np.r_[True, sc[1:] != sc[:-1]] if n else np.zeros(0, bool)
    starts = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts
    offset = rng.integers(0, 499, n)
    offset[order] = offset[order][starts]  # one random start per cell, then distinct steps
    slot = (offset + rank * 7) % 499
    seq = slot * 2 + np.where(w["female"] == 1, 2, 1)  # odd for men, even for women
    county = np.array(geo.counties)[w["county"]]
    date = np.strings.replace(np.datetime_as_string(born, unit="D"), "-", "")
    body = cat(county, date, zfill(seq, 3))
    return np.strings.add(body, id_check_digits(body))


_PHONE_SEGMENTS = np.array(
    (
        "130 131 132 133 134 135 136 137 138 139 147 150 151 152 153 155 156 "
        "157 158 159 166 173 177 178 180 181 182 183 185 186 187 188 189 191 "
        "198 199"
    ).split()
)


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    seg = rng.integers(0, len(_PHONE_SEGMENTS), n)
    tail = rng.integers(0, 100_000_000, n)
    while True:  # redraw duplicates (a few hundred per million) until every number is unique
        key = seg * 100_000_000 + tail
        _, first = np.unique(key, return_index=True)
        dup = np.ones(n, bool)
        dup[first] = False
        if not dup.any():
            break
        tail[dup] = rng.integers(0, 100_000_000, int(dup.sum()))
    return np.strings.add(_PHONE_SEGMENTS[seg], zfill(tail, 8))


# ---- enterprises and jobs ----------------------------------------------------------------------


def draw_enterprises(rng: np.random.Generator, n_jobs: int, geo: Geo, county_has_workers: np.ndarray):
    m = max(n_jobs, 1)
    tj = rng.random(m) < 0.62
    k = np.where(tj, np.minimum(rng.geometric(0.4, m), 8), np.minimum(rng.geometric(0.65, m), 4))
    cum = np.cumsum(k)
    n_ent = int(np.searchsorted(cum, n_jobs)) + 1 if n_jobs else 0
    tj, k = tj[:n_ent], k[:n_ent].copy()
    if n_ent:
        k[-1] = n_jobs - (cum[n_ent - 2] if n_ent > 1 else 0)
    n_tj_sec = len(V.TIANJIN_SECTORS)
    dw = np.array([geo.weight(d, V.DISTRICT_WEIGHTS) for d in geo.districts])
    district = rng.choice(len(geo.districts), n_ent, p=normalise(dw))
    core = np.isin(np.array(geo.districts)[district], sorted(geo.core)).astype(np.int64)
    zone_w = np.array([[s[3][1] for s in V.TIANJIN_SECTORS], [s[3][0] for s in V.TIANJIN_SECTORS]])
    tj_sector = choice_by_group(rng, core, normalise(zone_w))
    cw = np.array([geo.weight(c, V.COUNTY_WEIGHTS) for c in geo.counties], dtype=float)
    if county_has_workers.any():  # a workshop only where someone lives who could take its jobs
        cw *= county_has_workers
    county = rng.choice(len(geo.counties), n_ent, p=normalise(cw))
    local_sector = rng.choice(len(V.LOCAL_SECTORS), n_ent, p=normalise([s[4] for s in V.LOCAL_SECTORS]))
    kinds = Ragged([s[3] for s in V.LOCAL_SECTORS])
    kind = np.where(tj, "company", kinds.pick(local_sector, rng.random(n_ent)))
    sector = np.where(tj, tj_sector, n_tj_sec + local_sector)
    base = rng.random(n_ent) < np.where(tj, 0.28, 0.05)
    loc = np.where(tj, district, len(geo.districts) + county)  # location index: districts, then counties
    return dict(tj=tj, k=k, sector=sector, kind=kind, base=base, loc=loc, core=core)


def _sector_matrix() -> np.ndarray:
    rows = [s[2] for s in V.TIANJIN_SECTORS] + [s[2] for s in V.LOCAL_SECTORS]
    mat = np.zeros((len(rows), len(V.OCCUPATIONS)))
    for i, weights in enumerate(rows):
        for code, wt in weights.items():
            mat[i, V.OCC_INDEX[code]] = wt
    return normalise(mat)


def _openings(rng: np.random.Generator, tj: np.ndarray, target: int) -> np.ndarray:
    """Openings per job, skewed, within the caps, summing to about ``target`` where the caps allow."""
    weight = np.where(tj, rng.lognormal(0.0, 0.8, len(tj)) * 2.0, rng.lognormal(0.0, 0.6, len(tj)))
    cap = np.where(tj, TIANJIN_CAP, LOCAL_CAP)

    def openings(scale: float) -> np.ndarray:
        return np.minimum(1 + np.floor(scale * weight), cap).astype(np.int64)

    lo, hi = 0.0, 1.0
    while openings(hi).sum() < target and hi < 1e9:
        hi *= 2
    for _ in range(60):  # bisection: the smallest scale that reaches the target
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if openings(mid).sum() < target else (lo, mid)
    return openings(hi)


def draw_jobs(rng: np.random.Generator, ent: dict, n_workers: int, geo: Geo) -> dict[str, np.ndarray]:
    occ = V.OCCUPATIONS
    e = np.repeat(np.arange(len(ent["tj"])), ent["k"])
    n = len(e)
    tj = ent["tj"][e]
    o = choice_by_group(rng, ent["sector"][e], _sector_matrix())
    col = {name: np.array([getattr(x, name) for x in occ]) for name in ("acc", "only_m", "only_f")}
    wage, ages = np.array([x.wage for x in occ]), np.array([x.ages for x in occ])
    # Outsourced security, cleaning and home-care staff often work in another district.
    outsourcing = [i for i, s in enumerate(V.TIANJIN_SECTORS) if s[0] in ("property", "housekeeping")]
    moves = tj & np.isin(ent["sector"][e], outsourcing) & (rng.random(n) < 0.2)
    dw = normalise([geo.weight(d, V.DISTRICT_WEIGHTS) for d in geo.districts])
    elsewhere = rng.choice(len(geo.districts), n, p=dw)
    loc = np.where(moves, elsewhere, ent["loc"][e])
    lo, hi = wage[o, 0], wage[o, 1]
    bonus = np.where(ent["base"][e], 1.05, 1.0)
    tj_min = round100((lo + (hi - lo) * rng.uniform(0, 0.5, n)) * bonus)
    tj_max = round100(tj_min + (hi - lo) * rng.uniform(0.25, 0.6, n))
    loc_min = round100(rng.uniform(1800, 2800, n))
    loc_max = np.minimum(3500, loc_min + round100(rng.uniform(300, 900, n)))
    age_min = ages[o, 0] + rng.choice([0, 0, 0, 2, 5], n)
    age_max = np.maximum(ages[o, 1] - rng.choice([0, 0, 0, 3, 5, 10], n), age_min + 10)
    age_max = np.where(tj, age_max, np.minimum(MAX_AGE, age_max + 5))  # workshops take older hands
    age_max = np.where((age_min <= MIN_AGE) & (age_max >= MAX_AGE), 55, np.minimum(age_max, MAX_AGE))
    u = rng.random(n) * np.where(tj, 1.0, 2.0)  # local postings restrict gender half as often
    gender = np.select([u < col["only_m"][o], u < col["only_m"][o] + col["only_f"][o]], [1, 2], 0)
    accommodation = tj & (rng.random(n) < col["acc"][o])
    openings = _openings(rng, tj, round(OPENINGS_PER_WORKER * n_workers))
    return dict(
        ent=e,
        occ=o,
        tj=tj,
        moved=moves,
        loc=loc,
        openings=openings,
        wage_min=np.where(tj, tj_min, loc_min),
        wage_max=np.where(tj, tj_max, loc_max),
        age_min=age_min,
        age_max=age_max,
        gender=gender,
        accommodation=accommodation,
    )


def _accepts(w: dict[str, np.ndarray], geo: Geo) -> np.ndarray:
    """(location, worker) bool: where each worker accepts a job (matcher.geo.accepted_locations)."""
    nd = len(geo.districts)
    acc = np.zeros((nd + len(geo.counties), len(w["county"])), dtype=bool)
    acc[:nd] = (w["mobility"] == 2) | ((w["mobility"] == 1) & geo.paired[w["county"]].T)
    acc[nd + w["county"], np.arange(len(w["county"]))] = True
    return acc


def make_satisfiable(rng: np.random.Generator, jobs: dict, w: dict, geo: Geo) -> None:
    """Widen the age window / drop the gender rule of any job no worker could take (in place)."""
    n_loc = len(geo.districts) + len(geo.counties)
    ages = MAX_AGE + 2
    nd = len(geo.districts)
    # Workers counted by (location they accept, gender, age), prefix-summed over age.
    cube = np.zeros((n_loc, 2, ages))
    key = w["female"] * ages + w["age"]
    for m in (2, 1, 0):
        sel = w["mobility"] == m
        counts = np.zeros((len(geo.counties), 2 * ages))
        np.add.at(counts, (w["county"][sel], key[sel]), 1)
        per_county = counts.reshape(-1, 2, ages)
        cube[nd:] += per_county
        if m == 2:
            cube[:nd] += per_county.sum(axis=0)
        elif m == 1:
            cube[:nd] += np.einsum("cd,cga->dga", geo.paired.astype(float), per_county)
    pref = np.concatenate([np.zeros((n_loc, 2, 1)), np.cumsum(cube, axis=2)], axis=2)
    a0, a1 = jobs["age_min"], np.minimum(jobs["age_max"], MAX_AGE) + 1
    count = np.zeros(len(a0))
    for g in (0, 1):
        ok = (jobs["gender"] == 0) | (jobs["gender"] == g + 1)
        count += ok * (pref[jobs["loc"], g, a1] - pref[jobs["loc"], g, np.minimum(a0, a1)])
    bad = np.flatnonzero(count == 0)
    if not len(bad):
        return
    acc = _accepts(w, geo)
    for j in bad:  # rare: only small samples get here
        cand = np.flatnonzero(acc[jobs["loc"][j]])
        pick = cand[rng.integers(len(cand))]
        if jobs["gender"][j] and jobs["gender"][j] != w["female"][pick] + 1:
            jobs["gender"][j] = 0
        age = w["age"][pick]
        jobs["age_min"][j] = min(jobs["age_min"][j], age)
        jobs["age_max"][j] = max(jobs["age_max"][j], age)
        if jobs["age_min"][j] <= MIN_AGE and jobs["age_max"][j] >= MAX_AGE:
            if age <= 55:
                jobs["age_max"][j] = 55
            else:
                jobs["age_min"][j] = 22
