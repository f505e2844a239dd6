"""Persistent embedding cache keyed by content hash.

Storage: one SQLite file per ``model_id`` under the cache directory, holding a table
``vectors(key BLOB PRIMARY KEY, vec BLOB)``; ``key`` is the 32-byte ``sha256(kind + "\\n" + text)``
and ``vec`` the raw float32 bytes. Lookups are batched (``WHERE key IN (...)`` in chunks), writes go in
one transaction per call. WAL journalling lets any number of readers (threads of a web server, other
processes) read while one writer appends.

Layout choices, measured on 20k x 384 vectors when the layout was chosen: a rowid table with 16 KiB
pages stores a vector in little more than its raw float32 bytes and writes several times faster than
``WITHOUT ROWID`` (rows this large overflow its B-tree pages), which also took about three times the
space. The store's size per vector at scale is in BENCHMARKS.md's ``encode`` section
(``benchmarks/bench_encode.py``, ``cache_store``). SQLite rather than ``.npy`` shards because a re-run
needs random lookups by key, crash safety and concurrent readers, all for free.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.encoder import Encoder, Kind, check_encode_args
from embeddings.errors import CacheError

__all__ = ["CachedEncoder", "EmbeddingCache", "default_cache_dir", "text_key"]

_LOOKUP_CHUNK = 900  # bound on SQL variables per statement (SQLite's old default limit is 999)


def default_cache_dir() -> Path:
    """``platformdirs.user_cache_dir("laborbridge")/embeddings``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("laborbridge")) / "embeddings"


def text_key(kind: str, text: str) -> bytes:
    """The 32-byte cache key of one text: ``sha256(kind + "\\n" + text)``."""
    return hashlib.sha256(f"{kind}\n{text}".encode()).digest()


def _file_name(model_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:80]
    return f"{safe}-{hashlib.sha256(model_id.encode()).hexdigest()[:12]}.sqlite"


class EmbeddingCache:
    """Vectors of one model, stored on disk; safe to share between threads.

    Each thread gets its own SQLite connection; writes are serialised by a lock (and by SQLite's
    own locking across processes).
    """

    def __init__(self, cache_dir: str | os.PathLike[str] | None, model_id: str, dim: int) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.model_id = model_id
        self.dim = int(dim)
        self.path = self.cache_dir / _file_name(model_id)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._init_schema()
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"cannot open embedding cache {self.path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA page_size=16384")  # only takes effect when the file is created
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _init_schema(self) -> None:
        conn = self._conn()
        with self._write_lock:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('model_id', ?), ('dim', ?)",
                (self.model_id, str(self.dim)),
            )
        rows = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        if rows.get("model_id") != self.model_id or int(rows.get("dim", -1)) != self.dim:
            raise CacheError(
                f"{self.path} holds model {rows.get('model_id')!r} dim {rows.get('dim')}, "
                f"expected {self.model_id!r} dim {self.dim}"
            )

    def get_many(self, keys: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Look up ``keys``; return ``(found, vectors)``: a bool mask and a float32 ``(n, dim)`` array
        whose rows are zero where not found."""
        n = len(keys)
        found = np.zeros(n, dtype=bool)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return found, out
        pos: dict[bytes, list[int]] = {}
        for i, k in enumerate(keys):
            pos.setdefault(k, []).append(i)
        distinct = list(pos)
        conn = self._conn()
        try:
            for start in range(0, len(distinct), _LOOKUP_CHUNK):
                chunk = distinct[start : start + _LOOKUP_CHUNK]
                sql = f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})"
                for key, blob in conn.execute(sql, chunk):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] != self.dim:
                        raise CacheError(
                            f"{self.path}: stored vector has {vec.shape[0]} values, expected {self.dim}"
                        )
                    idx = pos[bytes(key)]
                    out[idx] = vec
                    found[idx] = True
        except sqlite3.Error as exc:
            raise CacheError(f"cannot read embedding cache {self.path}: {exc}") from exc
        return found, out

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` under ``keys[i]`` (existing keys are left as they are)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise CacheError(f"put_many: got vectors {vectors.shape} for {len(keys)} keys, dim {self.dim}")
        if not keys:
            return
        rows = ((k, vectors[i].tobytes()) for i, k in enumerate(keys))
        conn = self._conn()
        try:
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany("INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)", rows)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise CacheError(f"cannot write embedding cache {self.path}: {exc}") from exc

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        """Close every connection this cache opened (from any thread)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


class CachedEncoder:
    """An :class:`Encoder` that remembers every vector it computed, on disk.

    Only texts whose ``(model_id, kind, text)`` is not yet cached reach the inner encoder, each distinct
    text once; a re-run after a few texts changed encodes just those. Same ``model_id`` and ``dim`` as the
    inner encoder, so it can stand anywhere an encoder is expected.
    """

    def __init__(self, inner: Encoder, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.cache = EmbeddingCache(cache_dir, inner.model_id, inner.dim)
        self.encoded_count = 0  # texts sent to the inner encoder since construction (diagnostics)

    def encode(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 64) -> np.ndarray:
        """Encode ``texts``, reading cached vectors and computing only the missing ones."""
        items = check_encode_args(texts, kind, batch_size)
        keys = [text_key(kind, t) for t in items]
        found, out = self.cache.get_many(keys)
        if found.all():
            return out
        missing_idx = np.flatnonzero(~found)
        first_of: dict[bytes, int] = {}
        for i in missing_idx:
            first_of.setdefault(keys[i], int(i))
        todo = list(first_of.values())
        vecs = np.asarray(
            self.inner.encode([items[i] for i in todo], kind=kind, batch_size=batch_size), dtype=np.float32
        )
        self.encoded_count += len(todo)
        self.cache.put_many([keys[i] for i in todo], vecs)
        row_of = {keys[i]: r for r, i in enumerate(todo)}
        for i in missing_idx:
            out[i] = vecs[row_of[keys[i]]]
        return out

    def close(self) -> None:
        """Release the cache's database connections."""
        self.cache.close()
