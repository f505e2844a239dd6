"""The programme report: progress of each district and of the city against the programme's targets.

Figures for year Y, from the store:

* **jobs offered** by a district: openings of the stored jobs located in it (the current supply
  list; records carry no posting date), against the 1,000-a-year target per district;
* **placed**: the assignments of the latest recorded run of each input (reference year Y), so a
  rerun on the same input replaces the earlier run and another season's batch adds to it; a
  worker in several batches counts once, as the latest placed them (a re-match after leaving
  replaces the first placement); by district, by county, from paired counties, into bases;
* **local workshop jobs**: openings at 扶贫车间/社区工厂/卫星工厂/就业驿站 in a district's paired counties;
* **job fairs** held in Y (``laborbridge fairs import``), against the city's 120;
* the city's jobs offered against 50,000;
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
CITY_TARGET = 50_000
FAIR_TARGET = 120


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

    openings_at: Counter[str]  # location → openings of the stored jobs there
    workshop_at: Counter[str]  # location → openings at local workshops there
    bases: set[str]  # employment-base enterprise ids
    bases_in: Counter[str]  # location → employment bases
    fairs_by: Counter[str]  # district → job fairs
    placed_in: dict[str, Counter[str]]  # location → home county → placed
    into_bases: Counter[str]  # location → placed into employment bases
    placed_from: dict[str, Counter[str]]  # home county → "tianjin" / "home" / "other" → placed


def programme_figures(
    ds: Dataset,
    year: int,
    placements: Mapping[str, Mapping[str, Any]],
    fairs: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Every figure of the report (see module doc), JSON-ready."""
    from matcher.runs.followup import stable_rates

    pmap = ds.pairing_map(year)
    t = _tallies(ds, placements, fairs)
    districts = [_district(code, name, pmap, t) for code, name in TIANJIN_DISTRICTS.items()]
    counties = _counties(ds, pmap, t)
    return {
        "year": year,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "city": _city(t, len(placements), counties, fairs),
        "districts": districts,
        "counties": counties,
        "annual_flow_report": {
            "year": year,
            "due": dt.date(year + 1, 1, 20).isoformat(),
            "outflow_by_county": counties,
            "inflow_by_district": _inflow(districts),
        },
        "job_fairs": [
            {**f, "held_on": str(f["held_on"]), "recorded_at": str(f.get("recorded_at", ""))} for f in fairs
        ],
        "stable_employment": {
            "by_enterprise": stable_rates(outcomes, "enterprise_id"),
            "by_district": stable_rates(outcomes, "location_code"),
        },
    }


def _tallies(
    ds: Dataset, placements: Mapping[str, Mapping[str, Any]], fairs: Sequence[Mapping[str, Any]]
) -> _Tallies:
    """Openings and bases by location, fairs by district, placements by place and home county."""
    openings_at: Counter[str] = Counter()
    workshop_at: Counter[str] = Counter()
    for j in ds.jobs:
        where = ds.job_location(j)
        openings_at[where] += j.openings
        if ds.enterprise_by_id[j.enterprise_id].kind in LOCAL_WORKSHOP_KINDS:
            workshop_at[where] += j.openings
    bases = {e.enterprise_id for e in ds.enterprises if e.employment_base}
    t = _Tallies(
        openings_at=openings_at,
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


def _counties(ds: Dataset, pmap: PairingMap, t: _Tallies) -> list[dict[str, Any]]:
    """Each county with registered or placed workers: where its workers were placed (outflow)."""
    registered = Counter(w.home_county_code for w in ds.workers)
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
        }
        for c in sorted(set(registered) | set(t.placed_from))
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
    t: _Tallies, n_placed: int, counties: list[dict[str, Any]], fairs: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The city's jobs offered and job fairs against their targets, and its placements."""
    city_jobs = sum(t.openings_at[c] for c in TIANJIN_DISTRICTS)
    return {
        "jobs_offered": city_jobs,
        "jobs_target": CITY_TARGET,
        "jobs_progress": round(city_jobs / CITY_TARGET, 4),
        "placed": n_placed,
        "placed_in_tianjin": sum(c["outflow_tianjin"] for c in counties),
        "placed_local": sum(c["local"] for c in counties),
        "job_fairs": len(fairs),
        "job_fairs_target": FAIR_TARGET,
        "job_fairs_progress": round(len(fairs) / FAIR_TARGET, 4),
        "fair_attendees": sum(f["n_attendees"] for f in fairs),
        "fair_hires": sum(f["n_hires"] for f in fairs),
    }


_Sheet = tuple[list[str], list[list[Any]]]  # header, rows


