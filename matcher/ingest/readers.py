"""Readers: CSV, XLSX and JSON files as tables of raw rows keyed by canonical column.

A reader finds the header row (the first of the top :data:`HEADER_SCAN` rows that holds the
required columns of a record type, so a title line above the header is fine), maps Chinese or
English headers to columns, trims every cell and skips blank rows. It does not validate: cell
problems it can see (a formula, an ID number stored as a number) travel with the row.

Row numbers are what a spreadsheet shows: the first line of the file is row 1. In JSON the row
is the 1-based position of the object in its array.

Each table's rows are a lazy iterator that reads the file as it goes: consume one table's rows
before asking the reader for the next table.

Hostile files are errors, not crashes: a CSV cell over :data:`MAX_FIELD` characters rejects its row
(the next rows are read on); JSON nested deeper than a record can be is rejected, the file when the
parser cannot follow it, else the row; a workbook whose XML declares a DTD (entity expansion, external
entities) is refused before openpyxl opens it, its parts checked with ``defusedxml``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from matcher.csvsafe import csv_uncell
from matcher.errors import SchemaError
from matcher.ingest.encoding import ESCAPED, decode_bytes, open_text
from matcher.ingest.headers import (
    KIND_ALIASES,
    kind_from_headers,
    kinds_from_name,
    map_headers,
    missing_columns,
)
from matcher.records import LIST_SEPARATOR

HEADER_SCAN = 10
MAX_FIELD = csv.field_size_limit()  # 131,072 characters: the csv module's own cap, left as it is
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".json")
NOTES_SHEETS = frozenset({"说明", "填写说明", "notes", "readme"})


@dataclass
class RawRow:
    """One non-blank row: its number, its cells by column, and problems seen while reading."""

    row: int
    cells: dict[str, str]
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (column, value, reason)


@dataclass
class Table:
    """One record type's rows from one file (or one sheet of a workbook)."""

    file: str
    kind: str
    columns: tuple[str, ...]
    rows: Iterable[RawRow]
    ignored: tuple[str, ...] = ()
    encoding: str | None = None
    error: SchemaError | None = None  # a sheet that cannot be read, while the next ones can


def _choose_header(
    head: Sequence[tuple[int, list[str]]], name_kinds: list[str], where: str, what: str
) -> tuple[int, str, dict[int, str], list[str]]:
    """``(index in head, kind, position -> column, ignored headers)`` of the header row."""
    rows = [(i, cells) for i, (_, cells) in enumerate(head) if any(c for c in cells)]
    if not rows:
        raise SchemaError(f"{what} is empty (no header row)", file=where)
    for i, cells in rows:
        kind = name_kinds[0] if len(name_kinds) == 1 else kind_from_headers(cells)
        if kind is None or (name_kinds and kind not in name_kinds):
            continue
        mapping, ignored, clashes = map_headers(kind, cells)
        if not missing_columns(kind, mapping.values()):
            if clashes:
                raise SchemaError("; ".join(clashes), file=where, row=head[i][0])
            return i, kind, mapping, ignored
    i, cells = rows[0]
    if len(name_kinds) != 1:
        names = ", ".join(f"{k}/{a[0]}" for k, a in KIND_ALIASES.items())
        raise SchemaError(
            f"cannot tell the record type: name the {what} after one of {names}, or use their headers",
            file=where,
            row=head[i][0],
        )
    kind = name_kinds[0]
    mapping, _, _ = map_headers(kind, cells)
    missing = missing_columns(kind, mapping.values())
    raise SchemaError(f"missing required column(s): {', '.join(missing)}", file=where, row=head[i][0])


