"""One search over a column finds exactly the cells a search of each cell finds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from matcher.ingest.columnar import _EDGE_SPACE, _LIST_UNTIDY
from matcher.pii import _CANDIDATE_RE
from matcher.textscan import SEPARATOR, cells_matching

# Characters the patterns care about (spaces of several kinds, list separators, digits), and others.
_CHARS = st.sampled_from([" ", "\u3000", "\n", ";", "；", "、", "|", "1", "3", "-", "x", "a", "岗", "\u200b"])
_COLUMNS = st.lists(st.text(_CHARS, max_size=14), max_size=12)


def _each(pattern, values):
    # a cell alone between separators: how a pattern that looks at a cell's ends sees it
    return [i for i, v in enumerate(values) if pattern.search(SEPARATOR + v + SEPARATOR)]


@given(_COLUMNS)
def test_cells_matching_is_a_search_of_each_cell(values):
    for pattern in (_EDGE_SPACE, _LIST_UNTIDY, _CANDIDATE_RE):
        assert cells_matching(pattern, values) == _each(pattern, values), pattern.pattern


def test_a_match_that_starts_at_the_separator_counts_for_the_cell_after_it():
    values = ["a", "", " b", "c ", "d", ";e", "f;", "g"]
    assert cells_matching(_EDGE_SPACE, values) == [2, 3]
    assert cells_matching(_LIST_UNTIDY, values) == [5, 6]
