"""The export writers as they were before the vectorised ones: the reference the new ones are held to.

A test compares every file the new writers write with these (same bytes for CSV, same sheets and
cell values for XLSX), and ``bench_pipeline --export-reference`` times them on the same run as the
export stage, so the speed-up is a ratio measured in one process (DESIGN.md §5). Nothing on the
product path imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from matcher.csvsafe import csv_writer, xlsx_cell
from matcher.placement.guidance import unplaced_guidance
from matcher.placement.summary import edge_score_of, unplaced_reason_names
from matcher.reporting import exports
from matcher.scoring.factors import score_text


def old_write_csv(table: Any, path: Path) -> Path:
    """``write_csv`` before: a ``SafeWriter`` row loop."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv_writer(fh, lineterminator="\n")
        w.writerow(table.headers)
        w.writerows(table.values())
    return path


def old_write_csv_groups(groups: Any, folder: Path) -> list[Path]:
    """``write_csv_groups`` before: one ``old_write_csv`` per group."""
    return [old_write_csv(t, folder / exports.csv_file_name(name)) for name, t in groups.items()]


def old_write_xlsx(sheets: Any, path: Path) -> Path:
    """``write_xlsx`` before: openpyxl write-only cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    used: set[str] = set()
    if not sheets:
        sheets = {"空": exports.Table((("note", "说明"),), [{"note": "无数据"}])}
    for name, table in sheets.items():
        ws = wb.create_sheet(exports.sheet_title(name, used))
        ws.freeze_panes = "A2"
        header = []
        for h in table.headers:
            cell = WriteOnlyCell(ws, value=xlsx_cell(h))
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
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


def old_run_files(run: Any, out: Path) -> None:
    """``assignments.csv``, ``unplaced.csv`` and ``candidates.csv`` as ``write_run`` wrote them before."""
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
    guide = unplaced_guidance(run)
    with (out / "unplaced.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "reason", "rule", "guidance_zh", "guidance_en"])
        for u in np.flatnonzero(assignment < 0).tolist():
            g = guide.get(u)
            row = [g.rule, g.zh, g.en] if g else ["", "", ""]
            wr.writerow([ds.workers[u].worker_id, reasons[u], *row])
    with (out / "candidates.csv").open("w", newline="", encoding="utf-8") as fh:
        wr = csv_writer(fh, lineterminator="\n")
        wr.writerow(["worker_id", "job_id", "score"])
        wids = [w.worker_id for w in ds.workers]
        jids = [j.job_id for j in ds.jobs]
        wr.writerows(
            (wids[w], jids[j], score_text(s))
            for w, j, s in zip(edges.worker, edges.job, edges.score, strict=True)
        )


def old_exports(ds: Any, year: int, assignments: Any, unplaced: Any, out: Path) -> None:
    """``write_run_exports`` with the previous CSV and XLSX writers."""
    saved = exports.write_csv, exports.write_csv_groups, exports.write_xlsx
    exports.write_csv, exports.write_csv_groups, exports.write_xlsx = (  # type: ignore[assignment]
        old_write_csv,
        old_write_csv_groups,
        old_write_xlsx,
    )
    try:
        exports.write_run_exports(ds, year, assignments, unplaced, out)
    finally:
        exports.write_csv, exports.write_csv_groups, exports.write_xlsx = saved


__all__ = ["old_exports", "old_run_files", "old_write_csv", "old_write_csv_groups", "old_write_xlsx"]
