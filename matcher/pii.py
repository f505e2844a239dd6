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
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from pathlib import Path

from matcher.errors import ConfigError
from matcher.idcard import mask_id_number, mask_phone

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
    """Strip and upper-case (a trailing ``x`` is the check character ``X``)."""
    return value.strip().upper()


def normalize_phone(value: str) -> str:
    """Digits only, without spaces, dashes or a ``+86``/``86`` prefix."""
    t = re.sub(r"[\s-]", "", value)
    if t.startswith("+86"):
        t = t[3:]
    elif t.startswith("86") and len(t) == 13:
        t = t[2:]
    return t


def keyed_hash(key: bytes, field: str, value: str) -> str:
    """HMAC-SHA256 of a normalised value; ``field`` separates the ID and phone domains."""
    return hmac.digest(key, f"{field}\0{value}".encode(), "sha256").hex()  # one-shot C path: 5x faster


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


__all__ = [
    "KEY_FILE_NAME",
    "is_masked",
    "key_fingerprint",
    "key_from_secret",
    "keyed_hash",
    "load_or_create_key",
    "mask",
    "mask_name",
    "normalize_id_number",
    "normalize_phone",
    "protect",
]
