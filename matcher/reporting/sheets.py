"""The programme report's sheets: each a header and rows, in Chinese, from the figures of
:func:`matcher.reporting.programme.programme_figures`.

Placements (安置) are always a column of their own, never added to jobs offered (提供岗位); the
year's jobs offered sit beside the cumulative ones since the programme began, and job fairs' 达成意向
人数 beside their 录用人数.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matcher.geo import place_name

Sheet = tuple[list[str], list[list[Any]]]  # header, rows

FAIR_TYPE_ZH = {"dedicated": "专场", "targeted": "定向", "online": "网络"}
NEED_ZH = {
    "training": "职业培训",
    "job_referral": "职业介绍",
    "policy_consultation": "政策咨询",
    "rights_protection": "权益维护",
}


def sheet_rows(figures: Mapping[str, Any]) -> dict[str, Sheet]:
    """The workbook's sheets in order: title → (header, rows)."""
    flow = figures["annual_flow_report"]
    stable = figures["stable_employment"]
    names = figures.get("_enterprise_names", {})
    return {
        "总览": overview_sheet(figures),
        "各区进度": district_sheet(figures["districts"], figures.get("programme", {}).get("start", "")),
        f"{flow['year']}年劳务输出": outflow_sheet(flow["outflow_by_county"]),
        f"{flow['year']}年劳务输入": inflow_sheet(flow["inflow_by_district"]),
        "就业服务需求": needs_sheet(figures["counties"]),
        "专场招聘会": fair_sheet(figures["job_fairs"]),
        "稳定就业_企业": stable_sheet(
            stable["by_enterprise"], "enterprise_id", ["企业编号", "企业"], lambda k: names.get(k, k)
        ),
        "稳定就业_区": stable_sheet(stable["by_district"], "location_code", ["地区代码", "地区"], place_name),
    }


def overview_sheet(figures: Mapping[str, Any]) -> Sheet:
    c = figures["city"]
    start = figures.get("programme", {}).get("start", "")
    year = figures["year"]
    by_type = c.get("job_fairs_by_type", {})
    rows = [
        ["年度", year, "", ""],
        [
            f"全市提供岗位（{start}–{year}年累计）",
            c["jobs_offered_cumulative"],
            c["jobs_target"],
            c["jobs_progress"],
        ],
        [f"其中{year}年提供岗位", c["jobs_offered"], "", ""],
        ["未注明发布日期的岗位（未计入）", c["jobs_undated"], "", ""],
        [
            f"专场招聘会（{start}–{year}年累计）",
            c["job_fairs_cumulative"],
            c["job_fairs_target"],
            c["job_fairs_progress"],
        ],
        *[[f"{year}年{FAIR_TYPE_ZH[k]}招聘会", n, "", ""] for k, n in by_type.items()],
        ["安置人数", c["placed"], "", ""],
        ["其中在津就业", c["placed_in_tianjin"], "", ""],
        ["其中就地就近", c["placed_local"], "", ""],
        ["招聘会参会人数", c["fair_attendees"], "", ""],
        ["招聘会达成意向人数", c["fair_intents"], "", ""],
        ["招聘会录用人数", c["fair_hires"], "", ""],
        ["发送岗位供给清单（份）", c["supply_lists_sent"], "", ""],
        *[[f"就业服务需求：{NEED_ZH[k]}", n, "", ""] for k, n in c["service_needs"].items()],
    ]
    return ["指标", "完成", "目标", "完成率"], rows


def district_sheet(districts: Sequence[Mapping[str, Any]], start: Any) -> Sheet:
    head = [
        "区代码",
        "区",
        "结对县",
        "提供岗位",
        "年度目标",
        "完成率",
        f"累计提供岗位（{start}年起）",
        "未注明日期岗位",
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
            d["jobs_offered_cumulative"],
            d["jobs_undated"],
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


def outflow_sheet(counties: Sequence[Mapping[str, Any]]) -> Sheet:
    head = [
        "县代码",
        "县",
        "结对区",
        "登记劳动力",
        "安置人数",
        "输出到天津",
        "就地就近",
        "其他",
        "发送岗位供给清单",
    ]
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
            "、".join(x.get("supply_lists_sent_on", ())),
        ]
        for x in counties
    ]
    return head, rows


def needs_sheet(counties: Sequence[Mapping[str, Any]]) -> Sheet:
    """就业服务需求 per county: how many of its registered workers asked for each service."""
    head = ["县代码", "县", "登记劳动力", *NEED_ZH.values()]
    rows = [
        [x["county_code"], x["county"], x["registered"], *(x["service_needs"][k] for k in NEED_ZH)]
        for x in counties
        if x["registered"]
    ]
    return head, rows


def inflow_sheet(inflow: Sequence[Mapping[str, Any]]) -> Sheet:
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


def fair_sheet(fairs: Sequence[Mapping[str, Any]]) -> Sheet:
    head = [
        "编号",
        "日期",
        "类型",
        "地点",
        "帮扶区",
        "结对县",
        "参会企业",
        "岗位数",
        "参会人数",
        "达成意向人数",
        "录用人数",
    ]
    rows = [
        [
            f["fair_id"],
            f["held_on"],
            FAIR_TYPE_ZH.get(f.get("fair_type", "dedicated"), f.get("fair_type", "")),
            f["place"],
            place_name(f["district_code"]),
            place_name(f["county_code"]),
            f["n_enterprises"],
            f["n_jobs"],
            f["n_attendees"],
            f.get("n_intents", 0),
            f["n_hires"],
        ]
        for f in fairs
    ]
    return head, rows


def stable_sheet(rates: Sequence[Mapping[str, Any]], key: str, key_head: list[str], name: Any) -> Sheet:
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
