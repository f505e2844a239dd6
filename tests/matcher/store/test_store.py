"""The store: migrations match the models, imports are idempotent and keep history, round trips.

Every test that takes ``url`` runs on SQLite and on PostgreSQL (see ``tests/conftest.py``).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from matcher.errors import ConfigError
from matcher.ingest import load_folder
from matcher.pii import mask
from matcher.records import COLUMNS, to_row
from matcher.store import export_rows, import_paths, load_dataset, migrate, open_engine, store_generation
from matcher.store.engine import MIGRATIONS
from matcher.store.models import Base, ImportBatch, RecordChange, StoreMeta
from matcher.store.read import iter_stored
from tests.conftest import store_url
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
def url(db_url: str) -> str:
    return db_url


@pytest.fixture
def url2(request: pytest.FixtureRequest, url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty store on the same backend as ``url``."""
    with store_url(request, make_url(url).get_backend_name(), tmp_path / "second") as second:
        yield second


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


def _alembic(engine, command_name: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, command_name)(cfg, revision)


def test_migrations_upgrade_an_empty_database_to_head_and_downgrade_to_nothing(url):
    engine = open_engine(url, migrate_schema=False)
    assert inspect(engine).get_table_names() == []
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    migrate(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
        assert set(inspect(conn).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    _alembic(engine, "downgrade", "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    migrate(engine)  # and up again, from nothing
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


OPEN_AT = """
import sys, time
from matcher.store import open_engine
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process opens at the same moment
open_engine(sys.argv[1]).dispose()
"""


@pytest.mark.slow
def test_processes_opening_a_new_store_at_once_all_find_it_migrated(url):
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    at = str(time.time() + 4)  # after every interpreter has started
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, url, at], cwd=root, env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    errors = [err for p in procs if (err := p.communicate(timeout=120)[1]) and p.returncode]
    assert not errors, errors[0][-500:]  # without a lock: "table ... already exists" / a duplicate key
    engine = open_engine(url)
    with engine.connect() as conn:
        assert (
            MigrationContext.configure(conn).get_current_revision()
            == ScriptDirectory(str(MIGRATIONS)).get_current_head()
        )
    engine.dispose()


def test_sqlite_store_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'laborbridge.db'}")
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


def _stored_text(url: str) -> bytes:
    """Everything the store holds: the SQLite file's bytes, or every row of every table as text."""
    if make_url(url).get_backend_name() == "sqlite":
        return Path(make_url(url).database or "").read_bytes()
    engine = open_engine(url)
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        rows = [r for t in list(tables) for r in conn.execute(text(f'SELECT t::text FROM "{t}" t')).scalars()]
    engine.dispose()
    assert rows
    return "\n".join(rows).encode()


def test_store_keeps_no_raw_id_number_or_phone(folder, url):
    import_paths(url, [folder], key=KEY)
    raw = _stored_text(url)
    assert b"620503199001011231" not in raw and b"13812345678" not in raw


def test_round_trip_import_export_import_is_identity_masking_aside(folder, url, url2, tmp_path):
    import_paths(url, [folder], key=KEY)
    out = tmp_path / "export"
    out.mkdir()
    for kind in ("workers", "enterprises", "jobs"):
        (out / f"{kind}.csv").write_text(_export_csv(url, kind), encoding="utf-8")
    # Back into the same store: nothing changes, the hashes behind the masks are kept.
    again = import_paths(url, [out], key=KEY)
    assert not again.written and not again.rejected
    # Into a new store: the same records, masking aside.
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


def test_concurrent_imports_run_one_at_a_time_and_each_sees_the_others_records(
    folder, url, tmp_path, monkeypatch
):
    import matcher.store.repository as repo

    import_paths(url, [folder], key=KEY)
    header, j1 = JOBS.splitlines()[:2]
    files = {}
    for name, ids in (("a", ["j5"]), ("b", ["j5", "j6"])):  # both bring j5; b brings j6 too
        files[name] = tmp_path / name / "jobs.csv"
        files[name].parent.mkdir()
        files[name].write_text("\n".join([header] + [j + j1[2:] for j in ids]) + "\n", encoding="utf-8")
    paused, go = threading.Event(), threading.Event()
    write = repo._write

    def write_after_a_pause(conn, kind, *args):  # "a" stops with its batch row written, uncommitted
        if threading.current_thread().name == "a" and kind == "jobs":
            paused.set()
            go.wait(30)
        return write(conn, kind, *args)

    monkeypatch.setattr(repo, "_write", write_after_a_pause)
    reports, errors = {}, []

    def run(name: str) -> None:
        try:
            reports[name] = import_paths(url, [files[name]], key=KEY)
        except Exception as exc:  # reported below
            errors.append(exc)

    a = threading.Thread(target=run, args=("a",), name="a")
    a.start()
    assert paused.wait(30)
    b = threading.Thread(target=run, args=("b",), name="b")
    b.start()
    b.join(1.0)
    waited = b.is_alive()  # "b" waits for "a" to finish
    go.set()
    a.join(30)
    b.join(30)
    assert not errors, errors  # without the lock: a duplicate key for j5 on both backends
    assert waited
    ra, rb = reports["a"], reports["b"]
    assert (ra.created["jobs"], rb.created["jobs"], rb.unchanged["jobs"]) == (1, 1, 1)
    engine = open_engine(url)
    assert store_generation(engine) == rb.batch_id > ra.batch_id  # ids follow the commit order
    engine.dispose()


def _stored_keys(url: str) -> dict[str, set[str]]:
    engine = open_engine(url)
    keys = {kind: {next(iter(to_row(r).values())) for r, _ in iter_stored(engine, kind)} for kind in COLUMNS}
    engine.dispose()
    return keys


def test_records_come_in_byte_order_of_their_keys_on_every_backend(folder, url):
    # PostgreSQL sorts text by its collation (here ICU's, as en_US.UTF-8 or zh_CN.UTF-8 would):
    # "a" before "B", "_" before digits. The store's order, and the input hash over it, must not
    # depend on the server's collation.
    ids = ["w1", "W2", "w_3", "w-4", "a5", "Z6", "张7", "w10"]
    rows = WORKERS.splitlines()
    template = next(r for r in rows if r.startswith("w2,"))
    lines = [rows[0]] + [wid + template[2:] for wid in ids]
    (folder / "workers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_paths(url, [folder / "workers.csv"], key=KEY)
    assert [w.worker_id for w in load_dataset(url).workers] == sorted(ids)
    engine = open_engine(url)
    assert [r["worker_id"] for r in export_rows(engine, "workers")] == sorted(ids)
    engine.dispose()


def _set_cell(path: Path, key: str, column: str, value: str) -> None:
    """Set ``column`` of the row whose first cell is ``key`` in the CSV file at ``path``."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    col = rows[0].index(column)
    for r in rows[1:]:
        if r and r[0] == key:
            r[col] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.mark.parametrize(
    ("kind", "key", "column", "value"),
    [
        pytest.param("workers", "w1", "group_id", "g" * 65, id="workers-group_id-65-chars"),  # String(64)
        ("jobs", "j1", "openings", "3000000000"),  # Integer: 32 bits on PostgreSQL
        ("jobs", "j1", "wage_max", "3000000000"),
        ("enterprises", "e1", "capacity", "3000000000"),
    ],
)
def test_a_value_its_column_cannot_hold_is_one_rejected_row_not_a_failed_import(
    folder, url, kind, key, column, value
):
    _set_cell(folder / f"{kind}.csv", key, column, value)
    report = import_paths(url, [folder], key=KEY)
    assert report.written
    mine = [e for e in report.rejected if e.file.endswith(f"{kind}.csv") and e.row == 2]
    assert [(e.field, "store" in e.reason) for e in mine] == [(column, True)]
    stored = _stored_keys(url)
    assert key not in stored[kind] and len(stored[kind]) == 1  # the other valid row is kept
    if kind == "enterprises":  # its job goes too, saying why
        assert "j1" not in stored["jobs"] and "j2" in stored["jobs"]
        assert any(
            e.row == 2 and "its row was rejected" in e.reason for e in report.rejected if "jobs" in e.file
        )


def test_a_job_keeps_its_stored_enterprise_when_an_update_of_it_is_rejected(folder, url):
    import_paths(url, [folder], key=KEY)
    _set_cell(folder / "enterprises.csv", "e1", "capacity", "3000000000")
    _set_cell(folder / "jobs.csv", "j1", "openings", "4")
    report = import_paths(url, [folder], key=KEY)
    assert [e.field for e in report.rejected if "enterprises" in e.file] == ["capacity"]
    assert report.updated["jobs"] == 1 and report.updated["enterprises"] == 0


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

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
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


def test_migration_0006_keeps_every_record_and_a_reimport_finds_them_unchanged(folder, url):
    """A store written at 0005 (records hashed without the programme's columns) upgrades in place:
    the new columns empty, every row kept, and importing the same files again changes nothing."""
    from sqlalchemy import MetaData, Table, update

    from matcher.store.convert import content_hash

    assert import_paths(url, [folder], key=KEY).written
    engine = open_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_scrub_free_text")
        for name in ("workers", "enterprises", "jobs"):  # the hashes 0005's importer wrote
            table = Table(name, MetaData(), autoload_with=conn)
            assert "posted_on" not in table.c and "contact_phone" not in table.c
            pk = list(table.primary_key.columns)
            for row in conn.execute(select(table)).mappings().all():
                conn.execute(
                    update(table)
                    .where(*(c == row[c.name] for c in pk))
                    .values(content_sha256=content_hash(dict(row)))
                )
        counts = {n: conn.execute(text(f"SELECT count(*) FROM {n}")).scalar() for n in ("workers", "jobs")}
    engine.dispose()
    engine = open_engine(url)  # migrates to the newest revision
    with engine.connect() as conn:
        assert {n: conn.execute(text(f"SELECT count(*) FROM {n}")).scalar() for n in counts} == counts
        assert conn.execute(text("SELECT count(*) FROM jobs WHERE posted_on IS NOT NULL")).scalar() == 0
        assert "supply_lists_sent" in inspect(conn).get_table_names()
    engine.dispose()
    report = import_paths(url, [folder], key=KEY)
    assert report.unchanged["workers"] == counts["workers"] and not report.written


def test_migration_0007_keeps_every_worker_and_their_id_numbers_unique(folder, url):
    """From 0006 (a UNIQUE constraint) to 0007 (a unique index) and back: every stored row as it
    was, and a second worker with a stored ID number refused either way."""
    from sqlalchemy.exc import IntegrityError

    assert import_paths(url, [folder], key=KEY).written
    engine = open_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    every = text("SELECT * FROM workers ORDER BY worker_id")
    copy = text(
        "INSERT INTO workers SELECT 'w-copy', name, id_number_hash, id_number_masked, phone_hash,"
        " phone_masked, gender, birth_year, home_county_code, education, skills, experience,"
        " desired_occupations, mobility, min_wage, employment_status, current_employer, group_id,"
        " content_sha256, created_batch_id, updated_batch_id, service_needs, work_location_code,"
        " employer_contact FROM workers WHERE id_number_hash IS NOT NULL ORDER BY worker_id LIMIT 1"
    )
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(every)]
    assert stored and any(r[2] for r in stored)
    for revision, unique in (("0006_programme", "constraint"), ("head", "index")):
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            getattr(command, "downgrade" if revision != "head" else "upgrade")(cfg, revision)
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(every)] == stored, revision
            found = inspect(conn)
            constraints = [c["column_names"] for c in found.get_unique_constraints("workers")]
            indexes = [  # not the one PostgreSQL builds for a constraint
                i["column_names"]
                for i in found.get_indexes("workers")
                if i["unique"] and not i.get("duplicates_constraint")
            ]
            assert (["id_number_hash"] in constraints, ["id_number_hash"] in indexes) == (
                unique == "constraint",
                unique == "index",
            ), revision
        with engine.connect() as conn, pytest.raises(IntegrityError):
            conn.execute(copy)  # rolled back as the connection closes
    engine.dispose()


def _two_id_workers(tmp_path: Path, name: str, first: str, second: str) -> Path:
    """w1 of the shared fixture and w5, a copy of it, carrying ID numbers ``first`` and ``second``."""
    w1 = WORKERS.splitlines()[1]
    rows = [
        w1.replace("620503199001011231", first),
        w1.replace("w1,", "w5,").replace("620503199001011231", second),
    ]
    path = tmp_path / name / "workers.csv"
    path.parent.mkdir()
    path.write_text("\n".join([WORKERS.splitlines()[0], *rows]) + "\n", encoding="utf-8")
    return path


def test_workers_swapping_id_numbers_in_one_import_are_both_updated(folder, url, tmp_path):
    from matcher.idcard import id_check_digit
    from matcher.store.models import WorkerRow

    a = "620503199001011231"
    b = "62050319900101125" + id_check_digit("62050319900101125")
    import_paths(url, [folder / "enterprises.csv", _two_id_workers(tmp_path, "first", a, b)], key=KEY)
    before = dict(_hashes(url, WorkerRow))
    report = import_paths(url, [_two_id_workers(tmp_path, "swapped", b, a)], key=KEY)
    assert not report.rejected and report.updated["workers"] == 2
    after = dict(_hashes(url, WorkerRow))
    assert after == {"w1": before["w5"], "w5": before["w1"]} and None not in after.values()


def test_a_new_worker_may_take_the_id_number_a_changed_worker_gives_up(folder, url, tmp_path):
    from matcher.idcard import id_check_digit
    from matcher.store.models import WorkerRow

    a = "620503199001011231"
    import_paths(url, [folder], key=KEY)
    held = dict(_hashes(url, WorkerRow))["w1"]
    # w1 drops its number (a typing error corrected) and w5, new, is the one who holds it.
    path = _two_id_workers(tmp_path, "moved", "62050319900101125" + id_check_digit("62050319900101125"), a)
    report = import_paths(url, [path], key=KEY)
    assert not report.rejected and report.created["workers"] == 1 and report.updated["workers"] == 1
    after = dict(_hashes(url, WorkerRow))
    assert after["w5"] == held and after["w1"] not in (held, None)


def _hashes(url: str, model) -> list[tuple[str, str | None]]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(select(model.worker_id, model.id_number_hash))]
    finally:
        engine.dispose()
