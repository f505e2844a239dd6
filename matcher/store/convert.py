"""Records to table rows and back.

A stored row holds plain values: enums as their English value, lists ``;``-joined, and for a
worker the ID number and phone as ``(keyed hash, masked form)``. A record read back therefore
carries the masked forms in ``id_number`` and ``phone``: enough for placement, which never
looks at them, and for exports, which must mask them anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, overload

from pydantic import BaseModel
from sqlalchemy import BigInteger, FromClause, Integer, RowMapping, String

from matcher.pii import is_masked, mask, protect, protect_column
from matcher.records import RECORD_TYPES, Enterprise, Job, Pairing, Worker, plain_value
from matcher.store.models import BOOKKEEPING, RECORD_TABLES

PERSONAL_PAIRS = {
    "id_number": ("id_number_hash", "id_number_masked"),
    "phone": ("phone_hash", "phone_masked"),
}
INT_MAX = 2**31 - 1  # an Integer column is 32 bits on PostgreSQL

StoredRow = Mapping[str, Any] | RowMapping
"""A row's values by column name: a dict, or a row as SQLAlchemy reads it (``.mappings()``)."""


def unfit_values(table: FromClause, values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(column, reason)`` for each value its column cannot hold on every backend.

    SQLite keeps text of any length in a ``String(n)`` column and any 64-bit integer in an
    ``Integer`` one; PostgreSQL refuses both and fails the whole transaction. Checking first
    makes such a value one rejected row on either.
    """
    lengths, ints = _limits(table)
    for name, n in lengths.items():  # the limited columns only: most columns are unlimited text
        value = values.get(name)
        if isinstance(value, str) and len(value) > n:
            yield name, f"longer than the store's {n} characters ({len(value)})"
    for name in ints:
        value = values.get(name)
        if isinstance(value, int) and not -INT_MAX - 1 <= value <= INT_MAX:
            yield name, f"out of the store's range (at most {INT_MAX:,})"


def unfit_rows(table: FromClause, rows: Sequence[Mapping[str, Any]]) -> Iterator[int]:
    """Positions of the ``rows`` that :func:`unfit_values` may find fault with (some more than once),
    checked column by column: a column whose longest text (or largest integer) fits costs one pass
    in C; only a column that does not, or holds other types, is looked at value by value."""
    lengths, ints = _limits(table)

    def column(name: str) -> list[Any]:
        try:
            return list(map(itemgetter(name), rows))
        except KeyError:  # a column some row does not set (content_sha256, before it is computed)
            return [r.get(name) for r in rows]

    for name, n in lengths.items():
        values = column(name)
        try:
            if max(map(len, filter(None, values)), default=0) <= n:
                continue
        except TypeError:  # a value that is not text: the slow scan below
            pass
        yield from (i for i, v in enumerate(values) if isinstance(v, str) and len(v) > n)
    for name in ints:
        values = column(name)
        try:
            present = list(filter(None, values))
            if not present or (-INT_MAX - 1 <= min(present) and max(present) <= INT_MAX):
                continue
        except TypeError:
            pass
        yield from (
            i for i, v in enumerate(values) if isinstance(v, int) and not -INT_MAX - 1 <= v <= INT_MAX
        )


_LIMITS: dict[int, tuple[FromClause, dict[str, int], frozenset[str]]] = {}


def _limits(table: FromClause) -> tuple[dict[str, int], frozenset[str]]:
    """``(max length of each String(n) column, names of the 32-bit Integer columns)``, once per table
    (an import checks every value of every row: the column objects are not looked up each time)."""
    hit = _LIMITS.get(id(table))
    if hit is not None and hit[0] is table:
        return hit[1], hit[2]
    lengths = {
        c.name: c.type.length for c in table.c if isinstance(c.type, String) and c.type.length is not None
    }
    ints = frozenset(
        c.name for c in table.c if isinstance(c.type, Integer) and not isinstance(c.type, BigInteger)
    )
    _LIMITS[id(table)] = (table, lengths, ints)
    return lengths, ints


def record_field(column: str) -> str:
    """The record field a stored column holds (``id_number`` for ``id_number_hash``)."""
    return next((f for f, cols in PERSONAL_PAIRS.items() if column in cols), column)


def record_key(kind: str, values: StoredRow) -> str:
    """The record's key as one string (``district-county`` for a pairing)."""
    pk = RECORD_TABLES[kind][1]
    if len(pk) == 1:
        return str(values[pk[0]])
    return "-".join(str(values[c]) for c in pk)


# json.dumps(data, sort_keys=True, ensure_ascii=False), without building an encoder per row: the
# C encoder itself where there is one (JSONEncoder.encode makes a new one per call, in Python);
# no markers, as a row's values are flat and hold no cycle to look for.
_HASH_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE: Any = (
    _C_MAKE_ENCODER(
        None,
        _HASH_JSON.default,
        json.encoder.encode_basestring,
        None,
        _HASH_JSON.key_separator,
        _HASH_JSON.item_separator,
        True,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    if _C_MAKE_ENCODER is not None
    else None
)
_ENCODE_STR: Any = json.encoder.encode_basestring  # the C escaper where there is one, as the encoder's


def content_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 of a row's stored values (bookkeeping columns excluded), order-independent."""
    data = (
        values
        if type(values) is dict and values.keys().isdisjoint(BOOKKEEPING)  # looks up the 3 names
        else {k: v for k, v in values.items() if k not in BOOKKEEPING}
    )
    text = "".join(_C_ENCODE(data, 0)) if _C_ENCODE is not None else _HASH_JSON.encode(data)
    return hashlib.sha256(text.encode()).hexdigest()


# How content_hash's encoder writes a value of each type inside a row, as a %-format whose argument
# is the value: text with nothing to escape, an exact int; "%.0s" takes the value and writes nothing.
_TEMPLATE_OF: dict[type, str] = {str: '"%s"', int: "%d", type(None): "%.0snull"}


def _row_template(names: Sequence[str], kinds: tuple[type, ...]) -> tuple[str, int] | None:
    """``(template, double quotes in the text it writes)`` for a row whose values, in sorted key
    order ``names``, are of types ``kinds``; ``None`` when one of them has no template (a bool, a
    float, a subclass: left to the encoder)."""
    parts = []
    for name, kind in zip(names, kinds, strict=True):
        value = _TEMPLATE_OF.get(kind)
        if value is None:
            return None
        parts.append(_ENCODE_STR(name).replace("%", "%%") + _HASH_JSON.key_separator + value)
    template = "{" + _HASH_JSON.item_separator.join(parts) + "}"
    return template, (template % tuple(0 if k is int else "" for k in kinds)).count('"')


def content_hashes(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """``[content_hash(r) for r in rows]``, about a sixth faster on an import's stored workers (dicts
    with the same keys, holding text, integers and ``None``).

    A row's JSON text is written by one %-format per combination of value types, with the values
    in sorted key order: the encoder's text whenever no text needs escaping, which the written text
    shows (no backslash, no double quote but the template's, no control or other unprintable
    character). Any other row goes through :func:`content_hash`.
    """
    names = sorted(rows[0]) if rows and type(rows[0]) is dict else []
    if not names or _C_ENCODE is None or not BOOKKEEPING.isdisjoint(names):
        return list(map(content_hash, rows))
    if not _TEMPLATE_OF.keys() >= set(map(type, rows[0].values())):  # a table of bools (jobs,
        return list(map(content_hash, rows))  # enterprises): no faster than the encoder
    pick = itemgetter(*names) if len(names) > 1 else (lambda r: (r[names[0]],))
    templates: dict[tuple[type, ...], tuple[str, int] | None] = {}
    out = []
    for row in rows:
        try:
            values = pick(row) if type(row) is dict and len(row) == len(names) else None
        except KeyError:  # other keys than the first row's
            values = None
        if values is not None:
            kinds = tuple(map(type, values))
            if kinds not in templates:
                templates[kinds] = _row_template(names, kinds)
            found = templates[kinds]
            if found is not None:
                text = found[0] % values
                if text.count('"') == found[1] and "\\" not in text and text.isprintable():
                    out.append(hashlib.sha256(text.encode()).hexdigest())
                    continue
        out.append(content_hash(row))
    return out


def record_keys(kind: str, rows: Sequence[StoredRow]) -> list[str]:
    """``[record_key(kind, r) for r in rows]``."""
    pk = RECORD_TABLES[kind][1]
    if len(pk) == 1:
        return list(map(str, map(itemgetter(pk[0]), rows)))
    return [record_key(kind, r) for r in rows]


def to_db(kind: str, record: BaseModel, key: bytes) -> dict[str, Any]:
    """The stored values of ``record`` (no bookkeeping columns); personal numbers hashed and masked."""
    out: dict[str, Any] = {}
    personal = kind == "workers"
    for name, value in record.__dict__.items():  # flat records: the fields as they are, no copy
        cls = value.__class__
        if not (cls is str or cls is int or value is None):  # most values: stored as they are
            value = plain_value(value)  # dates as ISO text (see the jobs table)
        if personal and name in PERSONAL_PAIRS:
            continue
        out[name] = value
    if personal:  # last, as protect_plain puts them
        for name, (h_col, m_col) in PERSONAL_PAIRS.items():
            out[h_col], out[m_col] = protect(key, name, getattr(record, name))
    return out


def protect_plain(kind: str, rows: Sequence[Mapping[str, Any]], key: bytes) -> list[dict[str, Any]]:
    """The stored values of the columnar path's plain ``rows`` (:class:`~matcher.ingest.validate.Plain`
    values): as :func:`to_db` gives them for the same records, personal numbers hashed and masked
    column by column."""
    out = [dict(r) for r in rows]
    if kind != "workers" or not out:
        return out
    for name, (h_col, m_col) in PERSONAL_PAIRS.items():
        hashes, masked = protect_column(key, name, [r.pop(name) for r in out])
        for r, h, m in zip(out, hashes, masked, strict=True):
            r[h_col] = h
            r[m_col] = m
    return out


def keep_masked(new: dict[str, Any], old: Mapping[str, Any]) -> None:
    """Where ``new`` has only a masked value that matches ``old``, keep ``old``'s (in place).

    Importing an export must not replace a known number or name by its masked form.
    """
    for h_col, m_col in PERSONAL_PAIRS.values():
        if h_col in new and new[h_col] is None and new[m_col] and new[m_col] == old.get(m_col):
            new[h_col] = old.get(h_col)
    name = new.get("name", "")
    if name and is_masked("name", name) and mask("name", old.get("name") or "") == name:
        new["name"] = old["name"]


@overload
def from_db(kind: Literal["workers"], row: StoredRow) -> Worker: ...
@overload
def from_db(kind: Literal["enterprises"], row: StoredRow) -> Enterprise: ...
@overload
def from_db(kind: Literal["jobs"], row: StoredRow) -> Job: ...
@overload
def from_db(kind: Literal["pairings"], row: StoredRow) -> Pairing: ...
@overload
def from_db(kind: str, row: StoredRow) -> BaseModel: ...
def from_db(kind: str, row: StoredRow) -> BaseModel:
    """The record of a stored row; a worker's ``id_number`` and ``phone`` are the masked forms."""
    model = RECORD_TYPES[kind]
    values = {k: v for k, v in row.items() if k in model.model_fields}
    if kind == "workers":
        values["id_number"] = row["id_number_masked"] or ""
        values["phone"] = row["phone_masked"] or ""
    return model.model_validate(values)


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {"old": ..., "new": ...}}`` for an update; names masked, hashes only flagged."""
    diff: dict[str, Any] = {}
    for k, v in new.items():
        if k in BOOKKEEPING or old.get(k) == v:
            continue
        if k.endswith("_hash"):
            diff[k] = "changed"
        elif k == "name":
            diff[k] = {"old": mask("name", old.get(k) or ""), "new": mask("name", v or "")}
        else:
            diff[k] = {"old": old.get(k), "new": v}
    return diff
