"""Text encoding of an input file: UTF-8, UTF-8 with BOM, UTF-16 with BOM, or GB18030/GBK.

Offices export CSV from Excel or WPS on Chinese Windows, which writes GBK (ANSI) unless told
otherwise; newer tools write UTF-8, Excel's "CSV UTF-8" adds a BOM. Detection looks at a prefix
of the file only so that a large file is streamed, not read whole:

1. a byte-order mark decides;
2. a prefix that decodes as UTF-8 means UTF-8 (GBK text is almost never valid UTF-8);
3. a prefix that decodes as GB18030 means GB18030 (a superset of GBK and GB2312);
4. otherwise charset-normalizer's best guess, if any.

Bytes further down that are not text in the detected encoding are escaped as lone surrogates
(:data:`ESCAPED`), so the reader rejects just the rows that hold them and keeps the rest.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from matcher.errors import SchemaError

PREFIX_BYTES = 256 * 1024
ESCAPED = re.compile("[\udc80-\udcff]")
"""A byte that :func:`open_text`'s stream could not decode (``surrogateescape``)."""
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decodes(prefix: bytes, encoding: str, complete: bool) -> bool:
    # An incremental decoder with final=False tolerates a multi-byte character cut at the end.
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(prefix, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(prefix: bytes, *, complete: bool = False, file: str | None = None) -> str:
    """The encoding of a file that starts with ``prefix`` (``complete``: the prefix is the file)."""
    for bom, name in _BOMS:
        if prefix.startswith(bom):
            return name
    if _decodes(prefix, "utf-8", complete):
        return "utf-8"
    if _decodes(prefix, "gb18030", complete):
        return "gb18030"
    from charset_normalizer import from_bytes

    best = from_bytes(prefix).best()
    if best is None:
        raise SchemaError("cannot tell the text encoding (expected UTF-8 or GBK)", file=file)
    return best.encoding


def decode_bytes(data: bytes, *, file: str | None = None) -> str:
    """Decode a whole file held in memory (JSON), detecting its encoding."""
    encoding = detect_encoding(data[:PREFIX_BYTES], complete=len(data) <= PREFIX_BYTES, file=file)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SchemaError(f"not valid {encoding} at byte {exc.start}", file=file) from exc


@contextmanager
def open_text(path: Path) -> Iterator[tuple[TextIO, str]]:
    """Open ``path`` for streaming text reads in its detected encoding: ``(stream, encoding)``.

    A byte sequence invalid in that encoding further down reads as lone surrogates (:data:`ESCAPED`):
    the reader rejects the rows that hold one, naming file, row and column.
    """
    with path.open("rb") as raw:
        prefix = raw.read(PREFIX_BYTES)
        encoding = detect_encoding(prefix, complete=len(prefix) < PREFIX_BYTES, file=str(path))
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="surrogateescape")
        try:
            yield text, encoding
        finally:
            text.detach()