def _rows(
    numbered: Iterable[tuple[int, list[Any]]], mapping: dict[int, str], convert: Any, header: list[str]
) -> Iterator[RawRow]:
    # Cells past the header's last non-blank cell usually mean an unquoted comma shifted the row.
    width = max(i for i, h in enumerate(header) if h) + 1
    items = list(mapping.items())
    columns = [col for _, col in items]
    # A CSV row with every mapped cell present: the cells picked, trimmed and keyed in C, unless a
    # cell may carry the ' that csv_uncell removes (then cell by cell, below).
    pick = itemgetter(*mapping) if convert is _csv_cell and len(mapping) > 1 else None
    reach = max(mapping, default=-1) + 1
    for row_no, cells in numbered:
        if isinstance(cells, Unreadable):
            col = mapping.get(cells.position, "") if cells.position is not None else ""
            yield RawRow(row_no, {}, [(col, "", cells.reason)])
            continue
        n = len(cells)
        if pick is not None and n >= reach and n <= width:
            values = pick(cells)
            if "'" not in "".join(values):
                row = dict(zip(columns, map(str.strip, values), strict=True))
                if any(row.values()):
                    yield RawRow(row_no, row)
                continue  # else a blank line
        raw = RawRow(row_no, {})
        if convert is _csv_cell:  # the common case, inlined: a CSV cell is text already
            out = raw.cells
            for pos, col in items:
                value = cells[pos] if pos < n else ""
                out[col] = (csv_uncell(value) if value.startswith("'") else value).strip()
        else:
            for pos, col in items:
                raw.cells[col] = convert(raw, col, cells[pos]) if pos < n else ""
        extra = [c for c in cells[width:] if _text(getattr(c, "value", c))]
        if not any(raw.cells.values()) and not extra and not raw.problems:
            continue  # blank line
        if extra:
            raw.problems.append(("", "", f"{len(extra)} cell(s) beyond the last header column"))
        yield raw


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _csv_cell(raw: RawRow, col: str, value: str) -> str:
    return csv_uncell(value).strip()


class Unreadable(list):
    """A record the CSV parser gave up on: no cells, the position of the culprit cell, the reason."""

    def __init__(self, position: int | None, reason: str) -> None:
        super().__init__()
        self.position = position
        self.reason = reason


def _over_limit(text: str, delimiter: str) -> int | None:
    """The position of the first cell of a CSV record's ``text`` longer than :data:`MAX_FIELD`."""
    position, length, quoted = 0, 0, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            position, length = position + 1, 0
        else:
            length += 1
            if length > MAX_FIELD:
                return position
    return None


def _csv_records(fh: Iterable[str], delimiter: str, encoding: str = "") -> Iterator[tuple[int, list[str]]]:
    """``(row, cells)`` of each record; a record the parser refuses becomes :class:`Unreadable`.

    After a refusal the parser goes on at the next line, so the rows after it are kept. So is a
    record with bytes that are not text in the file's ``encoding`` (the stream escapes them as
    lone surrogates, :func:`~matcher.ingest.encoding.open_text`): it is unreadable at its first such cell.
    """
    since: list[str] = []  # the lines of the record being read
    escaped = [False]  # a line of the record holds an escaped byte

    def lines() -> Iterator[str]:
        for line in fh:
            since.append(line)
            if not line.isascii() and ESCAPED.search(line):
                escaped[0] = True
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    row = 0
    while True:
        since.clear()
        escaped[0] = False
        row += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            position = _over_limit("".join(since), delimiter)
            if position is not None:
                reason = f"cell is over {MAX_FIELD:,} characters, the most a cell may hold"
            else:
                reason = f"not readable as CSV: {exc}"
            yield row, Unreadable(position, reason)
            continue
        if escaped[0]:
            at = next((i for i, c in enumerate(cells) if ESCAPED.search(c)), None)
            yield row, Unreadable(at, f"not valid {encoding or 'text'}: save the file as UTF-8")
            continue
        yield row, cells


def read_csv(path: Path, kind: str | None = None) -> Iterator[Table]:
    """The one table of a CSV (comma- or tab-separated) file (``kind``: its type, else from the name)."""
    with open_text(path) as (fh, encoding):
        first = fh.readline()
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        fh.seek(0)
        numbered = _csv_records(fh, delimiter, encoding)
        head = [
            (n, cells if isinstance(cells, Unreadable) else [c.strip() for c in cells])
            for n, cells in _take(numbered, HEADER_SCAN)
        ]
        name_kinds = [kind] if kind else kinds_from_name(path.stem)
        i, kind, mapping, ignored = _choose_header(head, name_kinds, str(path), "file")
        body = _chain(head[i + 1 :], numbered)
        rows = _rows(body, mapping, _csv_cell, head[i][1])
        yield Table(str(path), kind, tuple(mapping.values()), rows, tuple(ignored), encoding)


