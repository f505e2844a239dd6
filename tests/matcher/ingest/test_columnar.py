"""The columnar path of an import accepts and rejects exactly the rows the row path does, with the
same errors, and the store ends up byte for byte the same."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.ingest import ingest, load_admin_codes
from matcher.ingest.columnar import KNOWN_VALIDATORS, ColumnValidator
from matcher.ingest.readers import RawRow, read_path
from matcher.ingest.validate import Loaded, Plain
from matcher.pii import protect, protect_column, scrub, scrub_column
from matcher.records import COLUMNS, RECORD_TYPES
from matcher.store import import_ingested, open_engine

KEY = b"columnar-test-key-0123456789"

WORKER = {
    "worker_id": "W1",
    "name": "张三",
    "id_number": "620122197707109394",
    "phone": "13298092568",
    "gender": "male",
    "birth_year": "1977",
    "home_county_code": "620122",
    "education": "初中",
    "skills": "能站立工作;挑拣",
    "experience": "十来年挑菜经验",
    "desired_occupations": "挑拣;食品厂",
    "mobility": "local",
    "min_wage": "2100",
    "employment_status": "employed",
    "current_employer": "皋兰县公益性岗位",
    "group_id": "",
    "service_needs": "policy_consultation",
    "work_location_code": "620122",
    "employer_contact": "宋经理 18772526726",
}
ENTERPRISE = {
    "enterprise_id": "E1",
    "name": "天津市津泰装饰设计有限责任公司",
    "kind": "company",
    "location_code": "120111",
    "employment_base": "false",
    "capacity": "",
    "dorm_beds": "4",
    "contact_name": "朱主任",
    "contact_phone": "022-26651544",
}
JOB = {
    "job_id": "J1",
    "enterprise_id": "E1",
    "title": "吊顶工",
    "description": "负责吊顶和隔墙安装。月薪6300-8100元，年龄20-55岁。",
    "occupation_code": "6-29-04-01",
    "openings": "2",
    "wage_min": "6300",
    "wage_max": "8100",
    "location_code": "",
    "age_min": "20",
    "age_max": "55",
    "gender": "any",
    "accommodation": "true",
    "posted_on": "2026-01-12",
    "closes_on": "2026-02-18",
}

# Values that take the row path (or that look odd and are fine): full-width and spaced numbers,
# zero-width characters, masked numbers, bad check digits and dates, over-long text, Chinese
# enumeration values, untidy lists, leading zeros, formula prefixes, control characters.
TRICKY: dict[str, dict[str, list[str]]] = {
    "workers": {
        "worker_id": ["", "W" * 64, "W" * 65, "w-1 x", "'=W9"],
        "name": ["", "李*", "王\u200b五", "'@name", "a\x07b"],
        "id_number": [
            "",
            "６２０１２２１９７７０７１０９３９４",  # full-width
            "620122 19770710 9394",
            "620122197707109395",  # check digit
            "620122197707109399",  # check digit
            "62012219770710939x",
            "620122********9394",  # masked (an export imported back)
            "620122197702309394",  # 30 February
            "990122197707109394",  # no such province
            "620122209907109394",  # born in the future
            "620122197807109394",  # birth year 1978, the row says 1977
            "620122197707109384",  # a woman's number
            "6.20122E+17",
            "62012219770710939",
        ],
        "phone": [
            "",
            "132 9809 2568",
            "+8613298092568",
            "8613298092568",
            "12298092568",
            "132****2568",
            "１３２９８０９２５６８",
        ],
        "gender": ["男", "女", "MALE", "Male", "x", ""],
        "birth_year": ["", "1977.0", "01977", "１９７７", "1899", "abc", " 1977"],
        "home_county_code": ["", "999999", "62012", "６２０１２２", "620122 "],
        "education": ["高中\u3000", "电话13912340009", "身份证６２０１２２１９７７０７１０９３９４"],
        "skills": ["", "a; b", ";a;;b;", "a、b|c", "a；b", " ; ", "电焊;139 1234 0009"],
        "experience": [
            "",
            "tab\there",
            "line\nbreak",
            "call 1\u200b3\u200b9\u200b1234\u200b0009",
            "2019.3.1 2021.6",
        ],
        "desired_occupations": ["保安、门卫", "保安;;门卫", ";"],
        "mobility": ["", "本地", "不限", "结对", "ANYWHERE", "far"],
        "min_wage": ["", "0", "1000000", "1000001", "-1", "2,100", "0100"],
        "employment_status": ["", "已就业", "否", "retired"],
        "current_employer": ["", "x" * 300, "公司 022-2665-1544"],
        "group_id": ["g1", "g 1", "g" * 65],
        "service_needs": ["", "training;training", "职业培训、政策咨询", "bogus", "training;bogus", ";"],
        "work_location_code": ["", "120101", "999999", "abc"],
        "employer_contact": ["", "x" * 128, "x" * 129, "宋 187 7252 6726", "宋 0086 187 7252 6726"],
    },
    "enterprises": {
        "enterprise_id": ["", "E" * 65, "E2"],
        "name": ["", "公司13912340009", "\u200b公司"],
        "kind": ["", "扶贫车间", "Cooperative", "factory"],
        "location_code": ["", "999999", "120111"],
        "employment_base": ["", "是", "Y", "TRUE", "maybe", "1"],
        "capacity": ["", "0", "-1", "10", "1e3"],
        "dorm_beds": ["", "3.0", "x"],
        "contact_name": ["", "n" * 64, "n" * 65],
        "contact_phone": [
            "",
            "13912340009",
            "022-2665 1544转123",
            "call me",
            "1" * 33,
            "１３９１２３４０００９",
        ],
    },
    "jobs": {
        "job_id": ["", "J" * 65],
        "enterprise_id": ["", "E404"],
        "title": ["", "保安 13912340009", "保安\u200b"],
        "description": ["", "电话：139-1234-0009", "身份证620122197707109394", "a\x0bb"],
        "occupation_code": ["", "4-07-05-01", "4-7-5-1", "４-07-05-01", "40705 01"],
        "openings": ["", "0", "1", "１", "2.5"],
        "wage_min": ["", "9000", "x"],
        "wage_max": ["", "5000", "-3"],
        "location_code": ["", "120101", "999999"],
        "age_min": ["", "60", "121"],
        "age_max": ["", "18", "120"],
        "gender": ["男女不限", "女", "both"],
        "accommodation": ["", "否", "maybe"],
        "posted_on": [
            "",
            "2026/3/1",
            "20260301",
            "2026年3月1日",
            "2026-02-30",
            "2026-03-01 00:00:00",
            "next week",
        ],
        "closes_on": ["", "2026-01-01", "2026-1-13", "2026-13-01"],
    },
}


def _variants(kind: str, base: dict[str, str]) -> list[dict[str, str]]:
    """The base row, then one row per tricky value (one field changed each), ids made unique."""
    key = {"workers": "worker_id", "enterprises": "enterprise_id", "jobs": "job_id"}[kind]
    rows = [dict(base)]
    n = 0
    for field, values in TRICKY[kind].items():
        for value in values:
            n += 1
            row = dict(base)
            row[key] = f"{base[key]}-{n}"
            if kind == "workers":  # distinct valid numbers, so no row is a duplicate of another
                row["phone"] = f"139{n:08d}"
                row["id_number"] = ""
            row[field] = value
            rows.append(row)
    return rows


def _write(path: Path, kind: str, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS[kind]))
        w.writeheader()
        w.writerows(rows)
    return path


def _inputs(folder: Path, workers: list[dict[str, str]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "workers.csv", "workers", workers or _variants("workers", WORKER))
    _write(folder / "enterprises.csv", "enterprises", _variants("enterprises", ENTERPRISE))
    _write(folder / "jobs.csv", "jobs", _variants("jobs", JOB))
    return folder


def _errors(result: Any) -> list[tuple[Any, ...]]:
    return [(e.file, e.row, e.field, str(e), e.value) for e in result.rejected]


def _store_dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        tables = ["workers", "enterprises", "jobs", "pairings", "record_changes"]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}


def _both_ways(folder: Path, tmp: Path) -> tuple[Any, Any]:
    """Ingest and store ``folder`` by the row path and the columnar path; both results checked equal."""
    results, dumps = [], []
    for columnar in (False, True):
        url = f"sqlite:///{tmp / f'store_{columnar}.db'}"
        engine = open_engine(url)
        result = ingest([folder], columnar=columnar)
        report = import_ingested(engine, result, key=KEY)
        engine.dispose()
        results.append((result, report))
        dumps.append(_store_dump(url))
    (rows, row_report), (cols, col_report) = results
    assert _errors(cols) == _errors(rows)
    assert _errors(col_report) == _errors(row_report)
    for kind in RECORD_TYPES:
        assert [(it.file, it.row) for it in cols.records[kind]] == [
            (it.file, it.row) for it in rows.records[kind]
        ]
    assert dumps[1] == dumps[0]
    return rows, cols


def test_tricky_rows_are_accepted_and_rejected_alike_and_stored_identically(tmp_path):
    rows, cols = _both_ways(_inputs(tmp_path / "in"), tmp_path)
    assert rows.rejected  # the tricky values do reject rows
    assert len(rows.records["workers"]) > 20  # and many are valid after normalisation
    # the plainly valid rows did take the columnar path, the others the row path
    kinds = {type(it) for kind in ("workers", "enterprises", "jobs") for it in cols.records[kind]}
    assert kinds == {Plain, Loaded}
    assert all(isinstance(it, Loaded) for it in rows.records["workers"])


def test_the_base_rows_take_the_columnar_path(tmp_path):
    folder = _inputs(tmp_path / "in", workers=[WORKER])
    result = ingest([folder], columnar=True)
    assert isinstance(result.records["workers"][0], Plain)
    assert isinstance(result.records["enterprises"][0], Plain)
    assert isinstance(result.records["jobs"][0], Plain)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id_number", "６２０１２２１９７７０７１０９３９４"),
        ("id_number", "620122197707109395"),
        ("id_number", "620122197702309394"),
        ("phone", "132 9809 2568"),
        ("name", "a\x07b"),
        ("employer_contact", "x" * 129),
        ("worker_id", "W" * 65),
        ("gender", "x"),
        ("birth_year", "1899"),
        ("skills", "a\x07"),
    ],
)
def test_a_row_the_fast_checks_cannot_vouch_for_goes_to_the_row_path(field, value):
    cells = {**WORKER, field: value}
    out = ColumnValidator("workers", load_admin_codes()).split(
        [RawRow(2, dict(WORKER)), RawRow(3, cells)], "f"
    )
    assert isinstance(out[0], Plain)
    assert isinstance(out[1], RawRow) and out[1].cells == cells  # handed over untouched


def test_a_phone_typed_into_free_text_is_masked_on_the_columnar_path(tmp_path):
    zero_width = "call 1\u200b3\u200b9\u200b1234\u200b0009"
    folder = _inputs(tmp_path / "in", workers=[{**WORKER, "experience": zero_width}])
    (item,) = ingest([folder], columnar=True).records["workers"]
    assert isinstance(item, Plain)
    assert item.values["employer_contact"] == "宋经理 187****6726"
    assert item.values["experience"] == scrub(zero_width) == "call 139****0009"


def test_every_validator_of_the_records_is_one_the_columnar_path_applies():
    admin = load_admin_codes()
    for kind in ("workers", "enterprises", "jobs"):
        assert ColumnValidator(kind, admin).enabled, kind
    assert set(KNOWN_VALIDATORS) == {"Worker", "Enterprise", "Job"}


def test_a_record_type_with_an_unknown_validator_takes_the_row_path(monkeypatch):
    monkeypatch.setitem(KNOWN_VALIDATORS, "Worker", frozenset())
    assert not ColumnValidator("workers", load_admin_codes()).enabled


def test_a_table_cut_short_keeps_the_rows_before_the_cut(tmp_path):
    # A JSON table goes the same way as a CSV one, items with different keys included.
    path = tmp_path / "workers.json"
    path.write_text(
        '[{"worker_id": "a", "gender": "male", "birth_year": 1990, "home_county_code": "620122"},'
        ' {"worker_id": "b", "gender": "女", "birth_year": "1991", "home_county_code": "620122",'
        ' "phone": "13912340009"},'
        ' {"worker_id": "c"}, 5]',
        encoding="utf-8",
    )
    rows, cols = (ingest([path], columnar=c) for c in (False, True))
    assert _errors(cols) == _errors(rows)
    assert [it.row for it in cols.records["workers"]] == [1, 2]


def test_scrub_column_is_scrub_on_every_cell():
    values = [
        "",
        "电话13912340009",
        "x" * 20,
        "１３９１２３４０００９",
        "1\u200b3\u200b9\u200b1234\u200b0009",
        "wage 5000-6000",
        "620122197707109394 and 022-2665-1544",
        "..........",
    ]
    assert scrub_column(values) == [scrub(v) for v in values]


def test_protect_column_is_protect_on_every_value():
    for field, values in {
        "id_number": [
            "",
            "620122197707109394",
            "62012219770710939X",
            "62012219770710939x",
            "620122********9394",
            "６２０１２２１９７７０７１０９３９４",
        ],
        "phone": ["", "13912340009", "8613912340009", "008613912340009", "139 1234 0009", "139****0009"],
    }.items():
        hashes, masked = protect_column(KEY, field, values)
        assert list(zip(hashes, masked, strict=True)) == [protect(KEY, field, v) for v in values]


_POOL = {field: [WORKER[field], *values] for field, values in TRICKY["workers"].items()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries({f: st.sampled_from(v) for f, v in _POOL.items()}), min_size=1, max_size=12
    )
)
def test_any_mix_of_tricky_worker_cells_goes_both_ways_alike(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("mix")
    folder = _inputs(tmp / "in", workers=rows)
    _both_ways(folder, tmp)


def test_reading_a_table_twice_gives_the_same_rows(tmp_path):
    # split() consumes the table's rows once; the reader's rows are plain data, not reused.
    path = _write(tmp_path / "workers.csv", "workers", [WORKER])
    (table,) = read_path(path)
    rows = list(table.rows)
    out = ColumnValidator("workers", load_admin_codes()).split(rows, table.file)
    assert [r.row for r in out] == [2]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["id_number", "phone"]),
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789Xx*+ -８\x00\u200b", max_size=20),
            st.from_regex(r"[0-9]{11}", fullmatch=True),
            st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),
            st.from_regex(r"[0-9A-Za-z]{1,20}", fullmatch=True),
        ),
        max_size=30,
    ),
)
def test_protect_column_is_protect_on_any_values(field, values):
    hashes, masked = protect_column(KEY, field, values)
    assert list(zip(hashes, masked, strict=True)) == [protect(KEY, field, v) for v in values]
