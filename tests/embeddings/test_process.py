"""The model in a child process: same vectors as in process, errors carried back, clean stop."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from embeddings.errors import EncoderInputError, EncoderProcessError, ModelNotFoundError
from embeddings.process import ProcessEncoder
from tests.fakes import FakeEncoder


class PickyEncoder(FakeEncoder):
    """A FakeEncoder that refuses an unknown kind, as the real encoders do."""

    def encode(self, texts, *, kind="passage", batch_size=64):  # noqa: ANN001
        if kind not in ("query", "passage"):
            raise EncoderInputError(f"unknown kind {kind!r}", field="kind")
        return super().encode(texts, kind=kind, batch_size=batch_size)


def no_such_model() -> FakeEncoder:
    raise ModelNotFoundError("no model named 'nope' on this machine")


@pytest.fixture(scope="module")
def proc():
    with ProcessEncoder(PickyEncoder) as enc:
        yield enc


def test_vectors_match_the_encoder_in_process(proc):
    texts = ["保安员 夜班", "焊工 电焊 八年", "家政服务员"]
    assert proc.model_id == FakeEncoder.model_id and proc.dim == FakeEncoder.dim
    assert proc.pid is not None and proc.pid != os.getpid()
    np.testing.assert_allclose(proc.encode(texts), FakeEncoder().encode(texts))
    assert proc.encode([]).shape == (0, proc.dim)


def test_calls_from_many_threads_each_get_their_own_rows(proc):
    out: dict[int, np.ndarray] = {}
    texts = {i: [f"第{i}段 文本", f"另一段 {i}"] for i in range(8)}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, proc.encode(texts[i]))) for i in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for i, got in out.items():
        np.testing.assert_allclose(got, FakeEncoder().encode(texts[i]))
    assert len(out) == len(texts)


def test_errors_come_back_with_their_class_and_the_process_goes_on(proc):
    with pytest.raises(EncoderInputError, match="unknown kind"):
        proc.encode(["x"], kind="other")
    assert proc.encode(["still here"]).shape == (1, proc.dim)


def test_a_failed_start_raises_the_childs_error():
    with pytest.raises(ModelNotFoundError, match="no model named"):
        ProcessEncoder(no_such_model)


class DyingEncoder(FakeEncoder):
    """A FakeEncoder whose process exits on the text "die" (as on running out of memory)."""

    def encode(self, texts, *, kind="passage", batch_size=64):  # noqa: ANN001
        if "die" in texts:
            os._exit(3)
        return super().encode(texts, kind=kind, batch_size=batch_size)


def test_a_process_that_dies_fails_its_call_and_the_next_call_starts_it_again():
    with ProcessEncoder(DyingEncoder) as enc:
        first = enc.pid
        with pytest.raises(EncoderProcessError, match="gone"):
            enc.encode(["die"])
        got = enc.encode(["again"])  # found dead: started again, then answered
        np.testing.assert_allclose(got, FakeEncoder().encode(["again"]))
        assert enc.restarts == 1 and enc.pid != first
        os.kill(enc.pid, signal.SIGKILL)  # killed from outside between calls: the same
        enc._proc.join(10)
        assert enc.encode(["and again"]).shape == (1, enc.dim) and enc.restarts == 2


def test_the_child_runs_at_a_lower_priority():
    with ProcessEncoder(FakeEncoder, nice=5) as enc:
        assert os.getpriority(os.PRIO_PROCESS, enc.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 5


def test_a_pool_splits_large_calls_in_order_and_serves_calls_side_by_side():
    from embeddings.process import ProcessPool

    with ProcessPool(FakeEncoder, processes=2, split_at=8) as pool:
        assert len({c.pid for c in pool.children}) == 2
        texts = [f"第{i}条 文本 {i * i}" for i in range(21)]
        np.testing.assert_allclose(pool.encode(texts), FakeEncoder().encode(texts))  # 11 + 10, in order
        out: dict[int, np.ndarray] = {}
        threads = [
            threading.Thread(target=lambda i=i: out.__setitem__(i, pool.encode([f"短 {i}"])))
            for i in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert all(np.allclose(out[i], FakeEncoder().encode([f"短 {i}"])) for i in range(6))


def test_a_pool_that_cannot_start_raises_and_leaves_no_child():
    import multiprocessing

    from embeddings.process import ProcessPool

    before = set(multiprocessing.active_children())
    with pytest.raises(ModelNotFoundError):
        ProcessPool(no_such_model, processes=2)
    assert not [p for p in multiprocessing.active_children() if p not in before and p.is_alive()]
