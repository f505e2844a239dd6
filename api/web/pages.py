"""The console's pages: sign-in, dashboard, import, workers, jobs and enterprises, runs, reports.

Each page resolves the caller from the session cookie (:func:`api.web.session.current_user`),
checks the role the matching API route requires, reads through the caller's scope and renders one
template. Pages that change something are forms posted with the session's token, answered with a
redirect (post/redirect/get). Reads of a worker are written to the audit log, as over the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from api import downloads, repo
from api.auth import SESSION_COOKIE, Role
from api.deps import client_address
from api.errors import NotReady
from api.placements import shadow_prices
from api.web import queries
from api.web.i18n import LANG_COOKIE, pick_lang
from api.web.render import HERE, WebRoute, render
from api.web.session import (
    PREFIX,
    WebUser,
    check_form,
    clear_session,
    current_user,
    require_role,
    safe_next,
    services_of,
    set_session,
)
from api.web.staging import Staging
from matcher.errors import InputError, NotFoundError

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
OFFICE = (Role.city_admin, Role.district_officer, Role.auditor)
STATIC = {p.name: p for p in (HERE / "static").iterdir() if p.is_file()}
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
RECS_K = 10
CANDIDATES_K = 20

Page = Annotated[str | None, Query(max_length=12)]
SortQ = Annotated[str | None, Query(max_length=40)]


def staging_of(request: Request) -> Staging:
    app = request.app
    if not hasattr(app.state, "web_staging"):
        app.state.web_staging = Staging()
    return app.state.web_staging


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _audit(request: Request, user: WebUser, worker_ids: list[str | None], detail: str = "") -> None:
    """Rows for the workers a page or a download shows (one row without a worker if none: every
    download is audited, whatever it holds)."""
    services_of(request).audit.record(
        user.principal.key_id, request.method, "console " + request.url.path, worker_ids or [None], detail
    )


# ----------------------------------------------------------------------------- sign-in, language, assets
@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC.get(name)
    if path is None:
        raise NotFoundError(f"no asset {name}")
    media = STATIC_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/sign-in")
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return render(request, "sign_in.html", next=safe_next(next), failed=False)


@router.post("/sign-in")
def sign_in(
    request: Request,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the key (failures count against the client's address) and start a session for it;
    a session the browser still held ends."""
    check_form(request, None, None)
    key = key.strip()
    services = services_of(request)
    principal = services.keys.attempt(key, client_address(request)) if key else None
    if principal is None:
        return render(request, "sign_in.html", status_code=401, next=safe_next(next), failed=True)
    if previous := (request.cookies.get(SESSION_COOKIE) or "").strip():
        services.sessions.end(previous)
    response = _redirect(safe_next(next))
    set_session(request, response, services.sessions.start(principal))
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    """End the session in the store (its cookie, even a copy, stops working) and drop the cookie."""
    user = current_user(request)
    check_form(request, user, csrf)
    services_of(request).sessions.end(user.session)
    response = _redirect(f"{PREFIX}/sign-in?bye=1")
    clear_session(request, response)
    return response


