"""A loaded data set (workers, enterprises, jobs, pairings) with its look-ups.

A folder is loaded by :func:`matcher.ingest.load_folder`, so a folder may hold CSV (UTF-8, UTF-8 with BOM or
GBK), XLSX or JSON files with Chinese or English headers. It keeps every valid row and reports
every invalid one as an :class:`~matcher.errors.RecordError` naming the file, row, field and
reason. Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
The store (:func:`matcher.store.load_dataset`) gives the same :class:`Dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matcher.errors import InputError
from matcher.geo import PairingMap
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

    def data_year(self) -> int | None:
        """The year the data speaks of, when its records carry dates: the latest year a job was
        posted in (``posted_on``). ``None`` without dated records: callers then use this year."""
        years = [j.posted_on.year for j in self.jobs if j.posted_on is not None]
        return max(years) if years else None

    def job_location(self, job: Job) -> str:
        """The job's location: its own code, else its enterprise's."""
        return job.location_code or self.enterprise_by_id[job.enterprise_id].location_code
