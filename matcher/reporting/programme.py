"""The programme report: progress of each district and of the city against the programme's targets.

Figures for year Y, from the store, counted as the plan (津人社办发〔2018〕273号) counts them:

* **jobs offered** (提供岗位) by a district in Y: openings of the stored jobs located in it and
  posted (``posted_on``) in Y, against the 1,000-a-year target per district; also cumulative since
  the programme began (2018) and, apart, the openings of jobs with no posting date (counted in no
  year);
* **placed**: the assignments of the latest recorded run of each input (reference year Y), so a
  rerun on the same input replaces the earlier run and another season's batch adds to it; a
  worker in several batches counts once, as the latest placed them (a re-match after leaving
  replaces the first placement); by district, by county, from paired counties, into bases;
* **local workshop jobs**: openings at 扶贫车间/社区工厂/卫星工厂/就业驿站 in a district's paired counties;
* **job fairs** held in Y (``laborbridge fairs import``), by type (专场/定向/网络), with 达成意向人数
  and 录用人数 apart; the 专场 fairs since 2018 against the city's cumulative 120 by 2020;
* the city's jobs offered since 2018 against its cumulative 50,000 by 2020 (and those of Y alone);
* **placements** (安置) always in their own column, never added to jobs offered;
* per county: registered workers, their **service needs** (就业服务需求) and the **supply lists
  sent** to it (``laborbridge export supply --sent``);
* the annual labour **outflow/inflow** report due 20 January of Y+1: per county, workers placed
  away (in Tianjin) and at home; per district, workers received and from which counties;
* **stable employment** from recorded outcomes, by enterprise and by district.

:func:`programme_figures` computes them (JSON-ready); :func:`write_report` writes the XLSX with a
one-page progress chart (:mod:`matcher.reporting.chart`) and the JSON beside it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.csvsafe import xlsx_cell
from matcher.dataset import Dataset
from matcher.geo import TIANJIN_DISTRICTS, PairingMap, is_tianjin, place_name
from matcher.records import LOCAL_WORKSHOP_KINDS

DISTRICT_TARGET = 1_000
"""Jobs each paired district offers its paired counties a year."""
CITY_TARGET = 50_000
"""Jobs the city offers by the end of the programme, 2018–2020 together."""
FAIR_TARGET = 120
"""专场招聘会 the city holds by the end of the programme, 2018–2020 together."""
PROGRAMME_START = 2018
PROGRAMME_END = 2020
TARGET_FAIR_TYPE = "dedicated"
"""The fair type the 120 counts (专场); 定向 and 网络 fairs are shown beside it."""
NEEDS = ("training", "job_referral", "policy_consultation", "rights_protection")


def latest_placements(runs: Sequence[Mapping[str, Any]], assignments_of: Any) -> dict[str, dict[str, Any]]:
    """worker_id → assignment, over the latest run of each input (``runs`` oldest first).

    Re-match runs are always kept: they place other workers (those who left) on the same input.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for r in runs:
        key = r["run_id"] if r.get("kind") == "rematch" else r["input_sha256"]
        latest.pop(key, None)  # re-insert so the dict keeps the runs in time order
        latest[key] = r
    placed: dict[str, dict[str, Any]] = {}
    for r in latest.values():
        for a in assignments_of(r["run_id"]):
            placed[a["worker_id"]] = a
    return placed


@dataclass
class _Tallies:
    """The counts the figures are read from."""

    openings_at: Counter[str]  # location → openings of the jobs there posted in the year
    openings_cum_at: Counter[str]  # location → openings posted from the programme's start to the year
    undated_at: Counter[str]  # location → openings of jobs without a posting date
    workshop_at: Counter[str]  # location → openings at local workshops there
    bases: set[str]  # employment-base enterprise ids
    bases_in: Counter[str]  # location → employment bases
    fairs_by: Counter[str]  # district → job fairs of the year
    placed_in: dict[str, Counter[str]]  # location → home county → placed
    into_bases: Counter[str]  # location → placed into employment bases
    placed_from: dict[str, Counter[str]]  # home county → "tianjin" / "home" / "other" → placed


