"""Occupation normalisation: any job title or desired occupation to a CSCO 2022 code.

Hybrid retrieval over the 职业分类大典 table (``csco22.csv``: ``level, code, name, definition, tasks,
alias``). Every occupation name and every alias is its own short document; a code scores the best of
its documents, so one exact alias is enough. Per code:

``dense  = max_j cos(title, name/alias_j) + definition_weight * cos(title, name + definition)``
``score  = (1 - lexical_weight) * dense + lexical_weight * bm25_max / row max of bm25_max``

(see :func:`embeddings.lexical.fuse`). Titles are encoded as ``query``, names and aliases as ``query``
too (short text against short text is a symmetric task for E5) and definitions as ``passage``.
Recruiting boilerplate (salaries, benefits, bracketed places, posting codes) is stripped first.

When the best score is below ``parent_threshold`` the answer is the 小类 (first three code groups,
``4-07-05-01`` -> ``4-07-05-00``) when the table has that code: coarser, more often right.

The encoder is any object with ``encode(texts, kind=...)``, ``model_id`` (see
:class:`embeddings.encoder.Encoder`). Occupation vectors are computed once per (model, table) and, with
``cache_dir``, stored as ``.npy`` files keyed by a content hash.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from embeddings.encoder import Encoder, Kind
from embeddings.lexical import LexicalIndex, fuse, normalize_text

__all__ = [
    "Classification",
    "OccupationClassifier",
    "OccupationMatch",
    "Occupation",
    "clean_title",
    "load_csco",
    "minor_group",
    "strip_marker",
]

_MARKER = re.compile(r"(?<=[^\x00-\x7f])(?:L/S|L|S)$")  # 绿色/数字职业 markers after a Chinese name
_BRACKETS = re.compile(r"[(\[【{<《][^)\]】}>》]*[)\]】}>》]")
_SALARY = re.compile(
    r"\d+(?:\.\d+)?\s*(?:[-~到至]\s*\d+(?:\.\d+)?)?\s*(?:k|w|万|千|元)?\s*(?:\+|以上)?\s*(?:/\s*(?:月|天|小时|日))?"
    r"|月入过?[万千]|年薪|高?底薪|日结|月结|周结"
)
_HIRING = re.compile(r"^(?P<who>.{4,}?)(?:\.{2,}|…)?\s*招聘(?P<what>\S{2,}.*)$")
_GENERIC = {"专员", "助理", "主管", "经理", "人员"}
_PERKS = (
    "五险一金|五险|六险一金|包吃包住|包吃住|包食宿|提供食宿|包住|包吃|双休|周末双休|单休|长白班|白班|夜班|"
    "朝九晚六|朝九晚五|急招|急聘|直招|直聘|高薪|高提成|高底薪|可兼职|兼职|全职|实习生?|无责任?底薪|不限经验|"
    "可新人|接受小白|带薪培训|氛围轻松|晋升空间大|提供住宿|买五险|有补贴"
)
_PERK = re.compile(_PERKS)


@dataclass(frozen=True)
class Occupation:
    """One CSCO 2022 code. ``level``: 1 大类, 2 中类, 3 小类, 4 细类 (or a leaf 小类)."""

    code: str
    name: str
    level: int
    definition: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class OccupationMatch:
    """A candidate code with its fused score."""

    code: str
    name: str
    score: float


@dataclass(frozen=True)
class Classification:
    """The answer for one title: the chosen code (maybe the 小类), its score, and the ranked candidates."""

    title: str
    code: str
    name: str
    score: float
    is_parent: bool
    top: tuple[OccupationMatch, ...]


def ranked_matches(
    scores: np.ndarray, k: int, codes: Sequence[str], occupations: Sequence[Occupation]
) -> list[tuple[OccupationMatch, ...]]:
    """Each row's ``k`` best codes of ``scores`` (titles, codes), best first (ties: table order)."""
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [
        tuple(OccupationMatch(codes[j], occupations[j].name, float(row[j])) for j in cand)
        for row, cand in zip(scores, top, strict=True)
    ]


def minor_group(code: str) -> str:
    """The 小类 of a code: its first three groups and ``00`` (``4-07-05-01`` -> ``4-07-05-00``)."""
    parts = code.split("-")
    if len(parts) != 4:
        raise ValueError(f"not a CSCO code (four dash-separated groups): {code!r}")
    return "-".join([*parts[:3], "00"])


def strip_marker(name: str) -> str:
    """Drop the 绿色 ``L`` / 数字 ``S`` occupation markers from a name (``保洁员L`` -> ``保洁员``)."""
    return _MARKER.sub("", name.strip())


