"""The ``laborbridge`` command line.

Each command lives in its own module of this package (``place.py``, ``sample.py`` ...) and
registers itself on :data:`api.cli._app.app`. Modules are discovered here, so adding a command
means adding a module. Command bodies import heavy libraries lazily so ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from api.cli._app import app, command_only

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _mod.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod}")


def main() -> None:
    """Console-script entry point: a top-level command runs through a group holding only itself
    (:func:`~api.cli._app.command_only`), anything else through the whole app."""
    from api.cli._errors import run_app

    run_app(command_only(sys.argv[1] if len(sys.argv) > 1 else "") or app)


__all__ = ["app", "main"]
