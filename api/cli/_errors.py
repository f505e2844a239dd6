"""Run the CLI and turn domain errors into one clear line and an exit code.

Every error family laborbridge raises on purpose ends as one ``error: ...`` line on stderr, never
a traceback: usage errors (:class:`~matcher.errors.ConfigError`, :class:`~matcher.errors.NotFoundError`)
exit 2, everything else exits 1 — input errors (``ValueError``, :class:`~matcher.errors.InputError`),
:class:`~optimizer.errors.OptimizerError` (a problem or a range the solver cannot take),
:class:`~embeddings.errors.EmbeddingError` (``ModelNotFoundError`` ...), other
:class:`~matcher.errors.LaborbridgeError` and ``OSError`` (a file that cannot be read or written).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

EXIT_INPUT = 1
EXIT_USAGE = 2


def _families() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """``(usage, input)`` error classes; imported only once an error has happened."""
    from embeddings.errors import EmbeddingError
    from matcher.errors import ConfigError, LaborbridgeError, NotFoundError
    from optimizer.errors import OptimizerError

    return (ConfigError, NotFoundError), (
        LaborbridgeError,
        OptimizerError,
        EmbeddingError,
        ValueError,
        OSError,
    )


def run_app(app: Callable[..., Any]) -> None:
    """Invoke ``app`` (a Typer app or a click command); known errors print ``error: ...`` to stderr
    instead of a traceback."""
    try:
        app(standalone_mode=True)
    except Exception as exc:
        usage, known = _families()
        if isinstance(exc, usage):
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            sys.exit(EXIT_USAGE)
        if isinstance(exc, known):
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            sys.exit(EXIT_INPUT)
        raise


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text
