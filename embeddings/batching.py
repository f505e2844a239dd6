"""One encoder shared by many request threads: concurrent small calls are encoded together.

The HTTP service wraps its model in a :class:`BatchingEncoder`; anything that encodes from several
threads at once can.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings.encoder import Encoder, Kind


class BatchingEncoder:
    """An encoder shared by request threads: concurrent small calls are encoded together.

    One call runs the model at a time (torch already uses the process's threads for one call;
    concurrent calls only thrash). While it runs, the texts of calls that arrive queue up, and the
    next run takes all of them at once, up to ``max_batch`` texts: under 32 clients posting new
    profiles, a batch of many short texts costs far less than as many one-text runs. A call above
    ``max_batch`` texts (a refit) runs on its own. Every call gets exactly its own rows back.
    With ``parallel`` > 1 (an inner encoder with that many model processes) as many runs go at once.
    """

    def __init__(self, inner: Encoder, max_batch: int = 32, parallel: int = 1) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.max_batch = max_batch
        self.parallel = max(1, parallel)
        self._cv = threading.Condition()
        self._queue: list[_Call] = []
        self._running = 0
        self.runs = 0  # model runs so far (tests and benchmarks read it)

    def encode(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 64) -> np.ndarray:
        call = _Call(list(texts), kind, batch_size)
        with self._cv:
            self._queue.append(call)
            while not call.done:
                if self._running >= self.parallel or not self._queue:
                    self._cv.wait()
                    continue
                batch = self._take()
                self._running += 1
                self._cv.release()
                try:
                    self._run(batch)
                finally:
                    self._cv.acquire()
                    self._running -= 1
                    self._cv.notify_all()
        if call.error is not None:
            raise call.error
        assert call.result is not None  # done without an error: its run set the result
        return call.result

    def _take(self) -> list[_Call]:
        """The oldest queued call, with the queued calls of the same kind that fit beside it."""
        first = self._queue[0]
        batch, n = [first], len(first.texts)
        if n < self.max_batch:
            for c in self._queue[1:]:
                if c.kind == first.kind and n + len(c.texts) <= self.max_batch:
                    batch.append(c)
                    n += len(c.texts)
        taken = {id(c) for c in batch}
        self._queue = [c for c in self._queue if id(c) not in taken]
        return batch

    def _run(self, batch: list[_Call]) -> None:
        texts = [t for c in batch for t in c.texts]
        try:
            size = max(c.batch_size for c in batch) if len(batch) == 1 else max(len(texts), 1)
            out = self.inner.encode(texts, kind=batch[0].kind, batch_size=size)
            self.runs += 1
        except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
            for c in batch:
                c.error, c.done = exc, True
            return
        at = 0
        for c in batch:
            c.result, c.done = out[at : at + len(c.texts)], True
            at += len(c.texts)

    def __getattr__(self, name: str) -> Any:  # e.g. ``cache`` of a CachedEncoder
        return getattr(self.inner, name)


@dataclass(eq=False)
class _Call:
    texts: list[str]
    kind: Kind
    batch_size: int
    done: bool = False
    result: np.ndarray | None = None
    error: BaseException | None = None
