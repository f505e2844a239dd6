"""``laborbridge solve`` on small CSV files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from api.cli import app


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


def _main(*args):
    return subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scores_are_written_as_given_and_prices_only_when_asked(tmp_path):
    edges = _write(
        tmp_path / "e.csv", ["worker_id", "job_id", "score"], [["w1", "j1", "99"], ["w2", "j1", "7"]]
    )
    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [["j1", "1"]])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(edges), str(caps), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "assignments.csv").read_text().splitlines()[1] == "w1,j1,,99"
    assert not (out / "prices.csv").exists()
    result = CliRunner().invoke(app, ["solve", str(edges), str(caps), "--out", str(out), "--prices"])
    assert result.exit_code == 0, result.output
    with (out / "prices.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["kind"], r["id"]) for r in rows] == [("job", "j1")] and float(rows[0]["shadow_price"]) > 0


def test_columnar_and_row_readers_agree_and_odd_numbers_still_read(tmp_path):
    from api.cli._solve_input import read_capacities_rows, read_edges_rows, read_solve_inputs

    caps = _write(
        tmp_path / "c.csv",
        [" job_id", "openings ", "enterprise_id", "enterprise_capacity"],
        [["j1", "2", "e1", "3"], ["j2", "1", "e1", ""], ["j3", "1", "", ""], ["j4", "4", "e2", ""]],
    )
    for scores in (["0.5", "1e3", "2", "0"], [" 0.5", "+1e3", "2", "0"]):  # the second: row path
        edges = _write(
            tmp_path / "e.csv",
            ["worker_id", "job_id", "score"],
            [
                ["w2", "j1", scores[0]],
                ["w1", "j3", scores[1]],
                ["w2", "j4", scores[2]],
                ["w3", "j2", scores[3]],
            ],
        )
        fast, fcaps = read_solve_inputs(edges, caps)
        rcaps = read_capacities_rows(caps)
        slow = read_edges_rows(edges, rcaps.job_ids)
        assert fcaps.job_ids == rcaps.job_ids == ["j1", "j2", "j3", "j4"]
        assert fcaps.enterprise_ids == rcaps.enterprise_ids == ["e1", "e2"]
        assert fcaps.enterprise_capacity.tolist() == rcaps.enterprise_capacity.tolist() == [3, -1]
        assert fcaps.job_enterprise.tolist() == rcaps.job_enterprise.tolist() == [0, 0, -1, 1]
        assert fast.worker_ids == slow.worker_ids == ["w2", "w1", "w3"]
        assert fast.worker.tolist() == slow.worker.tolist() and fast.job.tolist() == slow.job.tolist()
        assert fast.score.tolist() == slow.score.tolist() == [0.5, 1000.0, 2.0, 0.0]
        assert fast.score_text.to_pylist() == slow.score_text.to_pylist() == [s.strip() for s in scores]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["w1", "j1", "0.5"], ["", "j1", "0.2"]], "row 3, field 'worker_id': empty worker_id"),
        ([["w1", "j1", "0.5"], ["w2", "jx", "0.2"]], "row 3, field 'job_id': job_id 'jx' is not in the"),
        ([["w1", "j1", "0.5"], ["w2", "j1", "-1"]], "row 3, field 'score': score -1.0 must be finite"),
        ([["w1", "j1", "0.5"], ["w2", "j1", "nan"]], "row 3, field 'score': score nan must be finite"),
        (
            [["w1", "j1", "0.5"], ["w1", "j1", "0.2"]],
            "row 3, field 'job_id': duplicate edge ('w1', 'j1'), first",
        ),
        ([["w1", "j1", "0.5"], ["w2", "j1"]], "row 3, field 'score': score '' is not a number"),
    ],
)
def test_bad_edge_rows_name_the_first_bad_row(tmp_path, rows, message):
    from api.cli._solve_input import read_solve_inputs

    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [["j1", "1"]])
    edges = _write(tmp_path / "e.csv", ["worker_id", "job_id", "score"], rows)
    with pytest.raises(ValueError) as err:
        read_solve_inputs(edges, caps)
    assert str(err.value).startswith(f"{edges}, {message}")


def test_large_scores_with_decimals_keep_the_exact_optimum(tmp_path):
    # at scale 1 the anti-diagonal rounds to 2e7 + 1 and wins, though the diagonal is 0.35 better
    rows = [
        ["w1", "j1", "10000000.45"],
        ["w2", "j2", "10000000.45"],
        ["w1", "j2", "10000000.55"],
        ["w2", "j1", "10000000.00"],
    ]
    edges = _write(tmp_path / "e.csv", ["worker_id", "job_id", "score"], rows)
    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [["j1", "1"], ["j2", "1"]])
    result = CliRunner().invoke(app, ["solve", str(edges), str(caps), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["status"] == "OPTIMAL" and run["objective"] == pytest.approx(20000000.9, abs=1e-6)
    assert (tmp_path / "o" / "assignments.csv").read_text().splitlines()[1:] == [
        "w1,j1,,10000000.45",
        "w2,j2,,10000000.45",
    ]


def test_unsupported_score_range_is_one_line_exit_1(files, tmp_path):
    _, caps, out = files
    edges = _write(tmp_path / "big.csv", ["worker_id", "job_id", "score"], [["w1", "j1", "1e18"]])
    proc = _main("solve", edges, caps, "--out", out)
    assert proc.returncode == 1, proc.stderr
    assert (
        proc.stderr.startswith("error: score 1e+18 is out of the supported range")
        and proc.stderr.count("\n") == 1
    )
    assert "Traceback" not in proc.stderr


def test_help_says_scores_are_non_negative_and_zero_edges_unused():
    text = " ".join(CliRunner().invoke(app, ["solve", "--help"]).output.replace("│", " ").split())
    assert ">= 0" in text and "score 0 is never used" in text and "--prices" in text


def test_zero_score_edges_are_never_used_in_score_mode(tmp_path):
    edges = _write(
        tmp_path / "e.csv",
        ["worker_id", "job_id", "score"],
        [["w1", "j1", "0"], ["w2", "j1", "0.0"], ["w3", "j2", "1"]],
    )
    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [["j1", "2"], ["j2", "1"]])
    result = CliRunner().invoke(app, ["solve", str(edges), str(caps), "--out", str(tmp_path / "o"), "--json"])
    run = json.loads(result.output)
    assert run["n_placed"] == 1 and run["n_zero_score_edges_unused"] == 2


def test_solve_without_side_rules_loads_no_web_database_model_or_scipy(files):
    # start-up is most of a small solve: the flow path must not pull these in (issue #18)
    edges, caps, out = files
    code = (
        "import sys\n"
        "from api.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = {'fastapi', 'sqlalchemy', 'torch', 'sentence_transformers', 'faiss', 'scipy', 'pandas'}\n"
        "slow = {'pyarrow.compute', 'numpy.ma'}  # imports the read and the flow do without\n"
        "print(sorted((heavy & {name.split('.')[0] for name in sys.modules}) | (slow & set(sys.modules))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "solve", str(edges), str(caps), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("OPTIMAL: placed 2 of 3")
    assert proc.stdout.splitlines()[-1] == "[]"


def _assert_same_edges(fast, slow):
    assert fast.worker_ids == slow.worker_ids
    assert fast.worker.tolist() == slow.worker.tolist() and fast.job.tolist() == slow.job.tolist()
    assert fast.score.tolist() == slow.score.tolist()
    assert fast.score_text.to_pylist() == slow.score_text.to_pylist()


def _grouped_rows(n_workers, jobs, per_worker=30):
    return [
        [f"worker-{w:05d}", jobs[(w * 7 + i) % len(jobs)], f"{(w * 31 + i) % 997 / 7:.6f}"]
        for w in range(n_workers)
        for i in range(per_worker)
    ]


def test_edges_grouped_by_worker_over_several_blocks_read_like_the_row_reader(tmp_path, monkeypatch):
    # 64 KiB blocks instead of 8 MiB: ~30 blocks, boundaries inside one worker's run of rows
    from api.cli import _solve_input
    from api.cli._solve_input import EDGE_FIELDS, _blocks, _edges_columnar, read_edges_rows, read_solve_inputs

    monkeypatch.setattr(_solve_input, "_EDGE_BLOCK_BYTES", 1 << 16)
    jobs = [f"job-{j}" for j in range(50)]
    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [[j, "1"] for j in jobs])
    edges = _write(tmp_path / "e.csv", ["worker_id", "job_id", "score"], _grouped_rows(2000, jobs))
    blocks = [b.column("worker_id") for b in _blocks(edges, list(EDGE_FIELDS), EDGE_FIELDS)]
    assert len(blocks) > 10 and any(a[-1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
    fast, fcaps = read_solve_inputs(edges, caps)
    _assert_same_edges(fast, read_edges_rows(edges, fcaps.job_ids))
    assert fast.worker_ids[:2] == ["worker-00000", "worker-00001"] and len(fast.worker_ids) == 2000
    assert fast.score_text.num_chunks == len(blocks)
    _assert_same_edges(_edges_columnar(edges, fcaps.job_ids), fast)  # columnar, no step aside


@pytest.mark.parametrize("order", ["workers_come_back", "jobs_unsorted", "non_ascii_late"])
def test_edges_in_other_orders_over_several_blocks_read_like_the_row_reader(tmp_path, monkeypatch, order):
    # the paths past the usual order: a worker met again later (hash numbering), jobs of a worker
    # not ascending (sorted duplicate check), and a block far down the file that needs trimming
    from api.cli import _solve_input
    from api.cli._solve_input import _edges_columnar, read_edges_rows, read_solve_inputs

    monkeypatch.setattr(_solve_input, "_EDGE_BLOCK_BYTES", 1 << 16)
    jobs = [f"job-{j}" for j in range(50)]
    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [[j, "1"] for j in jobs])
    rows = _grouped_rows(1000, jobs)
    if order == "workers_come_back":
        rows = rows[15000:] + rows[:15000]
        rows.append([rows[0][0], "job-49", "1.5"])  # worker-00500 again (its rows: job-0 to job-29)
    elif order == "jobs_unsorted":
        rows = [r for i in range(0, len(rows), 30) for r in reversed(rows[i : i + 30])]
    else:
        rows[-5] = [" 工人-甲 ", " " + rows[-5][1], rows[-5][2] + " "]
    edges = _write(tmp_path / "e.csv", ["worker_id", "job_id", "score"], rows)
    fast, fcaps = read_solve_inputs(edges, caps)
    _assert_same_edges(fast, read_edges_rows(edges, fcaps.job_ids))
    _assert_same_edges(_edges_columnar(edges, fcaps.job_ids), fast)  # columnar, no step aside


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["worker-00003", "job-21", "0.5"], "duplicate edge ('worker-00003', 'job-21'), first on row"),
        (["worker-00999", "job-x", "0.5"], "job_id 'job-x' is not in the capacities file"),
        (["worker-00999", "job-1", "-2"], "score -2.0 must be finite and >= 0"),
        (["worker-00999", "job-1", "x"], "score 'x' is not a number"),
        (["worker-00999", "job-1"], "score '' is not a number"),
    ],
)
def test_bad_row_in_a_late_block_names_it(tmp_path, monkeypatch, bad, message):
    from api.cli import _solve_input
    from api.cli._solve_input import read_solve_inputs

    monkeypatch.setattr(_solve_input, "_EDGE_BLOCK_BYTES", 1 << 16)
    jobs = [f"job-{j}" for j in range(50)]
    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [[j, "1"] for j in jobs])
    rows = _grouped_rows(1000, jobs)
    rows.append(bad)
    edges = _write(tmp_path / "e.csv", ["worker_id", "job_id", "score"], rows)
    with pytest.raises(ValueError) as err:
        read_solve_inputs(edges, caps)
    assert str(err.value).startswith(f"{edges}, row {len(rows) + 1}, field ")
    assert message in str(err.value)


def test_grouped_worker_codes_equal_the_hash_encoding_or_step_aside():
    import pyarrow as pa

    from api.cli._solve_input import _first_occurrence_codes, _Runs

    def run_codes(column):
        runs = _Runs()
        for chunk in column.chunks:
            runs.add(chunk)
        return runs.codes()

    grouped = pa.chunked_array([["b", "b", "a"], [], ["a", "c"], ["c"], ["d", "d"]], pa.string())
    codes, names = run_codes(grouped)
    want_codes, want_names = _first_occurrence_codes(grouped)
    assert codes.tolist() == want_codes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert names == want_names == ["b", "a", "c", "d"]
    assert run_codes(pa.chunked_array([["b", "a"], ["b"]], pa.string())) is None  # b comes back
    assert run_codes(pa.chunked_array([["a", "b"], ["a", "a"]], pa.string())) is None
    empty = run_codes(pa.chunked_array([], pa.string()))
    assert empty is not None and empty[0].tolist() == [] and empty[1] == []


def test_non_ascii_ids_with_spaces_read_columnar_like_the_row_reader(tmp_path):
    from api.cli._solve_input import read_capacities_rows, read_edges_rows, read_solve_inputs

    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [["保安员 ", "1"], [" 厨师", "2"]])
    edges = _write(
        tmp_path / "e.csv",
        ["worker_id", "job_id", "score"],
        [["张三", "保安员", "0.5"], ["张三", "厨师 ", "0.25"], [" 李四", "厨师", "1"]],
    )
    fast, fcaps = read_solve_inputs(edges, caps)
    assert fcaps.job_ids == read_capacities_rows(caps).job_ids == ["保安员", "厨师"]
    _assert_same_edges(fast, read_edges_rows(edges, fcaps.job_ids))
    assert fast.worker_ids == ["张三", "李四"]


@pytest.mark.parametrize("rows_before", [1, 50_000])  # 50,000: far past the decoder's read-ahead
def test_invalid_utf8_in_edges_names_file_and_row_on_both_paths(tmp_path, rows_before):
    from api.cli._solve_input import read_edges_rows, read_solve_inputs
    from matcher.errors import InputError

    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [["j1", "1"]])
    edges = tmp_path / "e.csv"
    body = b"".join(b"w%d,j1,0.5\n" % i for i in range(rows_before))
    edges.write_bytes(b"worker_id,job_id,score\n" + body + b"w\xff2,j1,0.5\n")
    with pytest.raises(InputError) as row_err:
        read_edges_rows(edges, ["j1"])
    with pytest.raises(InputError) as err:
        read_solve_inputs(edges, caps)
    assert str(err.value) == str(row_err.value)
    assert (err.value.file, err.value.row) == (str(edges), rows_before + 2)
    assert "not valid UTF-8" in err.value.reason


def test_invalid_utf8_is_a_one_line_cli_error(tmp_path):
    caps = _write(tmp_path / "c.csv", ["job_id", "openings"], [["j1", "1"]])
    edges = tmp_path / "e.csv"
    edges.write_bytes(b"worker_id,job_id,score\nw1,j1,0.5\nw\xff2,j1,0.5\n")
    proc = _main("solve", edges, caps, "--out", tmp_path / "out")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: {edges}, row 3: not valid UTF-8 at byte 34 (invalid start byte); save it as UTF-8"
    )


def test_input_sha256_hashes_both_files_in_blocks(tmp_path):
    import hashlib

    from api.cli.solve import _sha256, _sha256_started

    big = tmp_path / "big.csv"
    big.write_bytes(bytes(range(256)) * 9000)  # more than two 1 MiB blocks
    small = tmp_path / "small.csv"
    small.write_bytes(b"job_id,openings\nj1,1\n")
    want = hashlib.sha256(big.read_bytes() + small.read_bytes()).hexdigest()
    assert _sha256(big, small) == want and _sha256_started(big, small)() == want
    with pytest.raises(FileNotFoundError):
        _sha256_started(big, tmp_path / "missing.csv")()


def test_score_texts_of_any_edges_across_blocks_are_the_written_ones():
    import numpy as np
    import pyarrow as pa

    from api.cli._solve_input import Edges

    text = pa.chunked_array([["0.5", "1e3"], [], ["7", "0.25", "3.0"], ["9"]], pa.string())
    n = len(text)
    edges = Edges(["w"], np.zeros(n, np.int32), np.arange(n, dtype=np.int32), np.zeros(n), text)
    written = text.to_pylist()
    idx = np.array([5, 0, 3, 3, 1])
    assert edges.texts(idx) == [written[i] for i in idx]
    later = edges.subset(np.array([4, 2, 5]))  # rows 4, 2, 5 of the file
    assert later.texts(np.array([2, 0])) == ["9", "3.0"]
    assert edges.texts(np.zeros(0, np.int64)) == []
