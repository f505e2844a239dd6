"""DESIGN.md's layering: embeddings/ and optimizer/ import neither each other nor matcher/, api/,
FastAPI or the database. Checked in a fresh interpreter, importing every module of the package."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = {
    "embeddings": ("optimizer", "matcher", "api", "fastapi", "sqlalchemy", "alembic"),
    "optimizer": ("embeddings", "matcher", "api", "fastapi", "sqlalchemy", "alembic", "torch", "faiss"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_leaf_package_imports_stay_inside_their_layer(package):
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted({{n.split('.')[0] for n in sys.modules}} & set({FORBIDDEN[package]!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{package} imports {out.stdout.strip()}"
