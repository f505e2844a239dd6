"""A realistic synthetic programme: workers, enterprises, jobs, pairings, and the hidden truth.

:func:`generate_sample` builds every column as a numpy array from one seeded
``Generator(PCG64(seed))``, so the same ``(n_workers, n_jobs, seed, year)`` always gives the same
data and :func:`write_sample` the same bytes. Only built-in tables are used (:mod:`matcher.geo`,
:mod:`matcher.sample.vocab`); the shared data folder is never read.

Each worker has a latent *true occupation* (what they would do well and stay in) and a latent
preferred location; what the files show is noisy evidence of them (``signal`` in ``truth.csv``):

- ``stated``: the wish names the true occupation; experience, if any, agrees;
- ``switch``: the wish names the true occupation, but experience and skills come from another;
- ``vague``: the wish is vague (什么都行, 普工 ...); experience and skills reveal it;
- ``hidden``: vague wish, no experience, no occupation skills.

Location rule used to keep every job satisfiable is :func:`matcher.geo.accepted_locations`: the
home county always, ``paired`` adds the paired districts, ``anywhere`` all of Tianjin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.errors import ConfigError
from matcher.records import COLUMNS
from matcher.sample import vocab as V
from matcher.sample.arrays import Ragged, cat, zfill
from matcher.sample.draw import (
    Geo,
    draw_enterprises,
    draw_jobs,
    draw_workers,
    id_numbers,
    make_satisfiable,
    phones,
)
from matcher.sample.text import enterprise_names, job_descriptions, worker_texts

HEADERS: dict[str, tuple[str, ...]] = {
    **{name: COLUMNS[name] for name in ("workers", "enterprises", "jobs", "pairings")},
    "truth": (
        "worker_id",
        "true_occupation_code",
        "true_family",
        "true_preferred_location",
        "true_min_wage",
        "true_needs_dorm",
        "signal",
    ),
}
TABLES = tuple(HEADERS)
BLANK_IF_NEGATIVE = frozenset({"capacity"})  # -1 in the array is a blank cell in the file
MOBILITY = np.array(["local", "paired", "anywhere"])
GENDER = np.array(["male", "female"])
JOB_GENDER = np.array(["any", "male", "female"])
SIGNALS = np.array(["stated", "switch", "vague", "hidden"])


@dataclass(frozen=True)
class SampleData:
    """The generated tables, each a dict of equal-length numpy arrays keyed in :data:`HEADERS` order.

    Integer columns are ``int64`` (``capacity`` uses -1 for "no cap"), flags are ``bool``, text is
    numpy ``str_``. ``truth`` is never part of the product's input: only benchmarks read it.
    """

    workers: dict[str, np.ndarray]
    enterprises: dict[str, np.ndarray]
    jobs: dict[str, np.ndarray]
    pairings: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    seed: int
    year: int

    def table(self, name: str) -> dict[str, np.ndarray]:
        return getattr(self, name)

    def __len__(self) -> int:
        return len(self.workers["worker_id"])


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.strings.add(prefix, zfill(np.arange(1, n + 1), max(width, len(str(n)))))


# ---- assembly ----------------------------------------------------------------------------------


def generate_sample(
    n_workers: int, n_jobs: int, seed: int = 0, year: int | None = None, *, geo: Geo | None = None
) -> SampleData:
    """Generate a synthetic programme: ``n_workers`` workers and ``n_jobs`` job postings.

    Deterministic in ``(n_workers, n_jobs, seed, year)``; ``year`` (default: this year) is the
    reference for ages and for which pairings are active. Sum of openings is about 0.65 x workers
    where the per-job caps allow (1-30 in Tianjin, 1-10 in the counties). ``geo`` is the partner
    city (default: Tianjin and its built-in pairings; see :mod:`matcher.sample.national`).
    """
    year = dt.date.today().year if year is None else int(year)
    if n_workers < 0 or n_jobs < 0 or seed < 0:
        raise ConfigError("workers, jobs and seed must not be negative")
    if n_jobs and not n_workers:
        raise ConfigError("jobs need at least one worker: every job must be satisfiable by someone")
    rng = np.random.Generator(np.random.PCG64(seed))
    geo = geo or Geo.for_year(year)
    w = draw_workers(rng, n_workers, geo)
    has_workers = np.bincount(w["county"], minlength=len(geo.counties)) > 0
    ent = draw_enterprises(rng, n_jobs, geo, has_workers)
    jobs = draw_jobs(rng, ent, n_workers, geo)
    make_satisfiable(rng, jobs, w, geo)
    n_ent = len(ent["tj"])

    codes = np.array(geo.districts + geo.counties)
    ent_names = enterprise_names(rng, ent, geo)
    per_ent = np.bincount(jobs["ent"], weights=jobs["openings"], minlength=n_ent)
    dorm_need = np.bincount(jobs["ent"], weights=jobs["openings"] * jobs["accommodation"], minlength=n_ent)
    dorm_beds = np.round(dorm_need * rng.uniform(0.7, 1.3, n_ent)).astype(np.int64)
    capped = ent["tj"] & (ent["k"] >= 2) & (rng.random(n_ent) < 0.15)
    capacity = np.where(capped, np.ceil(per_ent * rng.uniform(0.5, 0.9, n_ent)), -1).astype(np.int64)
    enterprise_ids = _ids("E", n_ent, 5)
    enterprises = dict(
        enterprise_id=enterprise_ids,
        name=ent_names,
        kind=ent["kind"].astype(np.str_),
        location_code=codes[ent["loc"]],
        employment_base=ent["base"],
        capacity=capacity,
        dorm_beds=dorm_beds,
    )
    # The survey's and the programme's columns (issue 17) come from a stream of their own, so the
    # columns above stay what they were for the same seed.
    extra = np.random.Generator(np.random.PCG64([seed, 17]))
    enterprises |= _contacts(extra, ent["tj"].astype(bool))

    occ_codes = np.array([o.code for o in V.OCCUPATIONS])
    titles = Ragged([o.titles for o in V.OCCUPATIONS]).pick(jobs["occ"], rng.random(len(jobs["occ"])))
    jobs_out = dict(
        job_id=_ids("J", len(jobs["occ"]), 6),
        enterprise_id=enterprise_ids[jobs["ent"]],
        title=titles,
        description=job_descriptions(rng, jobs),
        occupation_code=occ_codes[jobs["occ"]],
        openings=jobs["openings"],
        wage_min=jobs["wage_min"],
        wage_max=jobs["wage_max"],
        location_code=np.where(jobs["moved"], codes[jobs["loc"]], ""),
        age_min=jobs["age_min"].astype(np.int64),
        age_max=jobs["age_max"].astype(np.int64),
        gender=JOB_GENDER[jobs["gender"]],
        accommodation=jobs["accommodation"],
    )
    jobs_out |= _posting_dates(extra, len(jobs["occ"]), year)

    worker_ids = _ids("W", n_workers, 7)
    text = worker_texts(rng, w, geo, ent_names)
    workers = dict(
        worker_id=worker_ids,
        name=text["name"],
        id_number=id_numbers(rng, w, geo, year),
        phone=phones(rng, n_workers),
        gender=GENDER[w["female"]],
        birth_year=year - w["age"],
        home_county_code=np.array(geo.counties)[w["county"]],
        education=text["education"],
        skills=text["skills"],
        experience=text["experience"],
        desired_occupations=text["desired"],
        mobility=MOBILITY[w["mobility"]],
        min_wage=w["min_wage"],
        employment_status=np.where(w["employed"], "employed", "unemployed"),
        current_employer=text["employer"],
        group_id=np.where(w["group"] >= 0, np.strings.add("G", zfill(w["group"] + 1, 5)), ""),
    )
    workers |= _survey(extra, w, geo, workers["phone"])
    pairings = dict(
        district_code=np.array([p[0] for p in geo.pairings]),
        county_code=np.array([p[1] for p in geo.pairings]),
        since_year=np.array([p[2] for p in geo.pairings], dtype=np.int64),
    )
    truth = dict(
        worker_id=worker_ids,
        true_occupation_code=occ_codes[w["true_occ"]],
        true_family=np.array([o.family for o in V.OCCUPATIONS])[w["true_occ"]],
        true_preferred_location=np.where(w["to_tj"], "tianjin", "home"),
        true_min_wage=w["true_min"],
        true_needs_dorm=w["needs_dorm"],
        signal=SIGNALS[w["signal"]],
    )
    return SampleData(workers, enterprises, jobs_out, pairings, truth, seed=seed, year=year)


# ---- the programme's own columns -----------------------------------------------------------------
NEEDS = np.array(["training", "job_referral", "policy_consultation", "rights_protection"])
NEED_SHARE = np.array([0.5, 0.35, 0.3, 0.1])
TITLES = np.array(["经理", "主任", "女士", "先生"])


def _contact_names(rng: np.random.Generator, n: int) -> np.ndarray:
    surnames = np.array(V.SURNAMES[:40])
    return np.strings.add(
        surnames[rng.integers(0, len(surnames), n)], TITLES[rng.integers(0, len(TITLES), n)]
    )


def _contacts(rng: np.random.Generator, tianjin: np.ndarray) -> dict[str, np.ndarray]:
    """Each enterprise's contact person and office phone (a landline: 022 in Tianjin, a 09xx area
    code in the counties)."""
    n = len(tianjin)
    area = np.where(tianjin, "022", cat("09", zfill(rng.integers(10, 100, n), 2)))
    number = np.where(
        tianjin,
        zfill(rng.integers(20_000_000, 30_000_000, n), 8),
        zfill(rng.integers(2_000_000, 9_000_000, n), 7),
    )
    return dict(contact_name=_contact_names(rng, n), contact_phone=cat(area, "-", number))


def _posting_dates(rng: np.random.Generator, n: int, year: int) -> dict[str, np.ndarray]:
    """Posted on a day of ``year``; about 60% also close, 30 to 120 days later."""
    first = np.datetime64(f"{year}-01-01")
    days = (np.datetime64(f"{year + 1}-01-01") - first).astype(np.int64)
    posted = first + rng.integers(0, days, n)
    closes = posted + rng.integers(30, 121, n)
    return dict(
        posted_on=posted.astype(np.str_),
        closes_on=np.where(rng.random(n) < 0.6, closes.astype(np.str_), ""),
    )


def _survey(
    rng: np.random.Generator, w: dict[str, np.ndarray], geo: Geo, own_phones: np.ndarray
) -> dict[str, np.ndarray]:
    """就业服务需求 of every worker; for the employed, where they work (at home: the home county;
    away: not coded) and their employer's contact (never the worker's own phone)."""
    n = len(w["county"])
    picked = rng.random((n, len(NEEDS))) < NEED_SHARE
    needs = np.array([";".join(NEEDS[row]) for row in picked] or [""], dtype=np.str_)[:n]
    employed = w["employed"].astype(bool)
    home = np.array(geo.counties, dtype=np.str_)[w["county"]]
    contact_phone = phones(rng, n)
    while (same := contact_phone == own_phones).any():  # a one-in-a-billion draw: draw again
        contact_phone[same] = phones(rng, int(same.sum()))
    contact = cat(_contact_names(rng, n), " ", contact_phone)
    return dict(
        service_needs=needs,
        work_location_code=np.where(employed & ~w["to_tj"].astype(bool), home, ""),
        employer_contact=np.where(employed, contact, ""),
    )


# ---- CSV ---------------------------------------------------------------------------------------


def _cells(name: str, arr: np.ndarray) -> list[str]:
    """A column as CSV cells: ``true``/``false`` flags, blank for -1 where allowed, quoted if needed."""
    if arr.dtype == bool:
        return np.where(arr, "true", "false").tolist()
    if arr.dtype.kind in "iu":
        text = arr.astype(np.str_)
        return (np.where(arr < 0, "", text) if name in BLANK_IF_NEGATIVE else text).tolist()
    arr = arr.astype(np.str_)
    risky = np.zeros(len(arr), dtype=bool)
    for ch in (",", '"', "\n", "\r"):
        risky |= np.strings.find(arr, ch) >= 0
    if risky.any():
        quoted = cat('"', np.strings.replace(arr[risky], '"', '""'), '"')
        arr = arr.copy().astype(object)
        arr[risky] = quoted
    return arr.tolist()


def write_table(
    columns: dict[str, np.ndarray], header: tuple[str, ...], path: Path, chunk: int = 200_000
) -> None:
    """Write one table as UTF-8 CSV with a header row and ``\\n`` line ends."""
    cells = [_cells(name, columns[name]) for name in header]
    n = len(cells[0]) if cells else 0
    with open(path, "wb") as f:
        f.write((",".join(header) + "\n").encode("utf-8"))
        for i in range(0, n, chunk):
            rows = zip(*(c[i : i + chunk] for c in cells), strict=True)
            f.write(("\n".join(map(",".join, rows)) + "\n").encode("utf-8"))


def write_sample(data: SampleData, out_dir: str | Path, *, truth: bool = True) -> dict[str, Path]:
    """Write ``workers/enterprises/jobs/pairings.csv`` (and ``truth.csv``) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in TABLES:
        if name == "truth" and not truth:
            continue
        path = out / f"{name}.csv"
        write_table(data.table(name), HEADERS[name], path)
        written[name] = path
    return written


__all__ = ["HEADERS", "SampleData", "TABLES", "generate_sample", "write_sample", "write_table"]
