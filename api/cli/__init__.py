"""The ``laborbridge`` command line.

Each command lives in its own module of this package (``place.py``, ``sample.py`` ...) and
registers itself on :data:`api.cli._app.app`. Modules are discovered here, so adding a command
means adding a module. Command bodies import heavy libraries lazily so ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

from api.cli._app import app

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _mod.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod}")


def main() -> None:
    """Console-script entry point."""
    from api.cli._errors import run_app

    run_app(app)


__all__ = ["app", "main"]
