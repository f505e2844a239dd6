"""A tiny seeded sample with its answer key, fitted once with the fake encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.ingest import load_folder
from matcher.recommend.recommender import Recommender
from matcher.sample.generate import generate_sample, write_sample
from matcher.tuning.search import Truth
from tests.fakes import FakeEncoder

YEAR = 2025


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sample")
    write_sample(generate_sample(160, 50, seed=3, year=YEAR), d, truth=True)
    return d


@pytest.fixture(scope="session")
def fitted(sample_dir):
    """(recommender fitted without the CSCO table, truth) on the tiny sample."""
    ds = load_folder(sample_dir)
    rec = Recommender(year=YEAR, fetch=30, csco_path="").fit(ds, FakeEncoder())
    truth = Truth.read_csv(sample_dir / "truth.csv", [w.worker_id for w in ds.workers])
    return rec, truth
