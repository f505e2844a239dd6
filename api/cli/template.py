"""``laborbridge template``: a blank import workbook for an office to fill in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app


@app.command("template")
def template_command(
    fmt: Annotated[str, typer.Option("--format", help="Template format: xlsx.")] = "xlsx",
    out: Annotated[Path, typer.Option("--out", help="Output file.")] = Path("laborbridge_template.xlsx"),
) -> None:
    """Write the import template: one sheet per record type with Chinese headers, dropdowns and notes."""
    from matcher.errors import ConfigError
    from matcher.ingest.template import write_template

    if fmt != "xlsx":
        raise ConfigError(f"--format must be xlsx, not {fmt!r}")
    write_template(out)
    print(f"template written to {out}", file=sys.stderr)
