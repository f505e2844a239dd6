"""Console sessions kept in the store: an opaque id at the browser, its hash at rest, and its end
at expiry, at sign-out, or with its key (revoked or expired)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from api.auth import create_key, revoke_key, utcnow
from api.sessions import SESSION_TTL, SessionStore
from matcher.store import open_engine
from matcher.store.models import WebSessionRow


@pytest.fixture
def engine(world):
    e = open_engine(world.url)
    yield e
    e.dispose()


@pytest.fixture
def now():
    return [utcnow()]


@pytest.fixture
def store(engine, now):
    """Sessions on a test clock, remembered for an hour (so every refusal below beats the cache)."""
    return SessionStore(engine, ttl_s=3600, now=lambda: now[0])


def _principal(engine, **kw):
    from api.auth import KeyStore

    key, info = create_key(engine, "auditor", **kw)
    return KeyStore(engine, ttl_s=0).resolve(key), info


def test_a_session_id_is_random_and_only_its_hash_is_stored(engine, store):
    p, _ = _principal(engine)
    a, b = store.start(p), store.start(p)
    assert a.id != b.id and a.id.startswith("lbs_") and len(a.id) > 40
    with engine.connect() as conn:
        stored = repr(conn.execute(select(WebSessionRow.__table__)).all())
    assert a.id not in stored and a.id[4:] not in stored
    assert store.resolve(a.id) == p and store.resolve(b.id) == p


def test_a_session_ends_at_its_expiry(engine, store, now):
    p, _ = _principal(engine)
    s = store.start(p)
    assert s.expires_at == now[0] + SESSION_TTL
    assert store.resolve(s.id) == p
    now[0] = s.expires_at
    assert store.resolve(s.id) is None


def test_a_session_never_outlives_its_key(engine, store, now):
    p, info = _principal(engine, expires_days=1, now=now[0] - dt.timedelta(hours=20))
    s = store.start(p)
    assert s.expires_at == info.expires_at  # 4 hours left on the key, not 12
    now[0] = info.expires_at + dt.timedelta(seconds=1)
    assert store.resolve(s.id) is None


def test_ending_a_session_refuses_it_at_once_even_when_remembered(engine, store):
    p, _ = _principal(engine)
    s, other = store.start(p), store.start(p)
    assert store.resolve(s.id) == p
    assert store.end(s.id) is True
    assert store.resolve(s.id) is None
    assert store.end(s.id) is False  # already ended
    assert store.resolve(other.id) == p  # the key's other sessions go on


def test_revoking_a_key_ends_its_sessions(engine, store):
    p, info = _principal(engine)
    s = store.start(p)
    revoke_key(engine, info.prefix)
    with engine.connect() as conn:
        ended = conn.execute(
            select(WebSessionRow.revoked_at).where(WebSessionRow.key_id == info.id)
        ).scalar_one()
    assert ended is not None
    assert SessionStore(engine, ttl_s=0).resolve(s.id) is None


def test_a_key_expired_in_the_store_ends_its_live_sessions(engine, store):
    """An expiry set (or shortened) in the store after sign-in still ends the session."""
    from sqlalchemy import update

    from matcher.store.models import ApiKeyRow

    p, info = _principal(engine)
    s = store.start(p)
    with engine.begin() as conn:
        conn.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == info.id)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert SessionStore(engine, ttl_s=0).resolve(s.id) is None


@pytest.mark.parametrize("sid", ["", "lbs_", "lbs_nope", "x" * 40, "lbs_" + "a" * 300, "lb_notasession"])
def test_unknown_and_malformed_session_ids_resolve_to_nobody(store, sid):
    assert store.resolve(sid) is None


def test_sessions_ended_long_ago_are_deleted_when_one_starts(engine, store, now):
    p, _ = _principal(engine)
    old = store.start(p)
    now[0] += SESSION_TTL + dt.timedelta(days=31)
    store.start(p)
    from api.auth import key_sha256

    with engine.connect() as conn:
        left = conn.execute(
            select(WebSessionRow.id).where(WebSessionRow.token_sha256 == key_sha256(old.id))
        ).first()
    assert left is None


def test_the_api_takes_a_session_cookie_until_the_session_ends(client, engine):
    p, _ = _principal(engine)
    sessions = client.app.state.services.sessions
    s = sessions.start(p)
    client.cookies.set("laborbridge_session", s.id)
    try:
        assert client.get("/me").json()["role"] == "auditor"
        sessions.end(s.id)
        r = client.get("/me")
        assert r.status_code == 401 and "session has ended" in r.json()["detail"]
    finally:
        client.cookies.clear()
