"""Read and validate a set of input files: the front half of every import.

:func:`ingest` takes files and folders, reads each table, validates each row, then checks the set
(duplicates, enterprise references). It never raises for bad content: a file that cannot be read
at all becomes one :class:`~matcher.errors.SchemaError` in ``rejected``, a bad row one
:class:`~matcher.errors.RecordError`, and every valid row is kept.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from matcher.dataset import REQUIRED_KINDS, Dataset
from matcher.errors import InputError, SchemaError
from matcher.geo import builtin_pairings
from matcher.ingest.admin_codes import AdminCodes, load_admin_codes
from matcher.ingest.columnar import ColumnValidator
from matcher.ingest.headers import kinds_from_name
from matcher.ingest.readers import SUFFIXES, RawRow, read_path
from matcher.ingest.validate import Item, Loaded, Plain, RowValidator, check_set
from matcher.records import RECORD_TYPES

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class SourceFile:
    """One table read: file (``path [sheet]`` for a workbook), record type, rows read, file hash."""

    file: str
    kind: str
    rows: int
    sha256: str
    encoding: str | None = None
    ignored_columns: tuple[str, ...] = ()


@dataclass
class IngestResult:
    """Valid records by type (with their origin), rejections in file/row order, tables read."""

    records: dict[str, list[Item]] = field(default_factory=lambda: {k: [] for k in RECORD_TYPES})
    rejected: list[InputError] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Valid records per type."""
        return {kind: len(items) for kind, items in self.records.items()}

    def kinds_read(self) -> set[str]:
        """Record types that had at least one table."""
        return {s.kind for s in self.sources}


def save_uploads(uploads: Iterable[tuple[str, BinaryIO]], folder: Path) -> list[Path]:
    """Write uploaded files (``(file name, content)``) into ``folder``; their paths, in order.

    Only the base name of what the client sent is kept (no folders, either slash), so an upload can
    never land outside ``folder``; it must have a readable suffix, be distinct and not hidden. The
    name tells the record type, as on the command line. One check for the API and the console.
    """
    paths: list[Path] = []
    for i, (name, content) in enumerate(uploads):
        base = Path(name.replace("\\", "/")).name.strip() or f"upload{i}"
        if Path(base).suffix.lower() not in SUFFIXES:
            raise InputError(f"unsupported file type (use {', '.join(SUFFIXES)})", file=base)
        if base.startswith(".") or any(p.name == base for p in paths):
            raise InputError("file names must be distinct and not hidden", file=base)
        path = folder / base
        with path.open("wb") as fh:
            shutil.copyfileobj(content, fh)
        paths.append(path)
    return paths


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to read: each file as given, and in each folder the files that look like inputs.

    In a folder, a CSV or JSON file counts when its name points to a record type (so a
    ``truth.csv`` or ``run.json`` beside the inputs is left alone); every workbook counts.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            out.append(p)
            continue
        for f in sorted(p.iterdir()):
            if f.name.startswith((".", "~$")) or not f.is_file() or f.suffix.lower() not in SUFFIXES:
                continue
            if f.suffix.lower() in WORKBOOK_SUFFIXES or kinds_from_name(f.stem):
                out.append(f)
    return out


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rows_until_error(rows: Iterable[RawRow]) -> tuple[list[RawRow], SchemaError | None]:
    """The rows of a table, up to a :class:`SchemaError` the reader raises part way (returned)."""
    out: list[RawRow] = []
    try:
        for raw in rows:
            out.append(raw)
    except SchemaError as exc:
        return out, exc
    return out, None


