"""The national sample: several partner cities, real county codes, synthetic pairings said so."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matcher.errors import ConfigError
from matcher.ingest import load_folder
from matcher.ingest.admin_codes import load_admin_codes
from matcher.placement.decompose import regions
from matcher.sample.national import CITIES, generate_national, write_national
from matcher.scoring.context import MatchContext

YEAR = 2025


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    data, about = generate_national(1200, 300, seed=4, year=YEAR)
    write_national(data, about, out)
    return data, about, out


def test_same_seed_same_bytes(national, tmp_path):
    _, _, out = national
    data, about = generate_national(1200, 300, seed=4, year=YEAR)
    write_national(data, about, tmp_path)
    for name in ("workers.csv", "jobs.csv", "enterprises.csv", "pairings.csv", "national.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_every_city_has_real_counties_and_says_which_pairings_are_synthetic(national):
    data, about, out = national
    known = load_admin_codes()
    assert [c["city_code"] for c in about["cities"]] == [c.code for c in CITIES]
    written = json.loads((out / "national.json").read_text(encoding="utf-8"))
    assert written["cities"][0]["pairings_synthetic"] is False  # Tianjin: the built-in pairings
    assert all(c["pairings_synthetic"] for c in written["cities"][1:])
    assert "SYNTHETIC" in written["note"]
    for city in about["cities"]:
        assert city["counties"] and all(code in known for code in city["counties"])
        assert all(d.startswith(city["city_code"]) for d in city["districts"])
    counties = [set(c["counties"]) for c in about["cities"]]
    assert sum(map(len, counties)) == len(set().union(*counties))  # no county has two partner cities
    assert set(np.unique(data.workers["home_county_code"])) <= set().union(*counties)


def test_ids_phones_and_id_numbers_are_unique_and_every_row_imports(national):
    data, _, out = national
    for col in ("worker_id", "phone", "id_number"):
        values = data.workers[col]
        assert len(np.unique(values)) == len(values), col
    assert len(np.unique(data.jobs["job_id"])) == len(data.jobs["job_id"])
    assert set(data.jobs["enterprise_id"]) <= set(data.enterprises["enterprise_id"])
    ds = load_folder(out)
    assert not ds.rejected
    assert len(ds.workers) == 1200 and len(ds.jobs) == 300


def test_the_nation_falls_apart_into_one_region_per_partner_city(national):
    _, about, out = national
    ds = load_folder(out)
    ctx = MatchContext.build(ds, YEAR)
    regs = regions(ctx)
    assert len(regs) == len(CITIES)
    places = [{ctx.location_codes[i] for i in reg.locations} for reg in regs]
    for city in about["cities"]:
        (codes,) = [p for p in places if p & set(city["counties"])]  # one region per city
        assert codes >= set(city["counties"])
        assert {c for c in codes if c not in city["counties"]} <= set(city["districts"])


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ConfigError, match="at least 6 workers"):
        generate_national(3, 100, seed=0, year=YEAR)
    with pytest.raises(ConfigError, match="--cities"):
        generate_national(100, 100, seed=0, year=YEAR, cities=9)
