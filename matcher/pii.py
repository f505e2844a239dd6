"""Personal data at rest: keyed hashes and masked forms of ID numbers and phones, masked names.

laborbridge never stores an ID number or a phone number in clear. It keeps two things per value:

- a **keyed hash**, HMAC-SHA256 under the store's secret key, so that the same number is
  recognised again (idempotent re-imports, duplicate detection) without being recoverable, and
  without being guessable by hashing all 10^11 phone numbers, which an unkeyed hash would allow;
- a **masked form** (``120101********123X``, ``138****5678``) for people to read.

The raw values cannot be got back from the store: this is on purpose (no encryption library is
a dependency, and a store that cannot leak a number is simpler to reason about than one that
guards a key). Exports therefore always show ID numbers and phones masked.

Masked values can be imported back (an export is a valid import): :func:`is_masked` recognises
them, and the store keeps what it holds when the masked form matches it.

The key comes from ``LABORBRIDGE_SECRET_KEY`` (read at the edge and passed in), else from a key
file created with mode 0600 on first use (:func:`load_or_create_key`).

People also type numbers into free text ("身份证６２３０２４…", "电话 139.1234.0009"). :func:`scrub` is
the one function that finds them, in any spelling: full-width or other Unicode digits, grouped
with spaces, dashes, dots, slashes or brackets, split by zero-width characters. It masks them
where records enter the store (import, ``PATCH``; :data:`FREE_TEXT` names the fields), so the
store, its history, the embedding text, logs and exports only ever see the masked forms; with
``drop=True`` it removes them instead (the encoder's text, one-line displays). Ordinary numbers
of job text (wages ``5000-6000元``, dates, counts) are left alone: a number counts only when its
digits make a mobile (11 digits, 13x-19x), a landline (10-12 digits from ``0``), or an ID number
(18 characters, or 15 digits; when typed in groups, with a province code and a calendar date).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matcher.errors import ConfigError
from matcher.idcard import PROVINCE_PREFIXES, mask_id_number, mask_phone
from matcher.textscan import cells_matching

log = logging.getLogger(__name__)

KEY_FILE_NAME = "laborbridge.key"
MIN_SECRET_LEN = 16
_MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")
_MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")


def key_from_secret(secret: str) -> bytes:
    """The HMAC key for a secret given in settings; :class:`ConfigError` when it is too short."""
    secret = secret.strip()
    if len(secret) < MIN_SECRET_LEN:
        raise ConfigError(f"LABORBRIDGE_SECRET_KEY must have at least {MIN_SECRET_LEN} characters")
    return secret.encode("utf-8")


def load_or_create_key(path: str | Path) -> bytes:
    """Read the key file at ``path``, creating it (32 random bytes, hex, mode 0600) if absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not both write a key; the loser reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        log.info("created secret key file %s", path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("secret key file %s is readable by others; run: chmod 600 %s", path, path)
    text = path.read_text(encoding="ascii").strip()
    if len(text) < MIN_SECRET_LEN:
        raise ConfigError(f"secret key file {path} is empty or too short")
    return text.encode("ascii")


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of ``key``: tells whether a store was written with the same key."""
    return hmac.new(key, b"laborbridge key fingerprint", hashlib.sha256).hexdigest()[:16]


def normalize_id_number(value: str) -> str:
    """NFKC, no separators or invisible characters, upper-case (a trailing ``x`` is the check ``X``)."""
    return _squeeze(value).upper()


def normalize_phone(value: str) -> str:
    """Digits only (NFKC), without separators, invisible characters or a ``+86``/``86`` prefix."""
    t = _squeeze(value)
    for prefix in ("86", "0086"):
        if t.startswith(prefix) and len(t) == len(prefix) + 11:
            return t[len(prefix) :]
    return t


def keyed_hash(key: bytes, field: str, value: str) -> str:
    """HMAC-SHA256 of a normalised value; ``field`` separates the ID and phone domains."""
    return hmac.digest(key, f"{field}\0{value}".encode(), "sha256").hex()  # one-shot C path: 5x faster


# HMAC's inner and outer pads (RFC 2104) as byte translation tables: key.translate(_IPAD) is key XOR 0x36.
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def keyed_hashes(key: bytes, field: str, values: Sequence[str]) -> list[str]:
    """``[keyed_hash(key, field, v) for v in values]``: HMAC-SHA256 written out (RFC 2104) over two
    SHA-256 states, keyed (the inner one fed the field) once and copied per value. The one-shot
    call keys the HMAC each time, and the ``hmac`` module's ``copy`` is a Python call around two
    copies: this is about 3x and 1.5x as fast at 100,000 values."""
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(key.translate(_IPAD) + f"{field}\0".encode())
    outer = hashlib.sha256(key.translate(_OPAD))
    out = []
    for v in values:
        h = inner.copy()
        h.update(v.encode())
        o = outer.copy()
        o.update(h.digest())
        out.append(o.hexdigest())
    return out


def mask_name(name: str) -> str:
    """First character and stars: ``张三`` → ``张*``. Idempotent, so a masked name masks to itself."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask(field: str, value: str) -> str:
    """The masked form of a personal ``field`` (``name``, ``id_number``, ``phone``); others as is."""
    if not value:
        return value
    if field == "id_number":
        return mask_id_number(value)
    if field == "phone":
        return mask_phone(value)
    if field == "name":
        return mask_name(value)
    return value


def is_masked(field: str, value: str) -> bool:
    """Whether ``value`` is already a masked form of ``field`` (e.g. from an export)."""
    if "*" not in value:  # every masked form has a star; most values checked are not masked
        return False
    if field == "id_number":
        return bool(_MASKED_ID.match(value))
    if field == "phone":
        return bool(_MASKED_PHONE.match(value))
    if field == "name":
        return "*" in value
    return False


def protect(key: bytes, field: str, value: str) -> tuple[str | None, str]:
    """``(keyed hash, masked form)`` of an ID number or phone; no hash for blank or masked input."""
    if not value:
        return None, ""
    if is_masked(field, value):
        return None, value
    norm = normalize_id_number(value) if field == "id_number" else normalize_phone(value)
    return keyed_hash(key, field, norm), mask(field, norm)


# --------------------------------------------------------------------------- numbers in free text
FREE_TEXT: dict[str, tuple[str, ...]] = {
    "workers": (
        "education",
        "skills",
        "experience",
        "desired_occupations",
        "current_employer",
        "employer_contact",
    ),
    "enterprises": ("name",),
    "jobs": ("title", "description"),
    "pairings": (),
    "job_fairs": ("place",),
}
"""Per record type, the fields people type into freely: :func:`scrub_fields` masks numbers in them.

A worker's ``employer_contact`` (the survey's 联系方式 of an employed worker's employer) is one of
them: it sits on the worker's record, so it follows the worker's rules (the store holds no phone
in clear, whoever's; the contact person's name stays). The employer's contact to call is the
enterprise record's ``contact_name``/``contact_phone``: business data, kept and exported as typed."""

# Invisible format characters (Unicode category Cf: soft hyphen, zero-width space/joiners, direction
# marks, word joiner, BOM, tags): ignored wherever they sit between the digits of a number.
_INVISIBLE = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0001\U000e0020-\U000e007f"
)
# Digits: every Unicode decimal digit (full-width ０-９ included), and the superscript, subscript
# and circled digits that NFKC turns into ASCII ones.
_DIGIT = (
    "\\d\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247c"
    "\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792"
)
# What people put between the groups of one number: any space, dashes, dots, middle dots, slashes,
# brackets, plus, underscore, tilde (ASCII and full-width). Up to three of them between two groups.
_SEPARATOR = (
    "\\s\\-\u2010-\u2015\u2212\ufe63\uff0d.\uff0e\u00b7\u30fb\uff65/\uff0f()\uff08\uff09+\uff0b_\uff3f~\uff5e"
)
_GROUP = f"[{_DIGIT}](?:[{_INVISIBLE}]*[{_DIGIT}])*"
_GROUP_RE = re.compile(_GROUP)
_RUN_RE = re.compile(
    f"{_GROUP}(?:(?:[{_INVISIBLE}]*[{_SEPARATOR}]){{1,3}}[{_INVISIBLE}]*{_GROUP})*"
    f"(?P<x>[{_INVISIBLE}]*[xX\uff38\uff58])?"
)
_SQUEEZE_RE = re.compile(f"[{_INVISIBLE}{_SEPARATOR}]+")
# Every character a run of _RUN_RE may hold, ten or more in a row: a cell without such a stretch
# holds no run long enough to be a number, and scrub() returns it as it is.
_MIN_DIGITS = 10  # the shortest number looked for: a landline with a 3-digit area code
_CANDIDATE_RE = re.compile(f"[{_DIGIT}{_INVISIBLE}{_SEPARATOR}xX\uff38\uff58]{{{_MIN_DIGITS},}}")
_SPACES = re.compile(r"\s+")


