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
from pathlib import Path
from typing import Any

from matcher.csvsafe import xlsx_cell
from matcher.dataset import Dataset
from matcher.geo import TIANJIN_DISTRICTS, is_tianjin, place_name
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
    openings_at: Counter[str] = Counter()
    workshop_at: Counter[str] = Counter()
    for j in ds.jobs:
        where = ds.job_location(j)
        openings_at[where] += j.openings
        if ds.enterprise_by_id[j.enterprise_id].kind in LOCAL_WORKSHOP_KINDS:
            workshop_at[where] += j.openings
    bases = {e.enterprise_id for e in ds.enterprises if e.employment_base}
    bases_in: Counter[str] = Counter(e.location_code for e in ds.enterprises if e.employment_base)
    fairs_by: Counter[str] = Counter(f["district_code"] or "" for f in fairs)
    by_district: dict[str, Counter[str]] = defaultdict(Counter)  # district → county → placed
    into_bases: Counter[str] = Counter()
    by_county: dict[str, Counter[str]] = defaultdict(Counter)  # county → "tianjin"/"home"/"other"
    for a in placements.values():
        where, home = a["location_code"], a["home_county_code"]
        by_district[where][home] += 1
        if a["enterprise_id"] in bases:
            into_bases[where] += 1
        by_county[home]["tianjin" if is_tianjin(where) else "home" if where == home else "other"] += 1
    districts = []
    for code, name in TIANJIN_DISTRICTS.items():
        counties = sorted(pmap.counties_of_district.get(code, ()))
        placed = by_district.get(code, Counter())
        districts.append(
            {
                "district_code": code,
                "district": name,
                "paired_counties": [{"code": c, "name": place_name(c)} for c in counties],
                "jobs_offered": openings_at[code],
                "target": DISTRICT_TARGET if counties else 0,
                "progress": round(openings_at[code] / DISTRICT_TARGET, 4) if counties else None,
                "placed": sum(placed.values()),
                "placed_from_paired": sum(n for c, n in placed.items() if c in counties),
                "placed_by_county": {place_name(c): n for c, n in sorted(placed.items())},
                "employment_bases": bases_in[code],
                "placed_in_bases": into_bases[code],
                "local_workshop_jobs": sum(workshop_at[c] for c in counties),
                "job_fairs": fairs_by[code],
            }
        )
    registered = Counter(w.home_county_code for w in ds.workers)
    counties_out = [
        {
            "county_code": c,
            "county": place_name(c),
            "paired_districts": [place_name(d) for d in sorted(pmap.districts_of_county.get(c, ()))],
            "registered": registered[c],
            "placed": sum(by_county[c].values()),
            "outflow_tianjin": by_county[c]["tianjin"],
            "local": by_county[c]["home"],
            "elsewhere": by_county[c]["other"],
        }
        for c in sorted(set(registered) | set(by_county))
    ]
    inflow = [
        {
            "district_code": d["district_code"],
            "district": d["district"],
            "inflow": d["placed"],
            "from_counties": d["placed_by_county"],
        }
        for d in districts
        if d["placed"]
    ]
    city_jobs = sum(openings_at[c] for c in TIANJIN_DISTRICTS)
    n_placed = len(placements)
    return {
        "year": year,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "city": {
            "jobs_offered": city_jobs,
            "jobs_target": CITY_TARGET,
            "jobs_progress": round(city_jobs / CITY_TARGET, 4),
            "placed": n_placed,
            "placed_in_tianjin": sum(c["outflow_tianjin"] for c in counties_out),
            "placed_local": sum(c["local"] for c in counties_out),
            "job_fairs": len(fairs),
            "job_fairs_target": FAIR_TARGET,
            "job_fairs_progress": round(len(fairs) / FAIR_TARGET, 4),
            "fair_attendees": sum(f["n_attendees"] for f in fairs),
            "fair_hires": sum(f["n_hires"] for f in fairs),
        },
        "districts": districts,
        "counties": counties_out,
        "annual_flow_report": {
            "year": year,
            "due": dt.date(year + 1, 1, 20).isoformat(),
            "outflow_by_county": counties_out,
            "inflow_by_district": inflow,
        },
        "job_fairs": [
            {**f, "held_on": str(f["held_on"]), "recorded_at": str(f.get("recorded_at", ""))} for f in fairs
        ],
        "stable_employment": {
            "by_enterprise": stable_rates(outcomes, "enterprise_id"),
            "by_district": stable_rates(outcomes, "location_code"),
        },
    }


def _sheet_rows(figures: Mapping[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    c = figures["city"]
    overview = [
        ["年度", figures["year"], "", ""],
        ["全市提供岗位", c["jobs_offered"], c["jobs_target"], c["jobs_progress"]],
        ["专场招聘会", c["job_fairs"], c["job_fairs_target"], c["job_fairs_progress"]],
        ["安置人数", c["placed"], "", ""],
        ["其中在津就业", c["placed_in_tianjin"], "", ""],
        ["其中就地就近", c["placed_local"], "", ""],
        ["招聘会参会人数", c["fair_attendees"], "", ""],
        ["招聘会录用人数", c["fair_hires"], "", ""],
    ]
    districts = [
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
        for d in figures["districts"]
    ]
    flow = figures["annual_flow_report"]
    counties = [
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
        for x in flow["outflow_by_county"]
    ]
    inflow = [
        [
            x["district_code"],
            x["district"],
            x["inflow"],
            "；".join(f"{k} {v}" for k, v in x["from_counties"].items()),
        ]
        for x in flow["inflow_by_district"]
    ]
    fairs = [
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
        for f in figures["job_fairs"]
    ]
    stable = figures["stable_employment"]

    def rates(rows: list[dict[str, Any]], key: str, name: Any) -> list[list[Any]]:
        return [
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
            for r in rows
        ]

    rate_head = ["到岗", "离职", "3个月在岗", "6个月在岗", "3个月稳定就业率", "6个月稳定就业率"]
    return {
        "总览": (["指标", "完成", "目标", "完成率"], overview),
        "各区进度": (
            [
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
            ],
            districts,
        ),
        f"{flow['year']}年劳务输出": (
            ["县代码", "县", "结对区", "登记劳动力", "安置人数", "输出到天津", "就地就近", "其他"],
            counties,
        ),
        f"{flow['year']}年劳务输入": (["区代码", "区", "输入人数", "来源县"], inflow),
        "专场招聘会": (
            ["编号", "日期", "地点", "帮扶区", "结对县", "参会企业", "岗位数", "参会人数", "录用人数"],
            fairs,
        ),
        "稳定就业_企业": (
            ["企业编号", "企业", "安置", *rate_head],
            rates(
                stable["by_enterprise"],
                "enterprise_id",
                lambda k: figures.get("_enterprise_names", {}).get(k, k),
            ),
        ),
        "稳定就业_区": (
            ["地区代码", "地区", "安置", *rate_head],
            rates(stable["by_district"], "location_code", place_name),
        ),
    }


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
