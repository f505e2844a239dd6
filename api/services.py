"""What the service holds for its lifetime: the store, the keys, the audit log, the fitted recommender.

:func:`build_services` opens the store (migrating it) and :meth:`Services.start` fits the
:class:`~matcher.recommend.recommender.Recommender` on the stored records once, at start-up. A stored worker's
vector is computed then and kept, so recommending for a known worker encodes nothing.

The fit remembers the store's generation (the newest import batch). While the store still has that
generation, a known worker's answer comes from memory alone: record, scope and vector (no store
read; the generation is re-read at most every ``api_fresh_s`` for the whole process). After an
import or an edit, through this service or by another process, the recommender is refitted in the
background (the embedding cache makes that cheap: only changed texts are encoded) and swapped in
whole. Until then each answer reads the worker's stored record and, where it differs from the fitted
one (or the worker is new), answers it as an ad-hoc profile. So an answer never uses stale data of
the worker itself, but for a write by another process in the last ``api_fresh_s``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, overload

from sqlalchemy import Engine, text

from api.audit import AuditLog
from api.auth import KeyStore, Principal, RateLimiter, Role, Scope, scope_of
from api.errors import NotReady
from api.sessions import SessionStore
from api.settings import Settings
from matcher.ingest.admin_codes import AdminCodes, load_admin_codes
from matcher.records import Enterprise, Job, Worker

if TYPE_CHECKING:
    from api.downloads import Download
    from api.placements import PlacementRunner
    from embeddings.cache import CachedEncoder
    from embeddings.encoder import Encoder
    from embeddings.process import ProcessEncoder, ProcessPool
    from matcher.dataset import Dataset
    from matcher.ingest.report import ImportReport
    from matcher.recommend.recommender import Recommender
    from matcher.recommend.results import JobCandidates, Recommendation
    from matcher.scoring.factors import ScoringConfig

log = logging.getLogger("laborbridge.api")
SWITCH_INTERVAL_S = 0.001


class RecommenderHolder:
    """The current fitted recommender, refitted in the background and swapped atomically."""

    def __init__(
        self,
        engine: Engine,
        encoder: Encoder,
        year: int,
        config_path: str | None = None,
        profile_encoder: Encoder | None = None,
        csco_path: str | None = None,
    ) -> None:
        self.engine = engine
        self.encoder = encoder
        self.profile_encoder = profile_encoder if profile_encoder is not None else encoder
        self.year = year
        self.config_path = config_path
        self.csco_path = csco_path
        # (recommender, store generation), swapped whole
        self._fit: tuple[Recommender | None, int | None] = (None, None)
        self.fitted_at: dt.datetime | None = None
        self.fits = 0  # fits swapped in so far
        self.error: str | None = None
        self._lock = threading.Lock()
        self._wanted = False
        self._running = False
        self._thread: threading.Thread | None = None

    def fit(self) -> None:
        """Fit on the store's records now (blocking) and swap the result in."""
        from matcher.recommend.recommender import Recommender
        from matcher.store import dataset_from_engine, store_generation

        try:
            # The generation first: a write during the read makes the fit look older, never newer.
            generation = store_generation(self.engine)
            ds = dataset_from_engine(self.engine)
            rec = Recommender(*_scoring(self.config_path), year=self.year, csco_path=self.csco_path).fit(
                ds, self.encoder
            )
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("fitting the recommender failed")
            raise
        with self._lock:
            self._fit = (rec, generation)
            self.fitted_at = dt.datetime.now(dt.UTC)
            self.error = None
            self.fits += 1
        _settle_heap()
        log.info("recommender fitted: %d workers, %d jobs", len(ds.workers), len(ds.jobs))

    @property
    def current(self) -> Recommender | None:
        """The fitted recommender, or ``None`` before the first fit."""
        return self._fit[0]

    @current.setter
    def current(self, rec: Recommender | None) -> None:
        # tests swap it; a recommender set by hand has no generation
        self._fit = (rec, None)

    def fitted_on(self, generation: int) -> Recommender | None:
        """The fitted recommender if it was fitted on store ``generation``, else ``None``."""
        rec, fitted = self._fit
        return rec if fitted is not None and fitted == generation else None

    @property
    def refreshing(self) -> bool:
        return self._running

    def changed(self) -> None:
        """Records changed: refit in the background (one refit at a time; changes during a refit
        cause one more)."""
        with self._lock:
            self._wanted = True
            if self._running:
                return
            self._running = True
            self._thread = threading.Thread(target=self._refit_loop, name="recommender-refit", daemon=True)
        self._thread.start()

    def _refit_loop(self) -> None:
        while True:
            with self._lock:
                if not self._wanted:
                    self._running = False
                    return
                self._wanted = False
            try:
                self.fit()
            except Exception:  # noqa: BLE001 - logged in fit(); the previous fit keeps serving
                pass

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for a background refit to end (tests, shutdown)."""
        t = self._thread
        if t is not None:
            t.join(timeout)

    def get(self) -> Recommender:
        """The fitted recommender; :class:`NotReady` before the first fit."""
        rec = self.current
        if rec is None:
            raise NotReady(
                "the recommender is not ready yet; retry shortly" + (f" ({self.error})" if self.error else "")
            )
        return rec

    def recommend(self, worker: Worker, k: int) -> Recommendation:
        """Top-``k`` jobs for a stored worker: its fitted vector when current, else as a profile."""
        rec = self.get()
        if rec.dataset_.worker_by_id.get(worker.worker_id) == worker:
            return rec.recommend_one(worker.worker_id, k=k)  # fitted vector: no encoding
        return rec.recommend_one(worker, k=k)


@dataclass
class Services:
    """Everything a request may need, built once per app."""

    settings: Settings
    engine: Engine
    db_url: str
    key: bytes
    keys: KeyStore
    sessions: SessionStore
    limiter: RateLimiter
    audit: AuditLog
    recommender: RecommenderHolder
    admin: AdminCodes
    placements: PlacementRunner | None = None  # set by the app (api.app): see runner
    model_process: ProcessEncoder | ProcessPool | None = None  # running the model, if any (closed here)
    _counties: dict[str, frozenset[str]] = field(default_factory=dict)
    _generation: tuple[float, int] = (-math.inf, -1)  # (monotonic time read, store generation)
    _refit_for: int = -1

    @property
    def runner(self) -> PlacementRunner:
        """The placement runs of this service (:class:`~api.placements.PlacementRunner`)."""
        if self.placements is None:
            raise NotReady("placement runs are not available: the service has not started")
        return self.placements

    def start(self, *, background: bool = True) -> None:
        """Start the audit writer and fit the recommender (in a thread when ``background``)."""
        limit_compute_threads(self.settings.api_compute_threads)
        # A thread waiting for the interpreter lock behind a busy event loop gets it after at most
        # this long (default 5 ms): the audit writer and the threads that wait on the model
        # process take it back many times per call.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.audit.start()
        if background:
            self.recommender.changed()
        else:
            self.recommender.fit()

    def close(self) -> None:
        self.recommender.wait(timeout=5)
        if self.placements is not None:
            self.placements.close()
        self.audit.close()
        self.engine.dispose()
        if self.model_process is not None:
            self.model_process.close()

    def scope(self, principal: Principal) -> Scope:
        """The caller's scope; a district's paired counties are read once and kept until an import."""
        if principal.role is not Role.district_officer:
            return scope_of(principal)
        d = principal.district_code or ""
        counties = self._counties.get(d)
        if counties is None:
            from api.repo import paired_counties

            counties = self._counties[d] = paired_counties(self.engine, d)
        return scope_of(principal, counties)

    def records_changed(self) -> None:
        """An import or an edit wrote records: forget derived state and refit in the background."""
        from matcher.store import store_generation

        gen = store_generation(self.engine)
        self._generation = (time.monotonic(), gen)
        self._refit(gen)

    def _refit(self, generation: int) -> None:
        """Forget derived state and refit in the background, once for ``generation``."""
        self._refit_for = generation  # current_fit() need not start another for it
        self._counties.clear()
        self.recommender.changed()

    def store_generation(self) -> int:
        """The store's generation (:func:`~matcher.store.store_generation`), read at most once per
        ``api_fresh_s`` for all requests of this process; a write through this process re-reads it."""
        at, gen = self._generation
        now = time.monotonic()
        if now - at >= self.settings.api_fresh_s:
            from matcher.store import store_generation

            gen = store_generation(self.engine)
            self._generation = (now, gen)
        return gen

    def current_fit(self) -> Recommender | None:
        """The fitted recommender when it holds the store's current records, else ``None``.

        A store written by another process (``laborbridge import`` beside the service) is noticed
        here within ``api_fresh_s`` and starts a refit in the background.
        """
        gen = self.store_generation()
        rec = self.recommender.fitted_on(gen)
        if rec is None and self.recommender.current is not None and self._refit_for != gen:
            self._refit(gen)
        return rec

    def recommend(self, worker_id: str, k: int, scope: Scope) -> Recommendation:
        """Top-``k`` jobs for a stored worker the caller sees (no encoding when the fit is current).

        With a current fit the worker, its scope and its vector are all in memory: no store read
        (but for a district officer asking about a worker from outside its paired counties, which
        the recorded placements answer). Otherwise the stored record is read and compared.
        """
        known = self.recommend_known(worker_id, k, scope)
        return known if known is not None else self.recommend_stored(worker_id, k, scope)

    def recommend_stored(self, worker_id: str, k: int, scope: Scope) -> Recommendation:
        """:meth:`recommend` from the stored record (read, compared with the fitted one, maybe
        encoded): the way when the fit is not current. Blocking: call it from a worker thread."""
        from api.repo import get_worker

        return self.recommender.recommend(get_worker(self.engine, worker_id, scope), k)

    def recommend_known(self, worker_id: str, k: int, scope: Scope) -> Recommendation | None:
        """:meth:`recommend` from memory when the fit is current (well under a millisecond: the
        routes call it on the event loop), else ``None`` (the caller goes the slow way, in a thread)."""
        from api.repo import visible_worker

        rec = self.current_fit()
        if rec is None:
            return None
        return rec.recommend_one(visible_worker(self.engine, rec.dataset_, worker_id, scope).worker_id, k=k)

    async def recommend_profile(self, profile: dict[str, Any], k: int) -> Recommendation:
        """Top-``k`` jobs for an ad-hoc profile (encoded once).

        The model runs from a worker thread (in its own process, see :func:`build_services`), so
        the event loop goes on answering; the ranking, a few milliseconds of array work, runs on
        the event loop, where it does not wait for the interpreter lock behind busy requests.
        """
        from starlette.concurrency import run_in_threadpool

        rec = self.recommender.get()
        worker = Worker.model_validate(profile)
        vectors = await run_in_threadpool(rec.prepare_profiles, [worker], self.recommender.profile_encoder)
        return rec.recommend_one(worker, k=k, vector=vectors[0])

    def candidates(self, job_id: str, k: int, scope: Scope) -> JobCandidates:
        """The ``k`` best workers for a job the caller sees, each in a recruiter's view; a district
        officer's from the workers it sees (:attr:`~api.auth.Scope.candidates_in_scope`)."""
        from dataclasses import replace

        from api.repo import get_job, visible_worker_ids

        get_job(self.engine, job_id, scope)
        rec = self.recommender.get()
        if not scope.candidates_in_scope:
            return rec.candidates_for_job(job_id, k=k)
        want = k
        while True:  # ranked over every worker; widened until k of the caller's are in it, or all are
            found = rec.candidates_for_job(job_id, k=want)
            seen = visible_worker_ids(self.engine, [it.worker_id for it in found.items], scope)
            keep = [i for i, it in enumerate(found.items) if it.worker_id in seen][:k]
            if len(keep) == k or len(found.items) < want:
                break
            want *= 4
        return replace(
            found,
            items=tuple(found.items[i] for i in keep),
            workers=tuple(found.workers[i] for i in keep),
        )

    @overload
    def edit(
        self, kind: Literal["workers"], record_id: str, changes: dict[str, Any], scope: Scope, origin: str
    ) -> Worker: ...
    @overload
    def edit(
        self, kind: Literal["enterprises"], record_id: str, changes: dict[str, Any], scope: Scope, origin: str
    ) -> Enterprise: ...
    @overload
    def edit(
        self, kind: Literal["jobs"], record_id: str, changes: dict[str, Any], scope: Scope, origin: str
    ) -> Job: ...
    def edit(
        self, kind: str, record_id: str, changes: dict[str, Any], scope: Scope, origin: str
    ) -> Worker | Enterprise | Job:
        """Apply a validated partial record (PATCH) and refit in the background; the new record."""
        from api.repo import patch_record

        record, report = patch_record(
            self.engine, kind, record_id, changes, scope, key=self.key, admin=self.admin, origin=origin
        )
        if report.written:
            self.records_changed()
        return record

    def import_files(self, files: list[tuple[str, BinaryIO]], *, strict: bool = False) -> ImportReport:
        """Import uploaded CSV/XLSX/JSON files (``(file name, content)``); the import report.

        The file name tells the record type, as on the command line; reports name the uploaded
        file, never the temporary folder it was read from.
        """
        import tempfile

        from matcher.ingest import ingest, save_uploads
        from matcher.store import existing_enterprise_ids, import_ingested

        with tempfile.TemporaryDirectory(prefix="laborbridge-upload-") as tmp:
            paths = save_uploads(files, Path(tmp))
            result = ingest(
                paths, known_enterprises=existing_enterprise_ids(self.engine), admin=self.admin, columnar=True
            )
            report = import_ingested(self.engine, result, key=self.key, strict=strict)
            _strip_folder(report, tmp)
        if report.written:
            self.records_changed()
        return report

    def dataset(self) -> Dataset:
        """The stored records: the fitted recommender's copy when there is one, else read now."""
        rec = self.recommender.current
        if rec is not None:
            return rec.dataset_
        from matcher.store import dataset_from_engine

        return dataset_from_engine(self.engine)

    def run_list(
        self, run_id: str, which: str, scope: Scope, fmt: str, county: str | None = None
    ) -> Download:
        """A recorded run's list as a file to download (see :func:`api.downloads.run_export`)."""
        from api.downloads import run_export

        return run_export(self.engine, self.dataset(), run_id, which, scope, fmt=fmt, county=county)

    def report(self, year: int, scope: Scope, fmt: str) -> Download:
        """The programme report of ``year`` as a file (see :func:`api.downloads.report_export`)."""
        from api.downloads import report_export

        return report_export(self.engine, self.dataset(), year, scope, fmt=fmt)

    def report_figures(self, year: int, scope: Scope) -> dict[str, Any]:
        """The programme figures of ``year`` as ``scope`` sees them (the console's report page)."""
        from api.downloads import report_figures

        return report_figures(self.engine, self.dataset(), year, scope)

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False


