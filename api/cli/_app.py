"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="laborbridge",
    help="Job matching and optimal placement for labour-cooperation programmes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
