"""Where a placement's heavy stages run: in this process (``local``) or on a Ray cluster (``ray``).

An engine runs three kinds of independent work units, all cut the same way whatever the engine
(:mod:`matcher.placement.decompose`), so every engine gives the same answer:

``encode_chunks``
    lists of texts not yet in the embedding cache, :data:`ENCODE_CHUNK` at a time;
``score_blocks``
    blocks of workers against their region's jobs (each region's index built once);
``solve_components``
    the connected components of the candidate graph.

The stage functions here (:func:`encode_texts`, :func:`retrieve_and_score`) do the parts that stay
on the head: the cache lookups and writes, cutting the work, putting the answers back in order.
:class:`LocalEngine` runs the units one after another; :class:`matcher.placement.ray_engine.RayEngine`
spreads them over a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from embeddings.encoder import MATCHING_KIND
from matcher.errors import ConfigError
from matcher.placement.decompose import (
    RegionJobs,
    SharedContext,
    WorkerBlock,
    region_jobs,
    regions,
    score_block,
    shared_context,
    sorted_edges,
    worker_blocks,
)
from matcher.placement.progress import Progress
from matcher.scoring.candidates import Edges, TextSides
from matcher.scoring.context import MatchContext
from matcher.scoring.factors import ScoringConfig
from matcher.scoring.occupations import OccupationSides

ENCODE_CHUNK = 4096
"""Texts per encoder call (a unit of work of every engine)."""

ENGINES = ("local", "ray")


class Engine(Protocol):
    """Runs the work units of a placement; see the module docstring."""

    name: str

    def encode_chunks(
        self, chunks: Sequence[list[str]], encoder: Any, model: str | None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(chunk number, vectors)`` for every chunk, in any order. ``encoder`` is the head's
        (uncached) encoder; ``model``, when given, is its name, which a cluster's workers load
        themselves (on their GPU where they have one) instead of receiving ``encoder``."""
        ...

    def score_blocks(
        self, shared: SharedContext, jobs: Sequence[RegionJobs], blocks: Sequence[WorkerBlock]
    ) -> Iterator[tuple[int, Edges]]:
        """``(block number, edges)`` for every block, in any order."""
        ...

    def solve_components(self, problems: Sequence[Any], options: Any) -> list[Any]:
        """The optimizer's result of every problem, in order."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ran the work, for ``run.json``."""
        ...


