"""The vectorised writers write what the row-by-row writers they replaced wrote.

The references below are the previous implementations, kept here only to compare against: a
``SafeWriter`` row loop for every CSV (bytes must be equal) and openpyxl's write-only workbook for
every XLSX (sheet names and every cell value must be equal), on the small sample and on the
adversarial one (formula-like names and ids, control characters, line breaks).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from matcher.csvsafe import csv_writer, xlsx_cell
from matcher.placement.files import write_run
from matcher.placement.options import PlaceOptions
from matcher.placement.pipeline import run_placement
from matcher.placement.summary import edge_score_of, unplaced_reason_names
from matcher.reporting import exports
from matcher.runs.record import build_record
from matcher.scoring.factors import score_text
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset
from tests.test_adversarial import _hostile_dataset


def _old_write_csv(table, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv_writer(fh, lineterminator="\n")
        w.writerow(table.headers)
        w.writerows(table.values())
    return path


def _old_write_xlsx(sheets, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    used: set[str] = set()
    if not sheets:
        sheets = {"空": exports.Table((("note", "说明"),), [{"note": "无数据"}])}
    for name, table in sheets.items():
        ws = wb.create_sheet(exports.sheet_title(name, used))
        ws.append([WriteOnlyCell(ws, value=xlsx_cell(h)) for h in table.headers])
        for values in table.values():
            cells = []
            for v in values:
                cell = WriteOnlyCell(ws, value=xlsx_cell(v))
                if isinstance(v, str):
                    cell.data_type = "s"
                cells.append(cell)
            ws.append(cells)
    wb.save(path)
    return path


def _old_run_files(run, out: Path) -> None:
    ds, edges, res = run.dataset, run.edges, run.result
    assignment = np.asarray(res.assignment)
    edge_of = edge_score_of(run)
    with (out / "assignments.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "enterprise_id", "score"])
        for w in np.flatnonzero(assignment >= 0):
            job = ds.jobs[int(assignment[w])]
            score = edge_of[(int(w), int(assignment[w]))]
            wr.writerow([ds.workers[w].worker_id, job.job_id, job.enterprise_id, score_text(score)])
    reasons = unplaced_reason_names(run)
    with (out / "unplaced.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "reason"])
        for w in np.flatnonzero(assignment < 0):
            wr.writerow([ds.workers[w].worker_id, reasons[w]])
    with (out / "candidates.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "score"])
        wids = [w.worker_id for w in ds.workers]
        jids = [j.job_id for j in ds.jobs]
        wr.writerows(
            (wids[w], jids[j], score_text(s))
            for w, j, s in zip(edges.worker, edges.job, edges.score, strict=True)
        )


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
    _old_run_files(run, tmp_path / "run_old")
    for name in ("assignments.csv", "unplaced.csv", "candidates.csv"):
        new = (tmp_path / "run_new" / name).read_bytes()
        assert new == (tmp_path / "run_old" / name).read_bytes(), name
        assert len(new.splitlines()) > 1, name

    new_files = exports.write_run_exports(ds, YEAR, rec.assignments, rec.unplaced, tmp_path / "new")
    monkeypatch.setattr(exports, "write_csv", _old_write_csv)
    monkeypatch.setattr(exports, "write_xlsx", _old_write_xlsx)
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
