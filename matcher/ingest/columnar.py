"""The columnar path of an import: a table's columns checked whole; the rows those checks cannot
vouch for are left to the row validator.

:class:`~matcher.ingest.validate.RowValidator` takes one row at a time through pydantic, tens of
microseconds a row. An import of 100,000 workers needs its plainly valid rows recognised much
faster, with the same outcome. Here a table is taken column by column:

- values of few distinct kinds (enumerations, admin codes, numbers, dates, booleans) are
  validated once per distinct value, by pydantic with the field's own type and constraints, after
  the same Chinese-to-canonical mapping the row path applies;
- text is checked over the whole column for its length and for whitespace at its ends;
- free text is scrubbed of personal numbers (:func:`matcher.pii.scrub_column`, exactly
  :func:`~matcher.pii.scrub` on each cell) and lists are tidied only where they need it;
- an ID number or phone is accepted only in its normal form (ASCII, no separators); ID numbers
  are then checked with numpy (province, birth date, check digit, birth year and gender against
  the row's own), phones against the mobile pattern;
- the record's checks across fields (a job closing after it is posted, wage and age ranges).

A row that any check does not accept, or that the reader flagged, goes to the row validator as it
is, which accepts it or gives the error it always gave: this path only tells faster which rows are
plainly valid, never what is wrong with a row. Accepted rows become
:class:`~matcher.ingest.validate.Plain` values: the fields as :func:`matcher.store.convert.to_db`
stores them, before the store hashes and masks the ID number and phone. A record type with a
validator this module does not know (:data:`KNOWN_VALIDATORS`) is left to the row path whole, so
a rule added to :mod:`matcher.records` can never be skipped here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Annotated, Any, cast

import numpy as np
from annotated_types import MaxLen, MinLen
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from matcher.csvsafe import cells_with_controls
from matcher.idcard import PROVINCE_PREFIXES, id_check_digits
from matcher.ingest.admin_codes import AdminCodes
from matcher.ingest.headers import VALUE_ALIASES, canonical_value
from matcher.ingest.readers import RawRow
from matcher.ingest.validate import CODE_FIELDS, KEEP_BLANK, Plain
from matcher.pii import FREE_TEXT, scrub_column
from matcher.records import RECORD_TYPES, _contact_phone, _split_list, plain_value
from matcher.textscan import cells_matching

FAST_KINDS = frozenset({"workers", "enterprises", "jobs"})  # pairings: a few rows, the row path
KNOWN_VALIDATORS: dict[str, frozenset[str]] = {
    "Worker": frozenset({"_distinct_needs"}),
    "Enterprise": frozenset({"_phone"}),
    "Job": frozenset({"_closes_after_posting", "_ranges"}),
}
"""The validators of each record type that :class:`ColumnValidator` applies itself."""

_FLAG = object()  # a value the fast checks do not accept: its row goes to the row validator
_EDGE_SPACE = re.compile(r"\x00\s|\s(?=\x00)")  # a cell that starts or ends with whitespace
# A list cell that splitting and trimming would change: another separator, a space beside a ``;``,
# an empty item.
_LIST_UNTIDY = re.compile(r"[；、|]|\s;|;\s|;;|\x00;|;(?=\x00)")
_ID_FORM = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PROVINCE = np.zeros(100, dtype=bool)
_PROVINCE[[int(p) for p in PROVINCE_PREFIXES]] = True
_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _validators(model: type[BaseModel]) -> set[str]:
    d = model.__pydantic_decorators__
    return {*d.validators, *d.field_validators, *d.root_validators, *d.model_validators}


def _lengths(metadata: Sequence[Any]) -> tuple[int, int | None]:
    lo, hi = 0, None
    for m in metadata:
        if isinstance(m, MinLen):
            lo = m.min_length
        elif isinstance(m, MaxLen):
            hi = m.max_length
    return lo, hi


class ColumnValidator:
    """Splits a table's rows into plainly valid ones (as :class:`Plain`) and the rest (as they were)."""

    def __init__(self, kind: str, admin: AdminCodes) -> None:
        self.kind = kind
        self.admin = admin
        self.model = RECORD_TYPES[kind]
        self.fields = self.model.model_fields
        self.enabled = kind in FAST_KINDS and _validators(self.model) <= KNOWN_VALIDATORS.get(
            self.model.__name__, frozenset()
        )
        self._free = frozenset(FREE_TEXT.get(kind, ()))
        self._enums = frozenset(col for (k, col) in VALUE_ALIASES if k == kind)
        self._codes = frozenset(CODE_FIELDS[kind])
        self._personal = ("id_number", "phone") if kind == "workers" else ()
        self._text: dict[str, tuple[int, int | None]] = {}  # plain text: (min, max) length
        self._lists: set[str] = set()
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        settings = dict(self.model.model_config)
        # the records' settings that bear on one field's value; any other turns this path off
        self.enabled &= settings.keys() <= {"frozen", "extra", "str_strip_whitespace", "use_enum_values"}
        self.enabled &= not settings.get("use_enum_values", False)
        config = ConfigDict(str_strip_whitespace=bool(settings.get("str_strip_whitespace", False)))
        for name, fi in self.fields.items():
            if name in self._personal:
                continue
            plain_text = all(isinstance(m, MinLen | MaxLen) for m in fi.metadata)
            if fi.annotation is str and plain_text and (fi.is_required() or fi.default == ""):
                if name not in self._enums and name != "contact_phone":
                    self._text[name] = _lengths(fi.metadata)
                    continue
            if fi.annotation == tuple[str, ...] and not fi.is_required() and fi.default == ():
                self._lists.add(name)
                continue
            tp = Annotated[(fi.annotation, *fi.metadata)] if fi.metadata else fi.annotation
            self._adapters[name] = TypeAdapter(cast(Any, tp), config=config)
        self._seen: dict[str, dict[str, Any]] = {name: {} for name in self._adapters}

    def takes(self, columns: Sequence[str]) -> bool:
        """Whether a table with these columns may take this path."""
        return self.enabled and all(c in self.fields for c in columns)

    def split(self, rows: Sequence[RawRow], file: str) -> list[Plain | RawRow]:
        """Each row as :class:`Plain` when every check accepts it, else the row itself, in order."""
        n = len(rows)
        bad: set[int] = {i for i, r in enumerate(rows) if r.problems}
        out: dict[str, list[Any]] = {}
        for name, col in zip(self.fields, _columns(rows, list(self.fields)), strict=True):
            try:  # joins the column: a cell that is not text (None, a number) stops it
                controls = cells_with_controls(col)
            except TypeError:
                bad.update(i for i, v in enumerate(col) if not isinstance(v, str))
                col = [v if isinstance(v, str) else "" for v in col]
                controls = cells_with_controls(col)
            bad.update(controls)
            if name in self._free:
                col = scrub_column(col)
            out[name] = col
        for name, (lo, hi) in self._text.items():
            bad.update(self._check_text(name, out[name], lo, hi))
        for name in self._lists:
            out[name] = self._tidy_list(out[name])
        for name in self._adapters:
            out[name] = col = self._values(name, out[name])
            bad.update(i for i, v in enumerate(col) if v is _FLAG)
        if self._personal:
            bad.update(self._check_personal(out))
        if self.kind == "jobs":
            bad.update(_job_ranges(out))
        names = list(self.fields)
        result: list[Plain | RawRow] = [
            Plain(dict(zip(names, values, strict=True)), file, raw.row)
            for raw, values in zip(rows, zip(*(out[k] for k in names), strict=True), strict=True)
        ]
        for i in bad:
            result[i] = rows[i]
        assert len(result) == n
        return result

    def _check_text(self, name: str, col: list[str], lo: int, hi: int | None) -> list[int]:
        required = self.fields[name].is_required()
        bad = cells_matching(_EDGE_SPACE, col)
        lengths = np.fromiter(map(len, col), dtype=np.int64, count=len(col))
        wrong = (lengths > 0) & (lengths < lo)
        if hi is not None:
            wrong |= lengths > hi
        if required:
            wrong |= lengths == 0
        return bad + np.flatnonzero(wrong).tolist()

    @staticmethod
    def _tidy_list(col: list[str]) -> list[str]:
        # What the record keeps of a list cell (split, trimmed, empty items dropped), ;-joined.
        col = list(col)
        for i in cells_matching(_LIST_UNTIDY, col):
            col[i] = plain_value(_split_list(col[i]))
        return col

    def _values(self, name: str, col: list[str]) -> list[Any]:
        seen = self._seen[name]
        for v in set(col) - seen.keys():
            seen[v] = self._value(name, v)
        return list(map(seen.__getitem__, col))

    def _value(self, name: str, v: str) -> Any:
        """The stored value of one distinct cell of a validated column, or :data:`_FLAG`."""
        fi = self.fields[name]
        if name in self._enums:
            v = canonical_value(self.kind, name, v)
        if v == "" and name not in KEEP_BLANK:  # a blank cell: the field's default
            return _FLAG if fi.is_required() else plain_value(fi.default)
        if name in self._codes and len(v) == 6 and v.isdigit() and v not in self.admin:
            return _FLAG
        try:
            value = self._adapters[name].validate_python(v)
        except ValidationError:
            return _FLAG
        if name == "service_needs":  # Worker._distinct_needs
            value = tuple(dict.fromkeys(value))
        elif name == "contact_phone":  # Enterprise._phone
            try:
                _contact_phone(value)
            except ValueError:
                return _FLAG
        return plain_value(value)

    def _check_personal(self, out: dict[str, list[Any]]) -> list[int]:
        """Rows whose ID number or phone is not plainly valid (blank is valid)."""
        bad = [i for i, v in enumerate(out["phone"]) if v and not _MOBILE.fullmatch(v)]
        idn = out["id_number"]
        rows = [i for i, v in enumerate(idn) if v]
        well_formed = [i for i in rows if _ID_FORM.fullmatch(idn[i])]
        bad += sorted(set(rows) - set(well_formed))
        if not well_formed:
            return bad
        b = np.frombuffer("".join(idn[i] for i in well_formed).encode("ascii"), dtype=np.uint8)
        b = b.reshape(len(well_formed), 18)
        digits = b[:, :17].astype(np.int64) - ord("0")
        year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
        month = digits[:, 10] * 10 + digits[:, 11]
        day = digits[:, 12] * 10 + digits[:, 13]
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_days = _DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
        today = dt.date.today()
        ok = _PROVINCE[digits[:, 0] * 10 + digits[:, 1]]
        ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days) & (year >= 1900)
        ok &= year * 10_000 + month * 100 + day <= today.year * 10_000 + today.month * 100 + today.day
        ok &= id_check_digits(b[:, :17].copy().view("S17").ravel()) == b[:, 17].view("S1").astype("U1")
        # the record's own birth year and gender (a row whose own are invalid is flagged already)
        birth = np.array([_int_or(out["birth_year"][i]) for i in well_formed], dtype=np.int64)
        male = np.array([out["gender"][i] == "male" for i in well_formed], dtype=bool)
        ok &= (year == birth) & ((digits[:, 16] % 2 == 1) == male)
        bad += [well_formed[k] for k in np.flatnonzero(~ok).tolist()]
        return bad


