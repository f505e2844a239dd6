"""``laborbridge import``: CSV, XLSX and JSON files into the store, with a validation report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app

DATA_DIR = Path("data")


def store_location(db: str | None) -> tuple[str, Path]:
    """``(database URL, key file path)`` from ``--db``, settings, or the data folder's defaults."""
    from api.settings import get_settings
    from matcher.store import default_db_url, default_key_path

    url = db or get_settings().db_url or default_db_url(DATA_DIR)
    return url, default_key_path(url, DATA_DIR)


def secret_key(key_file: Path) -> bytes:
    """The hashing key: ``LABORBRIDGE_SECRET_KEY`` (settings or environment), else the key file."""
    from api.settings import get_settings
    from matcher.pii import key_from_secret, load_or_create_key

    secret = getattr(get_settings(), "secret_key", None) or os.environ.get("LABORBRIDGE_SECRET_KEY")
    if hasattr(secret, "get_secret_value"):
        secret = secret.get_secret_value()
    return key_from_secret(secret) if secret else load_or_create_key(key_file)


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            help="Files (.csv, .xlsx, .json) or folders of them; record type from the file or sheet "
            "name (workers/劳动力, enterprises/企业, jobs/岗位, pairings/结对) or from the headers.",
        ),
    ],
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Store URL (default: settings db_url, else sqlite:///data/laborbridge.db)."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Abort the whole import on any rejected row; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    rejected: Annotated[
        Path | None, typer.Option("--rejected", help="Also write every rejected row to this CSV file.")
    ] = None,
) -> None:
    """Import records into the store: valid rows go in, each bad row is reported.

    Exit code 0 when valid rows were imported, 1 when nothing could be imported, 2 for usage errors.
    Re-importing the same files changes nothing; a changed row updates its record and is kept in
    the import batch's history.
    """
    from matcher.ingest import render_text, write_rejected_csv
    from matcher.store import import_paths

    url, key_file = store_location(db)
    report = import_paths(url, paths, key=secret_key(key_file), strict=strict)
    if rejected is not None:
        write_rejected_csv(report.rejected, rejected)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    raise typer.Exit(report.exit_code)
