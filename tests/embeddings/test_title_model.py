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
    assert fitted.channel_weights_.shape == (5,) and (fitted.channel_weights_ > 0).all()


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
    assert "def predict_proba" in fit_source(True)  # calibration fits the channel weights on predictions


def test_channel_weights_follow_the_informative_channel():
    from embeddings.title_model import _fit_stack

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 20, size=400)
    signal = rng.normal(size=(400, 20))
    signal[np.arange(400), gold] += 3.0  # the gold code stands out in this channel only
    noise = rng.normal(size=(400, 20))
    w = _fit_stack(np.stack([noise, signal]).astype(np.float32), gold, np.array([1.0, 1.0]))
    assert w[1] > 1.0 and w[0] < 0.1 * w[1]


def test_the_csco_definition_finds_a_code_no_example_shows():
    pests = Occupation("4-09-08-03", "有害生物防制员", 4, "从事灭鼠、灭蟑螂、除白蚁的人员", ())
    table = [*TABLE, pests]
    with_text = TitleClassifier(FakeEncoder(), **FAST).fit(table, EXAMPLES, calibrate_folds=0)
    weights = (*with_text.channel_weights[:3], 0.0, with_text.channel_weights[4])
    without = TitleClassifier(FakeEncoder(), **FAST, channel_weights=weights).fit(
        table, EXAMPLES, calibrate_folds=0
    )
    text = with_text._channels(["灭鼠灭蟑螂"])[3, 0]
    assert with_text.codes_[int(text.argmax())] == "4-09-08-03"
    assert with_text.predict_proba(["灭鼠灭蟑螂"])[0, -1] > 2 * without.predict_proba(["灭鼠灭蟑螂"])[0, -1]


def test_the_sparse_product_has_the_dense_products_value_and_gradient():
    import scipy.sparse as sp
    import torch

    from embeddings.title_model import _SparseMatmul

    rng = np.random.default_rng(1)
    x = (rng.random((30, 12)) < 0.3).astype(np.float32) * rng.random((30, 12)).astype(np.float32)
    w0 = torch.as_tensor(rng.normal(size=(12, 5)).astype(np.float32))
    upstream = torch.as_tensor(rng.normal(size=(30, 5)).astype(np.float32))
    grads = []
    for product in (_SparseMatmul(sp.csr_matrix(x)).apply, lambda w: torch.as_tensor(x) @ w):
        w = w0.clone().requires_grad_(True)
        z = product(w)
        (z * upstream).sum().backward()
        grads.append((z.detach().numpy(), w.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], atol=1e-5)
    np.testing.assert_allclose(grads[0][1], grads[1][1], atol=1e-5)


