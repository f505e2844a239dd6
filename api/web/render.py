"""Rendering console pages: the Jinja2 environment, the page context, and errors as pages.

:class:`WebRoute` is the route class of the console's router: an error raised while building a
page (an id outside the caller's scope, a wrong role, a bad form) becomes a page in the caller's
language with the right status, instead of the JSON body the API answers; no session sends the
browser to the sign-in page. The API's own routes are untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.errors import ApiError, status_of
from api.web.i18n import reason_text, translator
from api.web.session import PREFIX, BadForm, SignInRequired, WebUser, csrf_token, lang_of, services_of
from matcher.errors import InputError
from matcher.geo import place_name
from matcher.scoring.features import scrub

log = logging.getLogger("laborbridge.web")
HERE = Path(__file__).parent


def _num(value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):,.{digits}f}" if digits else f"{int(round(float(value))):,}"
    except (TypeError, ValueError):
        return str(value)


def _place(code: str | None) -> str:
    name = place_name(code)
    return f"{name}" if name and name != code else (code or "—")


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["num"] = _num
ENV.filters["place"] = _place
ENV.filters["nopii"] = lambda s: scrub(str(s)) if s else ""
ENV.filters["urlq"] = lambda s: quote(str(s), safe="")


def _qs(params: Any, **changes: Any) -> str:
    """A query string: ``params`` (the request's) with ``changes`` applied (``None`` drops a key)."""
    merged = {k: v for k, v in params.items()}
    for k, v in changes.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = str(v)
    return urlencode(merged)


ENV.globals["qs"] = _qs


def _field_zh(field: str | None) -> str:
    """A record field's Chinese column name (the import template's), e.g. ``id_number`` → 身份证号."""
    from matcher.ingest.headers import HEADER_ALIASES

    for columns in HEADER_ALIASES.values():
        if field in columns:
            return columns[field][0]
    return field or ""


ENV.globals["field_zh"] = _field_zh


def render(
    request: Request,
    template: str,
    user: WebUser | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` for ``user`` (``None`` on the sign-in page), in the caller's language."""
    lang = user.lang if user else lang_of(request)
    t = translator(lang)
    page = ENV.get_template(template).render(
        request=request,
        path=request.url.path,
        query=str(request.url.query),
        prefix=PREFIX,
        user=user,
        lang=lang,
        t=t,
        reason=lambda text: reason_text(str(text), lang),
        csrf=csrf_token(request, user.session) if user else "",
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    return response


def error_page(request: Request, exc: Exception) -> Response:
    """An error raised while building a console page, as a page."""
    if isinstance(exc, SignInRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target, safe='')}", status_code=303)
    user = getattr(request.state, "web_user", None)
    t = translator(user.lang if user else lang_of(request))
    if isinstance(exc, BadForm):
        status, message = 400, t("error.csrf")
    elif isinstance(exc, RequestValidationError):
        fields = ", ".join(str(e.get("loc", ("",))[-1]) for e in exc.errors())
        status, message = 400, t("error.400", detail=fields)
    else:
        status = status_of(exc)
        if status == 500:
            log.error("console page %s failed", request.url.path, exc_info=exc)
            message = t("error.500")
        elif status in (401, 403):
            message = t("error.403")
        elif status == 404:
            message = t("error.404")
            if user is not None:
                route = "console " + request.url.path
                services_of(request).audit.denied(
                    user.principal.key_id, request.method, route, request.path_params, str(exc)
                )
        elif status == 503:
            message = t("error.503")
        else:
            detail = exc.reason if isinstance(exc, InputError) else str(exc)
            message = t("error.400", detail=scrub(detail))
    response = render(request, "error.html", user, status_code=status, message=message, status=status)
    if isinstance(exc, ApiError) and exc.headers and status == 429:
        response.headers.update(exc.headers)
    return response


class WebRoute(APIRoute):
    """A console route: errors become pages (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except Exception as exc:  # noqa: BLE001 - every failure of a page is shown as a page
                return error_page(request, exc)

        return handler
