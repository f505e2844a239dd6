"""The occupation layer: the shipped table, loud errors for a missing one, phrases classified once,
and uncoded jobs getting a predicted code."""

import numpy as np
import pytest

from matcher.errors import ConfigError
from matcher.scoring.occupations import (
    SHIPPED_TABLE,
    Beliefs,
    OccupationModel,
    OccupationSides,
    classify_data,
    find_csco_table,
    wish_probability,
    wish_weight,
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


def _beliefs(rows: list[list[list[tuple[int, float]]]]) -> Beliefs:
    """Beliefs from (code, probability) lists per item and slot."""
    slots = max(len(r) for r in rows)
    out = Beliefs(np.full((len(rows), slots, 3), -1, np.int64), np.zeros((len(rows), slots, 3), np.float32))
    for i, item in enumerate(rows):
        for s, slot in enumerate(item):
            for k, (code, p) in enumerate(slot):
                out.codes[i, s, k], out.probs[i, s, k] = code, p
    return out


GUARD, CLEANER, COOK = 4070501, 4100201, 4030201


def test_wish_probability_is_the_chance_the_job_is_of_a_wished_code():
    workers = _beliefs(
        [
            [[(GUARD, 0.6), (CLEANER, 0.3)]],  # one wish, two readings
            [[(GUARD, 0.5)], [(GUARD, 0.5), (COOK, 0.4)]],  # two wishes that may name the same code
            [],  # no wish
        ]
    )
    jobs = _beliefs([[[(GUARD, 1.0)]], [[(CLEANER, 0.7), (GUARD, 0.2)]], [[(COOK, 1.0)]]])
    sides = OccupationSides(workers, jobs)
    ew = np.repeat(np.arange(3), 3)
    ej = np.tile(np.arange(3), 3)
    p = wish_probability(sides, ew, ej).reshape(3, 3)
    expected = [
        [0.6, 0.7 * 0.3 + 0.2 * 0.6, 0.0],
        [1 - 0.5 * 0.5, 0.2 * (1 - 0.5 * 0.5), 0.4],
        [0.0, 0.0, 0.0],
    ]
    np.testing.assert_allclose(p, expected, atol=1e-6)
    # the objective's priority: the bonus times the probability, rounded as scores are
    weight = wish_weight(sides, ew, ej, 2.0).reshape(3, 3)
    np.testing.assert_allclose(weight, 2 * np.asarray(expected), atol=1e-6)
    assert wish_probability(sides, ew[:0], ej[:0]).shape == (0,)


def test_a_given_code_that_the_wish_surely_names_has_probability_one():
    sides = OccupationSides(_beliefs([[[(GUARD, 1.0)]]]), _beliefs([[[(GUARD, 1.0)]], [[(CLEANER, 1.0)]]]))
    p = wish_probability(sides, np.array([0, 0]), np.array([0, 1]))
    np.testing.assert_array_equal(p, [1.0, 0.0])
