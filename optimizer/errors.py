"""Errors raised by the optimizer.

The tree, drawn once::

    OptimizerError                      base of every error this package raises on purpose
    ├── ProblemError (also ValueError)  a malformed problem or option; names the array and index
    └── SolverError (also RuntimeError) a solver returned a status it should not (overflow, bad result)

``optimizer/`` is a leaf package (see DESIGN.md, layering): it does not import ``matcher.errors``;
the edges (``api/``, the CLI) map these next to the domain errors.
"""

from __future__ import annotations


class OptimizerError(Exception):
    """Base of every error the optimizer raises on purpose."""


class ProblemError(OptimizerError, ValueError):
    """The problem or the options are malformed. The message says which array and index."""


class SolverError(OptimizerError, RuntimeError):
    """A solver failed for a reason outside the input (e.g. cost range overflow)."""


__all__ = ["OptimizerError", "ProblemError", "SolverError"]