def _columns(rows: Sequence[RawRow], names: list[str]) -> list[list[str]]:
    """The cells of ``rows`` column by column; ``""`` where a row has no such cell."""
    present = [k for k in names if any(k in r.cells for r in rows[:1])]
    try:
        get = itemgetter(*present) if len(present) > 1 else (lambda c: tuple(c[k] for k in present))
        transposed = list(zip(*map(get, (r.cells for r in rows)), strict=True)) if rows else []
    except KeyError:  # rows with different cells (JSON items): one cell at a time
        return [[r.cells.get(k, "") for r in rows] for k in names]
    by_name = dict(zip(present, transposed, strict=True))
    cols = [list(by_name[k]) if k in by_name else [""] * len(rows) for k in names]
    if any(len(r.cells) != len(present) for r in rows):  # a cell of a column the first row lacks
        return [[r.cells.get(k, "") for r in rows] for k in names]
    return cols


def _int_or(value: Any) -> int:
    return value if type(value) is int else -1


def _job_ranges(out: dict[str, list[Any]]) -> list[int]:
    """Rows breaking Job's checks across fields: closing before posting, min above max."""
    bad = []
    for a, b in (("posted_on", "closes_on"), ("wage_min", "wage_max"), ("age_min", "age_max")):
        for i, (lo, hi) in enumerate(zip(out[a], out[b], strict=True)):
            if lo is None or hi is None or lo is _FLAG or hi is _FLAG:
                continue
            if lo > hi:  # ISO dates compare as text
                bad.append(i)
    return bad


__all__ = ["FAST_KINDS", "KNOWN_VALIDATORS", "ColumnValidator"]
