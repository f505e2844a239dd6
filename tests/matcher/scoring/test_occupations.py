"""The occupation layer: the shipped table, loud errors for a missing one, phrases classified once,
and uncoded jobs getting a predicted code."""

import numpy as np
import pytest

from matcher.errors import ConfigError
from matcher.scoring.occupations import (
    SHIPPED_TABLE,
    OccupationModel,
    classify_data,
    find_csco_table,
)
from tests.fakes import FakeEncoder
from tests.matcher.conftest import small_dataset

YEAR = 2024


def test_the_table_ships_with_the_package():
    assert find_csco_table() == SHIPPED_TABLE
    assert SHIPPED_TABLE.is_file()
    assert (SHIPPED_TABLE.parent / "CSCO22-LICENSE.txt").is_file()


def test_a_table_that_is_not_there_is_an_error_never_a_silent_switch_off(monkeypatch, tmp_path):
    from api.settings import get_settings

    monkeypatch.setenv("LABORBRIDGE_CSCO", str(tmp_path / "nope.csv"))
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="not found.*LABORBRIDGE_CSCO"):
        find_csco_table(get_settings().csco_path)
    with pytest.raises(ConfigError, match="--csco"):
        find_csco_table(tmp_path / "missing.csv")


def test_the_setting_points_to_another_table_or_its_folder(monkeypatch, tmp_path):
    """``LABORBRIDGE_CSCO`` is read once, by the settings; the occupation layer takes the path."""
    from api.settings import get_settings

    (tmp_path / "csco22.csv").write_bytes(SHIPPED_TABLE.read_bytes())
    monkeypatch.setenv("LABORBRIDGE_CSCO", str(tmp_path))
    get_settings.cache_clear()
    assert find_csco_table(get_settings().csco_path) == tmp_path / "csco22.csv"
    monkeypatch.setenv("LABORBRIDGE_CSCO", "")
    get_settings.cache_clear()
    assert find_csco_table(get_settings().csco_path) == SHIPPED_TABLE


def test_each_distinct_phrase_is_classified_once():
    model = OccupationModel(FakeEncoder())
    seen: list[str] = []
    inner = model.classifier

    class Counting:
        def classify(self, titles, k=5):
            seen.extend(titles)
            return inner.classify(titles, k=k)

    model.classifier = Counting()
    a, _ = model.phrase_beliefs(["保安", "保洁", "保安", "什么都行"])
    b, _ = model.phrase_beliefs(["保洁", "厨师"])
    assert seen == ["保安", "保洁", "厨师"]
    np.testing.assert_array_equal(a[1], b[0])
    assert (a[3] == -1).all()  # a vague wish names no occupation


def test_probabilities_are_a_ranked_distribution():
    codes, probs = OccupationModel(FakeEncoder()).phrase_beliefs(["保安员", "中式烹调师"])
    assert (codes >= 0).all()
    assert np.all(np.diff(probs, axis=1) <= 1e-6)
    assert np.all((probs.sum(axis=1) > 0) & (probs.sum(axis=1) <= 1 + 1e-6))


def test_uncoded_jobs_get_a_predicted_code_and_coded_jobs_keep_theirs():
    from dataclasses import replace

    from matcher.scoring.context import MatchContext

    ds = small_dataset()
    jobs = list(ds.jobs)
    jobs[0] = jobs[0].model_copy(update={"occupation_code": ""})
    ctx = MatchContext.build(ds, YEAR)
    ctx = replace(ctx, job_code=np.where(np.arange(len(jobs)) == 0, -1, ctx.job_code))
    _, sides, filled = classify_data(ds.workers, jobs, ctx, FakeEncoder())
    assert filled.job_code[0] >= 0
    np.testing.assert_array_equal(filled.job_code[1:], ctx.job_code[1:])
    assert sides.jobs.probs[1, 0, 0] == 1.0  # a given code is certain
    assert 0 < sides.jobs.probs[0, 0, 0] <= 1.0