def _take(it: Iterator[Any], n: int) -> list[Any]:
    out = []
    for item in it:
        out.append(item)
        if len(out) == n:
            break
    return out


def _chain(first: Iterable[Any], rest: Iterator[Any]) -> Iterator[Any]:
    yield from first
    yield from rest


def _xlsx_cell(raw: RawRow, col: str, cell: Any) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
        # openpyxl cannot compute formulas and a cached result may be stale: ask for values.
        raw.problems.append((col, "", "cell holds a formula; paste it as values"))
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if col == "id_number":
            # Excel keeps 15 significant digits: an 18-digit number has already lost its tail.
            raw.problems.append(
                (col, "", "ID number stored as a number loses digits; format the column as text")
            )
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()  # Excel keeps a date as a datetime at midnight
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


# What a damaged or hostile workbook raises from zipfile, zlib, expat (ParseError is a SyntaxError),
# defusedxml (its errors are ValueErrors) or openpyxl; an encrypted zip member is a RuntimeError.
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    SyntaxError,
    RuntimeError,
    NotImplementedError,
)


def _refuse_dtds(path: Path) -> None:
    """:class:`SchemaError` when an XML part of the workbook declares a DTD (checked with defusedxml).

    No workbook needs one; a DTD is how entity expansion ("billion laughs") and external entities
    get in. Only the prolog of each part is read: a DTD cannot come after the root element.
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.lower().endswith((".xml", ".rels")):
                    continue
                with zf.open(info) as fh:
                    try:
                        for _ in iterparse(fh, events=("start",), forbid_dtd=True):
                            break  # the root element
                    except DefusedXmlException as exc:
                        reason = f"{info.filename} declares a DTD or entities ({type(exc).__name__}); refused"
                        raise SchemaError(reason, file=str(path)) from exc
                    except ParseError:
                        pass  # malformed: openpyxl says so if it reads that part
    except _XLSX_ERRORS as exc:
        if isinstance(exc, SchemaError):
            raise
        raise SchemaError(f"not a readable XLSX workbook ({type(exc).__name__})", file=str(path)) from exc


def _guarded(rows: Iterable[Any], where: str) -> Iterator[Any]:
    """``rows`` of a sheet, openpyxl's errors on a damaged sheet turned into :class:`SchemaError`."""
    try:
        yield from rows
    except _XLSX_ERRORS as exc:
        raise SchemaError(f"sheet cannot be read ({type(exc).__name__})", file=where) from exc