def _squeeze(value: str) -> str:
    """NFKC, without invisible characters and separators: how a typed number is compared."""
    if value.isascii() and value.isalnum():  # the usual number as typed: NFKC and the squeeze keep it
        return value
    return _SQUEEZE_RE.sub("", unicodedata.normalize("NFKC", value or ""))


def _digits(group: str) -> str:
    if group.isascii():  # ASCII digits, nothing else (an invisible character is not ASCII)
        return group
    return "".join(str(unicodedata.digit(c)) for c in group if unicodedata.digit(c, None) is not None)


def _is_date(yyyymmdd: str) -> bool:
    try:
        return 1900 <= dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])).year < 2100
    except ValueError:
        return False


def _shaped_like_id(s: str) -> bool:
    """A province code and a calendar birth date where GB 11643 puts them (18 or 15 characters)."""
    date = s[6:14] if len(s) == 18 else "19" + s[6:12]
    return s[:2] in PROVINCE_PREFIXES and _is_date(date)


def _is_mobile(s: str) -> bool:
    return len(s) == 11 and s[0] == "1" and s[1] in "3456789"


def _masked_number(s: str, sizes: list[int]) -> str | None:
    """The masked form of the digits ``s`` when they are an ID number or a phone, else ``None``.

    ``sizes``: how many digits each group typed had. A number typed in one piece counts by its
    length alone (as it always has). One typed in groups must also look the part, so that a few
    ordinary numbers in a row (``2019.3.1 2021.6``) do not make one: an ID number needs a province
    code and a birth date; a phone, groups of three digits or more (``139 1234 0009``) or of one
    (``1 3 9 ...``); a landline, its area code as the first group.
    """
    one_group = len(sizes) == 1
    if len(s) in (15, 18) and s[:-1].isdigit() and (s[-1].isdigit() or len(s) == 18):
        if one_group or _shaped_like_id(s):
            return mask_id_number(s)
    if _is_mobile(s) and (min(sizes) >= 3 or max(sizes) == 1):
        return mask_phone(s)
    if one_group:  # +86 / 0086 written without a gap
        for prefix in ("86", "0086"):
            if s.startswith(prefix) and _is_mobile(s[len(prefix) :]):
                return prefix + mask_phone(s[len(prefix) :])
    if 10 <= len(s) <= 12 and s[0] == "0" and s[1] != "0":  # a landline: 0xx(x), then 7-8 digits
        if one_group or (sizes[0] in (3, 4) and min(sizes[1:]) >= 3 and s[sizes[0]] in "23456789"):
            return mask_phone(s)
    return None


