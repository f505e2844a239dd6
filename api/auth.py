"""API keys, roles, what each role may see, the per-key request rate and failed attempts.

A key looks like ``lb_Ab3dE9xK_<43 random characters>``; its first 11 characters (``prefix``) name
it in lists and audit rows, and the store keeps only its SHA-256 (a key is 256 random bits, so an
unsalted hash is enough: nobody can guess their way to a preimage). A key is shown once, when it
is created, and may carry an expiry: past it, or once revoked, it is refused everywhere, and the
console sessions signed in with it end too.

A request carries its key as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` (tried in this
order). The web console's cookie :data:`SESSION_COOKIE` holds no key but the opaque id of a
session kept in the store (:mod:`api.sessions`). :class:`KeyStore` turns a key into a
:class:`Principal`; a resolved key is remembered for a few seconds so a request costs no store
read. Failed key attempts are counted per client address (:meth:`KeyStore.attempt`): past their
budget, that address's key attempts get 429 until it refills; other addresses are not affected.

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
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select, update

from api.errors import RateLimited
from matcher.errors import ConfigError, NotFoundError
from matcher.geo import TIANJIN_DISTRICTS
from matcher.store.models import ApiKeyRow, EnterpriseRow, WebSessionRow, table_of

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
    expires_at: dt.datetime | None = None

    def state(self, now: dt.datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired`` (at ``now``, default: the current time)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if expired(self.expires_at, now or utcnow()) else "active"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(at: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC one (SQLite hands back naive times, written in UTC)."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=dt.UTC)


def expired(expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an expiry (``None``: none) is reached at ``now``."""
    at = as_utc(expires_at)
    return at is not None and at <= now


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
    expires_days: int | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, KeyInfo]:
    """Store a new key's hash with its role and scope; returns ``(key, info)``. Show the key once.

    ``expires_days``: the key stops working that many days after ``now`` (default: never).
    """
    try:
        r = Role(role)
    except ValueError:
        raise ConfigError(f"role must be one of {', '.join(Role)}, not {role!r}") from None
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise ConfigError(f"--expires-days must be 1 to 3650 days, not {expires_days}")
    _check_scope(engine, r, district_code, enterprise_id)
    key = new_key()
    now = now or utcnow()
    values = dict(
        prefix=key[:PREFIX_LEN],
        key_sha256=key_sha256(key),
        role=r.value,
        district_code=district_code,
        enterprise_id=enterprise_id,
        label=label,
        created_at=now,
        revoked_at=None,
        expires_at=None if expires_days is None else now + dt.timedelta(days=expires_days),
    )
    with engine.begin() as conn:
        inserted = conn.execute(table_of(ApiKeyRow).insert().values(**values)).inserted_primary_key
    assert inserted is not None  # a single-row INSERT: the new row's key
    key_id = inserted[0]
    shown = {k: v for k, v in values.items() if k != "key_sha256"}
    return key, KeyInfo(id=key_id, **shown)  # type: ignore[arg-type]


def _info(row: Any) -> KeyInfo:
    info = {k: row[k] for k in KeyInfo.__dataclass_fields__}
    for k in ("created_at", "revoked_at", "expires_at"):
        info[k] = as_utc(info[k])
    return KeyInfo(**info)


def list_keys(engine: Engine) -> list[KeyInfo]:
    """Every stored key, oldest first."""
    t = ApiKeyRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.id)).mappings().all()
    return [_info(r) for r in rows]


