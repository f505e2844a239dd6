"""``write_columns`` writes exactly the bytes ``SafeWriter.writerows`` writes for the same rows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.csvsafe import Coded, Fixed, csv_writer, write_columns

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


FLOATS = [0.5, -0.5, -0.0, 0.0078125, 1e-7, -4e-7, 0.1234565, 2.5e-6, 123456789.123, 1e22, 0.3, 1.0]


@pytest.mark.parametrize("terminator", ["\n", "\r\n"])
@pytest.mark.parametrize("extra", [[], [float("nan")], [float("-inf")]], ids=["finite", "nan", "-inf"])
def test_coded_and_fixed_columns_write_what_the_row_writer_writes(terminator, extra):
    """Coded labels and Fixed numbers (rendered as text, a block at a time) against the row writer
    on the formatted texts; a label with a stray carriage return, NaN or -inf (guarded: ``'-inf``)
    included."""
    labels = [*TRICKY, None, 7, 2.5]
    floats = FLOATS + extra
    n = 3 * len(labels) * len(floats)
    codes = np.arange(n) % len(labels)
    values = np.array([floats[i % len(floats)] for i in range(n)])
    rows = [[labels[c], f"{v:.6f}", labels[-1 - c]] for c, v in zip(codes, values.tolist(), strict=True)]
    old, new = io.StringIO(), io.StringIO()
    csv_writer(old, lineterminator=terminator).writerows(rows)
    flipped = len(labels) - 1 - codes
    write_columns(
        csv_writer(new, lineterminator=terminator),
        [Coded(labels, codes), Fixed(values, 6), Coded(labels, flipped)],
    )
    assert new.getvalue() == old.getvalue()
    if extra and extra[0] < 0:
        assert "'-inf" in new.getvalue()


def test_rendered_rows_span_blocks(monkeypatch):
    """More rows than one block of the text renderer: the same bytes as the row writer."""
    import matcher.csvsafe as csvsafe

    monkeypatch.setattr(csvsafe, "RENDER_ROWS", 7)
    monkeypatch.setattr(csvsafe, "guard_columns", None)  # the text renderer, not the row writer
    labels = ["w1", "=w2", "w,3", 'w"4']
    codes = np.array([i % 4 for i in range(50)])
    values = np.linspace(-1, 1, 50)
    old, new = io.StringIO(), io.StringIO()
    csv_writer(old, lineterminator="\n").writerows(
        [[labels[c], f"{v:.3f}"] for c, v in zip(codes, values.tolist(), strict=True)]
    )
    write_columns(csv_writer(new, lineterminator="\n"), [Coded(labels, codes), Fixed(values, 3)])
    assert new.getvalue() == old.getvalue() and new.getvalue().count("\n") == 50


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=6), st.floats(allow_nan=False, width=64)), min_size=1, max_size=30)
)
def test_coded_and_fixed_match_on_any_text_and_number(pairs):
    labels = sorted({t for t, _ in pairs})
    codes = np.array([labels.index(t) for t, _ in pairs], dtype=np.int64)
    values = np.array([x for _, x in pairs], dtype=np.float64)
    old, new = io.StringIO(), io.StringIO()
    csv_writer(old, lineterminator="\n").writerows([[t, f"{x:.6f}"] for t, x in pairs])
    write_columns(csv_writer(new, lineterminator="\n"), [Coded(labels, codes), Fixed(values, 6)])
    assert new.getvalue() == old.getvalue()
