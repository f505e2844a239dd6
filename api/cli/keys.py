"""``laborbridge keys``: create, list and revoke API keys of the HTTP service.

A key may expire (``create --expires-days N``); an expired or revoked key is refused by the API and
the console, and ends the console sessions signed in with it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from api.cli._app import app

keys_app = typer.Typer(
    help="API keys of the HTTP service (stored hashed; a key is shown once).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Store URL (default: settings db_url, else sqlite:///data/laborbridge.db)."),
]


def _engine(db: str | None):  # noqa: ANN202 - an Engine, imported lazily
    from api.settings import get_settings
    from matcher.store import open_engine

    url = get_settings().store_url(db)
    return open_engine(url)


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help="city_admin, district_officer, enterprise or auditor.")],
    district: Annotated[
        str | None, typer.Option("--district", help="District code (120101-120119) of a district_officer.")
    ] = None,
    enterprise: Annotated[
        str | None, typer.Option("--enterprise", help="enterprise_id of an enterprise user (must be stored).")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="A note on whose key this is.")] = "",
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", min=1, max=3650, help="The key stops working N days from now."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Create a key and print it once: it cannot be shown again (only its hash is stored)."""
    from api.auth import create_key

    engine = _engine(db)
    try:
        key, info = create_key(
            engine,
            role,
            district_code=district,
            enterprise_id=enterprise,
            label=label,
            expires_days=expires_days,
        )
    finally:
        engine.dispose()
    print(key)
    scope = info.district_code or info.enterprise_id or "city"
    until = f"expires {_when(info.expires_at)}" if info.expires_at else "never expires"
    typer.echo(f"created key {info.prefix}… role {info.role}, scope {scope}, {until}; store it now", err=True)


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


@keys_app.command("list")
def list_(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key's id, prefix, role, scope, created, expires, revoked and state (never the key)."""
    from api.auth import list_keys, utcnow

    engine = _engine(db)
    try:
        keys = list_keys(engine)
    finally:
        engine.dispose()
    now = utcnow()
    rows = [
        {
            "id": k.id,
            "prefix": k.prefix,
            "role": k.role,
            "district_code": k.district_code,
            "enterprise_id": k.enterprise_id,
            "label": k.label,
            "created_at": k.created_at.isoformat(),
            "expires_at": k.expires_at.isoformat() if k.expires_at else None,
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            "state": k.state(now),
        }
        for k in keys
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    head = ("id", "prefix", "role", "scope", "created", "expires", "revoked", "state", "label")
    lines: list[tuple[str, ...]] = [head]
    lines += [
        (
            str(k.id),
            k.prefix,
            k.role,
            k.district_code or k.enterprise_id or "city",
            _when(k.created_at),
            _when(k.expires_at) if k.expires_at else "never",
            _when(k.revoked_at),
            k.state(now),
            k.label,
        )
        for k in keys
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


@keys_app.command("revoke")
def revoke(
    which: Annotated[
        str,
        typer.Argument(
            metavar="PREFIX|ID", help="The key's prefix (lb_XXXXXXXX) or its id, as `keys list` shows."
        ),
    ],
    db: DbOpt = None,
) -> None:
    """Revoke a key and end its console sessions: the service refuses it within a few seconds
    (its key cache's lifetime)."""
    from api.auth import list_keys, revoke_key

    engine = _engine(db)
    try:
        prefix = which
        if which.isdigit():
            from matcher.errors import NotFoundError

            found = [k.prefix for k in list_keys(engine) if k.id == int(which)]
            if not found:
                raise NotFoundError(f"no key with id {which}")
            prefix = found[0]
        info = revoke_key(engine, prefix)
    finally:
        engine.dispose()
    typer.echo(f"revoked {info.prefix} ({info.role}); its console sessions have ended", err=True)
