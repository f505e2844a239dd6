"""The import's fast path stores and reports exactly what the full per-row path does.

The fast path checks the store's column limits column by column (:func:`unfit_rows`) and checks a
row in full only when flagged, and writes through the driver's ``executemany`` (:func:`bulk_insert`;
:func:`insert_columns` for the history). The reference path checks every row with
:func:`unfit_values` and writes with SQLAlchemy's ``insert(table)``. Both import the same files into
fresh stores; the stored rows (every record table and the history) and the rejection lists must be
the same.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Table, insert

from matcher.sample.generate import generate_sample, write_sample
from matcher.store import bulk, import_paths, open_engine
from matcher.store import repository as repo
from matcher.store.models import RECORD_TABLES, ImportBatch, RecordChange, table_of
from tests.matcher.test_dataset import ENTERPRISES, JOBS, WORKERS

KEY = b"bulk-path-test-key-0123456789abc"
CORPUS = Path(__file__).parents[2] / "data" / "bad_inputs"


def _reference_insert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None
) -> None:
    if rows:
        conn.execute(insert(table), [{**r, **(extra or {})} for r in rows])


def _reference_columns(conn: Connection, table: Table, columns: dict[str, Any]) -> None:
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    _reference_insert(conn, table, rows)


def _use_full_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repo, "bulk_insert", _reference_insert)
    monkeypatch.setattr(repo, "insert_columns", _reference_columns)
    monkeypatch.setattr(repo, "indexes_after", lambda conn, table, n: contextlib.nullcontext())
    monkeypatch.setattr(repo, "unfit_rows", lambda table, rows: range(len(rows)))  # every row in full
    monkeypatch.setattr(repo, "SCAN_AT", 10**12)  # stored rows looked up key by key


def _stored(url: str) -> dict[str, list[str]]:
    """Every record table's rows and the history as the driver reads them back (raw values, so a
    different type stored would show); batch ids and times left out."""
    engine = open_engine(url)
    out: dict[str, list[str]] = {}
    tables = [table_of(model).name for model, _ in RECORD_TABLES.values()] + [RecordChange.__tablename__]
    with engine.connect() as conn:
        for name in tables:
            cursor = conn.exec_driver_sql(f"SELECT * FROM {name}")
            cols = [d[0] for d in cursor.cursor.description]
            out[name] = sorted(repr(sorted(zip(cols, r, strict=True))) for r in cursor)
        batches = conn.exec_driver_sql(f"SELECT files, counts, n_rejected FROM {ImportBatch.__tablename__}")
        out["batches"] = [repr(tuple(b)) for b in batches]
    engine.dispose()
    return out


def _errors(report) -> list[tuple]:
    return [(e.file, e.row, e.field, e.reason, e.value) for e in report.rejected]


def _set_cell(path: Path, key: str, column: str, value: str) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if next(iter(row.values())) == key:
            row[column] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _hostile(folder: Path) -> Path:
    """Values the store cannot hold, a job of such an enterprise, personal numbers in free text."""
    folder.mkdir()
    (folder / "workers.csv").write_text(WORKERS, encoding="utf-8")
    (folder / "enterprises.csv").write_text(ENTERPRISES, encoding="utf-8")
    (folder / "jobs.csv").write_text(JOBS, encoding="utf-8")
    _set_cell(folder / "workers.csv", "w1", "group_id", "g" * 65)
    _set_cell(folder / "workers.csv", "w2", "experience", "身份证 620503199001011231 电话 138-1234-5678")
    _set_cell(folder / "enterprises.csv", "e1", "capacity", "3000000000")
    _set_cell(folder / "jobs.csv", "j2", "wage_max", "3000000000")
    _set_cell(folder / "jobs.csv", "j2", "description", "联系 13812345678")
    return folder


def _inputs(tmp_path: Path) -> list[tuple[str, list[Path]]]:
    sample = tmp_path / "sample"
    write_sample(generate_sample(300, 60, seed=3), sample, truth=False)
    cases = [("sample", [sample]), ("hostile", [_hostile(tmp_path / "hostile")])]
    for case in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        copy = tmp_path / "corpus" / case.name
        shutil.copytree(case, copy)
        cases.append((case.name, [copy]))
    return cases


def test_fast_path_stores_and_rejects_exactly_what_the_full_path_does(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "REINDEX_AT", 1)  # the small inputs too load without indexes, then build them
    monkeypatch.setattr(repo, "SCAN_AT", 1)  # and a re-import reads the stored rows in one pass
    for name, paths in _inputs(tmp_path):
        fast_url = f"sqlite:///{tmp_path / 'fast' / name / 'db.sqlite'}"
        full_url = f"sqlite:///{tmp_path / 'full' / name / 'db.sqlite'}"
        fast = [import_paths(fast_url, paths, key=KEY) for _ in range(2)]  # the second: a re-import
        with monkeypatch.context() as m:
            _use_full_path(m)
            full = [import_paths(full_url, paths, key=KEY) for _ in range(2)]
        for a, b in zip(fast, full, strict=True):
            assert _errors(a) == _errors(b), name
            assert (a.created, a.updated, a.unchanged) == (b.created, b.updated, b.unchanged), name
        assert _stored(fast_url) == _stored(full_url), name
        assert fast[1].created == dict.fromkeys(fast[1].created, 0), name  # re-import: nothing new


def test_the_hostile_case_rejects_the_unfit_rows_and_keeps_the_rest(tmp_path):
    folder = _hostile(tmp_path / "in")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    report = import_paths(url, [folder], key=KEY)
    fields = {(Path(e.file).stem, e.row, e.field) for e in report.rejected}
    assert {("workers", 2, "group_id"), ("enterprises", 2, "capacity"), ("jobs", 3, "wage_max")} <= fields
    stored = _stored(url)
    text = str(stored)
    assert "620503199001011231" not in text and "13812345678" not in text  # scrubbed, hashed only
    assert report.total_imported > 0 and stored["workers"]


def _schema(url: str) -> list[tuple]:
    engine = open_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
        out = [tuple(r) for r in rows]
    engine.dispose()
    return out


def test_a_bulk_load_into_empty_tables_leaves_the_same_indexes(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "REINDEX_AT", 1)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = open_engine(url)
    engine.dispose()
    before = _schema(url)
    assert any(t == "index" and sql for t, _, _, sql in before)  # there are indexes to rebuild
    sample = tmp_path / "sample"
    write_sample(generate_sample(200, 40, seed=4), sample, truth=False)
    report = import_paths(url, [sample], key=KEY)
    assert report.written and report.created["workers"] == 200
    assert _schema(url) == before


def test_a_bulk_load_still_refuses_two_workers_with_one_id_number(tmp_path, monkeypatch):
    # The unique index left out of the load is checked when it is built again: the transaction fails
    # and the table stays empty (the import rejects such rows before writing; this is the backstop).
    from sqlalchemy.exc import IntegrityError

    from matcher.store.models import WorkerRow

    monkeypatch.setattr(bulk, "REINDEX_AT", 1)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    sample = tmp_path / "sample"
    write_sample(generate_sample(20, 5, seed=4), sample, truth=False)
    import_paths(url, [sample / "enterprises.csv"], key=KEY)  # a batch for the rows to refer to
    engine = open_engine(url)
    table = table_of(WorkerRow)
    row = {
        "name": "x", "id_number_hash": "h" * 64, "gender": "male", "birth_year": 1990,
        "home_county_code": "620503", "mobility": "local", "employment_status": "unemployed",
        "content_sha256": "c" * 64, "created_batch_id": 1, "updated_batch_id": 1,
    }  # fmt: skip
    rows = [{"worker_id": f"w{i}", **row} for i in range(3)]
    with pytest.raises(IntegrityError, match="id_number_hash"), engine.begin() as conn:
        repo._lock_for_import(conn)  # as the import does: the transaction opens before any DDL
        with bulk.indexes_after(conn, table, len(rows)):
            assert not conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'ix_workers_id_number_hash'"
            ).first()
            bulk.bulk_insert(conn, table, rows)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM workers").scalar() == 0
        assert conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'ix_workers_id_number_hash'"
        ).first()
    engine.dispose()


@pytest.mark.parametrize(
    "values",
    [
        {"b": 1, "a": '张三"\\\n\t\u2028', "c": None, "d": True, "e": 2.5, "f": float("nan"), "g": -(2**40)},
        {
            "worker_id": "W1",
            "id_number_hash": None,
            "skills": "a;b",
            "content_sha256": "x",
            "created_batch_id": 3,
        },
        {},
    ],
)
def test_content_hash_is_the_sha256_of_the_sorted_json_of_the_stored_values(values):
    # The hash of stores written before must not change: json.dumps(sort_keys, ensure_ascii=False).
    import hashlib
    import json

    from matcher.store.convert import content_hash
    from matcher.store.models import BOOKKEEPING

    data = {k: v for k, v in values.items() if k not in BOOKKEEPING}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    assert content_hash(values) == hashlib.sha256(text.encode()).hexdigest()


def test_content_hashes_are_content_hash_row_by_row():
    # The %-format path must write the encoder's text exactly, and leave to it every row it cannot.
    from matcher.store.convert import content_hash, content_hashes

    texts = [
        "",
        "a",
        "张三",
        'say "hi"',
        "back\\slash",
        "line\nbreak",
        "tab\t",
        "\u2028",
        "\xa0",
        "%s %d %%",
        "\x7f",
        "é",
    ]
    ints = [0, -1, 2**31, -(2**63), 10**30]
    rows = [
        {"worker_id": f"w{i}", "name": t, "n": ints[i % len(ints)], "m": None if i % 3 else i, "z%": t}
        for i, t in enumerate(texts * 2)
    ]
    tables = [
        rows,
        rows + [{"worker_id": "w", "name": "x", "n": 1, "m": None}],  # a row with fewer keys
        rows + [{"worker_id": "w", "name": "x", "n": 1, "m": None, "other": 2}],  # other keys
        rows + [{**rows[0], "n": True}, {**rows[0], "n": 2.5}, {**rows[0], "name": ["a"]}],
        [{**r, "flag": i % 2 == 0} for i, r in enumerate(rows)],  # a table of bools
        [{'a"b': 1, "c\\": "x"}, {'a"b': 2, "c\\": "y"}],  # keys that need escaping
        [{**r, "content_sha256": "x"} for r in rows],  # bookkeeping: left out of the hash
        [{"only": 1}],
        [{}],
        [],
    ]
    for table in tables:
        assert content_hashes(table) == [content_hash(r) for r in table]


def test_stored_rows_read_in_one_pass_are_those_looked_up_by_key(tmp_path, monkeypatch):
    sample = tmp_path / "sample"
    write_sample(generate_sample(300, 60, seed=5), sample, truth=False)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    import_paths(url, [sample], key=KEY)
    engine = open_engine(url)
    with engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT worker_id FROM workers")]
        for keys in (stored + ["nobody", "w-x"], stored[::-1], stored[:200]):
            for columns in (repo.COMPARED, None):
                got = []
                for scan_at in (1, 10**12):
                    monkeypatch.setattr(repo, "SCAN_AT", scan_at)
                    got.append(repo._existing(conn, "workers", keys, columns))
                assert got[0] == got[1]
                assert set(got[0]) == set(keys) & set(stored)
    engine.dispose()


def test_protect_plain_gives_each_rows_values_in_to_db_order(tmp_path):
    from matcher.ingest import ingest
    from matcher.ingest.validate import Loaded, Plain
    from matcher.store.convert import protect_plain, to_db

    sample = tmp_path / "sample"
    write_sample(generate_sample(200, 40, seed=6), sample, truth=False)
    plain = [it.values for it in ingest([sample], columnar=True).records["workers"] if isinstance(it, Plain)]
    records = [it.record for it in ingest([sample]).records["workers"] if isinstance(it, Loaded)]
    assert len(plain) == len(records) == 200
    expected = [list(to_db("workers", r, KEY).items()) for r in records]
    assert [list(v.items()) for v in protect_plain("workers", plain, KEY)] == expected
    mixed = [plain[0], {k: v for k, v in plain[1].items() if k != "group_id"}]  # keys differ: row by row
    assert [list(v.items()) for v in protect_plain("workers", mixed, KEY)] == [
        expected[0],
        [(k, v) for k, v in expected[1] if k != "group_id"],
    ]


def test_indexes_stay_when_no_transaction_is_open_yet(tmp_path, monkeypatch):
    # pysqlite opens a transaction only before a write: without one, DROP INDEX would commit on its
    # own, so a crash before the rebuild would leave the table without its index. Then nothing is
    # dropped, and the rows go in with the index in place.
    from matcher.store.models import WorkerRow

    monkeypatch.setattr(bulk, "REINDEX_AT", 1)
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    table = table_of(WorkerRow)
    index = "SELECT 1 FROM sqlite_master WHERE name = 'ix_workers_id_number_hash'"
    seen = []
    with engine.connect() as conn:
        assert not conn.connection.dbapi_connection.in_transaction
        with bulk.indexes_after(conn, table, 5):
            seen.append(conn.exec_driver_sql(index).first())
        repo._lock_for_import(conn)  # a write: now the transaction is open and the index may go
        with bulk.indexes_after(conn, table, 5):
            seen.append(conn.exec_driver_sql(index).first())
        conn.rollback()
    assert seen[0] is not None and seen[1] is None
    engine.dispose()
