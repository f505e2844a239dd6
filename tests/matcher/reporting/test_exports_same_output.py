"""The vectorised writers write what the row-by-row writers they replaced wrote.

The references (:mod:`benchmarks.export_reference`) are the previous implementations: a
``SafeWriter`` row loop for every CSV (bytes must be equal) and openpyxl's write-only workbook for
every XLSX (sheet names and every cell value must be equal), on the small sample and on the
adversarial one (formula-like names and ids, control characters, line breaks).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks.export_reference import old_run_files, old_write_csv, old_write_csv_groups, old_write_xlsx
from matcher.placement.files import write_run
from matcher.placement.options import PlaceOptions
from matcher.placement.pipeline import run_placement
from matcher.reporting import exports
from matcher.runs.record import build_record
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset
from tests.test_adversarial import _hostile_dataset


def _cells(path: Path):
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


@pytest.mark.parametrize("make", [small_dataset, _hostile_dataset], ids=["sample", "adversarial"])
def test_new_writers_write_what_the_old_ones_wrote(make, tmp_path, monkeypatch):
    ds = make()
    run = run_placement(ds, PlaceOptions(year=YEAR, k=6, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder())
    rec = build_record(run)
    write_run(run, tmp_path / "run_new")
    (tmp_path / "run_old").mkdir()
    old_run_files(run, tmp_path / "run_old")
    for name in ("assignments.csv", "unplaced.csv", "candidates.csv"):
        new = (tmp_path / "run_new" / name).read_bytes()
        assert new == (tmp_path / "run_old" / name).read_bytes(), name
        assert len(new.splitlines()) > 1, name

    new_files = exports.write_run_exports(ds, YEAR, rec.assignments, rec.unplaced, tmp_path / "new")
    monkeypatch.setattr(exports, "write_csv", old_write_csv)
    monkeypatch.setattr(exports, "write_csv_groups", old_write_csv_groups)
    monkeypatch.setattr(exports, "write_xlsx", old_write_xlsx)
    old_files = exports.write_run_exports(ds, YEAR, rec.assignments, rec.unplaced, tmp_path / "old")
    rel_new = sorted(p.relative_to(tmp_path / "new") for p in new_files)
    assert rel_new == sorted(p.relative_to(tmp_path / "old") for p in old_files)
    assert any(p.suffix == ".xlsx" for p in rel_new) and any(p.suffix == ".csv" for p in rel_new)
    for rel in rel_new:
        new_path, old_path = tmp_path / "new" / rel, tmp_path / "old" / rel
        if rel.suffix == ".csv":
            assert new_path.read_bytes() == old_path.read_bytes(), rel
            with new_path.open(encoding="utf-8-sig", newline="") as fh:
                assert next(csv.reader(fh))  # the Chinese header row is there
        else:
            assert _cells(new_path) == _cells(old_path), rel


# Columns of every kind the XLSX writer renders apart: text only (with markup characters), text
# with a blank, text with a character a workbook cannot hold, ints, finite floats, floats with NaN
# and infinity, booleans, and a mix; more rows than one rendered part.
_KINDS = (
    ("text", lambda i: f"名{i} <&> '=x{i}"),
    ("blank", lambda i: "" if i % 5 == 0 else f"b{i}"),
    ("control", lambda i: f"c\x01{i}" if i % 7 == 0 else f"c{i}"),
    ("ints", lambda i: i * 3 - 50),
    ("floats", lambda i: i / 7 - 3),
    ("nonfinite", lambda i: float("nan") if i % 11 == 0 else float("inf") if i % 13 == 0 else i / 3),
    ("bools", lambda i: i % 2 == 0),
    ("mixed", lambda i: (None, 1, 2.5, True, "t", "")[i % 6]),
)


def test_sheet_xml_is_what_the_cell_by_cell_writer_makes_for_every_kind_of_column(monkeypatch):
    """The column-at-a-time sheet XML (text escaped joined, numbers mapped, rows filled by one
    template) is byte for byte the XML of each cell made alone by ``_cell``."""
    from matcher.reporting import xlsx

    monkeypatch.setattr(xlsx, "ROWS_PER_PART", 64)
    headers = [k for k, _ in _KINDS]
    columns = [[make(i) for i in range(150)] for _, make in _KINDS]
    letters = xlsx._column_letters(len(headers))
    rows = [
        f'<row r="{i + 2}">'
        + "".join(xlsx._cell(f"{c}{i + 2}", col[i]) for c, col in zip(letters, columns, strict=True))
        + "</row>"
        for i in range(150)
    ]
    want = "".join(
        [
            xlsx._SHEET_HEAD,
            '<row r="1">'
            + "".join(xlsx._cell(f"{c}1", h, ' s="1"') for c, h in zip(letters, headers, strict=True))
            + "</row>",
            *rows,
            "</sheetData></worksheet>",
        ]
    )
    assert "".join(xlsx._sheet_xml(headers, columns)) == want
    assert "&lt;&amp;&gt;" in want and "c\x01" not in want and ">nan<" in want


def test_csv_lines_made_once_write_what_each_grouping_writes(tmp_path):
    """A table rendered once (with_csv_lines) and split two ways writes the files its groups write
    when each grouping renders its own rows (adversarial cells: formulas, line breaks)."""
    ds = _hostile_dataset()
    run = run_placement(ds, PlaceOptions(year=YEAR, k=6, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder())
    placed = exports.placement_table(ds, build_record(run).assignments)
    lined = exports.with_csv_lines(placed)
    assert lined.csv_lines is not None and len(lined.csv_lines) == len(placed.rows) > 1
    for key, label in (("location_code", "location"), ("enterprise_id", "enterprise_name")):
        a, b = tmp_path / f"{key}_a", tmp_path / f"{key}_b"
        a.mkdir(), b.mkdir()
        got = exports.write_csv_groups(exports.group_rows(lined, key, label), a)
        want = exports.write_csv_groups(exports.group_rows(placed, key, label), b)
        assert [p.name for p in got] == [p.name for p in want]
        for p, q in zip(got, want, strict=True):
            assert p.read_bytes() == q.read_bytes(), p.name
    with pytest.raises(ValueError):
        exports.write_csv(
            exports.Table(placed.columns, placed.rows, lined.csv_lines[:-1]), tmp_path / "x.csv"
        )
