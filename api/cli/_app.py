"""The Typer application every command module registers on."""

from __future__ import annotations

import copy
from typing import Any

import typer

app = typer.Typer(
    name="laborbridge",
    help="Job matching and optimal placement for labour-cooperation programmes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def command_only(name: str) -> Any:
    """The CLI as a click group holding only the top-level command ``name``, or None when ``name``
    is not one (a group such as ``runs``, an option, a typo: the whole CLI handles those).

    ``laborbridge NAME ...`` parses, helps and fails exactly as with every command present (the same
    group, so the same usage lines and messages), without typer first building every other
    command's parameters from its signature: tens of milliseconds of each command's start-up.
    """
    found = [c for c in app.registered_commands if c.name == name]
    if len(found) != 1:
        return None
    from typer.main import get_group

    narrow = copy.copy(app)
    narrow.registered_commands = found
    narrow.registered_groups = []
    return get_group(narrow)
