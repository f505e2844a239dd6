"""A write-only XLSX writer for large lists: the sheet XML is written as text, not cell objects.

openpyxl's write-only mode still builds a cell object and an XML element per value (about 100 µs a
cell on the benchmark machine: 24 of the 27 s the 10k-worker exports took). The lists here need
little of it: a bold, frozen header row, then text, numbers and booleans. :func:`write_workbook`
writes exactly that (SpreadsheetML, strings inline, the header in a bold style) into a zip file
that Excel, LibreOffice and openpyxl read; every string passes :func:`~matcher.csvsafe.xlsx_cell`
first, and is stored as text, so a leading ``=`` never becomes a formula.
"""

from __future__ import annotations

import math
import numbers
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matcher.csvsafe import xlsx_cell, xlsx_unchanged

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_RELS_CT = "application/vnd.openxmlformats-package.relationships+xml"

_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_HEAD = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
    "<sheetData>"
)


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _column_letters(n: int) -> list[str]:
    out = []
    for i in range(1, n + 1):
        name = ""
        while i:
            i, r = divmod(i - 1, 26)
            name = chr(65 + r) + name
        out.append(name)
    return out


def _tail(value: Any, style: str = "") -> str:
    """A ``<c>`` element after its reference (``'" t="b"><v>1</v></c>'``); ``""`` for a blank cell
    (``None`` and ``""``, as openpyxl leaves them)."""
    if type(value) is str:  # most cells: the common case first
        if not value:
            return ""
        text = _escape(xlsx_cell(value))
        return f'"{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Integral):
        return f'"{style}><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return f'"{style}><v>{float(value)!r}</v></c>'
    return _tail(str(value), style)


def _cell(ref: str, value: Any, style: str = "") -> str:
    """One ``<c>`` element; empty for a blank cell."""
    tail = _tail(value, style)
    return f'<c r="{ref}{tail}' if tail else ""


ROWS_PER_PART = 4096  # rows rendered at a time: the column lists of one part stay small
_TEXT_OPEN = '" t="inlineStr"><is><t xml:space="preserve">'
_TEXT_CLOSE = "</t></is></c>"


def _column_cells(
    letter: str, nums: Sequence[str], part: Sequence[Any], tails: dict[str, str]
) -> tuple[str, list[Sequence[str]]]:
    """One column's cells in rows ``nums``: a ``%`` template of a cell and its arguments, column by
    column (``("%s", [elements])`` when the elements are made here, ``""`` for a blank cell).

    A column of text only, none of it blank or holding a character
    :func:`~matcher.csvsafe.xlsx_cell` removes (most columns), is escaped in one pass over its
    cells joined by NUL (a character it does not hold); a column of finite floats only, or of ints
    only, is formatted in one ``map``. Other columns go cell by cell (:func:`_tail`), each text's
    element made once (``tails``)."""
    kinds = set(map(type, part))
    if kinds == {str}:
        if all(part) and xlsx_unchanged("".join(part)):  # then no cell holds a NUL either
            texts = _escape("\x00".join(part)).split("\x00")
            return f'<c r="{letter}%s{_TEXT_OPEN}%s{_TEXT_CLOSE}', [nums, texts]
    elif kinds == {int} or (kinds == {float} and all(map(math.isfinite, part))):
        return f'<c r="{letter}%s"><v>%s</v></c>', [nums, list(map(repr, part))]
    got = list(map(tails.get, part))  # only text is kept: 1, 1.0 and True look alike
    for i in [i for i, t in enumerate(got) if t is None]:
        v = part[i]
        got[i] = t = _tail(v)
        if type(v) is str:
            tails[v] = t
    head = '<c r="' + letter
    return "%s", [[head + n + t if t else "" for n, t in zip(nums, got, strict=True)]]


def _rows_xml(nums: Sequence[str], cells: Sequence[tuple[str, list[Sequence[str]]]]) -> str:
    """The ``<row>`` elements of rows ``nums`` from their columns' cells (:func:`_column_cells`):
    one ``%`` template a row, filled for all rows at once."""
    import numpy as np

    args: list[Sequence[str]] = [nums]
    row = '<row r="%s">'
    for template, values in cells:
        row += template
        args += values
    row += "</row>"
    table = np.empty((len(nums), len(args)), dtype=object)
    for i, column in enumerate(args):
        table[:, i] = column
    return (row * len(nums)) % tuple(table.ravel().tolist())


def _sheet_xml(headers: Sequence[str], columns: Sequence[Sequence[Any]]) -> Iterable[str]:
    """The sheet's XML in parts: the bold header row, then the rows of ``columns`` (equal lengths).

    Cells are rendered a column at a time (:func:`_column_cells`), then a part's rows at once
    (:func:`_rows_xml`)."""
    letters = _column_letters(max(len(headers), len(columns), 1))
    yield _SHEET_HEAD
    yield (
        '<row r="1">'
        + "".join(_cell(f"{c}1", h, ' s="1"') for c, h in zip(letters, headers, strict=False))
        + "</row>"
    )
    tails: dict[str, str] = {}  # a text cell's element after its reference, by text
    n_rows = len(columns[0]) if columns else 0
    for start in range(0, n_rows, ROWS_PER_PART):
        stop = min(start + ROWS_PER_PART, n_rows)
        nums = [str(i + 2) for i in range(start, stop)]
        parts = [col[start:stop] for col in columns]
        if any(len(part) != len(nums) for part in parts):
            raise ValueError("the columns of a sheet must have equal lengths")
        yield _rows_xml(
            nums, [_column_cells(c, nums, part, tails) for c, part in zip(letters, parts, strict=False)]
        )
    yield "</sheetData></worksheet>"


def write_workbook(sheets: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]], path: Path) -> Path:
    """``{sheet title: (headers, columns)}`` as an XLSX file, each sheet's rows given column by
    column (lists of equal length); titles must already be valid and unique
    (:func:`matcher.reporting.exports.sheet_title`)."""
    names = list(sheets)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
            for i in range(1, len(names) + 1)
        )
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="{_RELS_CT}"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>{overrides}</Types>',
        )
        zf.writestr(
            "_rels/.rels",
            f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        sheet_list = "".join(
            f'<sheet name="{_escape(name).replace(chr(34), "&quot;")}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(names, start=1)
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" '
            f'xmlns:r="{_REL}"><sheets>{sheet_list}</sheets></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(names) + 1)
        )
        styles_id = len(names) + 1
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_XML}<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        zf.writestr("xl/styles.xml", _STYLES)
        for i, name in enumerate(names, start=1):
            headers, columns = sheets[name]
            with zf.open(f"xl/worksheets/sheet{i}.xml", "w") as fh:
                buf: list[str] = []
                size = 0
                for part in _sheet_xml(headers, columns):
                    buf.append(part)
                    size += len(part)
                    if size > 1 << 20:
                        fh.write("".join(buf).encode("utf-8"))
                        buf, size = [], 0
                fh.write("".join(buf).encode("utf-8"))
    return path


__all__ = ["write_workbook"]
