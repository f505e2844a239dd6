"""Who is signed in to the console: the session cookie, the caller's role and scope, the form token.

Signing in checks an API key and starts a server-side session (:mod:`api.sessions`); the cookie
:data:`api.auth.SESSION_COOKIE` holds only the session's opaque id, which :mod:`api.deps` also
accepts, so the console's own pages and the JSON API its scripts call see the same caller, role
and district scope. Signing out ends the session in the store, so a copied cookie stops working
too; so does revoking the key, or its expiry. The cookie is HTTP-only and ``SameSite=Lax``, and
lives no longer than the session; it is ``Secure`` when the request came over https (behind a
proxy, run uvicorn with ``--proxy-headers``), or when the settings say so (``web_cookie_secure``).
On plain http at localhost a ``Secure`` cookie would never be sent back, so it is left off there
unless forced.

Every form that changes something carries a token tied to the session (:func:`csrf_token`),
checked on submit, and a cross-site ``Origin`` is refused: ``SameSite`` already keeps the cookie
off cross-site posts, the token covers older browsers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request, Response

from api.auth import SESSION_COOKIE, Principal, Role, Scope
from api.errors import Forbidden, RateLimited
from api.sessions import Session
from api.web.i18n import LANG_COOKIE, pick_lang

if TYPE_CHECKING:
    from api.services import Services

PREFIX = "/console"


class SignInRequired(Exception):
    """No valid session: the console sends the browser to the sign-in page."""


class BadForm(Exception):
    """A form without a valid token, or posted from another site."""


@dataclass(frozen=True)
class WebUser:
    """The signed-in caller of a console page."""

    principal: Principal
    scope: Scope
    session: str  # the session's id (the cookie's value)
    lang: str

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def is_admin(self) -> bool:
        return self.principal.role is Role.city_admin

    @property
    def sees_workers(self) -> bool:
        return self.scope.sees_workers


def services_of(request: Request) -> Services:
    return request.app.state.services


def lang_of(request: Request) -> str:
    return pick_lang(request.cookies.get(LANG_COOKIE))


def current_user(request: Request) -> WebUser:
    """The signed-in caller, or :class:`SignInRequired`; takes one token from the key's rate bucket."""
    cached = getattr(request.state, "web_user", None)
    if cached is not None:
        return cached
    sid = (request.cookies.get(SESSION_COOKIE) or "").strip()
    services = services_of(request)
    principal = services.sessions.resolve(sid) if sid else None
    if principal is None:
        raise SignInRequired()
    wait = services.limiter.take(principal.key_id)
    if wait > 0:
        raise RateLimited.after("too many requests for this key; slow down", wait)
    user = WebUser(principal, services.scope(principal), sid, lang_of(request))
    request.state.web_user = user
    return user


def require_role(user: WebUser, *roles: Role) -> None:
    if user.role not in roles:
        raise Forbidden(f"role {user.role.value} may not open this page")


def cookie_secure(request: Request) -> bool:
    """Whether the session cookie gets the ``Secure`` flag (see the module doc)."""
    forced = getattr(services_of(request).settings, "web_cookie_secure", None)
    if forced is not None:
        return bool(forced)
    return request.url.scheme == "https"


def set_session(request: Request, response: Response, session: Session) -> None:
    """Give the browser the session's id, in a cookie that lives as long as the session."""
    left = session.expires_at - services_of(request).sessions.now()
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=max(1, math.ceil(left.total_seconds())),
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request)
    )


def csrf_token(request: Request, session: str) -> str:
    """The form token of ``session``: an HMAC under the store's secret, never the session's id.

    In base64url, not hex: about one hex token in 550 holds an 18-digit or a 1[3-9]+9-digit run,
    which reads as an ID or phone number to the pages' personal-data checks (and to a data-loss
    scanner on the office network), and every sign-in is a new session with a new token. In
    base64url about one token in 700 million does.
    """
    secret = services_of(request).key
    digest = hmac.new(secret, b"console-form:" + session.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def check_form(request: Request, user: WebUser | None, token: str | None) -> None:
    """Refuse a cross-site post, and (when signed in) a post without the session's token."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1].rstrip("/") != host:
            raise BadForm("cross-site form")
    if user is not None and not hmac.compare_digest(token or "", csrf_token(request, user.session)):
        raise BadForm("missing or stale form token")


def safe_next(path: str | None) -> str:
    """A local console path to go to after signing in (never another site)."""
    if path and path.startswith(PREFIX) and not path.startswith("//") and "\\" not in path:
        return path
    return PREFIX + "/"
