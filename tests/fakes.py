"""Test doubles. Allowed in unit tests only, never on the product path."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

FAKE_MIN_FIT = 0.0
"""``min_fit`` for placements scored with :class:`FakeEncoder`: tests of the solver and the records
offer every edge (the fake's similarities say little about fit); ``min_fit`` has tests of its own."""


class FakeEncoder:
    """Deterministic bag-of-character-bigrams encoder: similar texts get similar vectors."""

    model_id = "fake-bigram-64"
    dim = 64

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], *, kind: str = "passage", batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            self.seen.append(t)
            for a, b in zip(t, t[1:], strict=False):
                h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0
            out[i, 0] += 0.1
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
