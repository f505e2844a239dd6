"""``laborbridge import``: CSV, XLSX and JSON files into the store, with a validation report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app


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
    from api.settings import get_settings
    from matcher.ingest import render_text, write_rejected_csv
    from matcher.store import import_paths

    settings = get_settings()
    url = settings.store_url(db)
    report = import_paths(url, paths, key=settings.store_key(url), strict=strict)
    if rejected is not None:
        write_rejected_csv(report.rejected, rejected)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(report))
    raise typer.Exit(report.exit_code)
