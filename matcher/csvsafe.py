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
from typing import IO, Any, cast

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
        self._fh = fh
        self._w = csv.writer(fh, **kwargs)
        self._breaks = "".join(c for c in "\r\n" if c not in self._w.dialect.lineterminator)
        self._quoted = csv.writer(fh, **{**kwargs, "quoting": csv.QUOTE_ALL}) if self._breaks else None

    @property
    def plain(self) -> Any:
        """The underlying ``csv.writer`` (cells already guarded, no stray line breaks)."""
        return self._w

    @property
    def file(self) -> IO[str]:
        """The file the rows go to."""
        return self._fh

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


@dataclass(frozen=True)
class Fixed:
    """A column of numbers written as text with ``decimals`` places (``f"{x:.{decimals}f}"``), as
    the files write scores: formatted in bulk, not one call per row."""

    values: Any  # float array (rows,)
    decimals: int

    def texts(self) -> list[str]:
        """Each value's text, as written."""
        import numpy as np

        return list(map(f"{{:.{self.decimals}f}}".format, np.asarray(self.values, dtype=np.float64).tolist()))


_GUARD_FIRST = frozenset(FORMULA_START) | {"'"}  # a cell csv_cell may change starts with one of these


def _guarded(values: Sequence[Any]) -> list[Any]:
    """:func:`csv_cell` of each value, skipping the call for text that cannot need it.

    A column of text only is looked at joined by NUL first: when no cell starts with a character
    :func:`csv_cell` may act on (a NUL inside a cell only sends the column cell by cell), the cells
    are as they were, and no cell is looked at alone."""
    joined = _joined_text(values)
    if joined is not None and not any(joined.startswith(c) or "\x00" + c in joined for c in _GUARD_FIRST):
        return list(values)
    return [csv_cell(v) if isinstance(v, str) and v[:1] in _GUARD_FIRST else v for v in values]


def _joined_text(values: Sequence[Any]) -> str | None:
    """The values joined by NUL when all are text (``None`` otherwise)."""
    try:
        return "\x00".join(values)
    except TypeError:
        return None


def _any_break(writer: SafeWriter, cells: Sequence[Any]) -> bool:
    """Whether any text cell holds a line break the writer's terminator does not cover (one scan)."""
    if not writer.quoting_breaks:
        return False
    text = _joined_text(cells)
    if text is None:
        text = "".join(c for c in cells if isinstance(c, str))
    return any(b in text for b in writer.breaks)


def guard_columns(
    writer: SafeWriter, columns: Sequence[Sequence[Any] | Coded | Fixed]
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
            cells = _guarded(col.texts() if isinstance(col, Fixed) else col)
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


def write_columns(writer: SafeWriter, columns: Sequence[Sequence[Any] | Coded | Fixed]) -> None:
    """Write rows given column by column, exactly as ``writer.writerows`` of the same rows would.

    Each cell goes through :func:`csv_cell` (a :class:`Coded` column's labels once each); rows then
    go to the C ``csv.writer`` in bulk, a row with a line break the terminator does not cover
    through the all-quoted writer, as :meth:`SafeWriter.writerow` does. Columns that are all
    :class:`Coded` or :class:`Fixed` (a run's candidates: millions of rows) are written as text
    instead (:func:`_write_rendered`).
    """
    if not _write_rendered(writer, columns):
        write_guarded(writer, *guard_columns(writer, columns))


RENDER_ROWS = 1 << 16  # rows formatted at a time by _write_rendered


def _write_rendered(writer: SafeWriter, columns: Sequence[Sequence[Any] | Coded | Fixed]) -> bool:
    """Write ``columns`` (all :class:`Coded` or :class:`Fixed`) without a ``csv.writer`` call per row;
    ``False`` (nothing written) for other columns, or where the row writer could write otherwise.

    Each label is guarded and rendered once, by the writer's own ``csv.writer`` (as the first of
    two cells, so quoting is exactly its own); a :class:`Fixed` column's finite numbers are
    formatted by ``%``, which writes what ``format`` writes (``-0.500000``: a plain number, never
    guarded). Rows then are one ``%`` template each, a block of rows at a time. A label holding a
    line break the terminator does not cover (its row is all-quoted), a non-finite number (``-inf``
    is guarded) or a ``%`` in the dialect's delimiter or terminator leaves the rows to the row writer.
    """
    import numpy as np

    if not columns or not all(isinstance(c, Coded | Fixed) for c in columns):
        return False
    dialect = writer.plain.dialect
    sep, end = dialect.delimiter, dialect.lineterminator
    if "%" in sep + end:
        return False
    formats: list[str] = []
    parts: list[tuple[Any, Any]] = []  # (rendered labels, codes), or (None, numbers)
    for col in columns:
        if isinstance(col, Fixed):
            values = np.asarray(col.values, dtype=np.float64)
            if not np.isfinite(values).all():
                return False
            formats.append(f"%.{int(col.decimals)}f")
            parts.append((None, values))
            continue
        if not isinstance(col, Coded):
            return False
        labels = _guarded(col.labels)
        if writer.quoting_breaks and _any_break(writer, labels):
            return False
        rendered: list[str] = []
        csv.writer(_Appender(rendered), dialect).writerows([(v, "") for v in labels])  # cell, sep, end
        texts = np.empty(len(rendered), dtype=object)
        texts[:] = [t[: -len(sep + end)] for t in rendered]
        formats.append("%s")
        parts.append((texts, np.asarray(col.codes, dtype=np.int64)))
    n_rows = len(parts[0][1])
    if any(len(values) != n_rows for _, values in parts):
        return False  # the row writer raises
    row = sep.join(formats) + end
    fh = writer.file
    for start in range(0, n_rows, RENDER_ROWS):
        stop = min(start + RENDER_ROWS, n_rows)
        cells = np.empty((stop - start, len(parts)), dtype=object)
        for i, (texts, values) in enumerate(parts):
            cells[:, i] = values[start:stop] if texts is None else texts[values[start:stop]]
        fh.write((row * (stop - start)) % tuple(cells.ravel().tolist()))
    return True


class _Appender:
    """A file for ``csv.writer`` that keeps each row's text apart."""

    def __init__(self, out: list[str]) -> None:
        self.write = out.append


def csv_writer(fh: IO[str], **kwargs: Any) -> SafeWriter:
    """A CSV writer over ``fh`` (arguments as ``csv.writer``'s) that neutralises formula cells."""
    return SafeWriter(fh, **kwargs)


def text_writer(out: list[str], **kwargs: Any) -> SafeWriter:
    """A :func:`csv_writer` that appends each row's text to ``out`` (a ``csv.writer`` writes a row
    in one call), for rows that go to several files."""
    return SafeWriter(cast(IO[str], _Appender(out)), **kwargs)


def xlsx_cell(value: Any) -> Any:
    """``value`` with every character an XLSX cell cannot hold removed (strings only; tab, newline
    and carriage return stay). Other values pass unchanged."""
    if isinstance(value, str):
        return _XLSX_ILLEGAL.sub("", value)
    return value


def xlsx_unchanged(text: str) -> bool:
    """Whether :func:`xlsx_cell` leaves ``text`` as it is (one search; most text holds nothing to remove)."""
    return _XLSX_ILLEGAL.search(text) is None


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
