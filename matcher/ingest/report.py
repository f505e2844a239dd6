"""The import report: what went in, what changed, and every rejected row with its reason.

The JSON form (``laborbridge import --json``) is::

    {"imported": {"workers": n, ...}, "created": {...}, "updated": {...}, "unchanged": {...},
     "rejected": [{"file": ..., "row": ..., "field": ..., "value": ..., "reason": ...}],
     "files": [...], "batch": id or null, "written": true/false}

``imported`` counts the valid rows taken in (created + updated + unchanged); ``value`` is masked
for personal fields (name, ID number, phone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from matcher.csvsafe import csv_writer
from matcher.errors import InputError
from matcher.ingest.pipeline import SourceFile
from matcher.records import RECORD_TYPES

REJECTED_COLUMNS = ("file", "row", "field", "value", "reason")


def _zero() -> dict[str, int]:
    return dict.fromkeys(RECORD_TYPES, 0)


@dataclass
class ImportReport:
    """The outcome of one import; ``written`` is false when nothing was written (strict, no change)."""

    imported: dict[str, int] = field(default_factory=_zero)
    created: dict[str, int] = field(default_factory=_zero)
    updated: dict[str, int] = field(default_factory=_zero)
    unchanged: dict[str, int] = field(default_factory=_zero)
    rejected: list[InputError] = field(default_factory=list)
    files: list[SourceFile] = field(default_factory=list)
    batch_id: int | None = None
    written: bool = False
    aborted: str | None = None

    @property
    def total_imported(self) -> int:
        return sum(self.imported.values())

    @property
    def exit_code(self) -> int:
        """0 when valid rows went in, 1 when nothing could be imported."""
        return 0 if self.total_imported and not self.aborted else 1

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready report."""
        return {
            "imported": self.imported,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [e.as_dict() for e in self.rejected],
            "files": [asdict(f) for f in self.files],
            "batch": self.batch_id,
            "written": self.written,
            "aborted": self.aborted,
        }


def write_rejected_csv(errors: list[InputError], path: str | Path) -> None:
    """Every rejection as a CSV row (UTF-8 with BOM, so Excel shows the Chinese)."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv_writer(fh)
        w.writerow(REJECTED_COLUMNS)
        for e in errors:
            d = e.as_dict()
            w.writerow(["" if d[c] is None else d[c] for c in REJECTED_COLUMNS])


def render_text(report: ImportReport, *, limit: int = 50) -> str:
    """A short plain-text report: counts per type, then up to ``limit`` rejections."""
    lines = []
    for kind in RECORD_TYPES:
        if report.imported[kind] or report.created[kind] or report.updated[kind]:
            lines.append(
                f"{kind:<12} imported {report.imported[kind]:>8,}  created {report.created[kind]:>8,}"
                f"  updated {report.updated[kind]:>8,}  unchanged {report.unchanged[kind]:>8,}"
            )
    if not lines:
        lines.append("nothing imported")
    if report.aborted:
        lines.append(f"aborted: {report.aborted}")
    elif report.batch_id is not None:
        lines.append(f"import batch {report.batch_id}")
    elif report.total_imported:
        lines.append("no changes: the store already holds these records")
    if report.rejected:
        lines.append(f"rejected: {len(report.rejected):,}")
        lines.extend(f"  {e}" + (f" [{e.value}]" if e.value else "") for e in report.rejected[:limit])
        if len(report.rejected) > limit:
            lines.append(f"  … and {len(report.rejected) - limit:,} more (use --json or --rejected FILE)")
    return "\n".join(lines)