_LENGTHS = (18, 17, 15, 13, 12, 11, 10)  # digits of what is looked for, longest first (17: with X)


def _numbers(run: re.Match[str]) -> list[tuple[int, int, str]]:
    """``(start, end, masked form)`` of the personal numbers in one run of digit groups.

    From each group on, the longest stretch of whole groups that makes a number wins (an ID number
    over the phone-like start of it); the search goes on after it.
    """
    whole = run.group()
    if whole.isdigit() and whole.isascii():  # one group of ASCII digits (most numbers typed): the
        n = len(whole)  # loop below would try this one stretch only, and never 17 (that needs an X)
        if n == 17 or n not in _LENGTHS:
            return []
        if not (n in (15, 18) or whole[0] == "0" or whole.startswith("86") or _is_mobile(whole)):
            return []
        masked = _masked_number(whole, [n])
        return [] if masked is None else [(run.start(), run.end(), masked)]
    base = run.start()
    groups = [(base + g.start(), base + g.end(), _digits(g.group())) for g in _GROUP_RE.finditer(run.group())]
    digits = "".join(g[2] for g in groups)
    cum = [0]  # digits before each group
    for g in groups:
        cum.append(cum[-1] + len(g[2]))
    after = {c: k for k, c in enumerate(cum)}  # digit count -> the group a stretch ends before
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(groups):
        for n in _LENGTHS:
            k = after.get(cum[i] + n)
            if k is None:
                continue
            s, end = digits[cum[i] : cum[k]], groups[k - 1][1]
            if n == 17:  # only with the check character X that ends the run
                if k != len(groups) or not run.group("x"):
                    continue
                s, end = s + "X", run.end()
            if not (len(s) in (15, 18) or s[0] == "0" or s.startswith("86") or _is_mobile(s)):
                continue  # cheap test first: most stretches of ordinary numbers end here
            masked = _masked_number(s, [len(g[2]) for g in groups[i:k]])
            if masked is not None:
                out.append((groups[i][0], end, masked))
                i = k
                break
        else:
            i += 1
    return out


