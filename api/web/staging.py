"""Uploads waiting for confirmation: check first, import on confirm.

The import page uploads files, which are kept in a private temporary folder and checked with
the import pipeline without writing anything (:func:`matcher.ingest.ingest`); the page shows the
report. Confirming imports the same files through :meth:`api.services.Services.import_files`, the
path the API's ``POST /imports`` takes. A staged upload belongs to the key that uploaded it and
is dropped after :data:`TTL_S` seconds, on confirm or on discard.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from matcher.errors import InputError

TTL_S = 30 * 60
MAX_FILES = 20
MAX_STAGED = 32


@dataclass
class Staged:
    token: str
    key_id: int
    folder: Path
    files: list[Path]
    report: dict[str, Any]
    created: float = field(default_factory=time.monotonic)


class Staging:
    """Staged uploads by token (see the module doc)."""

    def __init__(self) -> None:
        self._items: dict[str, Staged] = {}
        self._lock = threading.Lock()

    def stage(self, services: Any, key_id: int, uploads: list[tuple[str, BinaryIO]]) -> Staged:
        """Keep ``uploads`` (``(file name, content)``) and check them; the staged upload with its report."""
        from matcher.ingest import ingest, save_uploads
        from matcher.store import existing_enterprise_ids

        if not uploads:
            raise InputError("choose at least one file")
        if len(uploads) > MAX_FILES:
            raise InputError(f"at most {MAX_FILES} files at once")
        self._expire()
        folder = Path(tempfile.mkdtemp(prefix="laborbridge-console-"))
        try:
            paths = save_uploads(uploads, folder)
            result = ingest(
                paths, known_enterprises=existing_enterprise_ids(services.engine), admin=services.admin
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        prefix = str(folder).rstrip("/") + "/"
        rejected = []
        for err in result.rejected:
            d = err.as_dict()
            d["file"] = (err.file or "").replace(prefix, "")
            rejected.append(d)
        files = [
            {"file": str(s.file).replace(prefix, ""), "kind": s.kind, "rows": s.rows} for s in result.sources
        ]
        report = {"counts": result.counts(), "rejected": rejected, "files": files}
        item = Staged(secrets.token_urlsafe(16), key_id, folder, paths, report)
        with self._lock:
            self._items[item.token] = item
            while len(self._items) > MAX_STAGED:
                oldest = min(self._items.values(), key=lambda s: s.created)
                self._drop_locked(oldest.token)
        return item

    def get(self, token: str, key_id: int) -> Staged | None:
        self._expire()
        with self._lock:
            item = self._items.get(token)
        return item if item is not None and item.key_id == key_id else None

    def confirm(self, services: Any, item: Staged) -> Any:
        """Import the staged files for real; the store's import report."""
        handles = [p.open("rb") for p in item.files]
        try:
            return services.import_files([(p.name, h) for p, h in zip(item.files, handles, strict=True)])
        finally:
            for h in handles:
                h.close()
            self.discard(item.token)

    def discard(self, token: str) -> None:
        with self._lock:
            self._drop_locked(token)

    def _drop_locked(self, token: str) -> None:
        item = self._items.pop(token, None)
        if item is not None:
            shutil.rmtree(item.folder, ignore_errors=True)

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            for token in [t for t, s in self._items.items() if now - s.created > TTL_S]:
                self._drop_locked(token)

    def close(self) -> None:
        with self._lock:
            for token in list(self._items):
                self._drop_locked(token)
