"""The FastAPI application: ``create_app(settings)``; ``laborbridge serve`` runs it with uvicorn.

Start-up (the lifespan) opens and migrates the store, starts the audit writer and fits the
recommender once (model, vectors, index); shutdown writes the pending audit rows and closes the
store. Routes live in :mod:`api.routes`, one module per resource, each a thin shell over one
domain call; errors are mapped to HTTP in :mod:`api.errors`. OpenAPI is at ``/openapi.json``, the
interactive docs at ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from api import errors
from api.routes import ROUTERS
from api.schemas import ErrorOut
from api.services import build_services
from api.settings import Settings, get_settings
from api.web import mount as mount_console

if TYPE_CHECKING:
    from embeddings.encoder import Encoder

DESCRIPTION = """Job matching and optimal placement for labour-cooperation programmes.

Authenticate with an API key (`laborbridge keys create --role ROLE`): `Authorization: Bearer KEY`
or `X-API-Key: KEY`. Personal data in responses is always masked; every read of a worker's data
is written to the audit log."""


def create_app(
    settings: Settings | None = None, *, encoder: Encoder | None = None, fit_in_background: bool = True
) -> FastAPI:
    """The application over the store of ``settings``.

    ``encoder`` replaces the settings' embedding model (tests pass a fake one); with
    ``fit_in_background`` the recommender is fitted in a thread after start-up and ``/ready`` says
    when it is done, else start-up waits for it.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, encoder=encoder)
        from api.placements import PlacementRunner

        services.placements = PlacementRunner(services)
        app.state.services = services
        services.start(background=fit_in_background)
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="laborbridge",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        responses={
            401: {"model": ErrorOut, "description": "No valid API key"},
            422: {"model": ErrorOut, "description": "Invalid request or record"},
            429: {"model": ErrorOut, "description": "Too many requests for this key"},
        },
    )
    errors.install(app)
    app.add_middleware(BodyLimit, upload_max=settings.api_upload_max_bytes)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so BodyLimit's 413 carries them too
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app)  # the web console: /console (and / → there); see api/web
    return app


class SecurityHeaders:
    """Every HTTP response, API and console alike, carries :data:`api.errors.SECURITY_HEADERS`.

    (Bar the bare 500, which Starlette sends from outside every middleware: :func:`api.errors.handle`
    adds them to it itself.) The console's pages add their own page-only ones (CSP, frame options)
    in :mod:`api.web.render`.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                present = {name.lower() for name, _ in headers}
                headers += [
                    (n.encode(), v.encode())
                    for n, v in errors.SECURITY_HEADERS.items()
                    if n.encode() not in present
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


JSON_MAX_BYTES = 1024 * 1024
UPLOAD_PATHS = frozenset({"/imports"})


class BodyLimit:
    """Refuse request bodies above the limit (413): uploads up to ``upload_max``, others 1 MiB.

    A declared ``Content-Length`` over the limit is refused before anything is read; a body sent
    without one is counted as it arrives.
    """

    def __init__(self, app: Any, upload_max: int) -> None:
        self.app = app
        self.upload_max = upload_max

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_max if scope["path"] in UPLOAD_PATHS else JSON_MAX_BYTES
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            from fastapi.responses import JSONResponse

            body = {"detail": f"request body over the limit of {limit:,} bytes"}
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise errors.PayloadTooLarge(f"request body over the limit of {limit:,} bytes")
            return message

        await self.app(scope, counted, send)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("laborbridge")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"
