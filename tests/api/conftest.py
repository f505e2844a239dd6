"""A store with a seeded sample, one key per role, and the app over it (fake encoder, fitted once).

``world`` (and so ``client`` and ``run_id``) is built once per backend, SQLite and PostgreSQL:
every test that takes it runs on both.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.auth import create_key
from api.settings import Settings
from matcher.geo import builtin_pairings
from matcher.sample.generate import generate_sample, write_sample
from matcher.store import import_paths, load_dataset, open_engine
from tests.conftest import BACKENDS, store_url
from tests.fakes import FAKE_MIN_FIT, FakeEncoder

SECRET = "api-test-secret-0123456789"
YEAR = 2026
# Bounded by anything but letters, digits, "*" and ".": so neither hex digests nor decimals match.
ID_LIKE = re.compile(r"(?<![0-9A-Za-z*.])\d{17}[\dXx](?![0-9A-Za-z*])")
MOBILE_LIKE = re.compile(r"(?<![0-9A-Za-z*.])1[3-9]\d{9}(?![0-9A-Za-z*])")


@dataclass
class World:
    """The test store: its URL, a key per role, and ids inside and outside district ``own``."""

    url: str
    data: Path  # the sample folder that was imported
    keys: dict[str, str]
    own: str  # the district officer's district
    other: str  # another district
    worker_own: str  # a worker from a county paired with ``own``
    worker_other: str  # a worker from a county paired with ``other`` only
    enterprise_own: str  # an enterprise located in ``own`` (the enterprise key's)
    enterprise_other: str
    job_own: str  # a job of ``enterprise_own``
    job_other: str  # a job of ``enterprise_other``


def _pick(url: str) -> dict[str, str]:
    ds = load_dataset(url)
    counties: dict[str, set[str]] = {}
    for p in builtin_pairings():
        counties.setdefault(p.district_code, set()).add(p.county_code)
    workers_by_county = Counter(w.home_county_code for w in ds.workers)
    ents_by_loc = Counter(e.location_code for e in ds.enterprises)

    def score(d: str) -> tuple[int, int]:
        return (sum(workers_by_county[c] for c in counties.get(d, ())) > 0, ents_by_loc[d])

    districts = sorted(
        (d for d in counties if score(d) == (True, ents_by_loc[d]) and ents_by_loc[d]), key=score
    )
    own, other = districts[-1], districts[-2]
    only_other = counties[other] - counties[own]
    pick_w = lambda cs: next(w.worker_id for w in ds.workers if w.home_county_code in cs)  # noqa: E731
    # "local" mobility: never placed in a Tianjin district, so never visible to the other officer
    local = lambda cs: next(  # noqa: E731
        w.worker_id for w in ds.workers if w.home_county_code in cs and w.mobility.value == "local"
    )
    ent = lambda d: next(  # noqa: E731
        e.enterprise_id
        for e in ds.enterprises
        if e.location_code == d and any(j.enterprise_id == e.enterprise_id for j in ds.jobs)
    )
    e_own, e_other = ent(own), ent(other)

    def job(e: str) -> str:
        home = ds.enterprise_by_id[e].location_code
        return next(j.job_id for j in ds.jobs if j.enterprise_id == e and j.location_code in (None, "", home))

    return dict(
        own=own,
        other=other,
        worker_own=pick_w(counties[own]),
        worker_other=local(only_other),
        enterprise_own=e_own,
        enterprise_other=e_other,
        job_own=job(e_own),
        job_other=job(e_other),
    )


def make_world(
    root: Path, n_workers: int = 400, n_jobs: int = 120, seed: int = 11, *, url: str | None = None
) -> World:
    """A store with a seeded sample (written under ``root``) and one key per role.

    ``url``: an empty store to fill; by default a new SQLite file under ``root``.
    """
    data = root / "data"
    write_sample(generate_sample(n_workers, n_jobs, seed=seed, year=YEAR), data, truth=False)
    url = url or f"sqlite:///{root / 'db' / 'laborbridge.db'}"
    report = import_paths(url, [data], key=SECRET.encode())
    assert report.total_imported > 0
    ids = _pick(url)
    engine = open_engine(url)
    keys = {
        "city_admin": create_key(engine, "city_admin")[0],
        "district_officer": create_key(engine, "district_officer", district_code=ids["own"])[0],
        "enterprise": create_key(engine, "enterprise", enterprise_id=ids["enterprise_own"])[0],
        "auditor": create_key(engine, "auditor")[0],
    }
    engine.dispose()
    return World(url=url, data=data, keys=keys, **ids)


@pytest.fixture(scope="session", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("api")
    with store_url(request, request.param, root) as url:
        yield make_world(root, url=url)


def make_settings(url: str, **extra: object) -> Settings:
    values: dict[str, object] = dict(
        db_url=url,
        secret_key=SECRET,
        api_year=YEAR,
        api_rate_per_s=0,
        api_key_cache_s=0,
        api_audit_flush_s=0.05,
    )
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def encoder() -> FakeEncoder:
    return FakeEncoder()


def response_text(response) -> str:
    """A response body as text; an XLSX download as the text of its cells."""
    response.read()
    if "spreadsheetml" in response.headers.get("content-type", ""):
        import io

        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            ",".join("" if v is None else str(v) for v in row)
            for ws in wb.worksheets
            for row in ws.iter_rows(values_only=True)
        )
    return response.content.decode("utf-8", "replace")


def open_client(url: str, encoder: FakeEncoder, **settings: object):
    """A TestClient over a new app; every response it gets is checked for unmasked ID and phone numbers."""
    from api.app import create_app

    app = create_app(make_settings(url, **settings), encoder=encoder, fit_in_background=False)
    client = TestClient(app)
    client.event_hooks["response"].append(lambda r: assert_no_raw_pii(response_text(r)))
    return client


@pytest.fixture(scope="session")
def client(world: World, encoder: FakeEncoder):
    with open_client(world.url, encoder) as c:
        yield c


@pytest.fixture(scope="session")
def run_id(client, world: World) -> str:
    """A finished placement run over the store."""
    body = {"k": 10, "year": YEAR, "min_fit": FAKE_MIN_FIT}
    r = client.post("/placements", json=body, headers=auth(world, "city_admin"))
    assert r.status_code == 202, r.text
    client.app.state.services.placements.wait()
    status = client.get(f"/placements/{r.json()['id']}", headers=auth(world, "city_admin")).json()
    assert status["status"] == "succeeded", status
    return r.json()["id"]


def last_audit_id(services) -> int:
    """The id of the newest audit row, once every queued row is written (0: none yet)."""
    from sqlalchemy import func, select

    from matcher.store.models import AuditRow

    services.audit.flush()
    with services.engine.connect() as conn:
        return conn.execute(select(func.max(AuditRow.id))).scalar() or 0


def auth(world: World, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.keys[role]}"}


def assert_no_raw_pii(text: str) -> None:
    """No 18-digit ID number or 11-digit mobile number in clear."""
    assert not ID_LIKE.search(text), ID_LIKE.search(text)
    assert not MOBILE_LIKE.search(text), MOBILE_LIKE.search(text)


_SESSIONS: dict[tuple[int, str], str] = {}


def console_session(client, world: World, role: str) -> str:
    """A console session of ``role``, signed in once with its key (the cookie holds the session id)."""
    from api.auth import SESSION_COOKIE

    key = (id(world), role)
    if key not in _SESSIONS:
        client.cookies.clear()
        r = client.post("/console/sign-in", data={"key": world.keys[role]}, follow_redirects=False)
        assert r.status_code == 303, r.text
        _SESSIONS[key] = client.cookies[SESSION_COOKIE]
        client.cookies.clear()
    return _SESSIONS[key]
