"""``laborbridge solve`` on small CSV files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from api.cli._app import app
from api.cli.solve import solve_command  # noqa: F401  (registers the command)


def _write(path, header, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path):
    edges = _write(
        tmp_path / "edges.csv",
        ["worker_id", "job_id", "score"],
        [["w1", "j1", "0.9"], ["w1", "j2", "0.5"], ["w2", "j1", "0.8"], ["w3", "j2", "0.1"]],
    )
    caps = _write(
        tmp_path / "caps.csv",
        ["job_id", "openings", "enterprise_id", "enterprise_capacity"],
        [["j1", "1", "e1", "1"], ["j2", "1", "e2", ""]],
    )
    return edges, caps, tmp_path / "out"


def test_solve_writes_assignments_and_run_json(files):
    edges, caps, out = files
    result = CliRunner().invoke(app, ["solve", str(edges), str(caps), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["status"] == "OPTIMAL" and run["n_placed"] == 2 and run["n_openings"] == 2
    assert run["objective"] == pytest.approx(1.3) and len(run["input_sha256"]) == 64
    assert json.loads((out / "run.json").read_text()) == run
    with (out / "assignments.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["worker_id"], r["job_id"], r["enterprise_id"]) for r in rows] == [
        ("w1", "j2", "e2"),
        ("w2", "j1", "e1"),
    ]


def test_count_mode_and_plain_summary(files):
    edges, caps, out = files
    result = CliRunner().invoke(app, ["solve", str(edges), str(caps), "--out", str(out), "--mode", "count"])
    assert result.exit_code == 0 and "placed 2 of 3" in result.output


def test_bad_row_names_file_row_and_field(files, tmp_path):
    _, caps, out = files
    bad = _write(
        tmp_path / "bad.csv", ["worker_id", "job_id", "score"], [["w1", "j1", "0.9"], ["w2", "j1", "high"]]
    )
    result = CliRunner().invoke(app, ["solve", str(bad), str(caps), "--out", str(out)])
    assert isinstance(result.exception, ValueError)
    assert str(result.exception) == f"{bad}, row 3, field 'score': score 'high' is not a number"


def test_console_error_is_one_line_and_exit_1(files, tmp_path):
    edges, _, out = files
    caps = _write(tmp_path / "caps2.csv", ["job_id", "openings"], [["j1", "-2"]])
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from api.cli import main; main()",
            "solve",
            str(edges),
            str(caps),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {caps}, row 2, field 'openings': openings -2 is negative"
