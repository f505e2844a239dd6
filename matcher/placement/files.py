"""A placement run's files: ``assignments.csv``, ``unplaced.csv``, ``candidates.csv``, ``job_codes.csv``
(codes predicted from titles), ``rejected.csv`` and ``run.json``, written through the one CSV writer
(:mod:`matcher.csvsafe`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from matcher.csvsafe import csv_writer
from matcher.placement.pipeline import PlacementRun
from matcher.placement.summary import edge_score_of, predicted_job_codes, run_summary, unplaced_reason_names
from matcher.scoring.context import code_number
from matcher.scoring.factors import score_text


def write_run(run: PlacementRun, out_dir: str | Path) -> dict[str, Any]:
    """Write the run's files into ``out_dir``; returns the summary written to ``run.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
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
    predicted = predicted_job_codes(run)
    if predicted:
        with (out / "job_codes.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv_writer(fh, lineterminator="\n")
            wr.writerow(["job_id", "occupation_code", "occupation_name", "confidence"])
            for job_id, (code, confidence) in predicted.items():
                name = run.occupation_names.get(code_number(code), "")
                wr.writerow([job_id, code, name, f"{confidence:.4f}"])
    if ds.rejected:
        with (out / "rejected.csv").open("w", newline="", encoding="utf-8") as fh:
            wr = csv_writer(fh, lineterminator="\n")
            wr.writerow(["file", "row", "field", "value", "reason"])
            for e in ds.rejected:
                wr.writerow([e.file or "", e.row or "", e.field or "", e.value or "", e.reason])
    run.seconds["write"] = round(time.perf_counter() - t0, 3)
    summary = run_summary(run)
    (out / "run.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return summary