class LocalEngine:
    """Every unit in this process, one after another."""

    name = "local"

    def encode_chunks(
        self, chunks: Sequence[list[str]], encoder: Any, model: str | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        for i, chunk in enumerate(chunks):
            yield i, np.asarray(encoder.encode(chunk, kind=MATCHING_KIND), dtype=np.float32)

    def score_blocks(
        self, shared: SharedContext, jobs: Sequence[RegionJobs], blocks: Sequence[WorkerBlock]
    ) -> Iterator[tuple[int, Edges]]:
        for i, block in enumerate(blocks):
            yield i, score_block(shared, jobs[block.region], block)

    def solve_components(self, problems: Sequence[Any], options: Any) -> list[Any]:
        from optimizer import solve

        return [solve(p, options) for p in problems]

    def describe(self) -> dict[str, Any]:
        return {"engine": "local"}


def make_engine(name: str = "local", address: str | None = None) -> Any:
    """The engine called ``name``: ``local``, or ``ray`` on the cluster at ``address`` (None or
    ``"local"``: a Ray instance started for this run on this machine)."""
    if name == "local":
        if address is not None:
            raise ConfigError("--ray-address needs --engine ray")
        return LocalEngine()
    if name == "ray":
        from matcher.placement.ray_engine import RayEngine

        return RayEngine(address)
    raise ConfigError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")


# ---- encode ------------------------------------------------------------------------------------


def encode_texts(
    engine: Any, encoder: Any, texts: Sequence[str], progress: Progress, *, model: str | None = None
) -> np.ndarray:
    """Vectors of ``texts``: cached ones read on the head, the rest encoded by ``engine`` in chunks
    of :data:`ENCODE_CHUNK` distinct texts and written to the cache as they arrive.

    ``encoder`` is the head's encoder (an :class:`embeddings.cache.CachedEncoder` brings the cache);
    ``model`` names it when it is a named model (see :meth:`Engine.encode_chunks`).
    """
    from embeddings.cache import CachedEncoder, text_key

    n = len(texts)
    cache = encoder.cache if isinstance(encoder, CachedEncoder) else None
    inner = encoder.inner if isinstance(encoder, CachedEncoder) else encoder
    dim = int(getattr(encoder, "dim", 1))
    if cache is not None:
        keys = [text_key(MATCHING_KIND, t) for t in texts]
        found, out = cache.get_many(keys)
    else:
        found, out = np.zeros(n, dtype=bool), np.zeros((n, dim), dtype=np.float32)
    progress.advance(int(found.sum()))
    first: dict[str, int] = {}
    missing = np.flatnonzero(~found)
    # each missing row's distinct text, numbered in order of first appearance
    slot = np.fromiter(
        (first.setdefault(texts[i], len(first)) for i in missing.tolist()), np.int64, missing.size
    )
    todo = list(first)
    del first
    if not todo:
        return out
    # rows grouped by their text's number, so each chunk's vectors go straight to their rows
    by_slot = np.argsort(slot, kind="stable")
    missing, slot = missing[by_slot], slot[by_slot]
    chunks = [todo[s : s + ENCODE_CHUNK] for s in range(0, len(todo), ENCODE_CHUNK)]
    del todo
    for c, v in engine.encode_chunks(chunks, inner, model):
        start = c * ENCODE_CHUNK
        lo, hi = np.searchsorted(slot, [start, start + len(chunks[c])])
        out[missing[lo:hi]] = v[slot[lo:hi] - start]
        if cache is not None:
            cache.put_many([text_key(MATCHING_KIND, t) for t in chunks[c]], v)
        if isinstance(encoder, CachedEncoder):
            encoder.encoded_count += len(chunks[c])
        progress.advance(len(chunks[c]))
    return out


# ---- retrieve and score -----------------------------------------------------------------------


def retrieve_and_score(
    engine: Any,
    ctx: MatchContext,
    worker_vecs: np.ndarray,
    job_vecs: np.ndarray,
    sides: TextSides,
    occupations: OccupationSides,
    scoring: ScoringConfig,
    k: int,
    index_kind: str,
    progress: Progress,
    on_regions: Callable[[int], None] | None = None,
    keep: Callable[[Edges], Edges] | None = None,
) -> Edges:
    """Top-k scored candidates of every worker, region by region, block by block, ordered by
    (worker, job).

    ``keep`` (edges → the edges to keep, a subset in the same order) is applied to each block's
    edges as they arrive, so the edges a run drops are never all held at once.
    """
    regs = regions(ctx)
    if on_regions is not None:
        on_regions(len(regs))
    jobs = [region_jobs(ctx, r, job_vecs, sides, occupations, index_kind) for r in regs]
    blocks = worker_blocks(ctx, regs, worker_vecs, sides, occupations)
    shared = shared_context(ctx, k, scoring, index_kind)
    parts: list[Edges | None] = [None] * len(blocks)
    for i, edges in engine.score_blocks(shared, jobs, blocks):
        parts[i] = edges if keep is None else keep(edges)
        del edges  # (on Ray, a view of the object store: let the store free it)
        progress.advance(blocks.size(i))
    del jobs
    done = [p for p in parts if p is not None]
    if len(done) != len(blocks):
        raise RuntimeError(f"{len(blocks) - len(done)} retrieval blocks returned nothing")
    del parts
    # workers in no region (no job anywhere they accept) have no candidates
    progress.advance(ctx.n_workers - sum(blocks.size(i) for i in range(len(blocks))))
    return sorted_edges(done)


__all__ = [
    "ENCODE_CHUNK",
    "ENGINES",
    "Engine",
    "LocalEngine",
    "encode_texts",
    "make_engine",
    "retrieve_and_score",
]
