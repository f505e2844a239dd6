"""API keys: created once, stored hashed, two headers in, expiry, revocation, rate limit, failed
attempts per client address; the keys CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

import api.auth as auth_mod
from api.auth import KeyStore, RateLimiter, Role, create_key, credentials, list_keys, revoke_key, utcnow
from api.cli import app as cli
from matcher.errors import ConfigError, NotFoundError
from matcher.store import open_engine
from matcher.store.models import ApiKeyRow
from tests.api.conftest import auth


@pytest.fixture
def engine(world):
    e = open_engine(world.url)
    yield e
    e.dispose()


def test_store_keeps_only_the_hash_of_a_key(engine):
    key, info = create_key(engine, "auditor", label="test")
    with engine.connect() as conn:
        rows = conn.execute(select(ApiKeyRow.__table__)).mappings().all()
    text = repr([dict(r) for r in rows])
    assert key not in text and key[len(info.prefix) :] not in text
    assert info.prefix == key[: len(info.prefix)] and info.role == "auditor"


@pytest.mark.parametrize(
    ("role", "district", "enterprise"),
    [
        ("mayor", None, None),
        ("district_officer", None, None),
        ("district_officer", "999999", None),
        ("enterprise", None, None),
        ("city_admin", "120101", None),
        ("auditor", None, "e1"),
    ],
)
def test_create_key_refuses_a_role_and_scope_that_do_not_fit(engine, role, district, enterprise):
    with pytest.raises(ConfigError):
        create_key(engine, role, district_code=district, enterprise_id=enterprise)


def test_enterprise_key_needs_a_stored_enterprise(engine):
    with pytest.raises(NotFoundError):
        create_key(engine, "enterprise", enterprise_id="no-such-enterprise")


def test_credentials_come_from_bearer_then_header():
    assert credentials("Bearer a", "b") == "a"
    assert credentials(None, "b") == "b"
    assert credentials("Basic xyz", None) is None
    assert credentials(None, None) is None


def test_x_api_key_header_works_like_bearer_and_a_key_in_the_cookie_does_not(client, world):
    key = world.keys["auditor"]
    assert client.get("/me", headers={"X-API-Key": key}).json()["role"] == "auditor"
    client.cookies.set("laborbridge_session", key)  # the cookie holds a session id, never a key
    try:
        assert client.get("/me").status_code == 401
    finally:
        client.cookies.clear()


def test_unknown_and_malformed_keys_get_401(client):
    for key in ("lb_nope_nope", "not-a-key", "lb_" + "x" * 200):
        assert client.get("/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_revoked_key_stops_working(client, engine):
    key, info = create_key(engine, "auditor")
    assert client.get("/me", headers={"X-API-Key": key}).status_code == 200
    revoke_key(engine, info.prefix)
    assert client.get("/me", headers={"X-API-Key": key}).status_code == 401
    assert any(k.prefix == info.prefix and k.revoked_at for k in list_keys(engine))
    with pytest.raises(NotFoundError):
        revoke_key(engine, info.prefix)


def test_key_store_remembers_an_answer_for_its_ttl(engine, monkeypatch):
    key, info = create_key(engine, "auditor")
    store = KeyStore(engine, ttl_s=60)
    assert store.resolve(key).role is Role.auditor
    revoke_key(engine, info.prefix)
    assert store.resolve(key) is not None  # cached
    store.forget()
    assert store.resolve(key) is None


def test_rate_limiter_allows_a_burst_then_the_sustained_rate(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(auth_mod.time, "monotonic", lambda: now[0])
    lim = RateLimiter(rate=2.0, burst=3)
    assert [lim.take(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert lim.take(1) == pytest.approx(0.5)
    assert lim.take(2) == 0.0  # another key has its own bucket
    now[0] += 0.5
    assert lim.take(1) == 0.0
    assert lim.take(1) > 0
    assert RateLimiter(rate=0, burst=1).take(1) == 0.0


def test_requests_past_the_rate_get_429_with_retry_after(client, world):
    services = client.app.state.services
    saved = services.limiter
    services.limiter = RateLimiter(rate=0.01, burst=2)
    try:
        codes = [client.get("/me", headers=auth(world, "auditor")).status_code for _ in range(3)]
        last = client.get("/me", headers=auth(world, "auditor"))
    finally:
        services.limiter = saved
    assert codes[:2] == [200, 200] and codes[2] == 429
    assert int(last.headers["retry-after"]) >= 1


def test_keys_cli_prints_the_key_once_and_lists_it_by_prefix(world):
    runner = CliRunner()
    r = runner.invoke(
        cli, ["keys", "create", "--role", "district_officer", "--district", world.own, "--db", world.url]
    )
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert key.startswith("lb_") and len(key) > 40
    listed = runner.invoke(cli, ["keys", "list", "--json", "--db", world.url])
    assert key[:11] in listed.stdout and key not in listed.stdout
    bad = runner.invoke(cli, ["keys", "create", "--role", "district_officer", "--db", world.url])
    assert bad.exit_code != 0
    gone = runner.invoke(cli, ["keys", "revoke", key[:11], "--db", world.url])
    assert gone.exit_code == 0, gone.output


# ----------------------------------------------------------------------------- expiry
def test_a_key_with_an_expiry_works_until_then_and_is_refused_after_even_when_cached(engine):
    t0 = utcnow()
    now = [t0]
    key, info = create_key(engine, "auditor", expires_days=1, now=t0)
    assert info.expires_at == t0 + dt.timedelta(days=1) and info.state(t0) == "active"
    store = KeyStore(engine, ttl_s=3600, now=lambda: now[0])
    assert store.resolve(key).role is Role.auditor
    now[0] = t0 + dt.timedelta(days=1, seconds=1)
    assert store.resolve(key) is None  # the remembered answer ends with the key
    listed = next(k for k in list_keys(engine) if k.prefix == info.prefix)
    assert listed.expires_at == info.expires_at and listed.state(now[0]) == "expired"


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_create_key_refuses_an_expiry_outside_one_day_to_ten_years(engine, days):
    with pytest.raises(ConfigError):
        create_key(engine, "auditor", expires_days=days)


def test_an_expired_key_gets_401_from_the_api(client, engine):
    key, _ = create_key(engine, "auditor", expires_days=1, now=utcnow() - dt.timedelta(days=2))
    r = client.get("/me", headers={"X-API-Key": key})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


# ----------------------------------------------------------------------------- failed attempts per address
@pytest.fixture
def clock():
    return [1000.0]


@pytest.fixture
def failures(client, clock):
    """The service's failed-attempt budget swapped for 2 at once, then 1 a minute, on a test clock."""
    keys = client.app.state.services.keys
    saved = keys.failures
    keys.failures = RateLimiter(rate=1 / 60, burst=2, clock=lambda: clock[0])
    yield keys.failures
    keys.failures = saved


