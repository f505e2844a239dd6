"""The web console for district offices, served by the API's own app under ``/console`` (``/`` leads there).

Server-rendered Jinja2 pages in Chinese with an English toggle, a little script for live
progress, and every asset served by the app itself (no CDN), so it works offline. The caller is
the key of the server-side session the cookie names (:mod:`api.sessions`); roles and district
scoping are the API's.

Modules::

    session    session cookie, current user, form tokens
    render     Jinja2 environment, pages, errors as pages (WebRoute)
    pages      the routes
    queries    what the pages read (sorted, paged, scoped)
    staging    uploads checked before they are imported
    i18n       the words, zh and en

Its files (run lists, 岗位供给清单 per county, the report, the import template) are the API's own,
from :mod:`api.downloads`, through the same scope filter.

Mount with :func:`mount` (``create_app`` does).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from api.web.pages import router
from api.web.session import PREFIX
from api.web.staging import Staging

root = APIRouter(include_in_schema=False)


@root.get("/")
def index() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/", status_code=307)


def mount(app: FastAPI) -> None:
    """Add the console's routes (and ``/`` → the console) to ``app``."""
    app.state.web_staging = Staging()
    app.include_router(router)
    app.include_router(root)


__all__ = ["PREFIX", "mount", "root", "router"]
