"""Console sessions, kept in the store: an opaque random id in the cookie, its SHA-256 at rest.

Signing in to the console with a key starts a session (:meth:`SessionStore.start`): a random id
(``lbs_`` and 43 characters, 256 bits) that the browser holds in the HTTP-only cookie
:data:`api.auth.SESSION_COOKIE`, and a ``web_sessions`` row with the id's SHA-256, the key, and
its end: :data:`SESSION_TTL` after sign-in, or the key's own expiry if that comes first. The key
itself never goes back to the browser.

A session ends at its expiry, at sign-out (:meth:`SessionStore.end` marks it revoked), or with its
key: revoking a key revokes its sessions (:func:`api.auth.revoke_key`), and a revoked or expired key
invalidates every session of it whatever the session's row says (:meth:`SessionStore.resolve`
reads both). A service remembers a resolved session for ``api_key_cache_s``, as it does a key:
sign-out forgets it at once in the process that served it; the service's other processes, and a
key revoked from the CLI, follow within that time. Rows ended more than :data:`KEEP_ENDED` ago are
deleted when a session starts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from api.auth import Principal, Remembered, as_utc, expired, key_sha256, principal_of, utcnow
from matcher.store.models import ApiKeyRow, WebSessionRow

SESSION_TAG = "lbs_"
SESSION_TTL = dt.timedelta(hours=12)
KEEP_ENDED = dt.timedelta(days=30)
_S = WebSessionRow.__table__
_K = ApiKeyRow.__table__


@dataclass(frozen=True)
class Session:
    """A session just started: its id (the cookie's value, never stored) and when it ends."""

    id: str
    expires_at: dt.datetime


def new_session_id() -> str:
    return SESSION_TAG + secrets.token_urlsafe(32)


class SessionStore:
    """Starts, resolves and ends console sessions; remembers each answer for ``ttl_s`` seconds.

    ``now`` is the wall clock expiries are read against (tests pass their own).
    """

    def __init__(
        self,
        engine: Engine,
        ttl_s: float = 5.0,
        *,
        max_age: dt.timedelta = SESSION_TTL,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.max_age = max_age
        self.now = now
        self._answers = Remembered(ttl_s, now)

    def start(self, principal: Principal) -> Session:
        """A new session of ``principal``'s key, ending after ``max_age`` or with the key's expiry."""
        now = self.now()
        sid = new_session_id()
        with self.engine.begin() as conn:
            key_expires = as_utc(
                conn.execute(select(_K.c.expires_at).where(_K.c.id == principal.key_id)).scalar()
            )
            ends = now + self.max_age if key_expires is None else min(now + self.max_age, key_expires)
            conn.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now - KEEP_ENDED))
            conn.execute(
                insert(WebSessionRow).values(
                    token_sha256=key_sha256(sid),
                    key_id=principal.key_id,
                    created_at=now,
                    expires_at=ends,
                    revoked_at=None,
                )
            )
        return Session(sid, ends)

    def resolve(self, sid: str) -> Principal | None:
        """The principal of a live session; ``None`` for an unknown, ended or expired one, or one
        whose key is revoked or expired."""
        return self._answers.resolve(sid, SESSION_TAG, self._load)

    def _load(self, digest: str) -> tuple[Principal | None, dt.datetime | None]:
        q = (
            select(_K, _S.c.expires_at.label("session_expires"), _S.c.revoked_at.label("session_revoked"))
            .select_from(_S.join(_K, _K.c.id == _S.c.key_id))
            .where(_S.c.token_sha256 == digest)
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        now = self.now()
        if (
            row is None
            or row["session_revoked"] is not None
            or row["revoked_at"] is not None
            or expired(row["session_expires"], now)
            or expired(row["expires_at"], now)
        ):
            return None, None
        ends = [t for t in (as_utc(row["session_expires"]), as_utc(row["expires_at"])) if t is not None]
        return principal_of(row), min(ends)

    def end(self, sid: str) -> bool:
        """End (revoke) session ``sid`` at sign-out; whether a live one was ended."""
        digest = key_sha256(sid)
        with self.engine.begin() as conn:
            n = conn.execute(
                update(WebSessionRow)
                .where(WebSessionRow.token_sha256 == digest, WebSessionRow.revoked_at.is_(None))
                .values(revoked_at=self.now())
            ).rowcount
        self._answers.drop(digest)  # after the write: a resolve in between must not keep it alive
        return bool(n)

    def forget(self) -> None:
        self._answers.clear()
