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
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from api.auth import Role, Scope
from matcher.errors import NotFoundError
from matcher.placement.progress import Progress
from matcher.store.models import RunAssignmentRow

if TYPE_CHECKING:
    from api.services import Services

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

    def __init__(self, services: Services) -> None:
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
                # the configured year, else the data's own, else the recommender's (this year)
                year=s.settings.api_year or ds.data_year() or s.recommender.year,
                k=s.settings.k,
                k_auto="k" not in s.settings.model_fields_set,
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

    def status_for(self, run_id: str, scope: Scope) -> dict[str, Any]:
        """:meth:`status` as ``scope`` may read it: the summary through :func:`run_summary`."""
        out = self.status(run_id)
        if "summary" in out:
            out["summary"] = run_summary(self.services.engine, run_id, out["summary"], scope)
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
    """One page of run ``run_id``'s assignments that ``scope`` sees (:func:`api.repo.assignment_filter`),
    by worker id."""
    from api.repo import assignment_filter

    cond: list[Any] = [_ASG.c.run_id == run_id, assignment_filter(scope)]
    if after is not None:
        cond.append(_ASG.c.worker_id > after)
    q = select(_ASG).where(and_(*cond)).order_by(_ASG.c.worker_id).limit(limit + 1)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    nxt = rows[limit - 1]["worker_id"] if len(rows) > limit else None
    return rows[:limit], nxt


# ----------------------------------------------------------------------------- a run's summary, scoped
RUN_PARAMS = (
    "year",
    "mode",
    "k",
    "min_fit",
    "include_employed",
    "rules",
    "status",
    "solver",
    "model",
)
"""What an enterprise reads of a run's summary, besides its own figures."""


def run_summary(
    engine: Any, run_id: str, summary: dict[str, Any] | None, scope: Scope
) -> dict[str, Any] | None:
    """A run's summary as ``scope`` may read it.

    The city administrator and the auditor read it whole. Every other caller gets the entries
    that name jobs (``shadow_prices``, ``job_codes_predicted``) for the jobs it sees only; an
    enterprise, which sees no city-wide figure, gets the run's parameters and its own figures
    (``n_placed``: the placements into its jobs) instead of the city's.
    """
    if summary is None or scope.city_wide:
        return summary
    from api.repo import assignment_filter, visible_job_ids

    prices = _price_items(summary.get("shadow_prices"))
    predicted = summary.get("job_codes_predicted") or {}
    mine = visible_job_ids(engine, sorted({p["job_id"] for p in prices} | set(predicted)), scope)
    out = (
        dict(summary)
        if scope.role is not Role.enterprise
        else {k: summary[k] for k in RUN_PARAMS if k in summary}
    )
    if "shadow_prices" in summary:
        out["shadow_prices"] = [p for p in prices if p["job_id"] in mine]
    if "job_codes_predicted" in summary:
        out["job_codes_predicted"] = {j: v for j, v in predicted.items() if j in mine}
    if scope.role is Role.enterprise:
        q = select(func.count()).select_from(_ASG).where(_ASG.c.run_id == run_id, assignment_filter(scope))
        with engine.connect() as conn:
            out["n_placed"] = int(conn.execute(q).scalar() or 0)
    return out


def _price_items(raw: Any) -> list[dict[str, Any]]:
    """Shadow prices as ``[{job_id, price}]``, from a list of those or a mapping job id → price."""
    if isinstance(raw, dict):
        raw = raw.get("jobs", raw)
    if isinstance(raw, dict):
        return [{"job_id": str(k), "price": float(v)} for k, v in raw.items()]
    return [dict(r) for r in raw or () if isinstance(r, dict) and "job_id" in r]


def shadow_prices(engine: Any, summary: dict[str, Any] | None, top: int = 10) -> list[dict[str, Any]]:
    """The jobs where one more opening would raise the objective most, with title, enterprise and
    place, from a summary already scoped by :func:`run_summary`."""
    from matcher.store.models import EnterpriseRow, JobRow

    items = sorted(
        _price_items((summary or {}).get("shadow_prices")), key=lambda r: -float(r.get("price", 0))
    )
    items = [it for it in items if float(it.get("price", 0.0)) > 0][:top]
    if not items:
        return []
    job, ent = JobRow.__table__, EnterpriseRow.__table__
    q = (
        select(
            job.c.job_id,
            job.c.title,
            ent.c.name.label("enterprise"),
            func.coalesce(job.c.location_code, ent.c.location_code).label("location"),
        )
        .select_from(job.join(ent, job.c.enterprise_id == ent.c.enterprise_id))
        .where(job.c.job_id.in_([it["job_id"] for it in items]))
    )
    with engine.connect() as conn:
        found = {r["job_id"]: dict(r) for r in conn.execute(q).mappings()}
    return [{**it, **found[it["job_id"]]} for it in items if it["job_id"] in found]
