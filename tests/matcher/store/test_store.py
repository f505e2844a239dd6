"""The store: migrations match the models, imports are idempotent and keep history, round trips."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from matcher.errors import ConfigError
from matcher.ingest import load_folder
from matcher.pii import mask
from matcher.records import COLUMNS, to_row
from matcher.store import export_rows, import_paths, load_dataset, open_engine
from matcher.store.models import Base, ImportBatch, RecordChange, StoreMeta
from tests.matcher.test_dataset import ENTERPRISES, JOBS, WORKERS

KEY = b"store-test-key-0123456789abcdef"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    (d / "workers.csv").write_text(WORKERS, encoding="utf-8")
    (d / "enterprises.csv").write_text(ENTERPRISES, encoding="utf-8")
    (d / "jobs.csv").write_text(JOBS, encoding="utf-8")
    return d


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'laborbridge.db'}"


def _count(url: str, model) -> int:
    engine = open_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return n


def _export_csv(url: str, kind: str) -> str:
    engine = open_engine(url)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS[kind], lineterminator="\n")
    w.writeheader()
    w.writerows(export_rows(engine, kind))
    engine.dispose()
    return buf.getvalue()


def test_migrated_schema_matches_the_models(url):
    engine = open_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_store_runs_in_wal_mode_with_foreign_keys(url):
    engine = open_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_reimporting_the_same_files_changes_nothing(folder, url):
    first = import_paths(url, [folder], key=KEY)
    assert first.written and first.created["workers"] == 2
    second = import_paths(url, [folder], key=KEY)
    assert not second.written and second.batch_id is None
    assert second.unchanged == first.created and second.exit_code == 0
    assert _count(url, ImportBatch) == 1


def test_changed_row_updates_the_record_and_keeps_the_change(folder, url):
    import_paths(url, [folder], key=KEY)
    jobs = folder / "jobs.csv"
    jobs.write_text(JOBS.replace("4000,5000", "4200,5000"), encoding="utf-8")
    report = import_paths(url, [jobs], key=KEY)
    assert report.updated["jobs"] == 1 and report.unchanged["jobs"] == 1
    engine = open_engine(url)
    with engine.connect() as conn:
        change = conn.execute(select(RecordChange).where(RecordChange.action == "updated")).one()
        batch = conn.execute(select(ImportBatch).where(ImportBatch.id == change.batch_id)).one()
    engine.dispose()
    assert change.record_key == "j1" and change.file.endswith("jobs.csv") and change.row == 2
    assert change.changes == {"wage_min": {"old": 4000, "new": 4200}}
    assert batch.files[0]["file"].endswith("jobs.csv") and batch.finished_at is not None


def test_store_keeps_no_raw_id_number_or_phone(folder, url):
    import_paths(url, [folder], key=KEY)
    raw = Path(url.removeprefix("sqlite:///")).read_bytes()
    assert b"620503199001011231" not in raw and b"13812345678" not in raw


def test_round_trip_import_export_import_is_identity_masking_aside(folder, url, tmp_path):
    import_paths(url, [folder], key=KEY)
    out = tmp_path / "export"
    out.mkdir()
    for kind in ("workers", "enterprises", "jobs"):
        (out / f"{kind}.csv").write_text(_export_csv(url, kind), encoding="utf-8")
    # Back into the same store: nothing changes, the hashes behind the masks are kept.
    again = import_paths(url, [out], key=KEY)
    assert not again.written and not again.rejected
    # Into a new store: the same records, masking aside.
    url2 = f"sqlite:///{tmp_path / 'db2' / 'laborbridge.db'}"
    fresh = import_paths(url2, [out], key=KEY)
    assert not fresh.rejected
    for kind in ("workers", "enterprises", "jobs"):
        assert _export_csv(url2, kind) == _export_csv(url, kind)
    original = load_folder(folder)
    stored = load_dataset(url2)
    masked = [{k: mask(k, v) for k, v in to_row(w).items()} for w in original.workers]
    assert [to_row(w) for w in stored.workers] == masked
    assert [to_row(j) for j in stored.jobs] == [to_row(j) for j in original.jobs]


def test_load_dataset_hash_is_stable_and_follows_content(folder, url):
    import_paths(url, [folder], key=KEY)
    a, b = load_dataset(url), load_dataset(url)
    assert a.input_sha256 == b.input_sha256 and len(a.workers) == 2
    assert a.pairing_map().is_paired("623024", "120102")  # built-in pairings without stored ones
    (folder / "jobs.csv").write_text(JOBS.replace("4000,5000", "4100,5000"), encoding="utf-8")
    import_paths(url, [folder], key=KEY)
    assert load_dataset(url).input_sha256 != a.input_sha256


def test_jobs_may_refer_to_enterprises_already_in_the_store(folder, url):
    import_paths(url, [folder / "enterprises.csv"], key=KEY)
    report = import_paths(url, [folder / "jobs.csv"], key=KEY)
    assert report.created["jobs"] == 2


def test_id_number_held_by_another_stored_worker_is_rejected(folder, url, tmp_path):
    import_paths(url, [folder], key=KEY)
    other = tmp_path / "more" / "workers.csv"
    other.parent.mkdir()
    other.write_text(WORKERS.replace("w1,", "w9,"), encoding="utf-8")
    report = import_paths(url, [other], key=KEY)
    dup = [e for e in report.rejected if "store holds it for worker 'w1'" in e.reason]
    assert len(dup) == 1 and dup[0].row == 2 and "*" in dup[0].value


def test_strict_import_writes_nothing(folder, url):
    report = import_paths(url, [folder], key=KEY, strict=True)
    assert report.aborted and report.exit_code == 1
    assert _count(url, ImportBatch) == 0 and _count(url, StoreMeta) == 0


def test_store_refuses_a_different_key(folder, url):
    import_paths(url, [folder], key=KEY)
    (folder / "jobs.csv").write_text(JOBS.replace("4000,5000", "4100,5000"), encoding="utf-8")
    with pytest.raises(ConfigError, match="different secret key"):
        import_paths(url, [folder], key=b"another-key-0123456789abcdef")


def test_bad_url_is_a_config_error():
    with pytest.raises(ConfigError):
        open_engine("nosuchdialect://x/y")


def test_migration_0004_keeps_keys_and_audit_rows_and_allows_keyless_rows(url):
    """A store at 0003 (keys and audit rows written) upgrades in place: rows kept, ``expires_at``
    empty (never), ``audit_log.key_id`` nullable, ``web_sessions`` there."""
    import datetime as dt

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, inspect, text

    from matcher.store.engine import MIGRATIONS

    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003_auth")
        now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        conn.execute(
            text(
                "INSERT INTO api_keys (prefix, key_sha256, role, label, created_at) "
                "VALUES ('lb_AAAAAAAA', :h, 'auditor', '', :now)"
            ),
            {"h": "0" * 64, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO audit_log (at, key_id, method, route, detail) VALUES (:now, 1, 'GET', '/x', '')"
            ),
            {"now": now},
        )
    engine.dispose()
    engine = open_engine(url)  # migrates to the newest revision
    with engine.begin() as conn:
        assert conn.execute(text("SELECT prefix, expires_at FROM api_keys")).all() == [("lb_AAAAAAAA", None)]
        assert conn.execute(text("SELECT key_id, route FROM audit_log")).all() == [(1, "/x")]
        conn.execute(
            text(
                "INSERT INTO audit_log (at, key_id, method, route, detail) "
                "VALUES (:now, NULL, 'CLI', 'x', '')"
            ),
            {"now": dt.datetime.now(dt.UTC)},
        )
        assert "web_sessions" in inspect(conn).get_table_names()
        assert {ix["name"] for ix in inspect(conn).get_indexes("audit_log")} >= {
            "ix_audit_log_at",
            "ix_audit_log_key_id",
            "ix_audit_log_worker_id",
        }
    engine.dispose()