def _from(client, address: str) -> TestClient:
    """A client of the same running app that connects from ``address``."""
    return TestClient(client.app, client=(address, 50000))


def test_failed_key_attempts_from_one_address_get_429_with_retry_after(client, world, failures, clock):
    bad = {"X-API-Key": "lb_wrongwrong_" + "x" * 40}
    good = {"X-API-Key": world.keys["auditor"]}
    attacker = _from(client, "203.0.113.7")
    assert [attacker.get("/me", headers=bad).status_code for _ in range(2)] == [401, 401]
    r = attacker.get("/me", headers=bad)
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert "failed key attempts" in r.json()["detail"]
    # a valid key from the locked address waits too: a guess must tell nothing while locked
    assert attacker.get("/me", headers=good).status_code == 429
    # another address is not affected, with a good key or a bad one
    other = _from(client, "198.51.100.9")
    assert other.get("/me", headers=good).status_code == 200
    assert other.get("/me", headers=bad).status_code == 401
    clock[0] += 60  # one attempt's worth refilled
    assert attacker.get("/me", headers=good).status_code == 200
    assert attacker.get("/me", headers=good).status_code == 200  # a success costs nothing


def test_requests_without_a_key_and_good_keys_do_not_count_as_failures(client, world, failures):
    c = _from(client, "203.0.113.8")
    for _ in range(5):
        assert c.get("/me").status_code == 401  # no key at all: not an attempt
        assert c.get("/me", headers=auth(world, "auditor")).status_code == 200
    assert failures.wait("203.0.113.8") == 0.0


def test_rate_limiter_wait_peeks_without_taking_and_prunes_idle_buckets():
    now = [0.0]
    lim = RateLimiter(rate=1.0, burst=1, clock=lambda: now[0], max_keys=4)
    assert lim.wait("a") == 0.0 and lim.wait("a") == 0.0
    assert lim.take("a") == 0.0 and lim.wait("a") == pytest.approx(1.0)
    for k in "bcd":
        lim.take(k)
    now[0] += 10  # every bucket full again: the next new key drops them
    lim.take("e")
    assert set(lim._buckets) == {"e"}


# ----------------------------------------------------------------------------- keys CLI
def test_keys_cli_creates_an_expiring_key_and_lists_every_field_but_the_secret(world):
    runner = CliRunner()
    r = runner.invoke(
        cli,
        ["keys", "create", "--role", "auditor", "--expires-days", "30", "--label", "q", "--db", world.url],
    )
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert "expires" in r.stderr
    listed = runner.invoke(cli, ["keys", "list", "--json", "--db", world.url])
    row = next(k for k in json.loads(listed.stdout) if k["prefix"] == key[:11])
    assert row["state"] == "active" and row["revoked_at"] is None
    expires = dt.datetime.fromisoformat(row["expires_at"])
    assert (
        dt.timedelta(days=29)
        < expires - dt.datetime.fromisoformat(row["created_at"])
        <= dt.timedelta(days=30)
    )
    table = runner.invoke(cli, ["keys", "list", "--db", world.url]).stdout
    assert table.split("\n")[0].split() == [
        "id", "prefix", "role", "scope", "created", "expires", "revoked", "state", "label"
    ]  # fmt: skip
    assert key[:11] in table and key not in table and key[11:] not in table
    gone = runner.invoke(cli, ["keys", "revoke", str(row["id"]), "--db", world.url])
    assert gone.exit_code == 0, gone.output
    after = json.loads(runner.invoke(cli, ["keys", "list", "--json", "--db", world.url]).stdout)
    assert next(k for k in after if k["id"] == row["id"])["state"] == "revoked"
    assert runner.invoke(cli, ["keys", "revoke", "999999", "--db", world.url]).exit_code != 0
    assert runner.invoke(cli, ["keys", "create", "--role", "auditor", "--expires-days", "0"]).exit_code != 0


def test_an_expired_key_can_still_be_revoked_and_shows_expired(engine):
    _, info = create_key(engine, "auditor", expires_days=1, now=utcnow() - dt.timedelta(days=3))
    assert next(k for k in list_keys(engine) if k.id == info.id).state() == "expired"
    assert revoke_key(engine, info.prefix).state() == "revoked"
