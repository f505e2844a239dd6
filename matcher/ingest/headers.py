"""Header and value aliases: Chinese or English column names and enumeration values.

Every column of :data:`matcher.records.COLUMNS` has a Chinese name (the first alias, used by the
import template) and a few accepted variants. Matching ignores case, surrounding whitespace,
spaces, ``_``/``-``, a leading or trailing ``*`` (the template marks required columns so) and a
bracketed note such as ``（必填）`` or ``(元/月)``. The README section "Chinese headers" is this
table written out; a test keeps the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from matcher.records import COLUMNS, LIST_SEPARATOR, REQUIRED_COLUMNS, _split_list

# kind -> canonical column -> Chinese aliases (first: the template's header).
HEADER_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "workers": {
        "worker_id": ("劳动力编号", "编号", "人员编号"),
        "name": ("姓名",),
        "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码"),
        "phone": ("手机号", "手机号码", "联系电话", "电话"),
        "gender": ("性别",),
        "birth_year": ("出生年份", "出生年"),
        "home_county_code": ("户籍县代码", "户籍地代码", "县代码"),
        "education": ("文化程度", "学历"),
        "skills": ("技能", "职业技能", "技能特长"),
        "experience": ("工作经历", "从业经历"),
        "desired_occupations": ("意向工种", "求职意向", "意向岗位"),
        "mobility": ("流动意愿", "外出意愿", "就业地域意愿"),
        "min_wage": ("期望月薪", "最低月薪要求", "期望工资"),
        "employment_status": ("就业状态", "是否就业"),
        "current_employer": ("就业单位", "现工作单位", "工作单位"),
        "group_id": ("同行组", "分组", "组号"),
        "service_needs": ("就业服务需求", "服务需求"),
        "work_location_code": ("就业地点代码", "就业地点", "就业地区代码"),
        "employer_contact": ("就业单位联系方式", "单位联系方式", "用工单位联系方式"),
    },
    "enterprises": {
        "enterprise_id": ("企业编号", "单位编号"),
        "name": ("企业名称", "单位名称", "名称"),
        "kind": ("企业类型", "单位类型", "类型"),
        "location_code": ("所在地代码", "所在地区代码", "地区代码"),
        "employment_base": ("是否就业基地", "就业基地"),
        "capacity": ("吸纳上限", "用工容量"),
        "dorm_beds": ("宿舍床位", "床位数"),
        "contact_name": ("联系人", "企业联系人"),
        "contact_phone": ("联系电话", "企业联系电话", "联系方式"),
    },
    "jobs": {
        "job_id": ("岗位编号",),
        "enterprise_id": ("企业编号", "单位编号"),
        "title": ("岗位名称", "职位名称"),
        "description": ("岗位描述", "岗位职责", "工作内容"),
        "occupation_code": ("职业代码", "职业分类代码"),
        "openings": ("招聘人数", "需求人数", "岗位数"),
        "wage_min": ("最低月薪", "薪资下限", "工资下限"),
        "wage_max": ("最高月薪", "薪资上限", "工资上限"),
        "location_code": ("工作地点代码", "工作地代码"),
        "age_min": ("最低年龄", "年龄下限"),
        "age_max": ("最高年龄", "年龄上限"),
        "gender": ("性别要求", "性别"),
        "accommodation": ("是否提供住宿", "提供住宿", "包住宿"),
        "posted_on": ("发布日期", "提供日期", "岗位发布日期"),
        "closes_on": ("截止日期", "招聘截止日期"),
    },
    "pairings": {
        "district_code": ("帮扶区代码", "区代码"),
        "county_code": ("受援县代码", "结对县代码", "县代码"),
        "since_year": ("结对年份", "起始年份"),
    },
}

# kind -> aliases of the record type in file and sheet names (first: the template's sheet name).
KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "workers": ("劳动力", "worker", "贫困劳动力", "人员"),
    "enterprises": ("企业", "enterprise", "用人单位", "单位"),
    "jobs": ("岗位", "job", "职位"),
    "pairings": ("结对", "pairing", "结对关系"),
}

# Side tables read by the same readers, not record types of an import (laborbridge fairs import,
# runs outcomes): table -> column -> accepted Chinese headers, and the columns each requires.
SIDE_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "job_fairs": {
        "fair_id": ("招聘会编号", "编号"),
        "held_on": ("日期", "举办日期"),
        "place": ("地点", "举办地点"),
        "district_code": ("帮扶区代码", "区代码"),
        "county_code": ("结对县代码", "受援县代码", "县代码"),
        "fair_type": ("招聘会类型", "类型"),
        "enterprises": ("参会企业数", "企业数"),
        "jobs": ("岗位数", "提供岗位数"),
        "attendees": ("参会人数", "入场人数"),
        "intents": ("达成意向人数", "意向人数"),
        "hires": ("录用人数",),
    },
    "outcomes": {
        "worker_id": ("劳动力编号", "编号"),
        "started": ("是否到岗", "到岗"),
        "started_on": ("到岗日期",),
        "left_after_days": ("离职天数", "在岗天数后离职"),
        "employed_3m": ("三个月在岗", "3个月在岗"),
        "employed_6m": ("六个月在岗", "6个月在岗"),
    },
}
SIDE_REQUIRED: dict[str, tuple[str, ...]] = {
    "job_fairs": ("fair_id", "held_on", "county_code"),
    "outcomes": ("worker_id",),
}

_YES = ("是", "有", "提供", "包")
_NO = ("否", "无", "不提供", "不包")
_BOOL = {**dict.fromkeys(_YES, "true"), **dict.fromkeys(_NO, "false")}
_GENDER = {"男": "male", "女": "female", "男性": "male", "女性": "female", "m": "male", "f": "female"}

# (kind, column) -> Chinese value -> canonical value. The first Chinese value of each canonical
# value is what the template's dropdown offers.
VALUE_ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("workers", "gender"): _GENDER,
    ("workers", "mobility"): {
        "本地": "local",
        "就地就近": "local",
        "结对": "paired",
        "结对地区": "paired",
        "不限": "anywhere",
        "任意": "anywhere",
    },  # fmt: skip
    ("workers", "employment_status"): {
        "未就业": "unemployed",
        "失业": "unemployed",
        "否": "unemployed",
        "已就业": "employed",
        "就业": "employed",
        "是": "employed",
    },  # fmt: skip
    ("enterprises", "kind"): {
        "企业": "company",
        "公司": "company",
        "合作社": "cooperative",
        "扶贫车间": "poverty_workshop",
        "社区工厂": "community_factory",
        "卫星工厂": "satellite_factory",
        "就业驿站": "employment_station",
    },  # fmt: skip
    ("enterprises", "employment_base"): _BOOL,
    ("jobs", "gender"): {"不限": "any", "男女不限": "any", **_GENDER},
    ("jobs", "accommodation"): _BOOL,
    ("workers", "service_needs"): {
        "职业培训": "training",
        "技能培训": "training",
        "培训": "training",
        "职业介绍": "job_referral",
        "岗位推荐": "job_referral",
        "政策咨询": "policy_consultation",
        "权益维护": "rights_protection",
        "维权": "rights_protection",
    },  # fmt: skip
    ("job_fairs", "fair_type"): {
        "专场": "dedicated",
        "专场招聘会": "dedicated",
        "定向": "targeted",
        "定向招聘会": "targeted",
        "网络": "online",
        "网络招聘会": "online",
        "线上": "online",
    },  # fmt: skip
}
LIST_VALUES = frozenset({("workers", "service_needs")})
"""Columns holding several values (``;``/``、`` separated), each value mapped on its own."""

_NOTE = re.compile(r"[(（][^)）]*[)）]")
_DROP = re.compile(r"[\s_\-*＊]+")


def normalize_header(text: str) -> str:
    """The matching key of a header cell: no notes, stars, spaces, ``_`` or ``-``; lower case."""
    return _DROP.sub("", _NOTE.sub("", str(text))).lower()


def _lookup(columns: Iterable[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table = {normalize_header(col): col for col in columns}
    for col, names in aliases.items():
        for alias in names:
            table.setdefault(normalize_header(alias), col)
    return table


_LOOKUP: dict[str, dict[str, str]] = {
    **{kind: _lookup(COLUMNS[kind], HEADER_ALIASES[kind]) for kind in COLUMNS},
    **{kind: _lookup(cols, cols) for kind, cols in SIDE_TABLES.items()},
}
_REQUIRED: dict[str, tuple[str, ...]] = {**REQUIRED_COLUMNS, **SIDE_REQUIRED}


def map_headers(kind: str, headers: Iterable[str]) -> tuple[dict[int, str], list[str], list[str]]:
    """Map header cells to columns of ``kind``: ``(position -> column, ignored headers, clashes)``.

    A clash is two headers that mean the same column (``姓名`` and ``name``): a file error.
    """
    table = _LOOKUP[kind]
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    ignored: list[str] = []
    clashes: list[str] = []
    for pos, raw in enumerate(headers):
        text = str(raw or "").strip()
        if not text:
            continue
        col = table.get(normalize_header(text))
        if col is None:
            ignored.append(text)
        elif col in seen:
            clashes.append(f"{seen[col]!r} and {text!r} both mean {col}")
        else:
            seen[col] = text
            mapping[pos] = col
    return mapping, ignored, clashes


def missing_columns(kind: str, mapped: Iterable[str]) -> list[str]:
    """Required columns of ``kind`` absent from ``mapped``."""
    have = set(mapped)
    return [c for c in _REQUIRED[kind] if c not in have]


def kinds_from_name(name: str) -> list[str]:
    """Record types a file or sheet name points to (``workers_2024.csv``, ``劳动力名单.xlsx``)."""
    low = name.lower()
    found = []
    for kind, aliases in KIND_ALIASES.items():
        if kind in low or any(a.lower() in low for a in aliases):
            found.append(kind)
    return found


def kind_from_headers(headers: Iterable[str]) -> str | None:
    """The record type whose required columns all appear and that recognises most headers."""
    headers = list(headers)
    best: tuple[int, str] | None = None
    tie = False
    for kind in COLUMNS:
        mapping, _, _ = map_headers(kind, headers)
        if missing_columns(kind, mapping.values()):
            continue
        score = len(mapping)
        if best is None or score > best[0]:
            best, tie = (score, kind), False
        elif score == best[0]:
            tie = True
    return None if best is None or tie else best[1]


def canonical_value(kind: str, column: str, value: str) -> str:
    """A Chinese enumeration value in its canonical English form (``男`` → ``male``); else as is."""
    aliases = VALUE_ALIASES.get((kind, column))
    if not aliases or not value:
        return value
    if (kind, column) in LIST_VALUES:
        return LIST_SEPARATOR.join(_one_value(aliases, v) for v in _split_list(value))
    return _one_value(aliases, value)


def _one_value(aliases: dict[str, str], value: str) -> str:
    return aliases.get(value, aliases.get(value.lower(), value.lower() if value.isascii() else value))


def dropdown_values(kind: str, column: str) -> list[str]:
    """The Chinese values a template dropdown offers for ``column``: one per canonical value."""
    out: dict[str, str] = {}
    for zh, canon in VALUE_ALIASES.get((kind, column), {}).items():
        if not zh.isascii():
            out.setdefault(canon, zh)
    return list(out.values())


def chinese_header(kind: str, column: str) -> str:
    """The template's Chinese header for ``column``."""
    return HEADER_ALIASES[kind][column][0]
