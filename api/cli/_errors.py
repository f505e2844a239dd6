"""Run the CLI and turn domain errors into one clear line and an exit code."""

from __future__ import annotations

import sys

import typer

EXIT_INPUT = 1
EXIT_USAGE = 2


def run_app(app: typer.Typer) -> None:
    """Invoke ``app``; known errors print ``error: ...`` to stderr instead of a traceback."""
    from matcher.errors import ConfigError, LaborbridgeError, NotFoundError

    try:
        app(standalone_mode=True)
    except (ConfigError, NotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except (LaborbridgeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_INPUT)
