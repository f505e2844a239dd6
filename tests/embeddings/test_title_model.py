"""The trained title classifier on a small table with a known answer: fitting, probabilities,
persistence, and the n-gram channel alone under another encoder."""

import numpy as np
import pytest

from embeddings.occupations import Occupation
from embeddings.title_model import TitleClassifier
from tests.fakes import FakeEncoder

TABLE = [
    Occupation("4-07-05-01", "保安员", 4, "", ("保安", "安保员", "门卫")),
    Occupation("4-07-05-02", "消防设施操作员", 4, "", ("消防员",)),
    Occupation("4-03-02-01", "中式烹调师", 4, "", ("厨师", "炒锅", "后厨")),
    Occupation("4-03-02-05", "餐厅服务员", 4, "", ("服务员", "传菜员")),
    Occupation("4-09-08-01", "保洁员", 4, "", ("保洁", "清洁工")),
]
EXAMPLES = [
    ("日结轻松保安+包吃住", "4-07-05-01"),
    ("小区门岗保安", "4-07-05-01"),
    ("夜班巡逻保安员", "4-07-05-01"),
    ("酒店后厨厨师", "4-03-02-01"),
    ("川菜炒锅师傅", "4-03-02-01"),
    ("餐厅传菜服务员", "4-03-02-05"),
    ("商场保洁阿姨", "4-09-08-01"),
    ("写字楼清洁工", "4-09-08-01"),
]
FAST = {"steps": 60, "learning_rate": 0.1, "rank": 8}


@pytest.fixture(scope="module")
def fitted():
    return TitleClassifier(FakeEncoder(), **FAST).fit(TABLE, EXAMPLES, calibrate_folds=2)


def test_colloquial_titles_land_in_their_occupation(fitted):
    got = [c.code for c in fitted.classify(["招保安 包住", "饭店厨师", "保洁员 长白班"])]
    assert got == ["4-07-05-01", "4-03-02-01", "4-09-08-01"]


def test_probabilities_sum_to_one_and_top_k_is_ranked(fitted):
    p = fitted.predict_proba(["门卫", "服务员"])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    result = fitted.classify_one("门卫", k=3)
    scores = [m.score for m in result.top]
    assert len(result.top) == 3 and scores == sorted(scores, reverse=True)
    assert result.score == pytest.approx(scores[0])
    assert fitted.temperature_ > 0


def test_batch_and_single_give_the_same_answer(fitted):
    batch = fitted.classify(["保安", "厨师", "清洁工"])
    single = [fitted.classify_one(t) for t in ("保安", "厨师", "清洁工")]
    assert [[m.code for m in r.top] for r in single] == [[m.code for m in r.top] for r in batch]
    for a, b in zip(single, batch, strict=True):
        np.testing.assert_allclose([m.score for m in a.top], [m.score for m in b.top], rtol=1e-5)


def test_saved_model_loads_to_the_same_probabilities(fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    loaded = TitleClassifier.load(path, TABLE, FakeEncoder())
    titles = ["招保安 包住", "饭店厨师"]
    np.testing.assert_allclose(loaded.predict_proba(titles), fitted.predict_proba(titles), atol=2e-3)


def test_a_model_for_another_table_is_refused(fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    with pytest.raises(ValueError, match="another CSCO table"):
        TitleClassifier.load(path, TABLE[:-1], FakeEncoder())


def test_another_encoder_leaves_the_ngram_channel_alone(fitted, tmp_path):
    class Other(FakeEncoder):
        model_id = "another-model"

    path = tmp_path / "model.npz"
    fitted.save(path)
    other = Other()
    loaded = TitleClassifier.load(path, TABLE, other)
    assert loaded.classify_one("保安员").code == "4-07-05-01"
    assert other.seen == []  # the dense channel was not used


def test_unknown_codes_in_examples_are_rejected():
    with pytest.raises(ValueError, match="unknown occupation code"):
        TitleClassifier(None, **FAST).fit(TABLE, [("保安", "9-99-99-99")], calibrate_folds=0)


def test_training_is_reproducible():
    a = TitleClassifier(None, **FAST).fit(TABLE, EXAMPLES, calibrate_folds=0)
    b = TitleClassifier(None, **FAST).fit(TABLE, EXAMPLES, calibrate_folds=0)
    np.testing.assert_array_equal(a.predict_proba(["保安"]), b.predict_proba(["保安"]))


def test_a_cache_of_fits_keys_on_the_fitting_code_and_the_cleaning_not_on_prediction():
    from embeddings.title_model import fit_source

    src = fit_source(False)
    assert "def _fit_arrays" in src and "def _train_softmax" in src and "def clean_title" in src
    assert "def predict_proba" not in src  # an edit of how a fitted model predicts keeps the fits
    assert "def predict_proba" in fit_source(True)  # calibration fits its temperature on predictions