def ingest(
    paths: Sequence[str | Path],
    *,
    known_enterprises: Iterable[str] = (),
    admin: AdminCodes | None = None,
    columnar: bool = False,
) -> IngestResult:
    """Read, validate and cross-check ``paths`` (files or folders).

    ``known_enterprises``: enterprise ids already stored, which jobs may refer to. ``admin``:
    the table of known admin codes (default: :func:`load_admin_codes`). ``columnar``: valid rows
    of large tables may come as :class:`Plain` values rather than records (the store's import,
    :mod:`matcher.ingest.columnar`); the same rows are accepted and rejected either way.
    """
    admin = admin or load_admin_codes()
    result = IngestResult()
    validators = {kind: RowValidator(kind, admin) for kind in RECORD_TYPES}
    fast = {kind: ColumnValidator(kind, admin) for kind in RECORD_TYPES} if columnar else {}
    rejected_enterprises: set[str] = set()
    for path in expand_paths(paths):
        if not path.is_file():
            result.rejected.append(SchemaError("no such file", file=str(path)))
            continue
        digest = file_sha256(path)
        try:
            for table in read_path(path):
                if table.error is not None:
                    result.rejected.append(table.error)
                    continue
                validate = validators[table.kind]
                valid = result.records[table.kind]
                column = fast.get(table.kind)
                rows: Iterable[RawRow | Plain] = table.rows
                cut: SchemaError | None = None  # a table unreadable past some row: after those rows
                if column is not None and column.takes(table.columns):
                    taken, cut = _rows_until_error(table.rows)
                    rows = column.split(taken, table.file)
                n = 0
                for raw in rows:
                    n += 1
                    if isinstance(raw, Plain):
                        valid.append(raw)
                        continue
                    record, errors = validate(raw, table.file)
                    if record is not None:
                        valid.append(Loaded(record, table.file, raw.row))
                        continue
                    result.rejected.extend(errors)
                    if table.kind == "enterprises" and raw.cells.get("enterprise_id"):
                        rejected_enterprises.add(raw.cells["enterprise_id"])
                if cut is not None:
                    raise cut
                result.sources.append(
                    SourceFile(table.file, table.kind, n, digest, table.encoding, table.ignored)
                )
        except SchemaError as exc:
            # The rows already taken from this file stay valid; the rest of the file is lost.
            result.rejected.append(exc)
    kept, errors = check_set(
        result.records, known_enterprises=known_enterprises, rejected_enterprises=rejected_enterprises
    )
    result.records = kept
    result.rejected.extend(errors)
    result.rejected.sort(key=lambda e: (e.file or "", e.row or 0, e.field or ""))
    return result


def _record(item: Item) -> BaseModel:
    if not isinstance(item, Loaded):  # only ingest(columnar=True) makes them
        raise TypeError("a columnar row has no record")
    return item.record


def load_folder(folder: str | Path) -> Dataset:
    """Load the workers, enterprises, jobs and (optional) pairings files of ``folder``.

    Files are found by name (``workers.csv``, ``岗位.xlsx``, a workbook with one sheet per type
    ...), see :func:`matcher.ingest.expand_paths`. Without pairing rows the built-in ones apply.
    Invalid rows are kept in ``Dataset.rejected``; a missing or unreadable required file raises
    :class:`SchemaError`. ``input_sha256`` hashes the names and bytes of the files read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"data folder {folder} does not exist")
    files = expand_paths([folder])
    result = ingest(files)
    for err in result.rejected:
        if isinstance(err, SchemaError):
            raise err  # placement cannot go on without a whole file
    for kind in REQUIRED_KINDS:
        if kind not in result.kinds_read():
            raise SchemaError(
                f"required file {kind}.csv (or .xlsx/.json) is missing", file=str(folder / kind)
            )
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    parts = {kind: [_record(it) for it in items] for kind, items in result.records.items()}
    if not parts["pairings"]:
        parts["pairings"] = list(builtin_pairings())
    return Dataset(
        workers=parts["workers"],  # type: ignore[arg-type]
        enterprises=parts["enterprises"],  # type: ignore[arg-type]
        jobs=parts["jobs"],  # type: ignore[arg-type]
        pairings=parts["pairings"],  # type: ignore[arg-type]
        rejected=list(result.rejected),
        input_sha256=digest.hexdigest(),
    )
