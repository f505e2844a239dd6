"""Which 6-digit administrative codes exist.

The national table is ``admin_divisions_cn/areas.csv`` in the shared data folder (found through
``LABORBRIDGE_SHARED_DATA``, else ``../shared/data`` next to the repository). Without it, a
built-in table applies: Tianjin's districts and the paired counties of :mod:`matcher.geo`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.geo import PAIRED_COUNTIES, TIANJIN_DISTRICTS

AREAS_FILE = Path("admin_divisions_cn") / "areas.csv"


@dataclass(frozen=True)
class AdminCodes:
    """A set of known codes and where it came from (``source``: a path or ``"built-in"``)."""

    codes: frozenset[str]
    source: str

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def unknown_reason(self, code: str) -> str:
        """The report's reason for a code not in the table."""
        if self.source == "built-in":
            return (
                f"unknown admin code {code} (the built-in table has Tianjin's districts and the "
                "paired counties only; set LABORBRIDGE_SHARED_DATA for the national table)"
            )
        return f"unknown admin code {code} (not a county-level code in {AREAS_FILE.as_posix()})"


def shared_data_dir() -> Path | None:
    """The shared data folder: ``$LABORBRIDGE_SHARED_DATA``, else ``../shared/data``, if it exists."""
    env = os.environ.get("LABORBRIDGE_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    return next((p for p in candidates if p.is_dir()), None)


def builtin_codes() -> AdminCodes:
    """Tianjin's districts and the paired counties."""
    return AdminCodes(frozenset(TIANJIN_DISTRICTS) | frozenset(PAIRED_COUNTIES), "built-in")


@lru_cache(maxsize=4)
def load_admin_codes(shared_data: Path | None = None) -> AdminCodes:
    """Known codes from ``areas.csv`` under ``shared_data`` (default: :func:`shared_data_dir`).

    The built-in codes are always included, so a county paired in :mod:`matcher.geo` is never
    rejected by an older national table.
    """
    folder = shared_data or shared_data_dir()
    path = folder / AREAS_FILE if folder else None
    if path is None or not path.is_file():
        return builtin_codes()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        codes = {row["code"].strip() for row in csv.DictReader(fh) if row.get("code")}
    return AdminCodes(frozenset(codes) | builtin_codes().codes, str(path))
