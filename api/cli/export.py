"""``laborbridge export``: one record type from the store as CSV or XLSX, personal data masked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app

KINDS = ("workers", "enterprises", "jobs", "pairings")


@app.command("export")
def export_command(
    kind: Annotated[str, typer.Argument(help="Record type: workers, enterprises, jobs or pairings.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output file (required for xlsx; CSV goes to stdout without it)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Store URL (default: settings db_url, else sqlite:///data/laborbridge.db)."
        ),
    ] = None,
    headers: Annotated[
        str, typer.Option("--headers", help="en: English column names (re-importable as is); zh: Chinese.")
    ] = "en",
    unmasked: Annotated[
        bool,
        typer.Option(
            "--unmasked",
            help="Show workers' names in clear (the use writes a row to the store's audit log). ID "
            "numbers and phones stay masked: the store keeps only keyed hashes of them, which "
            "cannot be reversed.",
        ),
    ] = False,
) -> None:
    """Export one record type. ID numbers and phones are always masked (120101********123X, 138****5678)."""
    from api.cli.import_ import store_location
    from matcher.errors import ConfigError
    from matcher.ingest.template import header_cells, sheet_name, write_csv, write_xlsx
    from matcher.store import export_columns, export_rows, open_engine

    if kind not in KINDS:
        raise ConfigError(f"record type must be one of {', '.join(KINDS)}, not {kind!r}")
    if fmt not in ("csv", "xlsx"):
        raise ConfigError(f"--format must be csv or xlsx, not {fmt!r}")
    if headers not in ("en", "zh"):
        raise ConfigError(f"--headers must be en or zh, not {headers!r}")
    if fmt == "xlsx" and out is None:
        raise ConfigError("--format xlsx needs --out FILE")
    url, _ = store_location(db)
    engine = open_engine(url)
    try:
        if unmasked and kind == "workers":  # before any name leaves: no row, no export
            from api.audit import record_cli

            where = str(out) if out is not None else "stdout"
            record_cli(engine, "laborbridge export workers --unmasked", f"names in clear, {fmt} to {where}")
        columns = export_columns(kind)
        names = header_cells(kind, chinese=headers == "zh")
        rows = export_rows(engine, kind, unmasked_names=unmasked)
        if fmt == "xlsx":
            n = write_xlsx(rows, names, columns, out, sheet=sheet_name(kind))  # type: ignore[arg-type]
        elif out is None:
            n = write_csv(rows, names, columns, sys.stdout)
        else:
            # BOM: Excel on Chinese Windows reads a BOM-less CSV as GBK and garbles it.
            with out.open("w", encoding="utf-8-sig", newline="") as fh:
                n = write_csv(rows, names, columns, fh)
    finally:
        engine.dispose()
    if out is not None:
        print(f"{n:,} {kind} written to {out}", file=sys.stderr)
