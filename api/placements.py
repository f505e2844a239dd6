"""Batch placement runs started over HTTP: run in the background, recorded in the store.

``POST /placements`` queues a run and answers its id at once. One run goes at a time (a run uses
every core); the others wait in order. While a run is queued or running its status, stage and
progress live here; once done it is a recorded run in the store (:mod:`matcher.store.runs_repo`)
under the same id, so its status, summary and assignments outlive the process.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select

from api.auth import Role, Scope
from matcher.errors import NotFoundError
from matcher.placement.progress import Progress
from matcher.store.models import RunAssignmentRow

log = logging.getLogger("laborbridge.api")
MAX_QUEUED = 8
_ASG = RunAssignmentRow.__table__


@dataclass
class RunState:
    """A run started by this process: where it is, and how it ended."""

    run_id: str
    params: dict[str, Any]
    status: str = "queued"  # queued | running | succeeded | failed
    stage: str | None = None
    done: int = 0
    total: int | None = None
    stages_done: list[str] = field(default_factory=list)
    error: str | None = None
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None


class _Tracker(Progress):
    """Feeds :func:`matcher.placement.pipeline.run_placement`'s progress into a :class:`RunState`."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def start(self, stage: str, total: int | None = None) -> None:
        if self.state.stage:
            self.state.stages_done.append(self.state.stage)
        self.state.stage, self.state.done, self.state.total = stage, 0, total

    def advance(self, n: int = 1) -> None:
        self.state.done += n

    def finish(self) -> None:
        if self.state.total is not None:
            self.state.done = self.state.total


class PlacementRunner:
    """Queue and run placements on the store's records, one at a time."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="placement")
        self._runs: dict[str, RunState] = {}
        self._lock = threading.Lock()

    def start(self, params: dict[str, Any]) -> RunState:
        """Queue a run with ``params`` (k, year, mode); its state, with the id it will be recorded under."""
        from matcher.errors import ConfigError
        from matcher.runs.record import new_run_id

        with self._lock:
            waiting = sum(1 for s in self._runs.values() if s.status in ("queued", "running"))
            if waiting >= MAX_QUEUED:
                raise ConfigError(f"{waiting} runs are already queued or running; wait for them to finish")
            state = RunState(new_run_id(dt.datetime.now(dt.UTC)), dict(params))
            self._runs[state.run_id] = state
        self._pool.submit(self._run, state)
        return state

    def _run(self, state: RunState) -> None:
        from matcher.placement.options import PlaceRequest
        from matcher.placement.pipeline import run_placement
        from matcher.runs.record import build_record
        from matcher.store import dataset_from_engine
        from matcher.store.runs_repo import record_run

        s = self.services
        state.status = "running"
        tracker = _Tracker(state)
        try:
            tracker.start("load")
            ds = dataset_from_engine(s.engine)
            options = PlaceRequest.model_validate(state.params).options(
                year=s.recommender.year,
                k=s.settings.k,
                model=s.settings.model,
                cache_dir=s.settings.cache_dir,
                csco_path=s.settings.csco_path,
            )
            encoder = getattr(s.recommender.encoder, "inner", s.recommender.encoder)
            run = run_placement(ds, options, tracker, encoder=encoder)
            tracker.start("record")
            record = build_record(run)
            record.run_id = state.run_id  # the id the client was given
            record_run(s.engine, record)
            state.status = "succeeded"
        except Exception as exc:  # noqa: BLE001 - the client reads the failure from the run's status
            log.exception("placement run %s failed", state.run_id)
            state.status, state.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            if state.stage:
                state.stages_done.append(state.stage)
            state.stage = None
            state.finished_at = dt.datetime.now(dt.UTC)

    def status(self, run_id: str) -> dict[str, Any]:
        """Status, progress and (once recorded) the summary of run ``run_id``."""
        from matcher.store.runs_repo import get_run

        state = self._runs.get(run_id)
        row = None
        if state is None or state.status == "succeeded":
            try:
                row = get_run(self.services.engine, run_id) if _plain_id(run_id) else None
            except NotFoundError:
                row = None
            if row is None or row["run_id"] != run_id:
                if state is None:
                    raise NotFoundError(f"placement run {run_id} not found")
                row = None
        out: dict[str, Any] = {"id": run_id}
        if state is not None:
            out.update(
                status=state.status,
                stage=state.stage,
                stages_done=list(state.stages_done),
                progress={"done": state.done, "total": state.total},
                params=state.params,
                error=state.error,
                created_at=state.created_at.isoformat(),
                finished_at=state.finished_at.isoformat() if state.finished_at else None,
            )
        if row is not None:
            out.update(
                status="succeeded",
                stage=None,
                params=row["params"],
                created_at=_iso(row["created_at"]),
                summary=row["summary"],
            )
        return out

    def assignments(
        self, run_id: str, scope: Scope, *, after: str | None, limit: int
    ) -> tuple[list[dict], str | None]:
        """A page of a finished run's assignments within ``scope`` (see :func:`assignments_page`)."""
        from matcher.errors import ConfigError

        status = self.status(run_id)
        if status["status"] != "succeeded":
            raise ConfigError(
                f"placement run {run_id} is {status['status']}; assignments come when it succeeds"
            )
        return assignments_page(self.services.engine, run_id, scope, after=after, limit=limit)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Runs started here and not yet recorded, then the newest recorded runs."""
        from matcher.store.runs_repo import list_runs

        live = [self.status(s.run_id) for s in self._runs.values() if s.status != "succeeded"]
        stored = [
            {
                "id": r["run_id"],
                "status": "succeeded",
                "params": r["params"],
                "created_at": _iso(r["created_at"]),
            }
            for r in list_runs(self.services.engine, limit)
        ]
        return (live[::-1] + stored)[:limit]

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for every queued run to end (tests)."""
        self._pool.submit(lambda: None).result(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _plain_id(run_id: str) -> bool:
    # ``latest`` and prefixes are CLI conveniences; over HTTP an id is the whole id.
    return bool(run_id) and not run_id.startswith("latest")


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else (str(value) if value else None)


def assignments_page(
    engine: Any, run_id: str, scope: Scope, *, after: str | None, limit: int
) -> tuple[list[dict], str | None]:
    """One page of run ``run_id``'s assignments that ``scope`` sees, by worker id.

    A district officer sees the workers of its paired counties and the placements into its
    district; an enterprise the placements into its own jobs.
    """
    cond: list[Any] = [_ASG.c.run_id == run_id]
    if scope.role is Role.enterprise:
        cond.append(_ASG.c.enterprise_id == (scope.enterprise or ""))
    elif scope.role is Role.district_officer:
        cond.append(
            or_(
                _ASG.c.home_county_code.in_(sorted(scope.counties or ())),
                _ASG.c.location_code == (scope.district or ""),
            )
        )
    if after is not None:
        cond.append(_ASG.c.worker_id > after)
    q = select(_ASG).where(and_(*cond)).order_by(_ASG.c.worker_id).limit(limit + 1)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    nxt = rows[limit - 1]["worker_id"] if len(rows) > limit else None
    return rows[:limit], nxt