def programme_figures(
    ds: Dataset,
    year: int,
    placements: Mapping[str, Mapping[str, Any]],
    fairs: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Mapping[str, Any]] = (),
    lists_sent: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Every figure of the report (see module doc), JSON-ready.

    ``fairs``: the recorded job fairs of any year (those of ``year`` make the year's figures, those
    since 2018 the cumulative ones); ``lists_sent``: the supply lists recorded as sent (any year).
    """
    from matcher.runs.followup import stable_rates

    pmap = ds.pairing_map(year)
    start = min(PROGRAMME_START, year)
    of_year = [f for f in fairs if _year(f["held_on"]) == year]
    since_start = [f for f in fairs if start <= _year(f["held_on"]) <= year]
    t = _tallies(ds, year, placements, of_year)
    districts = [_district(code, name, pmap, t) for code, name in TIANJIN_DISTRICTS.items()]
    counties = _counties(ds, pmap, t, [x for x in lists_sent if _year(x["sent_on"]) == year])
    return {
        "year": year,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "programme": {"start": start, "end": PROGRAMME_END},
        "city": _city(t, len(placements), counties, of_year, since_start),
        "districts": districts,
        "counties": counties,
        "annual_flow_report": {
            "year": year,
            "due": dt.date(year + 1, 1, 20).isoformat(),
            "outflow_by_county": counties,
            "inflow_by_district": _inflow(districts),
        },
        "job_fairs": [
            {**f, "held_on": str(f["held_on"]), "recorded_at": str(f.get("recorded_at", ""))} for f in of_year
        ],
        "stable_employment": {
            "by_enterprise": stable_rates(outcomes, "enterprise_id"),
            "by_district": stable_rates(outcomes, "location_code"),
        },
    }


def _year(day: Any) -> int:
    """The year of a date, or of its ISO text."""
    return day.year if isinstance(day, dt.date) else int(str(day)[:4])


def _tallies(
    ds: Dataset, year: int, placements: Mapping[str, Mapping[str, Any]], fairs: Sequence[Mapping[str, Any]]
) -> _Tallies:
    """Openings offered by location (in ``year``, since the programme's start, undated), bases,
    the year's fairs by district, placements by place and home county."""
    start = min(PROGRAMME_START, year)
    openings_at: Counter[str] = Counter()
    openings_cum_at: Counter[str] = Counter()
    undated_at: Counter[str] = Counter()
    workshop_at: Counter[str] = Counter()
    for j in ds.jobs:
        where = ds.job_location(j)
        if j.posted_on is None:
            undated_at[where] += j.openings
        elif start <= j.posted_on.year <= year:
            openings_cum_at[where] += j.openings
            if j.posted_on.year == year:
                openings_at[where] += j.openings
        if ds.enterprise_by_id[j.enterprise_id].kind in LOCAL_WORKSHOP_KINDS:
            workshop_at[where] += j.openings
    bases = {e.enterprise_id for e in ds.enterprises if e.employment_base}
    t = _Tallies(
        openings_at=openings_at,
        openings_cum_at=openings_cum_at,
        undated_at=undated_at,
        workshop_at=workshop_at,
        bases=bases,
        bases_in=Counter(e.location_code for e in ds.enterprises if e.employment_base),
        fairs_by=Counter(f["district_code"] or "" for f in fairs),
        placed_in=defaultdict(Counter),
        into_bases=Counter(),
        placed_from=defaultdict(Counter),
    )
    for a in placements.values():
        where, home = a["location_code"], a["home_county_code"]
        t.placed_in[where][home] += 1
        if a["enterprise_id"] in bases:
            t.into_bases[where] += 1
        t.placed_from[home]["tianjin" if is_tianjin(where) else "home" if where == home else "other"] += 1
    return t


def _district(code: str, name: str, pmap: PairingMap, t: _Tallies) -> dict[str, Any]:
    """One district's progress: jobs offered against its target (only a paired district has one)."""
    counties = sorted(pmap.counties_of_district.get(code, ()))
    placed = t.placed_in.get(code, Counter())
    return {
        "district_code": code,
        "district": name,
        "paired_counties": [{"code": c, "name": place_name(c)} for c in counties],
        "jobs_offered": t.openings_at[code],
        "jobs_offered_cumulative": t.openings_cum_at[code],
        "jobs_undated": t.undated_at[code],
        "target": DISTRICT_TARGET if counties else 0,
        "progress": round(t.openings_at[code] / DISTRICT_TARGET, 4) if counties else None,
        "placed": sum(placed.values()),
        "placed_from_paired": sum(n for c, n in placed.items() if c in counties),
        "placed_by_county": {place_name(c): n for c, n in sorted(placed.items())},
        "employment_bases": t.bases_in[code],
        "placed_in_bases": t.into_bases[code],
        "local_workshop_jobs": sum(t.workshop_at[c] for c in counties),
        "job_fairs": t.fairs_by[code],
    }


def _counties(
    ds: Dataset, pmap: PairingMap, t: _Tallies, lists_sent: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each paired county, and each other with registered or placed workers: where its workers were
    placed (outflow), what they asked the employment service for, the supply lists it was sent."""
    registered = Counter(w.home_county_code for w in ds.workers)
    needs: dict[str, Counter[str]] = defaultdict(Counter)
    for w in ds.workers:
        needs[w.home_county_code].update(str(n) for n in w.service_needs)
    sent: dict[str, list[str]] = defaultdict(list)
    for x in lists_sent:
        sent[x["county_code"]].append(str(x["sent_on"]))
    return [
        {
            "county_code": c,
            "county": place_name(c),
            "paired_districts": [place_name(d) for d in sorted(pmap.districts_of_county.get(c, ()))],
            "registered": registered[c],
            "placed": sum(t.placed_from[c].values()),
            "outflow_tianjin": t.placed_from[c]["tianjin"],
            "local": t.placed_from[c]["home"],
            "elsewhere": t.placed_from[c]["other"],
            "service_needs": {n: needs[c][n] for n in NEEDS},
            "supply_lists_sent": len(sent[c]),
            "supply_lists_sent_on": sorted(sent[c]),
        }
        for c in sorted(set(registered) | set(t.placed_from) | set(pmap.districts_of_county))
    ]


def _inflow(districts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each district that received workers, and from which counties."""
    return [
        {
            "district_code": d["district_code"],
            "district": d["district"],
            "inflow": d["placed"],
            "from_counties": d["placed_by_county"],
        }
        for d in districts
        if d["placed"]
    ]


def _city(
    t: _Tallies,
    n_placed: int,
    counties: list[dict[str, Any]],
    fairs: Sequence[Mapping[str, Any]],
    fairs_since_start: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The city's jobs offered and 专场 fairs, of the year and since the programme's start, against
    the cumulative targets; its placements apart; the year's fairs by type, intents and hires."""
    city_jobs = sum(t.openings_at[c] for c in TIANJIN_DISTRICTS)
    city_cum = sum(t.openings_cum_at[c] for c in TIANJIN_DISTRICTS)
    counted = [f for f in fairs if f.get("fair_type", TARGET_FAIR_TYPE) == TARGET_FAIR_TYPE]
    counted_cum = [f for f in fairs_since_start if f.get("fair_type", TARGET_FAIR_TYPE) == TARGET_FAIR_TYPE]
    by_type = Counter(f.get("fair_type", TARGET_FAIR_TYPE) for f in fairs)
    return {
        "jobs_offered": city_jobs,
        "jobs_offered_cumulative": city_cum,
        "jobs_undated": sum(t.undated_at[c] for c in TIANJIN_DISTRICTS),
        "jobs_target": CITY_TARGET,
        "jobs_progress": round(city_cum / CITY_TARGET, 4),
        "placed": n_placed,
        "placed_in_tianjin": sum(c["outflow_tianjin"] for c in counties),
        "placed_local": sum(c["local"] for c in counties),
        "job_fairs": len(counted),
        "job_fairs_cumulative": len(counted_cum),
        "job_fairs_by_type": {k: by_type[k] for k in ("dedicated", "targeted", "online")},
        "job_fairs_target": FAIR_TARGET,
        "job_fairs_progress": round(len(counted_cum) / FAIR_TARGET, 4),
        "fair_attendees": sum(f["n_attendees"] for f in fairs),
        "fair_intents": sum(f.get("n_intents", 0) for f in fairs),
        "fair_hires": sum(f["n_hires"] for f in fairs),
        "service_needs": {n: sum(c["service_needs"][n] for c in counties) for n in NEEDS},
        "supply_lists_sent": sum(c["supply_lists_sent"] for c in counties),
    }


def write_report(figures: Mapping[str, Any], out: str | Path, *, chart: bool = True) -> dict[str, Path]:
    """Write ``out`` (.xlsx: sheets and the progress chart), ``out``.json and the chart's PNG."""
    import json

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from matcher.reporting.sheets import sheet_rows

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = {"xlsx": out, "json": out.with_suffix(".json")}
    public = {k: v for k, v in figures.items() if not k.startswith("_")}
    written["json"].write_text(
        json.dumps(public, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    wb = Workbook()
    wb.remove(wb.active)
    for title, (head, rows) in sheet_rows(figures).items():
        ws = wb.create_sheet(title[:31])
        ws.append(head)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r in rows:
            ws.append([xlsx_cell(v) for v in r])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
    if chart:
        from openpyxl.drawing.image import Image

        from matcher.reporting.chart import progress_chart

        png = progress_chart(figures, out.with_suffix(".png"))
        written["png"] = png
        ws = wb.create_sheet("进度图", 0)
        ws.add_image(Image(str(png)), "A1")
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToPage = True
    wb.save(out)
    return written
