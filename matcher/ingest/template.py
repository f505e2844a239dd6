"""Spreadsheets an office fills in or receives: the blank import template and XLSX/CSV exports.

The template has one sheet per record type (劳动力, 企业, 岗位, 结对) with Chinese headers, required
columns marked ``*``, dropdowns for enumerations, ID number and phone columns formatted as text
(so Excel keeps all 18 digits), and a 说明 (notes) sheet. An import reads it back as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

from matcher.csvsafe import csv_writer, xlsx_cell
from matcher.ingest.headers import KIND_ALIASES, chinese_header, dropdown_values
from matcher.records import COLUMNS, REQUIRED_COLUMNS

TEMPLATE_ROWS = 5000  # rows that get dropdowns and text formatting
TEXT_COLUMNS = frozenset(
    {
        "worker_id",
        "id_number",
        "phone",
        "enterprise_id",
        "job_id",
        "group_id",
        "home_county_code",
        "location_code",
        "district_code",
        "county_code",
        "occupation_code",
        "work_location_code",
        "contact_phone",
    }
)
NOTES: dict[str, str] = {
    "id_number": "18 位居民身份证号码，校验码须正确；出生年份、性别须与本行一致",
    "phone": "11 位大陆手机号",
    "birth_year": "四位年份，如 1990",
    "home_county_code": "6 位行政区划代码，如 623024（迭部县）",
    "location_code": "6 位行政区划代码；天津各区为 120101–120119",
    "district_code": "天津区代码 120101–120119",
    "county_code": "6 位行政区划代码",
    "skills": "多项用 ; 或 、 分隔",
    "desired_occupations": "多项用 ; 或 、 分隔",
    "occupation_code": "职业分类大典（2022）代码，如 4-07-05-01",
    "openings": "至少 1",
    "wage_min": "元/月，不大于最高月薪",
    "wage_max": "元/月",
    "min_wage": "元/月",
    "capacity": "留空表示不限",
    "location_code_jobs": "留空表示企业所在地",
    "posted_on": "岗位发布（提供）日期，如 2020-03-01；按年统计各区提供岗位数",
    "closes_on": "招聘截止日期，不早于发布日期；可留空",
    "service_needs": "职业培训、职业介绍、政策咨询、权益维护，多项用 ; 或 、 分隔",
    "work_location_code": "已就业者填写：就业地点的 6 位行政区划代码",
    "employer_contact": "已就业者填写：就业单位联系人及电话（不是本人电话）",
    "contact_name": "企业联系人（写入岗位供给清单）",
    "contact_phone": "企业联系电话，手机或座机（写入岗位供给清单）",
}


def sheet_name(kind: str) -> str:
    """The template's sheet name for ``kind`` (劳动力, 企业, 岗位, 结对)."""
    return KIND_ALIASES[kind][0]


def header_cells(kind: str, *, chinese: bool = True, mark_required: bool = False) -> list[str]:
    """Header texts of ``kind``: Chinese (``*`` before required ones if asked) or English."""
    if not chinese:
        return list(COLUMNS[kind])
    req = set(REQUIRED_COLUMNS[kind])
    return [("*" if mark_required and c in req else "") + chinese_header(kind, c) for c in COLUMNS[kind]]


def build_template():  # -> openpyxl.Workbook
    """The blank import workbook (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    wb.remove(wb.active)
    for kind, columns in COLUMNS.items():
        ws = wb.create_sheet(sheet_name(kind))
        ws.append(header_cells(kind, mark_required=True))
        ws.freeze_panes = "A2"
        for pos, col in enumerate(columns, start=1):
            letter = get_column_letter(pos)
            ws.cell(row=1, column=pos).font = Font(bold=True)
            ws.column_dimensions[letter].width = 22 if col == "id_number" else 14
            rng = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
            choices = dropdown_values(kind, col)
            if choices:
                dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
                dv.error, dv.errorTitle = "请从下拉列表中选择", "取值无效"
                ws.add_data_validation(dv)
                dv.add(rng)
            if col in TEXT_COLUMNS:
                # Text format keeps leading zeros and all 18 digits of an ID number.
                ws.column_dimensions[letter].number_format = "@"
    notes = wb.create_sheet("说明")
    notes.append(["表", "列名", "英文列名", "必填", "说明", "可选值"])
    for kind, columns in COLUMNS.items():
        for col in columns:
            note = NOTES.get(f"{col}_{kind}", NOTES.get(col, ""))
            required = "是" if col in REQUIRED_COLUMNS[kind] else ""
            notes.append(
                [
                    sheet_name(kind),
                    chinese_header(kind, col),
                    col,
                    required,
                    note,
                    "、".join(dropdown_values(kind, col)),
                ]
            )
    notes.append([])
    notes.append(["", "表头也可以用英文列名；空行会被跳过；公式单元格请先粘贴为数值。"])
    return wb


def write_template(path: str | Path) -> Path:
    """Write the blank import workbook to ``path``."""
    path = Path(path)
    build_template().save(path)
    return path


def write_csv(
    rows: Iterable[Mapping[str, str]], headers: Sequence[str], columns: Sequence[str], fh: IO[str]
) -> int:
    """Rows as CSV under ``headers`` (one per column), formula-like text neutralised; returns the
    number of rows written."""
    w = csv_writer(fh, lineterminator="\n")
    w.writerow(headers)
    n = 0
    for row in rows:
        w.writerow([row.get(c, "") for c in columns])
        n += 1
    return n


def write_xlsx(
    rows: Iterable[Mapping[str, str]],
    headers: Sequence[str],
    columns: Sequence[str],
    path: str | Path,
    *,
    sheet: str,
) -> int:
    """Rows as one sheet of a new workbook, every cell as text (characters a workbook cannot hold
    removed); returns the number of rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append([xlsx_cell(h) for h in headers])
    n = 0
    for row in rows:
        cells = []
        for c in columns:
            cell = WriteOnlyCell(ws, value=xlsx_cell(row.get(c, "")))
            # Text cells: openpyxl would turn a value starting with "=" into a formula.
            cell.data_type = "s"
            cells.append(cell)
        ws.append(cells)
        n += 1
    wb.save(path)
    return n
