"""The one place errors become HTTP responses.

Domain code raises :mod:`matcher.errors` (and ``embeddings``/``optimizer`` raise ``ValueError``
subclasses of their own); the API layer raises the :class:`ApiError` subclasses below for what
only HTTP knows (no key, wrong role, too many requests, too large a body, not ready yet). Every
error body is ``{"detail": "...", "errors": [...]?}``; an input error lists where it is (file, row,
field, value masked, reason). An unexpected exception is logged and answered with a bare 500 that
says nothing of the internals.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from embeddings.errors import EncoderProcessError
from matcher.errors import ConfigError, InputError, NotFoundError

log = logging.getLogger("laborbridge.api")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    # same-origin, not no-referrer: nothing goes to other sites (console URLs name workers and jobs),
    # but under no-referrer browsers send ``Origin: null`` on the console's own form posts, and the
    # console's cross-site Origin check (api.web.session) needs the real origin there.
    "referrer-policy": "same-origin",
}
"""Headers on every response: set by ``api.app.SecurityHeaders``, and by :func:`handle` on a 500."""


class ApiError(Exception):
    """An error only the HTTP layer knows; ``status`` is its HTTP status code."""

    status = 500
    headers: Mapping[str, str] | None = None
    field: str | None = None

    def __init__(
        self, detail: str, *, headers: Mapping[str, str] | None = None, field: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if headers:
            self.headers = headers
        self.field = field


class Unauthorized(ApiError):
    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(ApiError):
    status = 403


class PayloadTooLarge(ApiError, HTTPException):
    """A request body over the limit.

    Also an ``HTTPException`` so that FastAPI lets it through when it is raised while the body is
    read (a chunked body, counted as it arrives): FastAPI turns any other exception from there into
    a 400 "error parsing the body". Handled as an :class:`ApiError` all the same (first in the MRO).
    """

    status = 413

    def __init__(self, detail: str) -> None:
        ApiError.__init__(self, detail)
        self.status_code = self.status

    def __str__(self) -> str:
        return self.detail


class Unprocessable(ApiError):
    """Input refused as a whole, with every reason (file, row, field, value masked, reason)."""

    status = 422

    def __init__(self, detail: str, errors: list[dict]) -> None:
        super().__init__(detail)
        self.errors = errors


class RateLimited(ApiError):
    status = 429

    @classmethod
    def after(cls, detail: str, wait_s: float) -> RateLimited:
        """A 429 whose ``Retry-After`` is ``wait_s`` in whole seconds, at least 1."""
        return cls(detail, headers={"Retry-After": str(max(1, math.ceil(wait_s)))})


class NotReady(ApiError):
    status = 503


def _body(detail: str, errors: list[dict] | None = None) -> dict:
    return {"detail": detail, "errors": errors} if errors else {"detail": detail}


def status_of(exc: BaseException) -> int:
    """The HTTP status a handled exception maps to (500 for anything unknown)."""
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, EncoderProcessError):  # the model's process died; the next call restarts it
        return 503
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConfigError):
        return 400
    if isinstance(exc, ValueError):  # InputError, and embeddings/optimizer input errors
        return 422
    return 500


async def handle(request: Request, exc: Exception) -> JSONResponse:
    """Map a raised exception to its response (the one handler of the app)."""
    status = status_of(exc)
    headers = getattr(exc, "headers", None) if isinstance(exc, ApiError) else None
    if status == 500:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        # sent by Starlette's ServerErrorMiddleware, outside every middleware: add the headers here
        return JSONResponse(_body("internal error"), status_code=500, headers=SECURITY_HEADERS)
    if status == 404:
        _audit_denied(request, exc)
    errors = [exc.as_dict()] if isinstance(exc, InputError) else getattr(exc, "errors", None)
    if isinstance(exc, ApiError) and exc.field:
        errors = [{"field": exc.field, "reason": exc.detail}]
    return JSONResponse(_body(str(exc), errors), status_code=status, headers=headers)


def _audit_denied(request: Request, exc: Exception) -> None:
    """A known caller's 404 (an id outside its scope, or unknown: the same answer) is audited."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return
    route = getattr(request.scope.get("route"), "path", request.url.path)
    request.app.state.services.audit.denied(
        principal.key_id, request.method, route, request.path_params, str(exc)
    )


async def handle_validation(request: Request, exc: Exception) -> JSONResponse:
    """A request that fails its schema: 422 in the same shape as every other error.

    The offending input is left out on purpose: it may be a personal number in clear.
    """
    items = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()  # type: ignore[attr-defined]
    ][:50]
    first = items[0] if items else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return JSONResponse(_body(f"invalid request: {where}: {first['msg']}", items), status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers: request validation, then every error family the API maps."""
    from fastapi.exceptions import RequestValidationError

    from embeddings.errors import EmbeddingError
    from matcher.errors import LaborbridgeError
    from optimizer.errors import OptimizerError

    app.add_exception_handler(RequestValidationError, handle_validation)
    for family in (ApiError, LaborbridgeError, EmbeddingError, OptimizerError, ValueError, Exception):
        app.add_exception_handler(family, handle)
