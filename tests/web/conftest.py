"""A store with most of a seeded sample, a key per role, the app over it, and a live server for the browser.

The sample's last workers are held back: the browser journey imports them through the console,
together with rows broken on purpose (:func:`bad_upload`). The app is the product's
``create_app`` with the deterministic fake encoder injected (the real model takes a minute to
encode a few hundred texts on a CI machine).
"""

from __future__ import annotations

import csv
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.auth import create_key
from api.settings import Settings
from matcher.geo import builtin_pairings
from matcher.sample.generate import generate_sample, write_sample
from matcher.store import import_paths, load_dataset, open_engine
from tests.api.conftest import make_settings as api_settings
from tests.fakes import FakeEncoder

SECRET = "web-test-secret-0123456789"
YEAR = 2026
HELD_BACK = 60
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@dataclass
class World:
    url: str
    root: Path
    keys: dict[str, str]
    own: str  # the district officer's district
    other: str
    worker_own: str  # from a county paired with ``own``
    worker_other: str  # from a county paired only with ``other``, never placed away from home
    job_other: str  # a job located in ``other``
    enterprise_other: str
    upload: Path  # workers file for the journey: held-back rows plus broken ones
    n_bad: int


def _counties() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in builtin_pairings():
        out.setdefault(p.district_code, set()).add(p.county_code)
    return out


def bad_upload(rows: list[dict[str, str]], header: list[str], path: Path) -> int:
    """Write ``rows`` and three broken copies of the first (ID check digit, phone, county); the
    number of broken rows."""
    broken = []
    for n, (field, value) in enumerate(
        [("id_number", "11010119900307000X"), ("phone", "12345"), ("home_county_code", "999999")]
    ):
        r = dict(rows[0])
        r["worker_id"] = f"WBAD{n}"
        r[field] = value
        if field != "id_number":
            r["id_number"] = ""
        broken.append(r)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows + broken)
    return len(broken)


def build_world(root: Path) -> World:
    """Write the sample under ``root``, import most of it, and create one key per role."""
    data = root / "data"
    write_sample(generate_sample(360, 110, seed=5, year=YEAR), data, truth=False)
    with (data / "workers.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    kept, held = rows[:-HELD_BACK], rows[-HELD_BACK:]
    with (data / "workers.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(kept)
    upload = root / "upload" / "workers_new.csv"
    upload.parent.mkdir()
    n_bad = bad_upload(held, header, upload)
    url = f"sqlite:///{root / 'db' / 'laborbridge.db'}"
    report = import_paths(url, [data], key=SECRET.encode())
    assert report.total_imported > 0

    ds = load_dataset(url)
    counties = _counties()
    by_county: dict[str, list] = {}
    for wk in ds.workers:
        by_county.setdefault(wk.home_county_code, []).append(wk)
    located: dict[str, list] = {}
    for j in ds.jobs:
        located.setdefault(ds.job_location(j), []).append(j)
    usable = [d for d in counties if any(by_county.get(c) for c in counties[d]) and located.get(d)]
    usable.sort(key=lambda d: (sum(len(by_county.get(c, [])) for c in counties[d]), d))
    own, other = usable[-1], usable[-2]
    only_other = counties[other] - counties[own]
    worker_other = next(
        wk.worker_id
        for c in sorted(only_other)
        for wk in by_county.get(c, [])
        if wk.mobility.value == "local"
    )
    worker_own = next(wk.worker_id for c in sorted(counties[own]) for wk in by_county.get(c, []))
    job_other = next(j for j in located[other] if ds.enterprise_by_id[j.enterprise_id].location_code != own)
    engine = open_engine(url)
    keys = {
        "city_admin": create_key(engine, "city_admin", label="web test")[0],
        "district_officer": create_key(engine, "district_officer", district_code=own)[0],
        "auditor": create_key(engine, "auditor")[0],
        "enterprise": create_key(engine, "enterprise", enterprise_id=job_other.enterprise_id)[0],
    }
    engine.dispose()
    return World(
        url=url,
        root=root,
        keys=keys,
        own=own,
        other=other,
        worker_own=worker_own,
        worker_other=worker_other,
        job_other=job_other.job_id,
        enterprise_other=job_other.enterprise_id,
        upload=upload,
        n_bad=n_bad,
    )


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("web"))


def make_settings(url: str) -> Settings:
    return api_settings(url, secret_key=SECRET, api_year=YEAR, k=20)


def make_app(world: World):
    from api.app import create_app

    return create_app(make_settings(world.url), encoder=FakeEncoder(), fit_in_background=False)


@pytest.fixture(scope="session")
def client(world: World):
    from fastapi.testclient import TestClient

    with TestClient(make_app(world), base_url="http://127.0.0.1") as c:
        yield c


def sign_in(client, key: str) -> None:
    client.cookies.clear()
    r = client.post("/console/sign-in", data={"key": key, "next": "/console/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    """uvicorn in a thread on a free port over a store of its own (the journey changes it)."""
    import uvicorn

    world = build_world(tmp_path_factory.mktemp("live"))
    app = make_app(world)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", world
    finally:
        server.should_exit = True
        thread.join(timeout=15)
