"""A loaded data set (workers, enterprises, jobs, pairings) and the folder loader.

Loading keeps every valid row and reports every invalid one as an :class:`~matcher.errors.RecordError`
naming the file, row, field and reason. Rows are numbered as a spreadsheet shows them: the header
is row 1, the first record row 2.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from matcher.errors import InputError, RecordError, SchemaError
from matcher.geo import PairingMap, builtin_pairings
from matcher.records import PERSONAL_FIELDS, RECORD_TYPES, REQUIRED_COLUMNS, Enterprise, Job, Pairing, Worker

FILE_NAMES = {kind: f"{kind}.csv" for kind in RECORD_TYPES}


@dataclass
class Dataset:
    """Records of one placement's input, with look-ups by id."""

    workers: list[Worker] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    pairings: list[Pairing] = field(default_factory=list)
    rejected: list[InputError] = field(default_factory=list)
    input_sha256: str = ""

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the id look-ups after the lists changed."""
        self.enterprise_by_id = {e.enterprise_id: e for e in self.enterprises}
        self.job_by_id = {j.job_id: j for j in self.jobs}
        self.worker_by_id = {w.worker_id: w for w in self.workers}

    def pairing_map(self, year: int | None = None) -> PairingMap:
        return PairingMap.from_pairings(self.pairings, year)

    def job_location(self, job: Job) -> str:
        """The job's location: its own code, else its enterprise's."""
        return job.location_code or self.enterprise_by_id[job.enterprise_id].location_code


def _mask_value(column: str, value: str) -> str:
    if column in PERSONAL_FIELDS and value:
        from matcher.idcard import mask_id_number, mask_phone

        if column == "id_number":
            return mask_id_number(value)
        if column == "phone":
            return mask_phone(value)
        return value[:1] + "*" * max(len(value) - 1, 1)
    return value


def validation_errors(
    exc: ValidationError, *, file: str, row: int, cells: dict[str, str]
) -> Iterator[RecordError]:
    """One :class:`RecordError` per pydantic error, personal values masked."""
    for err in exc.errors():
        loc = err.get("loc") or ()
        fld = str(loc[0]) if loc else None
        raw = cells.get(fld, "") if fld else ""
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        yield RecordError(msg, file=file, row=row, field=fld, value=_mask_value(fld or "", str(raw)))


def parse_rows(
    kind: str, rows: Iterable[tuple[int, dict[str, str]]], *, file: str
) -> tuple[list[BaseModel], list[InputError]]:
    """Validate (row number, row dict) pairs into records of ``kind``; returns (records, errors)."""
    model = RECORD_TYPES[kind]
    known = set(model.model_fields)
    good: list[BaseModel] = []
    bad: list[InputError] = []
    for row_no, cells in rows:
        values = {k: v for k, v in cells.items() if k in known and v is not None}
        if not any((v or "").strip() for v in values.values()):
            continue  # blank line
        try:
            good.append(
                model.model_validate({k: v for k, v in values.items() if v != "" or k in _KEEP_BLANK})
            )
        except ValidationError as exc:
            bad.extend(validation_errors(exc, file=file, row=row_no, cells=values))
    return good, bad


# Blank cells that carry meaning and must reach the validator (they become None).
_KEEP_BLANK = frozenset({"min_wage", "capacity", "dorm_beds", "wage_min", "wage_max", "age_min", "age_max"})


def read_csv_file(path: Path, kind: str) -> tuple[list[BaseModel], list[InputError]]:
    """Read one canonical CSV (UTF-8, with or without BOM) of record type ``kind``."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS[kind] if c not in header]
        if missing:
            raise SchemaError(f"missing required column(s): {', '.join(missing)}", file=str(path), row=1)
        reader.fieldnames = header
        rows = (
            (reader.line_num, {k: (v or "").strip() for k, v in r.items() if k is not None}) for r in reader
        )
        return parse_rows(kind, rows, file=str(path))


def check_references(ds: Dataset) -> None:
    """Drop jobs whose enterprise is unknown and duplicate ids, recording each as rejected."""
    seen: set[str] = set()
    kept_ent = []
    for e in ds.enterprises:
        if e.enterprise_id in seen:
            ds.rejected.append(
                RecordError("duplicate enterprise_id", file="enterprises", field="enterprise_id")
            )
            continue
        seen.add(e.enterprise_id)
        kept_ent.append(e)
    ds.enterprises = kept_ent
    seen = set()
    kept_jobs = []
    for j in ds.jobs:
        if j.enterprise_id not in ds.enterprise_by_id:
            ds.rejected.append(
                RecordError(
                    f"unknown enterprise_id {j.enterprise_id!r} (job {j.job_id})",
                    file="jobs",
                    field="enterprise_id",
                    value=j.enterprise_id,
                )
            )
            continue
        if j.job_id in seen:
            ds.rejected.append(RecordError(f"duplicate job_id {j.job_id!r}", file="jobs", field="job_id"))
            continue
        seen.add(j.job_id)
        kept_jobs.append(j)
    ds.jobs = kept_jobs
    seen = set()
    kept_w = []
    for w in ds.workers:
        if w.worker_id in seen:
            ds.rejected.append(
                RecordError(f"duplicate worker_id {w.worker_id!r}", file="workers", field="worker_id")
            )
            continue
        seen.add(w.worker_id)
        kept_w.append(w)
    ds.workers = kept_w
    ds.reindex()


def load_folder(folder: str | Path) -> Dataset:
    """Load ``workers.csv``, ``enterprises.csv``, ``jobs.csv`` and ``pairings.csv`` from ``folder``.

    ``pairings.csv`` is optional: the built-in pairings are used without it. Invalid rows are
    kept in ``Dataset.rejected``; a missing required file raises :class:`SchemaError`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"data folder {folder} does not exist")
    digest = hashlib.sha256()
    parts: dict[str, list[BaseModel]] = {}
    rejected: list[InputError] = []
    for kind, fname in FILE_NAMES.items():
        path = folder / fname
        if not path.exists():
            if kind == "pairings":
                parts[kind] = list(builtin_pairings())
                continue
            raise SchemaError(f"required file {fname} is missing", file=str(path))
        digest.update(fname.encode() + b"\0" + path.read_bytes() + b"\0")
        good, bad = read_csv_file(path, kind)
        parts[kind] = good
        rejected.extend(bad)
    ds = Dataset(
        workers=parts["workers"],  # type: ignore[arg-type]
        enterprises=parts["enterprises"],  # type: ignore[arg-type]
        jobs=parts["jobs"],  # type: ignore[arg-type]
        pairings=parts["pairings"],  # type: ignore[arg-type]
        rejected=rejected,
        input_sha256=digest.hexdigest(),
    )
    check_references(ds)
    return ds
