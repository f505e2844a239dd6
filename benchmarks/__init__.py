"""Benchmarks: ``python -m benchmarks`` runs them (see ``harness``); each ``bench_*`` runs alone too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: str | Path, result: Any) -> str:
    """Write a benchmark's result to ``path`` (folders made as needed) as indented UTF-8 JSON;
    returns the text. Values JSON does not know (paths, dates) are written as strings."""
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return text