def clean_title(title: str) -> str:
    """Strip recruiting boilerplate (bracketed notes, salaries, benefits) from a job-board title.

    Falls back to the normalised title when nothing would be left.
    """
    text = normalize_text(title)
    cleaned = _BRACKETS.sub(" ", text)
    cleaned = _SALARY.sub(" ", cleaned)
    cleaned = _PERK.sub(" ", cleaned)
    hiring = _HIRING.match(cleaned.strip())
    if hiring and hiring["what"].strip() not in _GENERIC:  # "<enterprise>招聘<job>": keep the job
        cleaned = hiring["what"]
    # "招保安": hiring a guard; but 招商, 招标, 招生, 招投标, 招待 are the job, and 招聘, 招募 stay
    cleaned = re.sub(r"^\s*招(?![聘募商标生投待])(?=\S{2,})", "", cleaned)
    cleaned = re.sub(r"(?:^|\s)[a-z]{0,4}\d[\w-]*", " ", cleaned)  # posting codes such as mj000530
    cleaned = re.sub(r"[+|｜~、，,;；:：!！.…\s]+", " ", cleaned).strip(" /-")
    return cleaned if len(cleaned) >= 1 and re.search(r"\w", cleaned) else text.strip()


def load_csco(path: str | os.PathLike[str]) -> list[Occupation]:
    """Read ``csco22.csv``; rows repeating a code are merged (aliases united). Names lose their markers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSCO table not found: {path}")
    by_code: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"level", "code", "name", "definition", "alias"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        for row_no, row in enumerate(reader, start=2):
            code = (row["code"] or "").strip()
            try:
                minor_group(code)
                level = int(row["level"])
            except ValueError as exc:
                raise ValueError(f"{path}, row {row_no}: bad code or level ({exc})") from exc
            name = strip_marker(row["name"] or "")
            aliases = [strip_marker(a) for a in (row["alias"] or "").split(",")]
            entry = by_code.setdefault(code, {"name": name, "level": level, "definition": "", "aliases": []})
            entry["level"] = max(entry["level"], level)
            entry["definition"] = entry["definition"] or (row["definition"] or "").strip()
            for alias in aliases:
                if alias and alias != name and alias not in entry["aliases"]:
                    entry["aliases"].append(alias)
    return [
        Occupation(code, e["name"], e["level"], e["definition"], tuple(e["aliases"]))
        for code, e in by_code.items()
    ]


class OccupationClassifier:
    """Map titles to CSCO codes by dense + lexical retrieval (see the module docstring).

    Parameters
    ----------
    encoder:
        An :class:`embeddings.encoder.Encoder`; ``None`` gives a lexical-only classifier.
    lexical_weight:
        Fusion weight of the lexical channel (0 = dense only, 1 = lexical only). The defaults of this
        and ``definition_weight`` were tuned on half of ``title_norm_dev.csv`` with multilingual-e5-small
        (``benchmarks/bench_classify.py``); lexical counts little because it is scaled to 1 per row while
        E5 cosines of different codes differ by a few hundredths.
    definition_weight:
        Weight of the title-definition cosine in the dense score (0 skips encoding definitions).
    parent_threshold:
        Below this top score answer the 小类; ``None`` never does.
    clean:
        Strip recruiting boilerplate from titles before scoring.
    cache_dir:
        Where occupation vectors are kept between processes (``None``: memory only).
    """

    def __init__(
        self,
        encoder: Encoder | None = None,
        *,
        lexical_weight: float = 0.1,
        definition_weight: float = 1.5,
        parent_threshold: float | None = None,
        clean: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.encoder = encoder
        self.lexical_weight = lexical_weight
        self.definition_weight = definition_weight
        self.parent_threshold = parent_threshold
        self.clean = clean
        self.cache_dir = cache_dir

    @classmethod
    def from_csv(
        cls, path: str | os.PathLike[str], encoder: Encoder | None = None, **params: Any
    ) -> OccupationClassifier:
        """Construct and fit on a ``csco22.csv`` file."""
        return cls(encoder, **params).fit(load_csco(path))

    def fit(
        self, occupations: Sequence[Occupation], examples: Sequence[tuple[str, str]] | None = None
    ) -> Self:
        """Index names, aliases (one document each) and definitions; encode them when there is an encoder.

        ``examples`` are optional labelled ``(title, code)`` pairs, added as extra documents of their code
        (a nearest-neighbour channel: a new title close to a labelled one gets its code).
        """
        if not occupations:
            raise ValueError("no occupations to fit on")
        self.occupations_ = list(occupations)
        self.codes_ = [o.code for o in self.occupations_]
        self.code_index_ = {c: i for i, c in enumerate(self.codes_)}
        extra: dict[int, list[str]] = {}
        for i, (title, code) in enumerate(examples or ()):
            if code not in self.code_index_:
                raise ValueError(f"examples[{i}]: unknown occupation code {code!r}")
            extra.setdefault(self.code_index_[code], []).append(clean_title(title) if self.clean else title)
        docs, owner = [], []
        for i, occ in enumerate(self.occupations_):
            for text in dict.fromkeys((occ.name, *occ.aliases, *extra.get(i, ()))):
                docs.append(text)
                owner.append(i)
        self.doc_owner_ = np.asarray(owner, dtype=np.int64)  # non-decreasing: docs are grouped by code
        self.doc_starts_ = np.flatnonzero(np.r_[True, np.diff(self.doc_owner_) != 0])
        self.lexical_ = LexicalIndex().fit(docs)
        self.doc_vectors_: np.ndarray | None = None
        self.def_vectors_: np.ndarray | None = None
        if self.encoder is not None:
            self.doc_vectors_ = self._encode_cached(self.encoder, docs, "query")
            if self.definition_weight:
                texts = [f"{o.name}：{o.definition}" if o.definition else o.name for o in self.occupations_]
                self.def_vectors_ = self._encode_cached(self.encoder, texts, "passage")
        return self

    # ------------------------------------------------------------------ scoring
    def component_scores(self, titles: Sequence[str]) -> dict[str, np.ndarray]:
        """Per-code channel scores ``(n_titles, n_codes)``: ``lexical``, and with an encoder ``alias`` and
        ``definition`` cosines. :meth:`combine` turns them into the fused score; kept apart for tuning."""
        self._check_fitted()
        texts = [clean_title(t) if self.clean else normalize_text(t) for t in titles]
        out = {"lexical": self._max_per_code(self.lexical_.score_matrix(texts).toarray())}
        if self.doc_vectors_ is not None and self.encoder is not None:
            q = self.encoder.encode(texts, kind="query")
            out["alias"] = self._max_per_code(q @ self.doc_vectors_.T)
            if self.def_vectors_ is not None:
                out["definition"] = q @ self.def_vectors_.T
        return out

    def combine(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        """Fused ``(n_titles, n_codes)`` score from :meth:`component_scores` with this object's weights."""
        if "alias" not in parts:
            return fuse(np.zeros_like(parts["lexical"]), parts["lexical"], 1.0)
        dense = parts["alias"]
        if "definition" in parts and self.definition_weight:
            dense = dense + self.definition_weight * parts["definition"]
        return fuse(dense, parts["lexical"], self.lexical_weight)

    def classify(self, titles: Sequence[str], k: int = 5) -> list[Classification]:
        """Best code per title (or its 小类 when unsure) with the top-``k`` candidates."""
        if isinstance(titles, str):
            raise ValueError("titles must be a sequence of strings, not a single string")
        if not titles:
            return []
        scores = self.combine(self.component_scores(titles))
        results = []
        for title, matches in zip(
            titles, ranked_matches(scores, k, self.codes_, self.occupations_), strict=True
        ):
            best = matches[0]
            code, name, is_parent = best.code, best.name, False
            if self.parent_threshold is not None and best.score < self.parent_threshold:
                parent = self.code_index_.get(minor_group(best.code))
                if parent is not None and self.codes_[parent] != best.code:
                    code, name, is_parent = self.codes_[parent], self.occupations_[parent].name, True
            results.append(Classification(title, code, name, best.score, is_parent, matches))
        return results

    def classify_one(self, title: str, k: int = 5) -> Classification:
        """One title; the same answer as :meth:`classify` on a list of one."""
        return self.classify([title], k)[0]

    # ------------------------------------------------------------------ internals
    def _max_per_code(self, doc_scores: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(np.asarray(doc_scores, dtype=np.float32), self.doc_starts_, axis=1)

    def _encode_cached(self, encoder: Encoder, texts: list[str], kind: Kind) -> np.ndarray:
        model_id = str(getattr(encoder, "model_id", type(encoder).__name__))
        key = hashlib.sha256("\x1e".join([model_id, kind, *texts]).encode()).hexdigest()[:24]
        path = Path(self.cache_dir) / f"occupations-{key}.npy" if self.cache_dir is not None else None
        if path is not None and path.is_file():
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape[0] == len(texts):
                return vectors
        vectors = np.asarray(encoder.encode(texts, kind=kind), dtype=np.float32)
        if vectors.shape[0] != len(texts):
            raise ValueError(f"encoder returned {vectors.shape[0]} vectors for {len(texts)} texts")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, vectors)
            os.replace(tmp, path)
        return vectors

    def _check_fitted(self) -> None:
        if not hasattr(self, "occupations_"):
            raise RuntimeError("OccupationClassifier is not fitted; call fit() first")