@router.get("/lang/{code}")
def set_lang(code: str, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    response = _redirect(safe_next(next))
    response.set_cookie(LANG_COOKIE, pick_lang(code), max_age=365 * 86400, path="/", samesite="lax")
    return response


# ----------------------------------------------------------------------------- dashboard
@router.get("/")
def dashboard(request: Request) -> Response:
    user = current_user(request)
    if user.role is Role.enterprise:
        return _redirect(f"{PREFIX}/enterprises/{user.principal.enterprise_id}")
    services = services_of(request)
    progress = queries.programme_progress(services.engine, user.scope, services.recommender.year)
    label = lambda d: d.name  # noqa: E731
    charts = {
        "jobs": queries.bars(progress.districts, lambda d: d.jobs, queries.JOBS_TARGET, label),
        "placed": queries.bars(progress.districts, lambda d: d.placed, None, label),
        "fairs": queries.bars(progress.districts, lambda d: d.fairs, None, label),
    }
    return render(
        request,
        "dashboard.html",
        user,
        nav="dashboard",
        progress=progress,
        charts=charts,
        jobs_target=queries.JOBS_TARGET,
        fairs_target=queries.FAIRS_TARGET,
        ready=services.recommender.current is not None,
    )


# ----------------------------------------------------------------------------- import
@router.get("/import")
def import_page(request: Request, done: Page = None) -> Response:
    user = current_user(request)
    require_role(user, Role.city_admin)
    summary = None
    if done:
        got = request.query_params
        summary = {
            k: int(v) if (v := got.get(k, "0")).isdigit() else 0 for k in ("created", "updated", "unchanged")
        }
    return render(request, "import.html", user, nav="import", staged=None, summary=summary)


@router.post("/import")
def import_upload(
    request: Request,
    files: Annotated[list[UploadFile], File()],
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    user = current_user(request)
    require_role(user, Role.city_admin)
    check_form(request, user, csrf)
    uploads = [(f.filename or "", f.file) for f in files if f.filename]
    item = staging_of(request).stage(services_of(request), user.principal.key_id, uploads)
    return _redirect(f"{PREFIX}/import/{item.token}")


@router.get("/import/{token}")
def import_report(request: Request, token: str, page: Page = None, sort: SortQ = None) -> Response:
    user = current_user(request)
    require_role(user, Role.city_admin)
    item = staging_of(request).get(token, user.principal.key_id)
    if item is None:
        return render(request, "import.html", user, nav="import", staged=None, summary=None, expired=True)
    s = queries.Sort.parse(sort, ("file", "row", "field", "reason"), "file")
    rejected = queries.page_list(item.report["rejected"], s, queries.page_number(page), size=50)
    valid = sum(item.report["counts"].values())
    return render(
        request,
        "import.html",
        user,
        nav="import",
        staged=item,
        rejected=rejected,
        valid=valid,
        summary=None,
    )


@router.post("/import/{token}/confirm")
def import_confirm(request: Request, token: str, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    user = current_user(request)
    require_role(user, Role.city_admin)
    check_form(request, user, csrf)
    staging = staging_of(request)
    item = staging.get(token, user.principal.key_id)
    if item is None:
        return _redirect(f"{PREFIX}/import/{token}")
    report = staging.confirm(services_of(request), item)
    d = report.as_dict()
    counts = {k: sum((d.get(k) or {}).values()) for k in ("created", "updated", "unchanged")}
    query = "&".join(f"{k}={v}" for k, v in counts.items())
    return _redirect(f"{PREFIX}/import?done=1&{query}")


@router.post("/import/{token}/discard")
def import_discard(request: Request, token: str, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    user = current_user(request)
    require_role(user, Role.city_admin)
    check_form(request, user, csrf)
    if staging_of(request).get(token, user.principal.key_id) is not None:
        staging_of(request).discard(token)
    return _redirect(f"{PREFIX}/import")


# ----------------------------------------------------------------------------- workers
@router.get("/workers")
def workers(
    request: Request, q: Annotated[str, Query(max_length=64)] = "", page: Page = None, sort: SortQ = None
) -> Response:
    user = current_user(request)
    require_role(user, *OFFICE)
    s = queries.Sort.parse(sort, queries.WORKER_SORTS, "worker_id")
    found = queries.search_workers(services_of(request).engine, user.scope, q, s, queries.page_number(page))
    _audit(request, user, [r["worker_id"] for r in found.rows], detail=f"console search {len(found.rows)}")
    return render(request, "workers.html", user, nav="workers", found=found, q=q)


@router.get("/workers/{worker_id}")
def worker(request: Request, worker_id: str) -> Response:
    from api.schemas import WorkerOut

    user = current_user(request)
    require_role(user, *OFFICE)
    services = services_of(request)
    record = repo.get_worker(services.engine, worker_id[:64], user.scope)
    _audit(request, user, [record.worker_id])
    shown = WorkerOut.of(record)
    recs: dict[str, Any] | None = None
    try:
        recs = services.recommend(record.worker_id, RECS_K, user.scope).to_dict()
    except NotReady:
        recs = None
    history = queries.worker_history(services.engine, user.scope, record.worker_id)
    job_ids = [it["job_id"] for it in (recs or {}).get("items", [])] + [
        h["job_id"] for h in history if h["placed"]
    ]
    jobs = queries.names_of(services.engine, job_ids)
    return render(
        request,
        "worker.html",
        user,
        nav="workers",
        w=shown,
        recs=recs,
        jobs=jobs,
        factor_top=_factor_top(recs),
        history=history,
    )


# ----------------------------------------------------------------------------- enterprises and jobs
@router.get("/enterprises")
def enterprises(request: Request, page: Page = None, sort: SortQ = None) -> Response:
    user = current_user(request)
    s = queries.Sort.parse(sort, queries.ENTERPRISE_SORTS, "enterprise_id")
    found = queries.list_enterprises(services_of(request).engine, user.scope, s, queries.page_number(page))
    return render(request, "enterprises.html", user, nav="enterprises", found=found)


@router.get("/enterprises/{enterprise_id}")
def enterprise(request: Request, enterprise_id: str, page: Page = None, sort: SortQ = None) -> Response:
    user = current_user(request)
    engine = services_of(request).engine
    ent = repo.get_enterprise(engine, enterprise_id[:64], user.scope)
    s = queries.Sort.parse(sort, queries.JOB_SORTS, "job_id")
    found = queries.list_jobs(
        engine, user.scope, s, queries.page_number(page), enterprise_id=ent.enterprise_id
    )
    return render(request, "enterprise.html", user, nav="enterprises", e=ent, found=found)


@router.get("/jobs")
def jobs(request: Request, page: Page = None, sort: SortQ = None) -> Response:
    user = current_user(request)
    s = queries.Sort.parse(sort, queries.JOB_SORTS, "job_id")
    found = queries.list_jobs(services_of(request).engine, user.scope, s, queries.page_number(page))
    return render(request, "jobs.html", user, nav="jobs", found=found)


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str) -> Response:
    user = current_user(request)
    services = services_of(request)
    j = repo.get_job(services.engine, job_id[:64], user.scope)
    info = queries.names_of(services.engine, [j.job_id]).get(j.job_id, {})
    candidates: dict[str, Any] | None = None
    try:
        candidates = services.candidates(j.job_id, CANDIDATES_K, user.scope).to_dict()
    except NotReady:
        candidates = None
    if candidates:
        _audit(request, user, [it["worker_id"] for it in candidates["items"]], detail="console candidates")
    return render(
        request,
        "job.html",
        user,
        nav="jobs",
        j=j,
        info=info,
        candidates=candidates,
        factor_top=_factor_top(candidates),
    )


# ----------------------------------------------------------------------------- placement runs
@router.get("/runs")
def runs(request: Request) -> Response:
    from api.schemas import PlacementRequest

    user = current_user(request)
    services = services_of(request)
    items = services.runner.recent(50)
    return render(
        request,
        "runs.html",
        user,
        nav="runs",
        items=items,
        year=services.recommender.year,
        k=services.settings.k,
        min_fit=PlacementRequest.model_fields["min_fit"].default,
    )


@router.post("/runs")
def start_run(
    request: Request,
    k: Annotated[int, Form(ge=1, le=2000)] = 50,
    mode: Annotated[str, Form(pattern="^(score|count)$")] = "score",
    year: Annotated[int | None, Form(ge=2000, le=2100)] = None,
    rule_dorm: Annotated[bool, Form()] = False,
    rule_groups: Annotated[bool, Form()] = False,
    rule_priority: Annotated[bool, Form()] = False,
    include_employed: Annotated[bool, Form()] = False,
    min_fit: Annotated[float | None, Form(ge=0, lt=1)] = None,
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    from api.schemas import PlacementRequest

    user = current_user(request)
    require_role(user, Role.city_admin)
    check_form(request, user, csrf)
    params: dict[str, Any] = {"k": k, "mode": mode, "year": year, "include_employed": include_employed}
    if min_fit is not None:
        params["min_fit"] = min_fit
    params["rules"] = {
        "dorm_beds": rule_dorm,
        "groups": rule_groups,
        "priority": "lexicographic" if rule_priority else "none",
    }
    body = PlacementRequest.model_validate(params)
    state = services_of(request).runner.start(body.model_dump(exclude_none=True))
    return _redirect(f"{PREFIX}/runs/{state.run_id}")


@router.get("/runs/{run_id}")
def run(request: Request, run_id: str, after: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    user = current_user(request)
    services = services_of(request)
    status = services.runner.status_for(run_id[:64], user.scope)
    summary = status.get("summary") or {}
    reasons = sorted(
        ((r, n) for r, n in (summary.get("unplaced_reasons") or {}).items() if n), key=lambda kv: -kv[1]
    )
    assignments: list[dict[str, Any]] = []
    nxt = None
    if status["status"] == "succeeded":
        assignments, nxt = services.runner.assignments(status["id"], user.scope, after=after, limit=25)
        if user.sees_workers:
            _audit(request, user, [a["worker_id"] for a in assignments], detail="console run")
    jobs = queries.names_of(services.engine, sorted({a["job_id"] for a in assignments}))
    return render(
        request,
        "run.html",
        user,
        nav="runs",
        run=status,
        summary=summary,
        reasons=reasons,
        prices=shadow_prices(services.engine, summary),
        assignments=assignments,
        jobs=jobs,
        next_after=nxt,
        counties=downloads.supply_counties(services.engine, user.scope),
    )


@router.get("/runs/{run_id}/download/{what}")
def run_download(
    request: Request,
    run_id: str,
    what: str,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    """A run's list (:data:`api.downloads.RUN_LISTS`), the very file ``/placements/{id}/exports``
    gives the same key."""
    user = current_user(request)
    services = services_of(request)
    status = services.runner.status(run_id[:64])
    if status["status"] != "succeeded":
        raise InputError("the run has not finished yet")
    d = services.run_list(status["id"], what, user.scope, format, county=county)
    where = f" county {county}" if what == "supply" else ""
    _audit(request, user, list(d.worker_ids), detail=f"console download {what}{where} of run {status['id']}")
    return downloads.send(d)


# ----------------------------------------------------------------------------- reports
@router.get("/reports")
def reports(request: Request, year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    user = current_user(request)
    require_role(user, *OFFICE)
    services = services_of(request)
    year = year or services.recommender.year
    report = services.report_figures(year, user.scope)
    can_download = user.scope.city_wide
    return render(
        request, "reports.html", user, nav="reports", year=year, report=report, can_download=can_download
    )


@router.get("/reports/download")
def report_download(request: Request, year: Annotated[int, Query(ge=2000, le=2100)]) -> Response:
    user = current_user(request)
    require_role(user, *OFFICE)
    d = services_of(request).report(year, user.scope, "xlsx")
    _audit(request, user, [], detail=f"console download report {year}")
    return downloads.send(d)


@router.get("/template")
def template_download(request: Request) -> Response:
    user = current_user(request)
    d = downloads.import_template()
    _audit(request, user, [], detail="console download import template")
    return downloads.send(d)


def _factor_top(ranked: dict[str, Any] | None) -> float:
    """The largest factor contribution in a ranked list (the factor bars' full length; 1 if none)."""
    top = max((v for it in (ranked or {}).get("items", []) for v in it["factors"].values()), default=0.0)
    return top or 1.0
