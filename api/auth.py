"""API keys, roles, what each role may see, and the per-key request rate.

A key looks like ``lb_Ab3dE9xK_<43 random characters>``; its first 11 characters (``prefix``) name
it in lists and audit rows, and the store keeps only its SHA-256 (a key is 256 random bits, so an
unsalted hash is enough: nobody can guess their way to a preimage). A key is shown once, when it
is created.

A request may carry its key three ways, tried in this order: ``Authorization: Bearer KEY``,
``X-API-Key: KEY``, or the session cookie :data:`SESSION_COOKIE` (for the web console, which sets
it HTTP-only and secure after a sign-in). :class:`KeyStore` turns the key into a
:class:`Principal`; a resolved key is remembered for a few seconds so a request costs no store read.

Roles::

    city_admin        everything, read and write
    district_officer  its district's enterprises and jobs (located there), the workers of its paired
                      counties and the workers placed in its district; may edit those
    enterprise        its own enterprise and jobs, and their candidates (recruiter's view only)
    auditor           read-only, everything
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, select, update

from matcher.errors import ConfigError, NotFoundError
from matcher.geo import TIANJIN_DISTRICTS
from matcher.store.models import ApiKeyRow, EnterpriseRow

KEY_TAG = "lb_"
PREFIX_LEN = len(KEY_TAG) + 8
SESSION_COOKIE = "laborbridge_session"
_ALNUM = string.ascii_letters + string.digits


class Role(StrEnum):
    city_admin = "city_admin"
    district_officer = "district_officer"
    enterprise = "enterprise"
    auditor = "auditor"


ALL_ROLES = frozenset(Role)
READERS = frozenset(Role)  # every role reads something; scoping decides what
WRITERS = frozenset({Role.city_admin, Role.district_officer})
ADMINS = frozenset({Role.city_admin})
OFFICE = frozenset({Role.city_admin, Role.district_officer, Role.auditor})  # sees workers


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and prefix, its role and scope."""

    key_id: int
    prefix: str
    role: Role
    district_code: str | None = None
    enterprise_id: str | None = None

    @property
    def read_only(self) -> bool:
        return self.role is Role.auditor


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as listed (never the key itself)."""

    id: int
    prefix: str
    role: str
    district_code: str | None
    enterprise_id: str | None
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key: tag, 8 characters of prefix, 43 of secret."""
    head = "".join(secrets.choice(_ALNUM) for _ in range(PREFIX_LEN - len(KEY_TAG)))
    return f"{KEY_TAG}{head}_{secrets.token_urlsafe(32)}"


def _check_scope(engine: Engine, role: Role, district: str | None, enterprise: str | None) -> None:
    if role is Role.district_officer:
        if district not in TIANJIN_DISTRICTS:
            raise ConfigError("a district_officer key needs --district, one of Tianjin's codes 120101-120119")
        if enterprise:
            raise ConfigError("a district_officer key takes --district only")
    elif role is Role.enterprise:
        if not enterprise or district:
            raise ConfigError("an enterprise key needs --enterprise ID (and no --district)")
        with engine.connect() as conn:
            found = conn.execute(
                select(EnterpriseRow.enterprise_id).where(EnterpriseRow.enterprise_id == enterprise)
            ).first()
        if found is None:
            raise NotFoundError(f"enterprise {enterprise} is not in the store; import it first")
    elif district or enterprise:
        raise ConfigError(f"a {role.value} key has no --district or --enterprise: it sees the whole city")


def create_key(
    engine: Engine,
    role: str,
    *,
    district_code: str | None = None,
    enterprise_id: str | None = None,
    label: str = "",
) -> tuple[str, KeyInfo]:
    """Store a new key's hash with its role and scope; returns ``(key, info)``. Show the key once."""
    try:
        r = Role(role)
    except ValueError:
        raise ConfigError(f"role must be one of {', '.join(Role)}, not {role!r}") from None
    _check_scope(engine, r, district_code, enterprise_id)
    key = new_key()
    now = dt.datetime.now(dt.UTC)
    values = dict(
        prefix=key[:PREFIX_LEN],
        key_sha256=key_sha256(key),
        role=r.value,
        district_code=district_code,
        enterprise_id=enterprise_id,
        label=label,
        created_at=now,
        revoked_at=None,
    )
    with engine.begin() as conn:
        key_id = conn.execute(ApiKeyRow.__table__.insert().values(**values)).inserted_primary_key[0]
    shown = {k: v for k, v in values.items() if k != "key_sha256"}
    return key, KeyInfo(id=key_id, **shown)  # type: ignore[arg-type]


def list_keys(engine: Engine) -> list[KeyInfo]:
    """Every stored key, oldest first."""
    t = ApiKeyRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.id)).mappings().all()
    return [KeyInfo(**{k: r[k] for k in KeyInfo.__dataclass_fields__}) for r in rows]


