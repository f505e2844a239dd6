"""Regenerate the bad-input corpus: ``python tests/data/bad_inputs/make_corpus.py``.

Each case is a folder of input files plus its expected outcome in ``cases.json``: the valid rows
that must be imported (by type and id) and every rejection as ``[file, row, field, reason text]``.
The files are committed; this script documents how they were made (and the XLSX cases can only be
written by a program). ID numbers are synthetic, with correct check digits unless a case says not.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from openpyxl import Workbook

from matcher.idcard import id_check_digit

HERE = Path(__file__).resolve().parent
W_EN = ["worker_id", "name", "id_number", "phone", "gender", "birth_year", "home_county_code", "mobility"]
W_ZH = ["编号", "姓名", "身份证号", "手机号", "性别", "出生年份", "户籍县代码", "流动意愿"]
E_ZH = ["企业编号", "企业名称", "企业类型", "所在地代码", "是否就业基地"]
J_ZH = ["岗位编号", "企业编号", "岗位名称", "招聘人数", "最低月薪", "最高月薪", "性别要求", "是否提供住宿"]


def idn(county: str, birth: str, seq: int, *, bad_check: bool = False) -> str:
    """A synthetic ID number: odd ``seq`` is a man's."""
    body = f"{county}{birth}{seq:03d}"
    check = id_check_digit(body)
    if bad_check:
        check = "0" if check != "0" else "1"
    return body + check


def with_x() -> str:
    """A woman's ID number born 1990-01-01 whose check character is X (written lower-case here)."""
    return next(i for s in range(0, 999, 2) if (i := idn("623024", "19900101", s)).endswith("X"))


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write(case: str, name: str, text: str, encoding: str = "utf-8") -> None:
    path = HERE / case / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


ENTERPRISES = csv_text(
    E_ZH, [["e1", "津门物业", "企业", "120111", "是"], ["e2", "迭部扶贫车间", "扶贫车间", "623024", "否"]]
)


