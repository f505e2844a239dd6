"""Readers, encodings, header aliases, the template, and a 100,000-row file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from matcher.ingest import ingest
from matcher.ingest.encoding import detect_encoding
from matcher.ingest.headers import HEADER_ALIASES, VALUE_ALIASES, kind_from_headers, map_headers
from matcher.ingest.template import write_template
from matcher.records import COLUMNS

ROOT = Path(__file__).resolve().parents[3]
ZH_WORKERS = "编号,性别,出生年份,户籍县代码,流动意愿\nw1,男,1990,623024,不限\nw2,女,1991,623024,本地\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("编号,姓名\n".encode(), "utf-8"),
        ("编号,姓名\n".encode("utf-8-sig"), "utf-8-sig"),
        ("编号,姓名\n".encode("gbk"), "gb18030"),
        ("编号,姓名\n".encode("utf-16"), "utf-16"),
    ],
)
def test_detect_encoding(data, encoding):
    assert detect_encoding(data, complete=True) == encoding


def test_a_multibyte_character_cut_at_the_prefix_end_is_still_utf8():
    data = ("张" * 10).encode()[:-1]
    assert detect_encoding(data, complete=False) == "utf-8"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_chinese_headers_and_values_in_any_encoding(tmp_path, encoding):
    path = tmp_path / "劳动力.csv"
    path.write_bytes(ZH_WORKERS.encode(encoding))
    result = ingest([path])
    assert not result.rejected
    w1, w2 = (it.record for it in result.records["workers"])
    assert (w1.gender.value, w1.mobility.value, w2.mobility.value) == ("male", "anywhere", "local")


def test_headers_match_despite_case_spaces_stars_and_notes():
    headers = ["*岗位编号", "Enterprise ID", "岗位名称（必填）", "招聘 人数", "备注"]
    mapping, ignored, clashes = map_headers("jobs", headers)
    assert list(mapping.values()) == ["job_id", "enterprise_id", "title", "openings"]
    assert ignored == ["备注"] and not clashes
    assert map_headers("workers", ["姓名", "name"])[2]  # two headers for one column


def test_record_type_from_headers_alone():
    assert kind_from_headers(["岗位编号", "企业编号", "岗位名称", "招聘人数"]) == "jobs"
    assert kind_from_headers(["企业编号", "企业名称", "所在地代码"]) == "enterprises"
    assert kind_from_headers(["foo", "bar"]) is None


def test_tab_separated_file_with_unrecognised_name(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text(ZH_WORKERS.replace(",", "\t"), encoding="utf-8")
    assert ingest([path]).counts()["workers"] == 2


def test_folder_skips_files_that_are_not_inputs(tmp_path):
    (tmp_path / "workers.csv").write_text(ZH_WORKERS, encoding="utf-8")
    (tmp_path / "truth.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = ingest([tmp_path])
    assert not result.rejected and [s.kind for s in result.sources] == ["workers"]


def test_template_has_a_sheet_per_type_dropdowns_and_reads_back(tmp_path):
    path = write_template(tmp_path / "t.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["劳动力", "企业", "岗位", "结对", "说明"]
    ws = wb["劳动力"]
    expected = [HEADER_ALIASES["workers"][c][0] for c in COLUMNS["workers"]]
    assert [c.value.lstrip("*") for c in ws[1]] == expected
    formulas = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert '"男,女"' in formulas and '"本地,结对,不限"' in formulas
    ws.append(["w1", "张三", "", "", "男", 1990, "623024"])
    wb.save(path)
    result = ingest([path])
    assert result.counts()["workers"] == 1 and not result.rejected


def test_readme_documents_every_header_and_value_alias():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Chinese headers", 1)[1]
    assert "\n## " not in section  # the section is the last one
    for kind, cols in HEADER_ALIASES.items():
        for col, aliases in cols.items():
            row = next(line for line in section.splitlines() if re.match(rf"\| `{kind}` \| `{col}` \|", line))
            assert all(a in row for a in aliases), (kind, col)
    for (_, col), values in VALUE_ALIASES.items():
        assert all(v in section for v in values if not v.isascii()), col


def _big_workers(path: Path, n: int, bad_every: int) -> int:
    from matcher.idcard import id_check_digit

    bad = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("worker_id,name,id_number,phone,gender,birth_year,home_county_code,mobility\n")
        for i in range(n):
            body = f"62302419900101{i % 1000:03d}"
            idn = f"{body}{id_check_digit(body)}" if i < 1000 else ""
            county = "623024"
            if i % bad_every == bad_every - 1:
                county, bad = "999999", bad + 1
            gender = "male" if i % 2 else "female"
            fh.write(f"w{i},某人,{idn},1381234{i % 10000:04d},{gender},1990,{county},paired\n")
    return bad


@pytest.mark.slow
def test_a_100000_row_file_keeps_every_valid_row(tmp_path):
    path = tmp_path / "workers.csv"
    bad = _big_workers(path, 100_000, bad_every=997)
    result = ingest([path])
    assert len(result.rejected) == bad
    assert result.counts()["workers"] == 100_000 - bad
    assert {e.field for e in result.rejected} == {"home_county_code"}
    assert result.rejected[0].row == 998  # header is row 1, w996 is row 998


@pytest.mark.parametrize("columnar", [False, True])
def test_bytes_not_in_the_encoding_past_the_sniffed_prefix_reject_their_row_alone(tmp_path, columnar):
    from matcher.ingest.encoding import PREFIX_BYTES

    rows = [f"w{i},男,1990,623024,不限" for i in range(PREFIX_BYTES // 20)]  # well past the prefix
    path = tmp_path / "workers.csv"
    head = "编号,性别,出生年份,户籍县代码,流动意愿\n" + "\n".join(rows) + "\n"
    tail = "w-y,女,1991,623024,本地\n".encode()
    path.write_bytes(head.encode() + b"w-x,\xff\xfe,1990,623024,\xe4\n" + tail)
    result = ingest([path], columnar=columnar)
    assert len(result.records["workers"]) == len(rows) + 1  # every other row kept, the last one too
    (bad,) = result.rejected
    assert (bad.file, bad.row, bad.field) == (str(path), len(rows) + 2, "gender")
    assert "not valid utf-8" in bad.reason and "UTF-8" in bad.reason
