"""Which 6-digit administrative codes exist.

The national county-level table ships with laborbridge (``matcher/data/admin_areas.csv``: 2,978
codes with their names, as of 2022-10-31, from github.com/modood/Administrative-divisions-of-China,
WTFPL; see ``matcher/data/ADMIN-AREAS-LICENSE.txt``). Tianjin's districts and the paired counties of
:mod:`matcher.geo` are always known too, so a pairing is never rejected by an older table. Another
table with a ``code`` column can be given (:func:`load_admin_codes`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.errors import ConfigError
from matcher.geo import PAIRED_COUNTIES, TIANJIN_DISTRICTS

SHIPPED_AREAS = Path(__file__).resolve().parents[1] / "data" / "admin_areas.csv"


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
                "paired counties only)"
            )
        return f"unknown admin code {code} (not a county-level code in {Path(self.source).name})"


def builtin_codes() -> AdminCodes:
    """Tianjin's districts and the paired counties."""
    return AdminCodes(frozenset(TIANJIN_DISTRICTS) | frozenset(PAIRED_COUNTIES), "built-in")


@lru_cache(maxsize=4)
def load_admin_codes(table: Path | None = None) -> AdminCodes:
    """Known codes from ``table`` (a CSV with a ``code`` column; default: the shipped national table),
    with the built-in codes always included. A table given but missing raises :class:`ConfigError`."""
    path = table or SHIPPED_AREAS
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            codes = {row["code"].strip() for row in csv.DictReader(fh) if row.get("code")}
    except OSError as exc:
        raise ConfigError(f"admin code table not readable: {path} ({exc.strerror})") from exc
    return AdminCodes(frozenset(codes) | builtin_codes().codes, str(path))
