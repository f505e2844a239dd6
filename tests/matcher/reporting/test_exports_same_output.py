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
