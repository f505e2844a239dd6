"""DESIGN.md's layering: embeddings/ and optimizer/ import neither each other nor matcher/, api/,
FastAPI or the database (checked in a fresh interpreter, importing every module of the package); the
rooms of matcher/ import only the rooms they build on, and none imports api/ (checked on the source,
lazy imports included)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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


# The rooms of matcher/ and the rooms each may import from (besides its own and the flat domain
# modules). Arrows point from use cases down to what they build on; nothing in matcher/ imports api/.
DOMAIN = frozenset(
    {"errors", "records", "dataset", "geo", "idcard", "pii", "csvsafe", "textscan", "versions"}
)
ROOMS: dict[str, frozenset[str]] = {
    "domain": frozenset(),
    "ingest": frozenset(),
    "store": frozenset({"ingest"}),
    "scoring": frozenset({"embeddings"}),
    "sample": frozenset(),
    "recommend": frozenset({"scoring", "embeddings"}),
    "placement": frozenset({"scoring", "embeddings", "optimizer"}),
    "runs": frozenset({"ingest", "placement", "scoring"}),
    "reporting": frozenset({"runs", "scoring"}),
    "tuning": frozenset({"scoring", "store"}),
}
ROOT = Path(__file__).resolve().parents[1]


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "matcher":
        return parts[0] if parts[0] in {"api", "embeddings", "optimizer"} else None
    if len(parts) == 1:
        return "matcher"
    return "domain" if parts[1] in DOMAIN else parts[1]


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (lazy imports count too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "matcher":
            out.update(f"matcher.{alias.name}" for alias in node.names)  # from matcher import pii
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def test_matcher_rooms_import_only_what_they_build_on():
    files = sorted((ROOT / "matcher").rglob("*.py"))
    rooms_seen = set()
    bad = []
    for path in files:
        rel = path.relative_to(ROOT).with_suffix("")
        room = _room(".".join(p for p in rel.parts if p != "__init__"))
        if room == "matcher":
            assert not _imports(path), "matcher/__init__.py is a map, it imports nothing"
            continue
        rooms_seen.add(room)
        allowed = ROOMS[room] | {room, "domain"}
        for module in _imports(path):
            target = _room(module)
            if target is not None and target not in allowed:
                bad.append(f"{rel} imports {module} ({room} → {target})")
    assert rooms_seen == set(ROOMS), f"rooms on disk {sorted(rooms_seen)} vs the map {sorted(ROOMS)}"
    assert not bad, "\n".join(bad)


def test_the_room_check_catches_a_back_arrow(tmp_path):
    """The check itself can fail: a lazy import of the API inside a function is seen."""
    path = tmp_path / "m.py"
    path.write_text(
        "def f():\n    from api.settings import get_settings\n    import matcher.placement.pipeline\n"
    )
    assert _imports(path) == {"api.settings", "matcher.placement.pipeline"}
    assert _room("api.settings") not in ROOMS["sample"] | {"sample", "domain"}
    assert _room("matcher.placement.pipeline") not in ROOMS["reporting"] | {"reporting", "domain"}
