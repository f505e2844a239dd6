"""``laborbridge keys``: create, list and revoke API keys of the HTTP service."""

from __future__ import annotations

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
    db: DbOpt = None,
) -> None:
    """Create a key and print it once: it cannot be shown again (only its hash is stored)."""
    from api.auth import create_key

    engine = _engine(db)
    try:
        key, info = create_key(engine, role, district_code=district, enterprise_id=enterprise, label=label)
    finally:
        engine.dispose()
    print(key)
    scope = info.district_code or info.enterprise_id or "city"
    typer.echo(f"created key {info.prefix}… role {info.role}, scope {scope}; store it now", err=True)


@keys_app.command("list")
def list_(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key's prefix, role, scope and state (never the key)."""
    from api.auth import list_keys

    engine = _engine(db)
    try:
        keys = list_keys(engine)
    finally:
        engine.dispose()
    rows = [
        {
            "prefix": k.prefix,
            "role": k.role,
            "district_code": k.district_code,
            "enterprise_id": k.enterprise_id,
            "label": k.label,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in keys
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        scope = r["district_code"] or r["enterprise_id"] or "city"
        print(f"{r['prefix']}  {r['role']:<16} {scope:<12} {state:<8} {r['label']}")


@keys_app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (lb_XXXXXXXX).")], db: DbOpt = None
) -> None:
    """Revoke a key: the service refuses it within a few seconds (its key cache's lifetime)."""
    from api.auth import revoke_key

    engine = _engine(db)
    try:
        info = revoke_key(engine, prefix)
    finally:
        engine.dispose()
    typer.echo(f"revoked {info.prefix} ({info.role})", err=True)