def _sheet_rows(figures: Mapping[str, Any]) -> dict[str, _Sheet]:
    """The workbook's sheets in order: title → (header, rows)."""
    flow = figures["annual_flow_report"]
    stable = figures["stable_employment"]
    names = figures.get("_enterprise_names", {})
    return {
        "总览": _overview_sheet(figures),
        "各区进度": _district_sheet(figures["districts"]),
        f"{flow['year']}年劳务输出": _outflow_sheet(flow["outflow_by_county"]),
        f"{flow['year']}年劳务输入": _inflow_sheet(flow["inflow_by_district"]),
        "专场招聘会": _fair_sheet(figures["job_fairs"]),
        "稳定就业_企业": _stable_sheet(
            stable["by_enterprise"], "enterprise_id", ["企业编号", "企业"], lambda k: names.get(k, k)
        ),
        "稳定就业_区": _stable_sheet(
            stable["by_district"], "location_code", ["地区代码", "地区"], place_name
        ),
    }


def _overview_sheet(figures: Mapping[str, Any]) -> _Sheet:
    c = figures["city"]
    rows = [
        ["年度", figures["year"], "", ""],
        ["全市提供岗位", c["jobs_offered"], c["jobs_target"], c["jobs_progress"]],
        ["专场招聘会", c["job_fairs"], c["job_fairs_target"], c["job_fairs_progress"]],
        ["安置人数", c["placed"], "", ""],
        ["其中在津就业", c["placed_in_tianjin"], "", ""],
        ["其中就地就近", c["placed_local"], "", ""],
        ["招聘会参会人数", c["fair_attendees"], "", ""],
        ["招聘会录用人数", c["fair_hires"], "", ""],
    ]
    return ["指标", "完成", "目标", "完成率"], rows


def _district_sheet(districts: Sequence[Mapping[str, Any]]) -> _Sheet:
    head = [
        "区代码",
        "区",
        "结对县",
        "提供岗位",
        "年度目标",
        "完成率",
        "安置人数",
        "其中结对县劳动力",
        "分县安置",
        "就业基地数",
        "就业基地安置",
        "结对县扶贫车间等岗位",
        "专场招聘会",
    ]
    rows = [
        [
            d["district_code"],
            d["district"],
            "、".join(x["name"] for x in d["paired_counties"]),
            d["jobs_offered"],
            d["target"],
            d["progress"] if d["progress"] is not None else "",
            d["placed"],
            d["placed_from_paired"],
            "；".join(f"{k} {v}" for k, v in d["placed_by_county"].items()),
            d["employment_bases"],
            d["placed_in_bases"],
            d["local_workshop_jobs"],
            d["job_fairs"],
        ]
        for d in districts
    ]
    return head, rows


def _outflow_sheet(counties: Sequence[Mapping[str, Any]]) -> _Sheet:
    head = ["县代码", "县", "结对区", "登记劳动力", "安置人数", "输出到天津", "就地就近", "其他"]
    rows = [
        [
            x["county_code"],
            x["county"],
            "、".join(x["paired_districts"]),
            x["registered"],
            x["placed"],
            x["outflow_tianjin"],
            x["local"],
            x["elsewhere"],
        ]
        for x in counties
    ]
    return head, rows


def _inflow_sheet(inflow: Sequence[Mapping[str, Any]]) -> _Sheet:
    rows = [
        [
            x["district_code"],
            x["district"],
            x["inflow"],
            "；".join(f"{k} {v}" for k, v in x["from_counties"].items()),
        ]
        for x in inflow
    ]
    return ["区代码", "区", "输入人数", "来源县"], rows


def _fair_sheet(fairs: Sequence[Mapping[str, Any]]) -> _Sheet:
    head = ["编号", "日期", "地点", "帮扶区", "结对县", "参会企业", "岗位数", "参会人数", "录用人数"]
    rows = [
        [
            f["fair_id"],
            f["held_on"],
            f["place"],
            place_name(f["district_code"]),
            place_name(f["county_code"]),
            f["n_enterprises"],
            f["n_jobs"],
            f["n_attendees"],
            f["n_hires"],
        ]
        for f in fairs
    ]
    return head, rows


def _stable_sheet(rates: Sequence[Mapping[str, Any]], key: str, key_head: list[str], name: Any) -> _Sheet:
    """Stable employment by ``key``: its code and ``name(code)``, then placed, started, left, stayed."""
    head = [
        *key_head,
        "安置",
        "到岗",
        "离职",
        "3个月在岗",
        "6个月在岗",
        "3个月稳定就业率",
        "6个月稳定就业率",
    ]
    rows = [
        [
            r[key],
            name(r[key]),
            r["placed"],
            r["started"],
            r["left"],
            r["stayed_3m"],
            r["stayed_6m"],
            "" if r["rate_3m"] is None else r["rate_3m"],
            "" if r["rate_6m"] is None else r["rate_6m"],
        ]
        for r in rates
    ]
    return head, rows


def write_report(figures: Mapping[str, Any], out: str | Path, *, chart: bool = True) -> dict[str, Path]:
    """Write ``out`` (.xlsx: sheets and the progress chart), ``out``.json and the chart's PNG."""
    import json

    from openpyxl import Workbook
    from openpyxl.styles import Font

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = {"xlsx": out, "json": out.with_suffix(".json")}
    public = {k: v for k, v in figures.items() if not k.startswith("_")}
    written["json"].write_text(
        json.dumps(public, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    wb = Workbook()
    wb.remove(wb.active)
    for title, (head, rows) in _sheet_rows(figures).items():
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