def read_xlsx(path: Path, kind: str | None = None) -> Iterator[Table]:
    """One table per sheet of a workbook; a notes sheet and blank unnamed sheets are skipped
    (``kind``: the type of every sheet, else from the sheet's or the file's name)."""
    from openpyxl import load_workbook

    _refuse_dtds(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except _XLSX_ERRORS as exc:
        raise SchemaError(f"not a readable XLSX workbook ({type(exc).__name__})", file=str(path)) from exc
    try:
        file_kinds = [kind] if kind else kinds_from_name(path.stem)
        for ws in wb.worksheets:
            if ws.title.strip().lower() in NOTES_SHEETS:
                continue
            where = f"{path} [{ws.title}]"
            name_kinds = file_kinds if kind else kinds_from_name(ws.title) or file_kinds
            numbered = ((n, list(cells)) for n, cells in enumerate(_guarded(ws.iter_rows(), where), start=1))
            head_cells = _take(numbered, HEADER_SCAN)
            head = [(n, [_text(getattr(c, "value", None)) for c in cells]) for n, cells in head_cells]
            if not any(any(cells) for _, cells in head) and not kinds_from_name(ws.title):
                continue  # an empty "Sheet2" left over by Excel
            try:
                i, kind, mapping, ignored = _choose_header(head, name_kinds, where, "sheet")
            except SchemaError as exc:
                yield Table(where, "", (), (), error=exc)
                continue
            body = _chain(head_cells[i + 1 :], numbered)
            yield Table(
                where,
                kind,
                tuple(mapping.values()),
                _rows(body, mapping, _xlsx_cell, head[i][1]),
                tuple(ignored),
            )
    finally:
        wb.close()


def _json_cell(raw: RawRow, col: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        if any(isinstance(v, list | dict) for v in value):
            raw.problems.append((col, "", "a list may hold only plain values (text, numbers)"))
            return ""
        return LIST_SEPARATOR.join(_text(v) for v in value)
    if isinstance(value, dict):
        raw.problems.append((col, "", "an object is not a valid value here"))
        return ""
    if col == "id_number" and isinstance(value, int | float):
        raw.problems.append((col, "", "ID number must be a string, not a number"))
        return ""
    return _text(value)


def _json_table(where: str, kind: str, items: list[Any]) -> Table:
    keys: dict[str, None] = {}
    for item in items:
        if isinstance(item, dict):
            keys.update(dict.fromkeys(item))
    key_list = list(keys)
    mapping, ignored, clashes = map_headers(kind, key_list)
    if clashes:
        raise SchemaError("; ".join(clashes), file=where)
    missing = missing_columns(kind, mapping.values())
    if missing and items:
        raise SchemaError(f"missing required column(s): {', '.join(missing)}", file=where)
    by_key = {key_list[pos]: col for pos, col in mapping.items()}

    def rows() -> Iterator[RawRow]:
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                yield RawRow(n, {}, [("", "", "not a JSON object")])
                continue
            raw = RawRow(n, {})
            raw.cells = {by_key[k]: _json_cell(raw, by_key[k], v) for k, v in item.items() if k in by_key}
            if any(raw.cells.values()) or raw.problems:
                yield raw

    return Table(where, kind, tuple(mapping.values()), rows(), tuple(ignored))


def read_json(path: Path) -> Iterator[Table]:
    """A JSON array of objects (type from the file name or keys), or ``{"workers": [...], ...}``."""
    try:
        data = json.loads(decode_bytes(path.read_bytes(), file=str(path)))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"not valid JSON: {exc.msg}", file=str(path), row=exc.lineno) from exc
    except RecursionError as exc:  # the parser recurses per level: ~1,000 levels exhaust it
        reason = "JSON nested too deep: records are at most 4 levels ({type: [{field: [values]}]})"
        raise SchemaError(reason, file=str(path)) from exc
    if isinstance(data, dict):
        for key, items in data.items():
            kinds = kinds_from_name(str(key))
            if len(kinds) != 1 or not isinstance(items, list):
                raise SchemaError(f"key {key!r} is not a record type holding an array", file=str(path))
            yield _json_table(f"{path} [{kinds[0]}]", kinds[0], items)
        return
    if not isinstance(data, list):
        raise SchemaError("expected an array of objects or an object of arrays", file=str(path))
    kinds = kinds_from_name(path.stem)
    if len(kinds) != 1:
        first = next((x for x in data if isinstance(x, dict)), {})
        kind = kind_from_headers(list(first))
        if kind is None:
            raise SchemaError("cannot tell the record type from the file name or the keys", file=str(path))
        kinds = [kind]
    yield _json_table(str(path), kinds[0], data)


def read_path(path: Path, kind: str | None = None) -> Iterator[Table]:
    """The tables of one input file, by its suffix; ``kind`` fixes the table type of a CSV or
    workbook (a record type, or a side table of :data:`~matcher.ingest.headers.SIDE_TABLES`)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return read_csv(path, kind)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, kind)
    if suffix == ".json":
        return read_json(path)
    raise SchemaError(f"unsupported file type {suffix!r} (use .csv, .xlsx or .json)", file=str(path))