def _settle_heap() -> None:
    """Keep the long-lived objects of a fit out of the cyclic garbage collector's way.

    A fit leaves millions of objects (records, lists, explanations) alive for the life of the
    process; every full collection would walk all of them, stalling each request in flight for
    a few hundred milliseconds. Collect once now (the previous fit's cycles go), then freeze what
    is left: frozen objects are still freed by reference counting, only never scanned again.
    """
    import gc

    gc.unfreeze()
    gc.collect()
    gc.freeze()


def limit_compute_threads(n: int) -> None:
    """Cap BLAS (numpy), FAISS (OpenMP) and torch threads for this process; 0 leaves them alone."""
    if n <= 0:
        return
    import faiss
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    faiss.omp_set_num_threads(n)
    if "torch" in sys.modules:  # a model is loaded: its batches run on n threads too
        sys.modules["torch"].set_num_threads(n)


def _strip_folder(report: ImportReport, folder: str) -> None:
    """Name files in a report as uploaded, without the temporary folder."""
    import dataclasses

    prefix = folder.rstrip("/") + "/"
    for err in report.rejected:
        if err.file:
            err.file = err.file.replace(prefix, "")
    report.files = [dataclasses.replace(f, file=f.file.replace(prefix, "")) for f in report.files]


def store_url_and_key(settings: Settings) -> tuple[str, bytes]:
    """The store URL and hashing key, as the CLI finds them (settings, else the data folder)."""
    url = settings.store_url()
    return url, settings.store_key(url)


