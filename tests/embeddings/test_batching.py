"""BatchingEncoder: concurrent small calls encoded together, each caller gets exactly its own rows."""

from __future__ import annotations

import threading
import time

import numpy as np

from embeddings.batching import BatchingEncoder
from tests.fakes import FakeEncoder


class GatedEncoder(FakeEncoder):
    """A FakeEncoder whose first call waits for ``gate``, and that records each call's size."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.calls: list[int] = []

    def encode(self, texts, *, kind="passage", batch_size=64):  # noqa: ANN001
        if not self.calls:
            self.gate.wait(10)
        self.calls.append(len(texts))
        if any(t == "boom" for t in texts):
            raise RuntimeError("model failed")
        return super().encode(texts, kind=kind, batch_size=batch_size)


def _run_threads(enc: BatchingEncoder, inputs: list[list[str]]) -> tuple[list, list]:
    results: list = [None] * len(inputs)
    errors: list = [None] * len(inputs)

    def go(i: int) -> None:
        try:
            results[i] = enc.encode(inputs[i])
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            errors[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(inputs))]
    threads[0].start()
    deadline = time.monotonic() + 5
    while not enc.inner.calls and enc._running == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    for t in threads[1:]:
        t.start()
    while len(enc._queue) < len(inputs) - 1 and time.monotonic() < deadline:
        time.sleep(0.001)  # every other call is queued behind the first, gated run
    enc.inner.gate.set()
    for t in threads:
        t.join(10)
    return results, errors


def test_concurrent_calls_are_encoded_together_and_each_gets_its_own_rows():
    inner = GatedEncoder()
    enc = BatchingEncoder(inner, max_batch=32)
    inputs = [[f"第{i}位求职者 保安"] for i in range(9)] + [["两段 文本", "第二段 文本"]]
    results, errors = _run_threads(enc, inputs)
    assert errors == [None] * len(inputs)
    assert inner.calls == [1, 10]  # the first alone (it found the model idle), the rest in one run
    reference = FakeEncoder()
    for texts, got in zip(inputs, results, strict=True):
        assert got.shape == (len(texts), reference.dim)
        np.testing.assert_allclose(got, reference.encode(texts))


def test_a_batch_is_capped_and_a_large_call_runs_alone():
    inner = GatedEncoder()
    enc = BatchingEncoder(inner, max_batch=4)
    inputs = [["a b"]] + [[f"t{i}"] for i in range(6)] + [[f"big{i}" for i in range(10)]]
    results, errors = _run_threads(enc, inputs)
    assert errors == [None] * len(inputs)
    assert inner.calls[0] == 1 and max(inner.calls[1:]) == 10 and sum(inner.calls) == 17
    assert all(c <= 4 for c in inner.calls if c != 10)
    assert [r.shape[0] for r in results] == [len(t) for t in inputs]


def test_with_two_model_processes_two_batches_run_at_once():
    inner = GatedEncoder()
    inner.gate.set()
    running, most = 0, 0
    lock = threading.Lock()
    both = threading.Barrier(2, timeout=5)

    class Slow:
        model_id, dim = inner.model_id, inner.dim

        def encode(self, texts, *, kind="passage", batch_size=64):  # noqa: ANN001
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            both.wait()  # returns only if a second run is in progress at the same time
            with lock:
                running -= 1
            return inner.encode(texts, kind=kind, batch_size=batch_size)

    enc = BatchingEncoder(Slow(), parallel=2)
    results: list = [None, None]
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, enc.encode([f"t{i}"]))) for i in (0, 1)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most == 2 and all(r is not None and r.shape == (1, inner.dim) for r in results)


def test_an_error_reaches_every_caller_of_its_batch_and_the_encoder_goes_on():
    inner = GatedEncoder()
    enc = BatchingEncoder(inner, max_batch=32)
    results, errors = _run_threads(enc, [["first"], ["boom"], ["fine"]])
    assert results[0] is not None and errors[0] is None
    assert isinstance(errors[1], RuntimeError) and isinstance(errors[2], RuntimeError)
    assert enc.encode(["after"]).shape == (1, inner.dim)


# ----------------------------------------------------------------------------- freshness
