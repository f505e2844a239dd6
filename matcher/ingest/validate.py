"""Validation: one raw row into a typed record, then the checks across rows and files.

Row checks: no control characters (tab and line breaks only in free text such as ``description``
and ``experience``), required fields, types and ranges (the pydantic records), Chinese enumeration values,
18-digit ID numbers (GB 11643 check digit) whose birth year and gender agree with the record,
mainland mobile numbers, and admin codes that exist. Set checks: duplicate keys and duplicate ID
numbers (every row involved is rejected, since which one is right cannot be told), and jobs whose
enterprise is neither in the files nor in the store.

Free text (:data:`matcher.pii.FREE_TEXT`) is scrubbed before anything else looks at it: an ID
number or phone typed into ``experience`` or a job's ``description`` is masked here, where every
import and ``PATCH`` passes, so the store, its history, the encoder and exports never see it.

Every error is a :class:`~matcher.errors.RecordError` with file, row, field, reason, and the
value masked when it is personal (and scrubbed of personal numbers when it is not).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from matcher.csvsafe import control_characters, escape_controls, has_control_characters
from matcher.errors import RecordError
from matcher.idcard import validate_id_number, validate_phone
from matcher.ingest.admin_codes import AdminCodes
from matcher.ingest.headers import VALUE_ALIASES, canonical_value, dropdown_values
from matcher.ingest.readers import RawRow
from matcher.pii import FREE_TEXT, is_masked, mask, normalize_id_number, normalize_phone, scrub
from matcher.records import PERSONAL_FIELDS, RECORD_TYPES

# Blank cells that carry meaning and must reach the validator (they become None).
KEEP_BLANK = frozenset({"min_wage", "capacity", "dorm_beds", "wage_min", "wage_max", "age_min", "age_max"})
CODE_FIELDS: dict[str, tuple[str, ...]] = {
    "workers": ("home_county_code", "work_location_code"),
    "enterprises": ("location_code",),
    "jobs": ("location_code",),
    "pairings": ("district_code", "county_code"),
}
# Free text that may hold tabs and line breaks; every other field holds no control character at all.
FREE_TEXT_FIELDS = frozenset({"description", "experience"})
CANONICAL_CACHE = 50_000  # distinct enumeration values remembered per record type (lists make many)
# The key of a record, or of a columnar row's plain values (a dict).
KEYS: dict[str, Callable[[Any], str]] = {
    "workers": lambda r: r["worker_id"] if isinstance(r, dict) else r.worker_id,
    "enterprises": lambda r: r["enterprise_id"] if isinstance(r, dict) else r.enterprise_id,
    "jobs": lambda r: r["job_id"] if isinstance(r, dict) else r.job_id,
    "pairings": lambda r: f"{r.district_code}-{r.county_code}",  # never columnar
}
KEY_FIELDS = {
    "workers": "worker_id",
    "enterprises": "enterprise_id",
    "jobs": "job_id",
    "pairings": "county_code",
}


@dataclass(frozen=True)
class Loaded:
    """A valid record and where it came from."""

    record: BaseModel
    file: str
    row: int


class Plain(NamedTuple):
    """A valid row as the columnar path takes it (:mod:`matcher.ingest.columnar`): every field of
    the record as the store holds it (:func:`matcher.records.plain_value`), the ID number and phone
    still in their normal form for the store to hash and mask; and where it came from. (A tuple:
    an import makes 100,000 of them.)"""

    values: dict[str, Any]
    file: str
    row: int


Item = Loaded | Plain
"""A valid row: a record, or (columnar path) its plain values."""


def field_of(item: Item, name: str) -> Any:
    """A field of a valid row, either kind (a record's list field as its tuple)."""
    if isinstance(item, Plain):
        return item.values.get(name, "")
    return getattr(item.record, name, "")


def shown(field: str | None, value: object) -> str:
    """A value as it may appear in a report: masked when the field is personal, else scrubbed."""
    text = "" if value is None else str(value)
    return mask(field, text) if field in PERSONAL_FIELDS else scrub(text)


def _err(reason: str, file: str, row: int, field: str | None, value: object = "") -> RecordError:
    return RecordError(reason, file=file, row=row, field=field or None, value=shown(field, value))


def _controls(cells: dict[str, str], file: str, row: int) -> list[RecordError]:
    """A field holding control characters (which no workbook can hold, and no name needs)."""
    try:
        clean = not has_control_characters(cells.values())  # cells read from a file: all text
    except TypeError:
        clean = not has_control_characters(v for v in cells.values() if isinstance(v, str))
    if clean:
        return []
    errors = []
    for col, value in cells.items():
        if not isinstance(value, str):
            continue
        bad = control_characters(value, free_text=col in FREE_TEXT_FIELDS)
        if bad:
            allowed = " (tab and line breaks are allowed here)" if col in FREE_TEXT_FIELDS else ""
            reason = f"control character {', '.join(bad)} is not allowed{allowed}"
            errors.append(_err(reason, file, row, col, escape_controls(value)))
    return errors


def _personal(cells: dict[str, str], file: str, row: int) -> list[RecordError]:
    """Check and normalise the ID number and phone in place; masked values pass as they are."""
    errors = []
    idn = cells.get("id_number", "")
    if idn and not is_masked("id_number", idn):
        norm = normalize_id_number(idn)  # full-width, spaced, dashed ...
        ok, reason = validate_id_number(norm)
        if ok:
            cells["id_number"] = norm
        else:
            if "E+" in idn.upper() or "." in idn:
                reason += "; it looks like Excel turned it into a number: format the column as text"
            errors.append(_err(f"invalid ID number: {reason}", file, row, "id_number", idn))
    phone = cells.get("phone", "")
    if phone and not is_masked("phone", phone):
        norm = normalize_phone(phone)
        ok, reason = validate_phone(norm)
        if ok:
            cells["phone"] = norm
        else:
            errors.append(_err(f"invalid mobile number: {reason}", file, row, "phone", phone))
    return errors


def _pydantic_errors(kind: str, exc: ValidationError, cells: dict[str, str], file: str, row: int):
    for e in exc.errors():
        loc = e.get("loc") or ()
        fld = str(loc[0]) if loc else None
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        zh = dropdown_values(kind, fld or "")
        if zh and e.get("type") == "enum":
            msg += f" (or {' / '.join(zh)})"
        elif e.get("type") == "string_pattern_mismatch" and fld in CODE_FIELDS[kind]:
            msg = "must be a 6-digit admin code"
        elif e.get("type") == "string_pattern_mismatch" and fld == "occupation_code":
            msg = "must be a CSCO 2022 occupation code like 4-07-05-01"
        elif str(e.get("type", "")).startswith(("date_", "datetime_")):
            msg = "must be a date like 2020-03-01 (or 2020/3/1, 2020年3月1日)"
        yield _err(msg, file, row, fld, cells.get(fld or "", ""))


def _consistency(record: BaseModel, file: str, row: int) -> list[RecordError]:
    """Birth year and gender written in the ID number against the record's own.

    A masked ID number (``120101********123X``, as exports and the store show it) hides the birth
    date but keeps the gender digit (the 17th), so its gender is checked all the same.
    """
    idn = getattr(record, "id_number", "")
    if not idn:
        return []
    masked = is_masked("id_number", idn)
    errors = []
    year, gender = None if masked else int(idn[6:10]), "male" if int(idn[16]) % 2 else "female"
    birth_year, own_gender = record.birth_year, record.gender.value  # type: ignore[attr-defined]
    if year is not None and year != birth_year:
        reason = f"birth year {year} in the ID number does not match birth_year {birth_year}"
        errors.append(_err(reason, file, row, "id_number", idn))
    if gender != own_gender:
        reason = f"the ID number is a {gender}'s, the gender column says {own_gender}"
        errors.append(_err(reason, file, row, "id_number", idn))
    return errors


class RowValidator:
    """Turns raw rows of one record type into records, or into the reasons they are rejected."""

    def __init__(self, kind: str, admin: AdminCodes) -> None:
        self.kind = kind
        self.model = RECORD_TYPES[kind]
        self.admin = admin
        self._enums = [col for (k, col) in VALUE_ALIASES if k == kind]
        self._free_text = FREE_TEXT.get(kind, ())
        # canonical_value is pure and the same few values repeat in every row: computed once each.
        self._canonical: dict[tuple[str, str], str] = {}

    def __call__(self, raw: RawRow, file: str) -> tuple[BaseModel | None, list[RecordError]]:
        """``(record, [])`` for a valid row, else ``(None, errors)``."""
        cells = raw.cells
        errors = [_err(reason, file, raw.row, col, value) for col, value, reason in raw.problems]
        if errors and not cells:
            return None, errors  # nothing to validate (a JSON item that is not an object)
        controls = _controls(cells, file, raw.row)
        if controls:  # the other checks would only echo the same bad value
            return None, errors + controls
        for col in self._free_text:  # personal numbers typed into free text: masked (in place)
            text = cells.get(col)
            if isinstance(text, str):
                cells[col] = scrub(text)
        canonical = self._canonical
        for col in self._enums:
            value = cells.get(col)
            if value is None:
                continue
            hit = canonical.get((col, value))
            if hit is None:
                if len(canonical) > CANONICAL_CACHE:
                    canonical.clear()
                hit = canonical[(col, value)] = canonical_value(self.kind, col, value)
            cells[col] = hit
        if self.kind == "workers":
            errors += _personal(cells, file, raw.row)
        for col in CODE_FIELDS[self.kind]:
            code = cells.get(col, "")
            if len(code) == 6 and code.isdigit() and code not in self.admin:
                errors.append(_err(self.admin.unknown_reason(code), file, raw.row, col, code))
        values = {k: v for k, v in cells.items() if v != "" or k in KEEP_BLANK}
        try:
            record = self.model.model_validate(values)
        except ValidationError as exc:
            seen = {col for col, _, _ in raw.problems}  # a formula cell is not also "required"
            errors += [
                e for e in _pydantic_errors(self.kind, exc, cells, file, raw.row) if e.field not in seen
            ]
            return None, errors
        if self.kind == "workers" and not any(e.field == "id_number" for e in errors):
            errors += _consistency(record, file, raw.row)
        return (None, errors) if errors else (record, [])


def _duplicates(
    items: list[Item], key: Callable[[Item], str | None], what: str, field: str
) -> Iterator[tuple[int, RecordError]]:
    """(index, error) for every item whose key another item shares."""
    keys = list(map(key, items))
    shared = {k for k, n in Counter(keys).items() if n > 1 and k}  # counted in C: most keys are unique
    if not shared:
        return
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        if k in shared:
            groups[k].append(i)
    for k, idx in groups.items():
        for i in idx:
            others = ", ".join(f"{items[j].file} row {items[j].row}" for j in idx if j != i)
            item = items[i]
            shown_key = "" if field in PERSONAL_FIELDS else f" {k!r}"
            value = field_of(item, field)
            yield (
                i,
                _err(f"duplicate {what}{shown_key} (also at {others})", item.file, item.row, field, value),
            )


def _record_key(kind: str) -> Callable[[Item], str | None]:
    """The key of a valid ``kind`` row (:data:`KEYS`)."""
    key = KEYS[kind]
    return lambda item: key(item.values if isinstance(item, Plain) else item.record)


def _unique_id_number(item: Item) -> str | None:
    idn = field_of(item, "id_number")
    return idn if idn and not is_masked("id_number", idn) else None


def check_set(
    loaded: dict[str, list[Item]],
    *,
    known_enterprises: Iterable[str] = (),
    rejected_enterprises: Iterable[str] = (),
) -> tuple[dict[str, list[Item]], list[RecordError]]:
    """Drop duplicates and jobs of unknown enterprises: ``(kept, errors)``.

    ``known_enterprises`` are ids already in the store; ``rejected_enterprises`` ids whose rows
    failed validation, so their jobs' errors can say so.
    """
    errors: list[RecordError] = []
    kept: dict[str, list[Item]] = {}
    failed = set(rejected_enterprises)
    for kind, items in loaded.items():
        bad: dict[int, None] = {}
        checks = [(_record_key(kind), KEY_FIELDS[kind].replace("county_code", "pairing"))]
        if kind == "workers":
            checks.append((_unique_id_number, "ID number"))
        for key, what in checks:
            field = "id_number" if what == "ID number" else KEY_FIELDS[kind]
            for i, err in _duplicates(items, key, what, field):
                bad[i] = None
                errors.append(err)
        kept[kind] = [it for i, it in enumerate(items) if i not in bad]
        if kind == "enterprises":
            failed.update(_record_key(kind)(items[i]) or "" for i in bad)
    if "jobs" in kept:
        have = {field_of(it, "enterprise_id") for it in kept.get("enterprises", [])} | set(known_enterprises)
        jobs = []
        for it in kept["jobs"]:
            ent = field_of(it, "enterprise_id")
            if ent in have:
                jobs.append(it)
                continue
            why = "its row was rejected" if ent in failed else "not in the enterprise files or the store"
            errors.append(
                _err(f"unknown enterprise_id {ent!r}: {why}", it.file, it.row, "enterprise_id", ent)
            )
        kept["jobs"] = jobs
    return kept, errors