def scrub(text: str, *, drop: bool = False) -> str:
    """``text`` with every ID number and phone number in it masked (``drop``: removed).

    Masking keeps the rest of the text exactly as typed (line breaks too) and is idempotent.
    ``drop`` also folds whitespace to single spaces: the text the encoder sees, one-line displays.
    """
    if not text:
        return text
    parts: list[str] = []
    pos = 0
    for run in _RUN_RE.finditer(text):
        if run.end() - run.start() < _MIN_DIGITS:
            continue
        for start, end, masked in _numbers(run):
            parts += [text[pos:start], "" if drop else masked]
            pos = end
    out = "".join(parts) + text[pos:] if parts else text
    if drop:
        out = _SPACES.sub(" ", out).strip()
    return out


def scrub_column(values: Sequence[str]) -> list[str]:
    """``[scrub(v) for v in values]``, with one search over the column for the cells that may hold
    a number (a stretch of ten or more characters a number can be written with); only those are
    scrubbed. For the import's columnar path: most free text holds no number at all."""
    out = list(values)
    for i in cells_matching(_CANDIDATE_RE, out):
        out[i] = scrub(out[i])
    return out


def protect_column(key: bytes, field: str, values: Sequence[str]) -> tuple[list[str | None], list[str]]:
    """``[protect(key, field, v) for v in values]`` as two columns (hashes, masked forms).

    A value already in its normal form (ASCII letters and digits, as the import's columnar path
    hands them over) is hashed and masked here directly; any other goes through :func:`protect`.
    """
    is_id = field == "id_number"
    hashes: list[str | None] = [None] * len(values)
    masked: list[str] = [""] * len(values)
    normal: list[int] = []  # positions of the values in normal form, hashed together below
    for i, v in enumerate(values):
        # normal already: an ID number of ASCII digits and upper-case letters; 11 ASCII digits of a
        # phone (a longer one may start with the 86 that normalize_phone drops)
        if v.isascii() and (
            v.isalnum() and (v.isupper() or v.isdigit()) if is_id else len(v) == 11 and v.isdigit()
        ):
            normal.append(i)
            masked[i] = mask(field, v)
        else:
            hashes[i], masked[i] = protect(key, field, v)
    for i, h in zip(normal, keyed_hashes(key, field, [values[i] for i in normal]), strict=True):
        hashes[i] = h
    return hashes, masked


def scrub_fields(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a record's ``values`` with its :data:`FREE_TEXT` fields scrubbed (masked)."""
    out = dict(values)
    for field in FREE_TEXT.get(kind, ()):
        if isinstance(out.get(field), str):
            out[field] = scrub(out[field])
    return out


__all__ = [
    "FREE_TEXT",
    "KEY_FILE_NAME",
    "is_masked",
    "key_fingerprint",
    "key_from_secret",
    "keyed_hash",
    "keyed_hashes",
    "load_or_create_key",
    "mask",
    "mask_name",
    "normalize_id_number",
    "normalize_phone",
    "protect",
    "protect_column",
    "scrub",
    "scrub_column",
    "scrub_fields",
]
