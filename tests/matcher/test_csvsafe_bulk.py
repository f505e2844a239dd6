"""``write_columns`` writes exactly the bytes ``SafeWriter.writerows`` writes for the same rows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.csvsafe import Coded, csv_writer, write_columns

TRICKY = [
    "=1+1",
    "'=x",
    "-0.5",
    "+86",
    "@SUM(A1)",
    "a,b",
    'say "hi"',
    "x\r=cmd",
    "line\nbreak",
    "",
    "普通",
    "\t1",
]


def _both(rows, coded_cols=(), **kwargs):
    old, new = io.StringIO(), io.StringIO()
    csv_writer(old, **kwargs).writerows(rows)
    columns = []
    for c in range(len(rows[0]) if rows else 0):
        col = [r[c] for r in rows]
        if c in coded_cols:
            labels = sorted(set(col), key=str)
            columns.append(Coded(labels, np.array([labels.index(v) for v in col], dtype=np.int64)))
        else:
            columns.append(col)
    write_columns(csv_writer(new, **kwargs), columns)
    return old.getvalue(), new.getvalue()


@pytest.mark.parametrize("terminator", ["\n", "\r\n"])
def test_bulk_writer_matches_row_writer_on_tricky_cells(terminator):
    rows = [[a, b, 0.5, None] for a in TRICKY for b in reversed(TRICKY)]
    old, new = _both(rows, coded_cols=(0,), lineterminator=terminator)
    assert new == old and "'=1+1" in new and "=1+1" not in new.replace("'=1+1", "")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TRICKY), st.text(max_size=6)), min_size=1, max_size=30))
def test_bulk_writer_matches_row_writer_on_any_text(pairs):
    rows = [list(p) for p in pairs]
    old, new = _both(rows, coded_cols=(1,), lineterminator="\n")
    assert new == old
