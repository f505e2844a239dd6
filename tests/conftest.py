"""Fixtures for every test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Each test reads settings from its own environment: ``get_settings`` caches one object per
    process, so without this a test sees whatever environment the first caller had."""
    from api.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
