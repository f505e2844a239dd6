"""Job-fair and outcome files go through the importer's readers: the same encodings, Chinese
headers, title lines above the header, Excel dates and cell checks as an import."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook

from matcher.errors import RecordError, SchemaError
from matcher.runs.followup import read_job_fairs, read_outcomes


def test_a_workbook_with_a_title_line_chinese_headers_and_excel_dates(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["2024年专场招聘会登记表"])
    ws.append(["招聘会编号", "日期", "地点", "帮扶区代码", "结对县代码", "录用人数"])
    ws.append(["F1", dt.datetime(2024, 5, 1), "临夏州体育馆", "120101", "622921", 35])
    path = tmp_path / "fairs.xlsx"
    wb.save(path)
    (fair,) = read_job_fairs(path)
    assert (fair.fair_id, fair.held_on, fair.county_code, fair.hires) == (
        "F1",
        dt.date(2024, 5, 1),
        "622921",
        35,
    )


def test_outcomes_in_gbk_with_english_or_chinese_headers(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_bytes("劳动力编号,是否到岗,到岗日期,三个月在岗\nW1,是,2024-03-01,否\n".encode("gbk"))
    (row,) = read_outcomes(path)
    assert row["worker_id"] == "W1" and row["started"] is True
    assert row["started_on"] == dt.date(2024, 3, 1) and row["employed_3m"] is False


def test_a_missing_required_column_and_a_formula_are_named(tmp_path):
    path = tmp_path / "fairs.csv"
    path.write_text("招聘会编号,地点\nF1,县城\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="held_on"):
        read_job_fairs(path)
    wb = Workbook()
    wb.active.append(["worker_id", "started"])
    wb.active.append(["W1", "=TRUE()"])
    xlsx = tmp_path / "outcomes.xlsx"
    wb.save(xlsx)
    with pytest.raises(RecordError) as err:
        read_outcomes(xlsx)
    assert (err.value.row, err.value.field) == (2, "started") and "formula" in err.value.reason


def test_a_tsv_outcome_file_extra_cells_and_a_date_with_a_time_are_read(tmp_path):
    path = tmp_path / "outcomes.tsv"
    path.write_text("worker_id\tstarted\tstarted_on\nW1\t是\t2024-03-01\t多余\n", encoding="utf-8")
    (row,) = read_outcomes(path)
    assert row["worker_id"] == "W1" and row["started_on"] == dt.date(2024, 3, 1)
    wb = Workbook()
    wb.active.append(["fair_id", "held_on", "county_code"])
    wb.active.append(["F2", dt.datetime(2024, 5, 1, 9, 30), "622921"])
    xlsx = tmp_path / "fairs.xlsx"
    wb.save(xlsx)
    (fair,) = read_job_fairs(xlsx)
    assert fair.held_on == dt.date(2024, 5, 1)