def test_a_model_of_the_old_format_is_refused(fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["format"] = np.int64(1)
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    with pytest.raises(ValueError, match="format 1"):
        TitleClassifier.load(old, TABLE, FakeEncoder())


def test_several_near_titles_outvote_the_single_nearest():
    clf = TitleClassifier(None)
    clf.codes_ = ["A", "B", "C"]
    clf.example_codes_ = np.array([0, 1, 1, 1, 2])
    clf.example_is_title_ = np.array([True, True, True, True, False])  # C: a table name only
    sims = np.array([[0.95, 0.9, 0.9, 0.9, 0.99]], dtype=np.float32)
    assert clf.codes_[int(clf._best_example_cosine(sims)[0].argmax())] == "C"
    vote = clf._title_vote(sims)[0]
    assert vote.argmax() == 1 and vote[1] > vote[0]  # three titles at 0.9 beat one at 0.95
    assert vote[2] == pytest.approx(np.log(1e-3))  # table names do not vote


def test_the_vote_channel_favours_the_code_of_the_near_labelled_titles(fitted):
    vote = fitted._channels(["巡逻保安"])[4, 0]
    assert fitted.codes_[int(vote.argmax())] == "4-07-05-01"


def test_a_title_is_read_both_cleaned_and_as_written(fitted):
    # cleaning drops the bracket and the perk: the two views differ, and the channels are their mean
    both = fitted._view_channels(["保安（小区门岗）包住", "保洁员"])
    cleaned, written = fitted._channels(["保安"]), fitted._channels(["保安(小区门岗)包住"])
    np.testing.assert_allclose(both[:, 0], 0.5 * (cleaned[:, 0] + written[:, 0]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(cleaned[:, 0], written[:, 0])
    # nothing to clean: one view
    np.testing.assert_allclose(both[:, 1], fitted._channels(["保洁员"])[:, 0], rtol=1e-5, atol=1e-6)


def test_the_second_stage_learns_the_evidence_the_weighted_sum_misses():
    from embeddings.title_model import _Reranker

    rng = np.random.default_rng(2)
    n, k = 300, 6
    gold_slot = rng.integers(0, k, size=n)
    noise = rng.normal(size=(n, k, 1))
    marker = np.zeros((n, k, 1))
    marker[np.arange(n), gold_slot, 0] = 1.0  # this feature marks the gold candidate
    features = np.concatenate([noise, marker], axis=-1).astype(np.float32)
    candidates = np.tile(np.arange(k), (n, 1)) + 2  # codes 2..7 of 10; codes 0, 1 are no candidates
    gold = candidates[np.arange(n), gold_slot]
    gold[:5] = 0  # a gold code outside the candidates teaches nothing (and breaks nothing)
    rr = _Reranker.fit(features, candidates, gold, 1e-3, 4, 0)
    assert rr.weights[1] > 1.0 and abs(rr.weights[0]) < 0.5 * rr.weights[1]
    assert rr.hidden.shape == (2, 4) and rr.out.shape == (4,)
    log_proba = np.log(np.full((n, 10), 0.1, dtype=np.float32))
    out = rr.apply(log_proba, features, candidates)
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out[:, :2], log_proba[:, :2])  # codes below the candidates keep theirs
    assert (out.argmax(axis=1)[5:] == gold[5:]).all()


def test_rerank_features_rank_each_channel_and_sum_the_minor_group():
    clf = TitleClassifier(None)
    clf._index_codes(TABLE)  # 4-07-05-01, 4-07-05-02 | 4-03-02-01, 4-03-02-05 | 4-09-08-01
    clf.channel_weights_ = np.array([1.0, 0.0], dtype=np.float32)
    first = np.log(np.array([[0.1, 0.2, 0.3, 0.35, 0.05]], dtype=np.float32))
    second = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]], dtype=np.float32)
    prior = np.log(np.full((1, 5), 0.2, dtype=np.float32))
    channels = np.stack([first, second])
    lp = np.log(np.exp(first) / np.exp(first).sum())  # the weighted sum's log-probabilities (weights 1, 0)
    features, candidates = clf._rerank_features(lp, channels, prior)
    assert candidates[0].tolist() == [3, 2, 1, 0, 4]  # the weighted sum's order
    assert features.shape == (1, 5, 2 * 2 + 5)
    f = features[0, 0]  # code 3: first in channel 1, fourth in channel 2
    assert f[1] == pytest.approx(np.log1p(0)) and f[3] == pytest.approx(np.log1p(3))
    assert f[4] == pytest.approx(np.log(0.35), rel=1e-4) and f[5] == pytest.approx(0.0)
    assert f[6] == pytest.approx(np.log(0.65), rel=1e-4)  # its 小类 4-03-02 holds 0.3 + 0.35
    assert f[7] == 0.0 and f[8] == pytest.approx(np.log(0.2))


def test_the_label_prior_is_a_smoothed_share():
    from embeddings.title_model import _label_prior

    prior = np.exp(_label_prior(np.array([0, 0, 0, 2]), 4))
    np.testing.assert_allclose(prior.sum(), 1.0, rtol=1e-6)
    assert prior[0] > prior[2] > prior[1] > 0
    assert prior[1] == pytest.approx(prior[3])


def test_the_second_stage_is_fitted_saved_and_loaded(fitted, tmp_path):
    assert fitted.rerank_ is not None and fitted.rerank_.weights.shape == (2 * 5 + 5,)
    path = tmp_path / "model.npz"
    fitted.save(path)
    loaded = TitleClassifier.load(path, TABLE, FakeEncoder())
    assert loaded.rerank_ is not None
    for mine, theirs in zip(loaded.rerank_.arrays().values(), fitted.rerank_.arrays().values(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    plain = TitleClassifier(FakeEncoder(), **FAST).fit(TABLE, EXAMPLES, calibrate_folds=0)
    assert plain.rerank_ is None  # no held-out predictions to fit it on
    plain.save(path)
    assert TitleClassifier.load(path, TABLE, FakeEncoder()).rerank_ is None
