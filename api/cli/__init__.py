"""The ``laborbridge`` command line.

Each command lives in its own module of this package (``place.py``, ``sample.py`` ...) and
registers itself on :data:`api.cli._app.app`. Modules are discovered here, so adding a command
means adding a module. Command bodies import heavy libraries lazily so ``--help`` stays fast.

``laborbridge NAME ...`` imports only the module named after the command (``import`` lives in
``import_.py``) when that module registers it; anything else (a group, a command living in another
module's file, ``--help``, a typo) and every ``from api.cli import app`` load every module first.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

from api.cli._app import command_only


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _load_all() -> Any:
    """The whole app, every command module imported."""
    for mod in _modules():
        importlib.import_module(f"{__name__}.{mod}")
    from api.cli._app import app

    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _load_all()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _narrow(name: str) -> Any:
    """A group holding only the top-level command ``name`` (see :func:`~api.cli._app.command_only`),
    its module alone imported; None when no module of that name registers it."""
    modules = _modules()
    mod = next((m for m in (name, f"{name}_") if m in modules), None)
    if mod is None:
        return None
    importlib.import_module(f"{__name__}.{mod}")
    return command_only(name)


def main() -> None:
    """Console-script entry point: a top-level command runs through a group holding only itself
    (:func:`~api.cli._app.command_only`), anything else through the whole app."""
    from api.cli._errors import run_app

    group = _narrow(sys.argv[1]) if len(sys.argv) > 1 else None
    run_app(group or _load_all())


__all__ = ["app", "main"]