def revoke_key(engine: Engine, prefix: str) -> KeyInfo:
    """Mark the key with ``prefix`` revoked, and end its console sessions, in one transaction.

    It stops working within the key cache's lifetime (``api_key_cache_s``) in a running service.
    An expired key can still be revoked. :class:`NotFoundError` if no unrevoked key has ``prefix``.
    """
    t = ApiKeyRow.__table__
    now = utcnow()
    with engine.begin() as conn:
        key_id = conn.execute(
            select(t.c.id).where(t.c.prefix == prefix, t.c.revoked_at.is_(None))
        ).scalar_one_or_none()
        if key_id is None:
            raise NotFoundError(f"no active key with prefix {prefix}")
        conn.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(revoked_at=now))
        conn.execute(
            update(WebSessionRow)
            .where(WebSessionRow.key_id == key_id, WebSessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        row = conn.execute(select(t).where(t.c.id == key_id)).mappings().one()
    return _info(row)


def credentials(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request's headers carry: ``Authorization: Bearer KEY``, else ``X-API-Key``."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None


def principal_of(row: Any) -> Principal:
    """The :class:`Principal` of an ``api_keys`` row."""
    return Principal(row["id"], row["prefix"], Role(row["role"]), row["district_code"], row["enterprise_id"])


class Remembered:
    """Principals of secrets (keys, session ids) by their SHA-256, each answer trusted for ``ttl_s``
    seconds and never past its own end.

    An answer is ``(principal or None, until)``: ``until`` (a UTC time, or ``None``) is when the
    principal stops being valid whatever the store says later (the key's or the session's expiry),
    so an expiry takes effect at once, not a cache lifetime later. Bounded: unknown digests must
    not grow it without limit.
    """

    MAX = 10_000

    def __init__(self, ttl_s: float, now: Callable[[], dt.datetime]) -> None:
        self.ttl_s = ttl_s
        self.now = now
        self._answers: dict[str, tuple[float, Principal | None, dt.datetime | None]] = {}
        self._lock = threading.Lock()

    def resolve(
        self, secret: str, tag: str, load: Callable[[str], tuple[Principal | None, dt.datetime | None]]
    ) -> Principal | None:
        """The principal of ``secret`` (which starts with ``tag``): the remembered answer, else
        ``load(digest)``'s from the store, remembered."""
        if not secret.startswith(tag) or len(secret) > 128:
            return None
        digest = key_sha256(secret)
        hit, principal = self._get(digest)
        if hit:
            return principal
        principal, until = load(digest)
        with self._lock:
            if len(self._answers) > self.MAX:
                self._answers.clear()
            self._answers[digest] = (time.monotonic() + self.ttl_s, principal, until)
        return principal

    def _get(self, digest: str) -> tuple[bool, Principal | None]:
        """``(True, answer)`` when a fresh answer is remembered, else ``(False, None)``."""
        with self._lock:
            hit = self._answers.get(digest)
        if hit is None or hit[0] <= time.monotonic():
            return False, None
        _, principal, until = hit
        return True, None if expired(until, self.now()) else principal

    def drop(self, digest: str) -> None:
        with self._lock:
            self._answers.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


class KeyStore:
    """Resolves keys to principals, remembering each answer for ``ttl_s`` seconds.

    ``failures`` counts failed attempts per client address (see :meth:`attempt`); ``now`` is the
    wall clock expiries are read against (tests pass their own).
    """

    def __init__(
        self,
        engine: Engine,
        ttl_s: float = 5.0,
        *,
        failures: RateLimiter | None = None,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.failures = failures or RateLimiter(0, 1)
        self.now = now
        self._answers = Remembered(ttl_s, now)

    def resolve(self, key: str) -> Principal | None:
        """The principal of an active key; ``None`` for an unknown, revoked or expired one."""
        return self._answers.resolve(key, KEY_TAG, self._load)

    def _load(self, digest: str) -> tuple[Principal | None, dt.datetime | None]:
        t = ApiKeyRow.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.key_sha256 == digest)).mappings().first()
        if row is None or row["revoked_at"] is not None or expired(row["expires_at"], self.now()):
            return None, None
        return principal_of(row), as_utc(row["expires_at"])

    def attempt(self, key: str, address: str) -> Principal | None:
        """:meth:`resolve` for a key sent from client ``address``, counting a failure against it.

        :class:`~api.errors.RateLimited` (with ``Retry-After``) while ``address`` has no failed
        attempts left, before the key is even looked at: a guess then tells nothing.
        """
        wait = self.failures.wait(address)
        if wait > 0:
            raise RateLimited.after("too many failed key attempts from this address; wait", wait)
        principal = self.resolve(key)
        if principal is None:
            self.failures.take(address)
        return principal

    def forget(self) -> None:
        self._answers.clear()


class RateLimiter:
    """A token bucket per key (a key id, a client address): ``rate`` a second sustained, ``burst`` at once.

    ``clock`` gives seconds (default: :func:`time.monotonic`; tests pass their own). At most
    ``max_keys`` buckets are kept: past that, the full ones (a key idle long enough) are dropped.
    """

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] | None = None, max_keys: int = 100_000
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock or time.monotonic
        self.max_keys = max_keys
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _tokens(self, key: Hashable, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def take(self, key: Hashable) -> float:
        """0.0 when the request may go ahead (a token is taken), else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens = self._tokens(key, now)
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._prune(now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def wait(self, key: Hashable) -> float:
        """The seconds until ``key`` has a token again (0.0: it has one now); takes nothing."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            tokens = self._tokens(key, self.clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [k for k in self._buckets if self._tokens(k, now) >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > self.max_keys // 2:  # mostly busy (a flood from many addresses): start over
            self._buckets.clear()


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
