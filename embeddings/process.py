"""An encoder that runs its model in a child process.

A service answers requests on one event-loop thread. A model run in a worker thread of the same
process needs the interpreter lock between its many small operations, and while the event loop is
busy it gets it back only every switch interval: measured here, one profile text took 37 ms alone
and 1.3 s beside a busy Python thread. In a child process the model runs on its own core, and the
caller only waits on a pipe (without the lock).

:class:`ProcessEncoder` starts the child (``spawn``: safe beside threads), which builds the encoder
with ``factory`` (a picklable callable, e.g. ``functools.partial(load_encoder, "default")``) and then
answers one ``encode`` call at a time. It satisfies the :class:`~embeddings.encoder.Encoder`
protocol; put a :class:`~embeddings.cache.CachedEncoder` in front of it to keep the vectors.
:class:`ProcessPool` holds several such children of one model: a call goes to a free one, and a
large call (a refit) is split over all of them.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from embeddings import errors
from embeddings.encoder import Encoder
from embeddings.errors import EmbeddingError, EncoderProcessError

log = logging.getLogger(__name__)

__all__ = ["ProcessEncoder", "ProcessPool"]


class ProcessEncoder:
    """Encode in a child process (see the module docstring). Thread-safe: calls take turns."""

    def __init__(
        self,
        factory: Callable[[], Encoder],
        *,
        threads: int = 0,
        nice: int = 0,
        start_timeout: float = 900.0,
    ) -> None:
        """``threads``: torch threads in the child (0: the library's default); ``nice``: how much
        lower the child's scheduling priority is (Unix ``nice``), so that under load the parent's
        quick work goes first."""
        self._args = (factory, threads, nice)
        self._start_timeout = start_timeout
        self._lock = threading.Lock()
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        """Start the child and wait until its encoder is built."""
        ctx = mp.get_context("spawn")
        self._broken = False
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(child, *self._args), name="laborbridge-encoder", daemon=True
        )
        self._proc.start()
        child.close()
        if not self._conn.poll(self._start_timeout):
            self.close()
            raise EncoderProcessError(f"the encoder process did not start within {self._start_timeout:.0f} s")
        status, *rest = self._recv()
        if status != "ready":
            self.close()
            raise _error(rest[0], rest[1], "the encoder process failed to start")
        self.model_id: str = rest[0]
        self.dim: int = int(rest[1])

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def encode(self, texts: Sequence[str], *, kind: str = "passage", batch_size: int = 64) -> np.ndarray:
        """Encode in the child. A child found dead (killed, out of memory) is started again first;
        one that dies during this call fails this call only."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._broken or not self._proc.is_alive():
                self._restart()
            try:
                self._conn.send((texts, kind, batch_size))
            except (OSError, ValueError):  # it died since: nothing was sent, so start it and send again
                self._restart()
                self._conn.send((texts, kind, batch_size))
            status, *payload = self._recv()
        if status != "ok":
            raise _error(payload[0], payload[1], "encoding failed in the encoder process")
        return payload[0]

    def _restart(self) -> None:
        self._proc.join(5)
        log.warning("the encoder process is gone (exit code %s); starting it again", self._proc.exitcode)
        self._conn.close()
        self._start()
        self.restarts += 1

    def _recv(self) -> tuple:
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            self._broken = True  # the next call starts a new child, even before this one is reaped
            self._proc.join(5)
            code = self._proc.exitcode
            raise EncoderProcessError(f"the encoder process is gone (exit code {code})") from exc

    def close(self, timeout: float = 10.0) -> None:
        """Stop the child (it finishes the call in progress first)."""
        if self._proc.is_alive():
            try:
                with self._lock:
                    self._conn.send(None)
            except (OSError, ValueError):
                pass
            self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout)
        self._conn.close()

    def __enter__(self) -> ProcessEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessPool:
    """Several :class:`ProcessEncoder` children of one model, as one encoder.

    A call takes a free child (waiting for one when all are busy); a call of ``split_at`` texts or
    more is cut into one part per child, encoded at once, and put back together in order.
    """

    def __init__(
        self,
        factory: Callable[[], Encoder],
        *,
        processes: int = 2,
        threads: int = 0,
        nice: int = 0,
        split_at: int = 256,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        n = max(1, processes)
        with ThreadPoolExecutor(n) as ex:  # the children load the model side by side
            futures = [ex.submit(ProcessEncoder, factory, threads=threads, nice=nice) for _ in range(n)]
            children, errors = [], []
            for f in futures:
                try:
                    children.append(f.result())
                except Exception as exc:  # noqa: BLE001 - the first is raised after cleaning up
                    errors.append(exc)
        if errors:
            for c in children:
                c.close()
            raise errors[0]
        self.children: list[ProcessEncoder] = children
        self.model_id = children[0].model_id
        self.dim = children[0].dim
        self.split_at = split_at
        self._free: queue.SimpleQueue[ProcessEncoder] = queue.SimpleQueue()
        for c in children:
            self._free.put(c)

    @property
    def restarts(self) -> int:
        return sum(c.restarts for c in self.children)

    def encode(self, texts: Sequence[str], *, kind: str = "passage", batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        n = len(self.children)
        if n == 1 or len(texts) < self.split_at:
            return self._one(texts, kind, batch_size)
        from concurrent.futures import ThreadPoolExecutor

        bounds = np.linspace(0, len(texts), n + 1).astype(int)
        parts = [texts[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        with ThreadPoolExecutor(n) as ex:
            outs = list(ex.map(lambda part: self._one(part, kind, batch_size), parts))
        return np.concatenate(outs, axis=0)

    def _one(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        child = self._free.get()
        try:
            return child.encode(texts, kind=kind, batch_size=batch_size)
        finally:
            self._free.put(child)

    def close(self) -> None:
        for c in self.children:
            c.close()

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(conn: Any, factory: Callable[[], Encoder], threads: int, nice: int = 0) -> None:
    """The child: build the encoder, then answer ``(texts, kind, batch_size)`` until ``None``."""
    try:
        if nice > 0 and hasattr(os, "nice"):
            os.nice(nice)
        _set_threads(threads)
        encoder = factory()
        _set_threads(threads)  # again: loading a model may set its own (every core)
        conn.send(("ready", encoder.model_id, encoder.dim))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", type(exc).__name__, str(exc)))
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if msg is None:
            return
        texts, kind, batch_size = msg
        try:
            out = np.asarray(encoder.encode(texts, kind=kind, batch_size=batch_size), dtype=np.float32)
            conn.send(("ok", out))
        except Exception as exc:  # noqa: BLE001 - the parent raises it for the caller
            conn.send(("error", type(exc).__name__, str(exc)))


def _set_threads(threads: int) -> None:
    """Cap torch's threads in the child (two busy children on two cores must not run four)."""
    if threads <= 0:
        return
    try:
        import torch
    except ImportError:  # an encoder without torch
        return
    torch.set_num_threads(threads)


def _error(name: str, message: str, context: str) -> Exception:
    """The child's error in the parent: the same class for the package's own errors."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, EmbeddingError):
        return cls(message)
    return EncoderProcessError(f"{context}: {name}: {message}")
