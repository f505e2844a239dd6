"""Cells safe to hand to a spreadsheet: every CSV and XLSX file laborbridge writes goes through here.

* CSV formula injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is read by Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``,
  ``+cmd|' /C calc'!A0``). :func:`csv_cell` prefixes such text with ``'`` (OWASP's advice), and
  :func:`csv_writer` is a ``csv.writer`` that does so for every cell it writes. The importer
  undoes the prefix (:func:`csv_uncell`), so an exported CSV imports back unchanged.
* Control characters: XML 1.0, and so XLSX, cannot hold most C0/C1 control characters, lone
  surrogates or U+FFFE/U+FFFF; openpyxl raises ``IllegalCharacterError`` on them. Imports and
  edits reject them (:func:`control_characters`); :func:`xlsx_cell` strips them from every cell
  written, so a record that slipped through can never break a workbook.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number, e.g. a score "-0.500000": a spreadsheet reads it as that number.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Characters XML 1.0 cannot hold (tab, LF and CR are fine there), plus DEL and the C1 controls.
_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Every control character (Unicode Cc), lone surrogates and the two XML non-characters.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
FREE_TEXT_ALLOWED = frozenset("\t\n\r")  # line breaks and tabs a free-text field may hold


def _runs_as_formula(text: str) -> bool:
    """Whether ``text``, written as is, would be read as a formula or would lose a ``'`` on import."""
    rest = text.lstrip("'")  # "'=x" must stay "'=x" after a round trip through csv_uncell
    return rest.startswith(FORMULA_START) and not _NUMBER.fullmatch(rest)


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet runs as a formula.

    Only text is touched: ``int``, ``float``, ``bool`` and ``None`` are numbers or blanks the program
    produced and pass unchanged (a negative score written as a float is not user text). A string
    that starts with ``= + - @``, a tab or a carriage return gets a leading ``'`` unless the whole
    string is a plain decimal number (``-0.5``, ``+86``, ``1e-3``): spreadsheets read those as the
    number, never as a formula, so scores the program formats as text (``f"{score:.6f}"``) and
    numeric ids keep their value. ``-1+1``, ``=1`` and ``@SUM(A1)`` are neutralised. Text that
    already starts with ``'`` before such a character gets one more, so :func:`csv_uncell` gives
    back exactly what was written.
    """
    if isinstance(value, str) and _runs_as_formula(value):
        return "'" + value
    return value


def csv_uncell(value: str) -> str:
    """Undo :func:`csv_cell` on a cell read back from a CSV: ``'=x`` → ``=x``; others unchanged."""
    if value.startswith("'") and _runs_as_formula(value[1:]):
        return value[1:]
    return value


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`csv_cell`.

    ``csv.writer`` quotes only cells holding the delimiter, the quote or a character of its line
    terminator: with ``lineterminator="\n"`` a carriage return inside a cell is written bare, and
    Excel starts a new row there, so ``x\r=cmd|...`` would begin a row with a formula. A row with
    a line break the terminator does not cover is therefore written with every cell quoted.
    """

    def __init__(self, fh: IO[str], **kwargs: Any) -> None:
        self._w = csv.writer(fh, **kwargs)
        self._breaks = "".join(c for c in "\r\n" if c not in self._w.dialect.lineterminator)
        self._quoted = csv.writer(fh, **{**kwargs, "quoting": csv.QUOTE_ALL}) if self._breaks else None

    @property
    def plain(self) -> Any:
        """The underlying ``csv.writer`` (cells already guarded, no stray line breaks)."""
        return self._w

    @property
    def breaks(self) -> str:
        """The line-break characters the terminator does not cover."""
        return self._breaks

    @property
    def quoted(self) -> Any:
        """The all-quoted ``csv.writer`` for rows with a stray line break (None when none can be)."""
        return self._quoted

    @property
    def quoting_breaks(self) -> bool:
        """Whether a line break outside the terminator makes a row all-quoted."""
        return self._quoted is not None

    def breaks_in(self, cell: Any) -> bool:
        """Whether ``cell`` holds a line break the terminator does not cover."""
        return bool(self._breaks) and isinstance(cell, str) and any(b in cell for b in self._breaks)

    def writerow(self, row: Iterable[Any]) -> Any:
        cells = [csv_cell(v) for v in row]
        if self._quoted is not None and any(self.breaks_in(c) for c in cells):
            return self._quoted.writerow(cells)
        return self._w.writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


@dataclass(frozen=True)
class Coded:
    """A column given as ``labels[codes]``: each label is guarded once, not once per row."""

    labels: Sequence[Any]
    codes: Any  # integer array (rows,)


_GUARD_FIRST = frozenset(FORMULA_START) | {"'"}  # a cell csv_cell may change starts with one of these


def _guarded(values: Iterable[Any]) -> list[Any]:
    """:func:`csv_cell` of each value, skipping the call for text that cannot need it."""
    return [csv_cell(v) if isinstance(v, str) and v[:1] in _GUARD_FIRST else v for v in values]


def _any_break(writer: SafeWriter, cells: Sequence[Any]) -> bool:
    """Whether any text cell holds a line break the writer's terminator does not cover (one scan)."""
    if not writer.quoting_breaks:
        return False
    text = "".join(c for c in cells if isinstance(c, str))
    return any(b in text for b in writer.breaks)


