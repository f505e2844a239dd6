"""The bad-input corpus (tests/data/bad_inputs): each case gets its documented errors, no valid row lost.

The imports into a store run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matcher.ingest import ingest
from matcher.store import import_paths, open_engine
from matcher.store.read import iter_stored

CORPUS = Path(__file__).resolve().parents[2] / "data" / "bad_inputs"
CASES = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
KEY = b"corpus-test-key-0123456789"


def _where(err) -> tuple[str, int | None, str | None]:
    return (
        Path(err.file.split(" [")[0]).name + (" [" + err.file.split(" [")[1] if " [" in err.file else ""),
        err.row,
        err.field,
    )


def _check_rejections(rejected, expected) -> None:
    got = {_where(e): str(e.reason) for e in rejected}
    want = {(f, r, fld): reason for f, r, fld, reason in expected}
    assert set(got) == set(want), f"rejections differ: got {sorted(got, key=str)}"
    for where, reason in want.items():
        assert reason in got[where], f"{where}: {got[where]!r} lacks {reason!r}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_case_reports_documented_errors_and_keeps_valid_rows(case, db_url):
    expected = CASES[case]
    url = db_url
    report = import_paths(url, [CORPUS / case], key=KEY)
    _check_rejections(report.rejected, expected["rejected"])
    engine = open_engine(url)
    for kind in ("workers", "enterprises", "jobs", "pairings"):
        ids = sorted(next(iter(r.model_dump().values())) for r, _ in iter_stored(engine, kind))
        assert ids == sorted(expected["imported"].get(kind, [])), kind
    engine.dispose()
    assert report.exit_code == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_rejections_never_show_a_raw_id_number_or_phone(case):
    result = ingest([CORPUS / case])
    text = json.dumps([e.as_dict() for e in result.rejected], ensure_ascii=False)
    for err in result.rejected:
        if err.field in ("id_number", "phone") and err.value:
            assert "*" in err.value
    assert "13812345678" not in text


def test_strict_import_of_a_case_with_errors_writes_nothing(db_url):
    url = db_url
    report = import_paths(url, [CORPUS / "gbk_workers"], key=KEY, strict=True)
    assert report.aborted and not report.written and report.exit_code == 1
    engine = open_engine(url)
    assert list(iter_stored(engine, "workers")) == []
    engine.dispose()


def test_gbk_file_is_detected_and_chinese_values_mapped():
    result = ingest([CORPUS / "gbk_workers"])
    assert result.sources[0].encoding == "gb18030"
    w1 = result.records["workers"][0].record
    assert (w1.name, w1.gender.value, w1.mobility.value) == ("张三", "male", "paired")
