"""A loaded data set (workers, enterprises, jobs, pairings) and the folder loader.

Loading goes through :mod:`matcher.ingest`, so a folder may hold CSV (UTF-8, UTF-8 with BOM or
GBK), XLSX or JSON files with Chinese or English headers. It keeps every valid row and reports
every invalid one as an :class:`~matcher.errors.RecordError` naming the file, row, field and
reason. Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
The store (:func:`matcher.store.load_dataset`) gives the same :class:`Dataset`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from matcher.errors import InputError, SchemaError
from matcher.geo import PairingMap, builtin_pairings
from matcher.records import Enterprise, Job, Pairing, Worker

REQUIRED_KINDS = ("workers", "enterprises", "jobs")


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


def load_folder(folder: str | Path) -> Dataset:
    """Load the workers, enterprises, jobs and (optional) pairings files of ``folder``.

    Files are found by name (``workers.csv``, ``岗位.xlsx``, a workbook with one sheet per type
    ...), see :func:`matcher.ingest.expand_paths`. Without pairing rows the built-in ones apply.
    Invalid rows are kept in ``Dataset.rejected``; a missing or unreadable required file raises
    :class:`SchemaError`. ``input_sha256`` hashes the names and bytes of the files read.
    """
    from matcher.ingest import expand_paths, ingest

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
    parts = {kind: [it.record for it in items] for kind, items in result.records.items()}
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