def guard_columns(
    writer: SafeWriter, columns: Sequence[Sequence[Any] | Coded]
) -> tuple[list[tuple[Any, ...]], Any]:
    """The rows of ``columns`` with each cell through :func:`csv_cell` (a :class:`Coded` column's
    labels once each), and a boolean array of the rows holding a line break ``writer``'s terminator
    does not cover (``None`` when none does): the first half of :func:`write_columns`, for rows that
    go to several files written alike (:func:`write_guarded` writes any slice of them)."""
    import numpy as np

    cols: list[list[Any]] = []
    breaks: Any = None
    for col in columns:
        if isinstance(col, Coded):
            labels = _guarded(col.labels)
            codes = np.asarray(col.codes, dtype=np.int64)
            arr = np.empty(len(labels), dtype=object)
            arr[:] = labels
            cols.append(arr[codes].tolist())
            row_flag: Any = None
            if _any_break(writer, labels):
                flag = np.array([writer.breaks_in(v) for v in labels], dtype=bool)
                row_flag = flag[codes]
        else:
            cells = _guarded(col)
            cols.append(cells)
            row_flag = None
            if _any_break(writer, cells):
                row_flag = np.array([writer.breaks_in(v) for v in cells], dtype=bool)
        if row_flag is not None and writer.quoting_breaks:
            breaks = row_flag if breaks is None else breaks | row_flag
    return list(zip(*cols, strict=True)), breaks


def write_guarded(writer: SafeWriter, rows: Sequence[tuple[Any, ...]], breaks: Any = None) -> None:
    """Rows from :func:`guard_columns` (with their ``breaks``) to the C ``csv.writer`` in bulk, a row
    with a stray line break through the all-quoted writer, as :meth:`SafeWriter.writerow` does."""
    import numpy as np

    if breaks is None or not breaks.any():
        writer.plain.writerows(rows)
        return
    start = 0
    for i in np.flatnonzero(breaks).tolist():
        writer.plain.writerows(rows[start:i])
        writer.quoted.writerow(rows[i])
        start = i + 1
    writer.plain.writerows(rows[start:])


def write_columns(writer: SafeWriter, columns: Sequence[Sequence[Any] | Coded]) -> None:
    """Write rows given column by column, exactly as ``writer.writerows`` of the same rows would.

    Each cell goes through :func:`csv_cell` (a :class:`Coded` column's labels once each); rows then
    go to the C ``csv.writer`` in bulk, a row with a line break the terminator does not cover
    through the all-quoted writer, as :meth:`SafeWriter.writerow` does.
    """
    write_guarded(writer, *guard_columns(writer, columns))


def csv_writer(fh: IO[str], **kwargs: Any) -> SafeWriter:
    """A CSV writer over ``fh`` (arguments as ``csv.writer``'s) that neutralises formula cells."""
    return SafeWriter(fh, **kwargs)


def xlsx_cell(value: Any) -> Any:
    """``value`` with every character an XLSX cell cannot hold removed (strings only; tab, newline
    and carriage return stay). Other values pass unchanged."""
    if isinstance(value, str):
        return _XLSX_ILLEGAL.sub("", value)
    return value


def control_characters(value: str, *, free_text: bool = False) -> list[str]:
    """The control characters in ``value`` as ``U+0007`` names, in order of first appearance;
    ``free_text`` allows tab, newline and carriage return."""
    seen: dict[str, None] = {}
    for ch in _CONTROL.findall(value):
        if not (free_text and ch in FREE_TEXT_ALLOWED):
            seen[f"U+{ord(ch):04X}"] = None
    return list(seen)


def has_control_characters(values: Iterable[str]) -> bool:
    """Whether any of ``values`` holds a control character (one search over them all: most rows of
    an import hold none, and then :func:`control_characters` need not look cell by cell)."""
    return _CONTROL.search("".join(values)) is not None


def cells_with_controls(values: Sequence[str]) -> list[int]:
    """Positions of the ``values`` holding a control character (one search over them all first)."""
    if not has_control_characters(values):
        return []
    return [i for i, v in enumerate(values) if _CONTROL.search(v)]


def escape_controls(value: str) -> str:
    """``value`` with each control character written as ``\\u0007``, for an error report."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