def main() -> None:
    for p in HERE.iterdir():
        if p.is_dir():
            shutil.rmtree(p)
    cases: dict[str, dict] = {}

    # GBK (as Excel on Chinese Windows saves "CSV"), Chinese headers and Chinese values.
    write("gbk_workers", "workers.csv", csv_text(W_ZH, [
        ["w1", "张三", idn("623024", "19900101", 123), "13812345678", "男", 1990, "623024", "结对"],
        ["w2", "李四", idn("623024", "19850315", 124, bad_check=True), "", "女", 1985, "623024", "本地"],
        ["w3", "王芳", idn("620821", "19920720", 222), "", "女", 1992, "620821", "不限"],
        ["w4", "赵六", "", "", "男", 1980, "620525", ""],
    ]), "gbk")  # fmt: skip
    cases["gbk_workers"] = {
        "imported": {"workers": ["w1", "w3", "w4"]},
        "rejected": [["workers.csv", 3, "id_number", "check digit does not match"]],
    }

    # UTF-8 with BOM, Chinese file name, a title line above the header, blank lines, padded cells.
    title = "2025年劳动力调查表,,,,,,,\n"
    text = title + csv_text(W_ZH, [
        [" w1 ", " 张三 ", idn("623024", "19900101", 123), " 138 1234 5678", " 男 ", " 1990 ", "623024"],
        [],
        ["w2", "李四", idn("623024", "19850315", 124), "12345678901", "女", 1985, "623024", "本地"],
        ["", "", "", "", "", "", "", ""],
        ["w3", "王芳", "", "+86 13700001111", "女", 1992, "620821", ""],
    ])  # fmt: skip
    write("utf8_bom_workers", "劳动力名单.csv", text, "utf-8-sig")
    cases["utf8_bom_workers"] = {
        "imported": {"workers": ["w1", "w3"]},
        "rejected": [["劳动力名单.csv", 5, "phone", "not a mainland mobile segment"]],
    }

    # Check digits and consistency with the record.
    write("bad_check_digit", "workers.csv", csv_text(W_EN, [
        ["w1", "甲", idn("120101", "19900101", 123, bad_check=True), "", "male", 1990, "120101", "paired"],
        ["w2", "乙", with_x().lower(), "", "female", 1990, "623024", "paired"],
        ["w3", "丙", idn("623024", "19900101", 123), "", "male", 1991, "623024", "paired"],
        ["w4", "丁", idn("623024", "19900101", 123)[:17], "", "male", 1990, "623024", "paired"],
        ["w5", "戊", idn("623024", "19900101", 125), "", "female", 1990, "623024", "paired"],
        ["w6", "己", "1.20101199001011E+17", "", "male", 1990, "623024", "paired"],
        ["w7", "庚", idn("623024", "19900101", 127), "", "male", 1990, "623024", "paired"],
    ]))  # fmt: skip
    cases["bad_check_digit"] = {
        "imported": {"workers": ["w2", "w7"]},
        "rejected": [
            ["workers.csv", 2, "id_number", "check digit does not match"],
            [
                "workers.csv",
                4,
                "id_number",
                "birth year 1990 in the ID number does not match birth_year 1991",
            ],
            ["workers.csv", 5, "id_number", "has 17 characters"],
            ["workers.csv", 6, "id_number", "the ID number is a male's"],
            ["workers.csv", 7, "id_number", "format the column as text"],
        ],
    }

    # A file without a required column is rejected whole; the other files still go in.
    write("missing_column", "workers.csv", csv_text([c for c in W_ZH if c != "出生年份"], [
        ["w1", "张三", "", "", "男", "623024", "结对"]]))  # fmt: skip
    write("missing_column", "enterprises.csv", ENTERPRISES)
    cases["missing_column"] = {
        "imported": {"enterprises": ["e1", "e2"]},
        "rejected": [["workers.csv", 1, None, "missing required column(s): birth_year"]],
    }

    # Duplicates: every row involved is rejected.
    same = idn("623024", "19880808", 321)
    write("duplicates", "workers.csv", csv_text(W_EN, [
        ["w1", "甲", "", "", "male", 1990, "623024", "paired"],
        ["w2", "乙", same, "", "male", 1988, "623024", "paired"],
        ["w1", "丙", "", "", "female", 1991, "623024", "paired"],
        ["w3", "丁", same, "", "male", 1988, "623024", "paired"],
        ["w4", "戊", "", "", "female", 1992, "623024", "paired"],
        ["w5", "己", idn("623024", "19880808", 323), "", "male", 1988, "623024", "paired"],
    ]))  # fmt: skip
    cases["duplicates"] = {
        "imported": {"workers": ["w4", "w5"]},
        "rejected": [
            ["workers.csv", 2, "worker_id", "duplicate worker_id 'w1' (also at"],
            ["workers.csv", 3, "id_number", "duplicate ID number (also at"],
            ["workers.csv", 4, "worker_id", "duplicate worker_id 'w1' (also at"],
            ["workers.csv", 5, "id_number", "duplicate ID number (also at"],
        ],
    }

    # Admin codes that do not exist; a job of an unknown enterprise and of a rejected one.
    write("unknown_codes", "workers.csv", csv_text(W_EN, [
        ["w1", "甲", "", "", "male", 1990, "999999", "paired"],
        ["w2", "乙", "", "", "male", 1990, "623024", "paired"],
    ]))  # fmt: skip
    write("unknown_codes", "enterprises.csv", csv_text(E_ZH, [
        ["e1", "津门物业", "企业", "120111", "是"],
        ["e3", "无此区企业", "企业", "120199", "否"],
    ]))  # fmt: skip
    write("unknown_codes", "jobs.csv", csv_text(J_ZH, [
        ["j1", "e1", "保安员", 3, 4000, 5000, "不限", "是"],
        ["j2", "e3", "保洁员", 2, 3000, 3500, "不限", "否"],
        ["j3", "e9", "仓管员", 1, 3000, 3500, "男", "否"],
    ]))  # fmt: skip
    cases["unknown_codes"] = {
        "imported": {"workers": ["w2"], "enterprises": ["e1"], "jobs": ["j1"]},
        "rejected": [
            ["enterprises.csv", 3, "location_code", "unknown admin code 120199"],
            ["jobs.csv", 3, "enterprise_id", "unknown enterprise_id 'e3': its row was rejected"],
            ["jobs.csv", 4, "enterprise_id", "unknown enterprise_id 'e9': not in the enterprise files"],
            ["workers.csv", 2, "home_county_code", "unknown admin code 999999"],
        ],
    }

    # Openings and wage ranges; a row shifted by an unquoted comma.
    write("negative_openings", "enterprises.csv", ENTERPRISES)
    write("negative_openings", "jobs.csv", csv_text(J_ZH, [
        ["j1", "e1", "保安员", 3, 4000, 5000, "不限", "是"],
        ["j2", "e1", "保洁员", -3, 3000, 3500, "女", "否"],
        ["j3", "e2", "手工编织", 0, 2000, 2500, "女", "否"],
        ["j4", "e2", "缝纫工", 2, 5000, 3000, "不限", "否"],
        ["j5", "e2", "包装工", 2, 2000, 2600, "不限", "否"],
        ["j6", "e2", "包装工", 2, 2000, 2600, "不限", "否", "多出的一列"],
    ]))  # fmt: skip
    cases["negative_openings"] = {
        "imported": {"enterprises": ["e1", "e2"], "jobs": ["j1", "j5"]},
        "rejected": [
            ["jobs.csv", 3, "openings", "greater than or equal to 1"],
            ["jobs.csv", 4, "openings", "greater than or equal to 1"],
            ["jobs.csv", 5, None, "wage_min 5000 is greater than wage_max 3000"],
            ["jobs.csv", 7, None, "beyond the last header column"],
        ],
    }

    # XLSX: a formula cell and an ID number stored as a number.
    wb = Workbook()
    ws = wb.active
    ws.title = "劳动力"
    ws.append(W_ZH)
    ws.append(["w1", "张三", idn("623024", "19900101", 123), "13812345678", "男", 1990, "623024", "结对"])
    ws.append(["w2", "李四", "", "13812345678", "女", "=2025-35", "623024", "本地"])
    ws.append(["w3", "王五", 120101199001011234, "", "男", 1990, "623024", "本地"])
    ws.append(["w4", "赵六", "", 13912345678, "男", 1991, "620821", "不限"])
    ws2 = wb.create_sheet("企业")
    for row in [E_ZH, ["e1", "津门物业", "企业", "120111", "是"]]:
        ws2.append(row)
    (HERE / "xlsx_formulas").mkdir()
    wb.save(HERE / "xlsx_formulas" / "workbook.xlsx")
    cases["xlsx_formulas"] = {
        "imported": {"workers": ["w1", "w4"], "enterprises": ["e1"]},
        "rejected": [
            ["workbook.xlsx [劳动力]", 3, "birth_year", "cell holds a formula"],
            ["workbook.xlsx [劳动力]", 4, "id_number", "stored as a number"],
        ],
    }

    # XLSX: an empty sheet named after a record type, and an empty "Sheet2" (skipped).
    wb = Workbook()
    ws = wb.active
    ws.title = "企业"
    for row in [
        E_ZH,
        ["e1", "津门物业", "企业", "120111", "是"],
        ["e2", "迭部扶贫车间", "扶贫车间", "623024", "否"],
    ]:
        ws.append(row)
    wb.create_sheet("岗位")
    wb.create_sheet("Sheet2")
    (HERE / "xlsx_empty_sheet").mkdir()
    wb.save(HERE / "xlsx_empty_sheet" / "workbook.xlsx")
    cases["xlsx_empty_sheet"] = {
        "imported": {"enterprises": ["e1", "e2"]},
        "rejected": [["workbook.xlsx [岗位]", None, None, "sheet is empty (no header row)"]],
    }

    # JSON with Chinese keys, a non-object and a bad value.
    items = [
        {"编号": "w1", "性别": "男", "出生年份": 1990, "户籍县代码": "623024", "技能": ["电焊", "叉车"]},
        "not an object",
        {"编号": "w2", "性别": "未知", "出生年份": 1990, "户籍县代码": "623024"},
        {"编号": "w3", "性别": "女", "出生年份": 1995, "户籍县代码": "632301", "流动意愿": "不限"},
    ]
    write("json_records", "workers.json", json.dumps(items, ensure_ascii=False, indent=1))
    cases["json_records"] = {
        "imported": {"workers": ["w1", "w3"]},
        "rejected": [
            ["workers.json", 2, None, "not a JSON object"],
            ["workers.json", 3, "gender", "Input should be 'male' or 'female'"],
        ],
    }
    (HERE / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
