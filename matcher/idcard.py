"""Resident ID numbers (GB 11643-1999) and mainland mobile numbers: check, read and mask.

An 18-character ID number is ``AAAAAA YYYYMMDD SSS C``: the 6-digit admin code of the place of
registration, the birth date, a 3-digit sequence whose last digit is odd for men and even for
women, and a check character computed with ISO 7064 MOD 11-2 over the first 17 digits.

Both are personal data (DESIGN.md §5): anything that may reach a log, an export or an error
message goes through :func:`mask_id_number` / :func:`mask_phone` first.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from matcher.errors import InputError

# ISO 7064 MOD 11-2: weight of position i (0-based, left to right) is 2**(17-i) mod 11.
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)
# First two digits of the admin code: provinces, autonomous regions, municipalities, SARs, Taiwan.
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83".split()
)
_ID_SHAPE = re.compile(r"^\d{17}[\dXx]$")
# Mainland mobile numbers: 11 digits, 1 then 3-9 (13x to 19x segments).
_PHONE = re.compile(r"^1[3-9]\d{9}$")


_WEIGHTS_T = tuple(int(w) for w in ID_WEIGHTS)  # plain ints: this runs once per imported row


def id_check_digit(first17: str) -> str:
    """The check character (``0``-``9`` or ``X``) for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("an ID number body is exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS_T, strict=True))
    return _CHECK_CHARS[total % 11]


def id_check_digits(first17: np.ndarray) -> np.ndarray:
    """Vectorised :func:`id_check_digit` over an array of 17-digit strings (``S17`` or ``U17``)."""
    raw = np.asarray(first17).astype("S17")
    digits = raw.view(np.uint8).reshape(len(raw), 17).astype(np.int64) - ord("0")
    return np.array(list(_CHECK_CHARS), dtype="U1")[(digits @ ID_WEIGHTS) % 11]


def validate_id_number(s: str) -> tuple[bool, str]:
    """``(True, "")`` for a well-formed 18-character ID number, else ``(False, reason)``.

    Checks shape, province prefix, a real calendar birth date not in the future, and the check
    character. A lower-case ``x`` is accepted. The reason never repeats the number itself.
    """
    if not isinstance(s, str):
        return False, "not a string"
    s = s.strip()
    if len(s) != 18:
        return False, f"has {len(s)} characters, expected 18"
    if not _ID_SHAPE.match(s):
        return False, "must be 17 digits followed by a digit or X"
    if s[:2] not in PROVINCE_PREFIXES:
        return False, f"region code starts with {s[:2]}, not a province code"
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False, "birth date is not a calendar date"
    if born.year < 1900 or born > dt.date.today():
        return False, f"birth year {born.year} is out of range"
    if id_check_digit(s[:17]) != s[17].upper():
        return False, "check digit does not match"
    return True, ""


def _valid_or_raise(s: str) -> str:
    ok, reason = validate_id_number(s)
    if not ok:
        raise InputError(f"invalid ID number: {reason}", field="id_number", value=mask_id_number(str(s)))
    return s.strip()


def birth_date_of(s: str) -> dt.date:
    """The birth date written in a valid ID number; :class:`InputError` when it is not valid."""
    s = _valid_or_raise(s)
    return dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))


def gender_of(s: str) -> str:
    """``"male"`` or ``"female"`` from the parity of the sequence's last digit (odd: male)."""
    s = _valid_or_raise(s)
    return "male" if int(s[16]) % 2 == 1 else "female"


def mask_id_number(s: str) -> str:
    """Keep the region code and the last four: ``120101********123X``. Short values: all stars."""
    s = (s or "").strip()
    if len(s) < 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_phone(s: str) -> str:
    """Keep the segment and the last four: ``138****5678``. Short values: all stars."""
    s = (s or "").strip()
    if len(s) < 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def validate_phone(s: str) -> tuple[bool, str]:
    """``(True, "")`` for an 11-digit mainland mobile number (13x-19x), else ``(False, reason)``.

    Spaces, dashes and a leading ``+86`` / ``86`` are tolerated and ignored.
    """
    if not isinstance(s, str):
        return False, "not a string"
    t = re.sub(r"[\s-]", "", s)
    if t.startswith("+86"):
        t = t[3:]
    elif t.startswith("86") and len(t) == 13:
        t = t[2:]
    if not t:
        return False, "is empty"
    if not t.isascii() or not t.isdigit():
        return False, "must contain only digits"
    if len(t) != 11:
        return False, f"has {len(t)} digits, expected 11"
    if not _PHONE.match(t):
        return False, f"segment {t[:3]} is not a mainland mobile segment (13x-19x)"
    return True, ""


__all__ = [
    "birth_date_of",
    "gender_of",
    "id_check_digit",
    "id_check_digits",
    "mask_id_number",
    "mask_phone",
    "validate_id_number",
    "validate_phone",
]
