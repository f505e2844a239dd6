"""One regular-expression search over a whole column of text instead of one per cell.

Most cells of an import need nothing done to them (no control character, no number that could be
personal, no list separator to tidy). Searching the column joined into one string finds the few
that do at C speed; :func:`cells_matching` maps each hit back to its cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SEPARATOR = "\x00"
"""What the cells are joined with: a control character, which no pattern used here may match (a
cell holding one is rejected by the import before anything else looks at it)."""


def cells_matching(pattern: re.Pattern[str], values: Sequence[str]) -> list[int]:
    """Positions of the ``values`` in which ``pattern`` finds a match, in order, each once.

    Exact as ``[i for i, v in enumerate(values) if pattern.search(v)]`` for a pattern that cannot
    match :data:`SEPARATOR` nor span it, and that holds no anchors or look-behind (a match is
    confined to one cell). The pattern may look at the separator through a look-ahead or
    look-behind to test a cell's ends (``\\s(?=\\x00)``: a cell that ends in a space), or match
    the one before a cell (``\\x00\\s``: a cell that starts with a space; faster than a
    look-behind, which keeps the search from skipping ahead): a match counts for the cell that
    holds its last character."""
    if not values:
        return []
    text = SEPARATOR + SEPARATOR.join(values) + SEPARATOR
    hits = [max(m.start(), m.end() - 1) for m in pattern.finditer(text)]
    if not hits:
        return []
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) + 1
    starts = np.cumsum(lengths) - lengths + 1  # where each cell begins in ``text``
    rows = np.searchsorted(starts, np.asarray(hits, dtype=np.int64), side="right") - 1
    return np.unique(rows).tolist()


__all__ = ["SEPARATOR", "cells_matching"]