POOL_SIZE = 48  # above the thread pool's 40 workers: a request never waits for a connection


def service_engine(engine: Engine) -> Engine:
    """``engine`` (migrated by :func:`open_engine`) with a connection pool sized for the service.

    SQLAlchemy's default (5 kept, 10 more opened and closed on demand) makes 32 concurrent requests
    queue for connections and re-open them, with SQLite's per-connection settings each time.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    from sqlalchemy import create_engine, event

    from matcher.store.engine import _sqlite_pragmas  # TODO: open_engine(url, pool_size=...) in matcher.store

    engine.dispose()
    sized = create_engine(engine.url, pool_size=POOL_SIZE, max_overflow=8, pool_timeout=30)
    event.listen(sized, "connect", _sqlite_pragmas)
    return sized


def _scoring(path: str | None) -> tuple[ScoringConfig, ...]:
    """``(ScoringConfig,)`` from the configured file, or ``()`` for the defaults."""
    if not path:
        return ()
    from matcher.scoring.factors import ScoringConfig

    return (ScoringConfig.from_file(path),)


def build_services(settings: Settings, *, encoder: Encoder | None = None) -> Services:
    """Open the store and build the services; ``encoder`` replaces the settings' model (tests)."""
    from embeddings.batching import BatchingEncoder
    from embeddings.cache import CachedEncoder
    from matcher.store import open_engine

    url, key = store_url_and_key(settings)
    engine = service_engine(open_engine(url))
    model_process: ProcessEncoder | ProcessPool | None = None
    if encoder is None:
        encoder, model_process = service_encoder(settings)
    else:
        from embeddings.process import ProcessEncoder, ProcessPool

        model_process = encoder if isinstance(encoder, ProcessEncoder | ProcessPool) else None
    parallel = len(getattr(model_process, "children", ())) or 1
    year = settings.api_year or dt.date.today().year
    services = Services(
        settings=settings,
        engine=engine,
        db_url=url,
        key=key,
        keys=KeyStore(
            engine,
            settings.api_key_cache_s,
            failures=RateLimiter(settings.api_key_failures_per_min / 60, settings.api_key_failure_burst),
        ),
        sessions=SessionStore(engine, settings.api_key_cache_s),
        limiter=RateLimiter(settings.api_rate_per_s, settings.api_rate_burst),
        audit=AuditLog(engine, settings.api_audit_flush_s),
        recommender=RecommenderHolder(
            engine,
            BatchingEncoder(encoder, parallel=parallel),
            year,
            settings.scoring_config,
            # ad-hoc profiles skip the disk cache: one-off texts would only make it grow
            profile_encoder=BatchingEncoder(encoder.inner, parallel=parallel)
            if isinstance(encoder, CachedEncoder)
            else None,
            csco_path=settings.csco_path,
        ),
        admin=load_admin_codes(),
        model_process=model_process,
    )
    return services


def service_encoder(settings: Settings) -> tuple[CachedEncoder, ProcessPool | None]:
    """The service's encoder, behind the embedding cache, and the process that runs the model
    (``None`` when ``api_encoder_process`` is off: the model then runs in this process)."""
    import functools

    from embeddings.cache import CachedEncoder
    from embeddings.encoder import load_encoder

    if not settings.api_encoder_process:
        inner = load_encoder(settings.model)
        return CachedEncoder(inner, settings.cache_dir), None
    from embeddings.process import ProcessPool

    pool = ProcessPool(
        functools.partial(load_encoder, settings.model),
        processes=max(1, settings.api_encoder_processes),
        threads=max(0, settings.api_compute_threads),
        nice=max(0, settings.api_encoder_nice),
    )
    return CachedEncoder(pool, settings.cache_dir), pool
