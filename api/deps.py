"""Dependencies of the routes, as ``Annotated`` aliases: the services, the caller, its scope, audit.

Every route but ``/health`` depends on :data:`Caller` (or a role-restricted alias of it), which
reads the key (Bearer header or ``X-API-Key`` header; failed attempts are counted per client
address) or else the console's session cookie (:mod:`api.sessions`), resolves it, and takes one
token from the key's rate bucket. The three ways in are declared as OpenAPI security schemes, so
``/docs`` has an *Authorize* button.

The dependencies are ``async``: they do no blocking work but a store read when a key or a
district's pairings are not cached yet (once per key every few seconds), and a sync dependency
would cost each request a hop through the thread pool, which under 32 concurrent requests costs
more than the work itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth import ADMINS, OFFICE, READERS, WRITERS, Principal, Role, Scope, credentials
from api.auth import SESSION_COOKIE as _COOKIE
from api.errors import Forbidden, RateLimited, Unauthorized
from api.services import Services

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: KEY")
_cookie = APIKeyCookie(name=_COOKIE, auto_error=False, description="The web console's session cookie")


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, the one uvicorn read from ``X-Forwarded-For``)."""
    return request.client.host if request.client else "unknown"


async def authenticate(
    request: Request,
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
    cookie: Annotated[str | None, Security(_cookie)],
) -> Principal:
    """The caller's :class:`Principal`: 401 without a valid key or session, 429 past the key's rate
    or past the failed key attempts of the client's address.

    Kept on ``request.state.principal`` for the error handler (a 404 is audited).
    """
    auth = f"Bearer {bearer.credentials}" if bearer is not None else None
    key = credentials(auth, header)
    if key is not None:
        principal = services.keys.attempt(key, client_address(request))
        if principal is None:
            raise Unauthorized("invalid, revoked or expired API key")
    elif cookie and cookie.strip():
        principal = services.sessions.resolve(cookie.strip())
        if principal is None:
            raise Unauthorized("the console session has ended (signed out, expired or its key revoked)")
    else:
        raise Unauthorized("missing API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
    wait = services.limiter.take(principal.key_id)
    if wait > 0:
        raise RateLimited.after("too many requests for this key; slow down", wait)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(authenticate)]


def require(roles: Iterable[Role]) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only ``roles`` through (403 for the others)."""
    allowed = frozenset(roles)

    async def check(principal: Caller) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not use this route")
        return principal

    return check


Reader = Annotated[Principal, Depends(require(READERS))]
Office = Annotated[Principal, Depends(require(OFFICE))]
"""Roles that see workers: city_admin, district_officer, auditor."""
Editor = Annotated[Principal, Depends(require(WRITERS | {Role.enterprise}))]
"""Roles that may edit records in their scope (not the auditor)."""
Writer = Annotated[Principal, Depends(require(WRITERS))]
Admin = Annotated[Principal, Depends(require(ADMINS))]
Overseer = Annotated[Principal, Depends(require({Role.city_admin, Role.auditor}))]


async def get_scope(principal: Caller, services: ServicesDep) -> Scope:
    return services.scope(principal)


ScopeDep = Annotated[Scope, Depends(get_scope)]


class Auditor:
    """Writes the audit rows of one request (key, method, route template, worker)."""

    def __init__(self, services: Services, principal: Principal, method: str, route: str) -> None:
        self._log = services.audit
        self._key = principal.key_id
        self._method = method
        self._route = route

    def __call__(self, worker_ids: Iterable[str | None] = (None,), detail: str = "") -> None:
        self._log.record(self._key, self._method, self._route, worker_ids, detail)


async def get_auditor(request: Request, principal: Caller, services: ServicesDep) -> Auditor:
    route = getattr(request.scope.get("route"), "path", request.url.path)
    return Auditor(services, principal, request.method, route)


AuditDep = Annotated[Auditor, Depends(get_auditor)]
