"""Fixtures for every test, and the two store backends: SQLite and a throwaway PostgreSQL.

A test (or fixture) that takes ``db_url`` runs once per backend, each time on a fresh, empty
store: a SQLite file under ``tmp_path``, or a new database in the session's PostgreSQL cluster
(:mod:`tests.postgres`). Where PostgreSQL is not installed those variants skip, saying why;
under ``CI=true`` they fail instead, so a green CI run never hides a missing server.
``-m 'not postgresql'`` leaves them out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import Cluster, bindir, missing

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Each test reads settings from its own environment: ``get_settings`` caches one object per
    process, so without this a test sees whatever environment the first caller had."""
    from api.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """The session's PostgreSQL cluster, started on first use (skips, or under CI fails, without one)."""
    reason = missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true, but {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = Cluster(bindir()).start()  # type: ignore[arg-type]
    yield cluster
    cluster.stop()


@contextlib.contextmanager
def store_url(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """A fresh store's URL on ``backend``: a SQLite file under ``folder``, or a new database
    (dropped on exit)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'db' / 'laborbridge.db'}"
        return
    with request.getfixturevalue("postgres").database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store's URL, once per backend (SQLite, PostgreSQL)."""
    with store_url(request, request.param, tmp_path) as url:
        yield url