def revoke_key(engine: Engine, prefix: str) -> KeyInfo:
    """Mark the key with ``prefix`` revoked (it stops working within the key cache's lifetime)."""
    t = ApiKeyRow.__table__
    with engine.begin() as conn:
        n = conn.execute(
            update(t)
            .where(t.c.prefix == prefix, t.c.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        ).rowcount
    if not n:
        raise NotFoundError(f"no active key with prefix {prefix}")
    return next(k for k in list_keys(engine) if k.prefix == prefix)


def credentials(authorization: str | None, x_api_key: str | None, cookie: str | None) -> str | None:
    """The key a request carries: Bearer header, else ``X-API-Key``, else the session cookie."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    if cookie and cookie.strip():
        return cookie.strip()
    return None


class KeyStore:
    """Resolves keys to principals, remembering each answer for ``ttl_s`` seconds."""

    def __init__(self, engine: Engine, ttl_s: float = 5.0) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def resolve(self, key: str) -> Principal | None:
        """The principal of an active key; ``None`` for an unknown or revoked one."""
        if not key.startswith(KEY_TAG) or len(key) > 128:
            return None
        digest = key_sha256(key)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        t = ApiKeyRow.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.key_sha256 == digest)).mappings().first()
        principal = None
        if row is not None and row["revoked_at"] is None:
            principal = Principal(
                row["id"], row["prefix"], Role(row["role"]), row["district_code"], row["enterprise_id"]
            )
        with self._lock:
            if len(self._cache) > 10_000:  # bounded: unknown keys must not grow it without limit
                self._cache.clear()
            self._cache[digest] = (now + self.ttl_s, principal)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: int) -> float:
        """0.0 when the request may go ahead, else the seconds to wait before the next one."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate


# ----------------------------------------------------------------------------- what a role sees


SCOPE_FIELDS: dict[str, frozenset[str]] = {
    "workers": frozenset({"home_county_code"}),
    "enterprises": frozenset({"location_code"}),
    "jobs": frozenset({"enterprise_id", "location_code"}),
}
"""The fields that decide who sees a record: only the city administrator may change them."""


@dataclass(frozen=True)
class Scope:
    """The objects a principal may see, as plain sets (``None``: no restriction).

    ``counties``: home counties of visible workers (a district officer also sees the workers placed
    in its district, which the store answers: see :mod:`api.repo`); ``districts``: locations of
    visible enterprises and jobs; ``enterprise``: the one enterprise an enterprise user sees.

    This class states the rules; :mod:`api.repo` turns them into the ``WHERE`` clauses every read
    uses (``worker_filter`` and friends), for the API, the console and every download alike.
    """

    role: Role
    counties: frozenset[str] | None = None
    districts: frozenset[str] | None = None
    enterprise: str | None = None
    district: str | None = None

    @property
    def all_workers(self) -> bool:
        return self.city_wide

    @property
    def sees_workers(self) -> bool:
        """Whether the caller sees workers' records (and the personal columns of run lists, masked);
        an enterprise sees its candidates and placements in a recruiter's view only."""
        return self.role in OFFICE

    @property
    def city_wide(self) -> bool:
        """Whether the caller sees the whole city: the programme report and every run figure."""
        return self.role in (Role.city_admin, Role.auditor)

    @property
    def candidates_in_scope(self) -> bool:
        """Whether a job's candidates are drawn from the caller's own workers only: a district
        officer's are; an enterprise recruits from every worker, seen in a recruiter's view."""
        return self.role is Role.district_officer

    def may_change(self, kind: str, field: str) -> bool:
        """Whether the caller may change ``field`` of a ``kind`` record (see :data:`SCOPE_FIELDS`)."""
        return self.role is Role.city_admin or field not in SCOPE_FIELDS.get(kind, frozenset())

    def sees_county(self, home_county_code: str) -> bool:
        """Whether the workers of ``home_county_code`` are all visible: a sure answer without the
        store (a district officer also sees the workers placed in its district, which only the
        store knows: :func:`api.repo.worker_filter`)."""
        return self.all_workers or home_county_code in (self.counties or ())


def scope_of(principal: Principal, paired_counties: Iterable[str] = ()) -> Scope:
    """The :class:`Scope` of ``principal``; a district officer's from its district's pairings."""
    if principal.role is Role.district_officer:
        return Scope(
            principal.role,
            counties=frozenset(paired_counties),
            districts=frozenset({principal.district_code or ""}),
            district=principal.district_code,
        )
    if principal.role is Role.enterprise:
        return Scope(principal.role, counties=frozenset(), enterprise=principal.enterprise_id)
    return Scope(principal.role)
