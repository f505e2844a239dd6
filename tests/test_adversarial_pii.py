"""The adversarial corpus, personal numbers typed into free text (issue 16, item 4).

* :func:`matcher.pii.scrub` masks mobiles, landlines and ID numbers in every spelling people use
  (full-width, dotted, dashed, spaced, zero-width-separated, inside Chinese text), and leaves the
  ordinary numbers of job text alone (wages, dates, counts);
* validation masks them where records enter (import, ``PATCH``), and reports never echo them;
* migration 0005 scrubs a store written before that: free text, history, run texts, with content
  hashes that keep re-imports idempotent;
* end to end: numbers planted in the free text of an import, an upload and ``PATCH`` requests go
  through placement, recommendations and every export; then the store (every table, the database
  files), the exported files, the logs, the command outputs, the API responses, the embedding cache
  and the encoder's input are scanned for any of them in clear. The test prints how many plants and
  places it checked.

The scan is independent of the scrubber: NFKC, invisible characters dropped, digits joined across
separators, then a plain search for each planted number.
"""

from __future__ import annotations

import csv
import html
import json
import logging
import re
import sqlite3
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.idcard import id_check_digit, mask_id_number, mask_phone
from matcher.pii import scrub

# ----------------------------------------------------------------------------- numbers and spellings
COUNTIES = ("623024", "620503", "120101", "620821", "110101", "513221")


def phone_number(i: int) -> str:
    """The ``i``-th planted mobile number: 11 digits, segment 13x-19x, all distinct."""
    return f"1{'3456789'[i % 7]}{(123_456_789 + 9_871 * i) % 10**9:09d}"


def id_number(i: int, *, x: bool | None = None) -> str:
    """The ``i``-th planted ID number (valid check character; ``x``: one that ends in X, or not)."""
    for seq in range(1000):
        body = f"{COUNTIES[i % len(COUNTIES)]}{1965 + i % 35}{i % 12 + 1:02d}{i % 28 + 1:02d}{seq:03d}"
        check = id_check_digit(body)
        if x is None or (check == "X") == x:
            return body + check
    raise AssertionError("no such ID number")


_FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _split(s: str, sizes: Iterable[int], sep: str) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i : i + n])
        i += n
    return sep.join(out)


PHONE_SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "full-width": lambda s: s.translate(_FULL),
    "dotted": lambda s: _split(s, (3, 4, 4), "."),
    "dashed": lambda s: _split(s, (3, 4, 4), "-"),
    "spaced": lambda s: _split(s, (3, 4, 4), " "),
    "spaced 3-8": lambda s: _split(s, (3, 8), " "),
    "+86 spaced": lambda s: "+86 " + _split(s, (3, 4, 4), " "),
    "+86 glued": lambda s: "+86" + s,
    "zero-width spaces": lambda s: "\u200b".join(s),
    "word joiner and BOM": lambda s: _split(s, (3, 4, 4), "\u2060\ufeff"),
    "full-width dashes": lambda s: _split(s.translate(_FULL), (3, 4, 4), "－"),
    "ideographic spaces": lambda s: _split(s.translate(_FULL), (3, 4, 4), "\u3000"),
    "no-break spaces": lambda s: _split(s, (3, 4, 4), "\u00a0"),
    "en dashes": lambda s: _split(s, (3, 4, 4), "–"),
    "soft hyphens": lambda s: "\u00ad".join(s),
    "one digit at a time": lambda s: " ".join(s),
    "brackets": lambda s: "(" + _split(s, (3, 4, 4), ")"),
    "zero-width joiners, full-width": lambda s: "\u200d".join(s.translate(_FULL)),
}
ID_SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "lower-case x": lambda s: s.lower(),
    "full-width": lambda s: s.translate(_FULL),
    "dashed 6-8-4": lambda s: _split(s, (6, 8, 4), "-"),
    "spaced 6-4-4-4": lambda s: _split(s, (6, 4, 4, 4), " "),
    "spaced 4-4-4-4-2": lambda s: _split(s, (4, 4, 4, 4, 2), " "),
    "dotted": lambda s: _split(s, (6, 8, 4), "."),
    "slashes": lambda s: _split(s, (6, 8, 4), "/"),
    "middle dots": lambda s: _split(s, (6, 8, 4), "·"),
    "zero-width spaces": lambda s: "\u200b".join(s),
    "ideographic spaces": lambda s: _split(s.translate(_FULL), (6, 8, 4), "\u3000"),
    "mixed width": lambda s: s[:9] + s[9:].translate(_FULL),
    "zero-width non-joiners": lambda s: _split(s, (6, 8, 4), "\u200c"),
    "tabs": lambda s: _split(s, (6, 8, 4), "\t"),
}
CONTEXTS = (
    "联系电话{}找我",
    "身份证号：{}。",
    "本人{}，会电焊",
    "有事打{}",
    "证件{}已核",
    "老乡介绍，电话 {} 王",
)


class Plants:
    """Planted numbers: each is a distinct number, in one spelling, inside Chinese text."""

    def __init__(self) -> None:
        self.numbers: dict[str, str] = {}  # canonical digits -> spelling name
        self._n = 0

    def _next(self, kind: str) -> tuple[str, str, Callable[[str], str]]:
        i = self._n
        self._n += 1
        if kind == "phone":
            name, spell = list(PHONE_SPELLINGS.items())[i % len(PHONE_SPELLINGS)]
            number = phone_number(i)
        else:
            name, spell = list(ID_SPELLINGS.items())[i % len(ID_SPELLINGS)]
            number = id_number(i, x=True if name == "lower-case x" else None)
        return number, name, spell

    def text(self, kind: str) -> str:
        """A planted ``kind`` (``phone`` or ``id``) in context, its number remembered."""
        number, name, spell = self._next(kind)
        self.numbers[number] = f"{kind}: {name}"
        return CONTEXTS[len(self.numbers) % len(CONTEXTS)].format(spell(number))

    def every_spelling(self) -> list[str]:
        """One plant of every phone and every ID spelling."""
        return [self.text("phone") for _ in PHONE_SPELLINGS] + [self.text("id") for _ in ID_SPELLINGS]


# ----------------------------------------------------------------------------- the independent scan
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_GAP = re.compile(r"(?<=[0-9])[\s\-\u2010-\u2015\u2212.\u00b7\u30fb/()+_~]{1,3}(?=[0-9X])")


def flatten(text: str) -> str:
    """Text as the scan compares it: escapes decoded, NFKC, no invisible characters, digits joined."""
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), html.unescape(text))
    text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    return _GAP.sub("", text).upper()


def raw_numbers(text: str, numbers: Iterable[str]) -> list[str]:
    """The ``numbers`` found in clear in ``text``."""
    flat = flatten(text)
    return [n for n in numbers if n in flat]


def file_text(path: Path) -> str:
    """A file's text for the scan: every part of a workbook, a database's bytes, else the file."""
    data = path.read_bytes()
    if data[:2] == b"PK":
        with zipfile.ZipFile(path) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    return data.decode("utf-8", "replace")


# ----------------------------------------------------------------------------- scrub, both directions
def _every_plant() -> list[tuple[str, str, str]]:
    out = []
    for i, (name, spell) in enumerate(PHONE_SPELLINGS.items()):
        n = phone_number(i)
        out.append((f"phone {name}", n, spell(n)))
    for i, (name, spell) in enumerate(ID_SPELLINGS.items()):
        n = id_number(i, x=True if name == "lower-case x" else None)
        out.append((f"ID {name}", n, spell(n)))
    return out


@pytest.mark.parametrize(("name", "number", "spelled"), _every_plant(), ids=lambda v: str(v)[:24])
@pytest.mark.parametrize("context", CONTEXTS[:3])
def test_scrub_masks_a_number_in_every_spelling(name, number, spelled, context):
    text = context.format(spelled)
    assert raw_numbers(text, [number]) == [number]  # the scan sees it before
    out = scrub(text)
    assert raw_numbers(out, [number]) == [], (name, out)
    masked = mask_phone(number) if name.startswith("phone") else mask_id_number(number)
    assert masked in out and context.split("{}")[0] in out, out
    assert scrub(out) == out  # idempotent
    dropped = scrub(text, drop=True)
    assert raw_numbers(dropped, [number]) == [] and "*" not in dropped


ORDINARY = (
    "月薪5000-6000元，包吃住",
    "月薪3000~4500元/月，日薪200-300元",
    "5000-6000-7000元三档",
    "2023-01-15入职，2023.11.15转正，2024/01/01续签",
    "2019-03-01 2021-06-30 在天津做保安",
    "1995.12.1 2001.3.5 在工地",
    "2019.03-2021.06 物业；2021.07-2023.12 保洁",
    "工作时间 8:00-17:30，每周6天",
    "招15人，年龄18-45岁，身高160-175cm",
    "工作经验1-3年 3-5年 5-10年",
    "工资档位 1500 1800 2000 2500 3000 3500",
    "工号 12345，邮编 300000，楼号 3-2-1201",
    "订单号 20230115123456789012",
    "共120场招聘会、50000个岗位、1000人/区",
    "2023年11月15日 13点 报到",
    "第1、2、3期培训，每期7-10天",
    "体重 45-90 公斤，视力 4.8-5.3",
    "2026 2027 2028 三年合同",
)


@pytest.mark.parametrize("text", ORDINARY)
def test_scrub_leaves_the_ordinary_numbers_of_job_text_alone(text):
    assert scrub(text) == text
    assert scrub(text, drop=True) == " ".join(text.split())


def test_masked_forms_pass_through_untouched():
    text = "电话 139****0009，身份证 623024********123X，座机 022****6789"
    assert scrub(text) == text


# ----------------------------------------------------------------------------- the point of entry
def test_validation_masks_free_text_and_reports_never_echo_a_number(tmp_path):
    from matcher.ingest import ingest

    plants = Plants()
    planted = {c: plants.text("phone" if i % 2 else "id") for i, c in enumerate(("experience", "skills"))}
    idn = "62302419900101123" + id_check_digit("62302419900101123")
    rows = [
        "worker_id,name,gender,birth_year,home_county_code,id_number,phone,experience,skills,education",
        # full-width and spaced spellings in the dedicated columns are accepted, normalised
        f"w1,张三,male,1990,623024,{idn[:6].translate(_FULL)} {idn[6:14]} {idn[14:]},１３９-1234-0009,"
        f"{planted['experience']},{planted['skills']},",
        # a rejected row: its error must not echo the number typed into education
        f"w2,李四,unknown,1990,623024,,,,,{plants.text('phone')}",
    ]
    (tmp_path / "workers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = ingest([tmp_path])
    (w1,) = [lo.record for lo in result.records["workers"]]
    assert w1.id_number == idn and w1.phone == "13912340009"
    assert raw_numbers(w1.experience + w1.skills[0], plants.numbers) == []
    assert "*" in w1.experience and "*" in w1.skills[0]
    text = " ".join(f"{e} {e.value}" for e in result.rejected)
    assert result.rejected and raw_numbers(text, plants.numbers) == [], text


# ----------------------------------------------------------------------------- stores written before
def _legacy_store(tmp_path: Path, plants: Plants) -> tuple[str, Path, dict[str, str]]:
    """A store as an older laborbridge left it: free text, history and run texts in clear."""
    import datetime as dt

    from sqlalchemy import insert, text, update

    from matcher.store import import_paths, open_engine
    from matcher.store.convert import content_hash
    from matcher.store.models import (
        JobFairRow,
        JobRow,
        PlacementRunRow,
        RecordChange,
        RunAssignmentRow,
        RunUnplacedRow,
        WorkerRow,
    )

    data = tmp_path / "data"
    data.mkdir()
    raw = {
        c: plants.text("phone" if i % 2 else "id")
        for i, c in enumerate(("experience", "description", "place", "explanation", "hint", "gap"))
    }
    (data / "enterprises.csv").write_text("enterprise_id,name,location_code\ne1,河东物业,120102\n", "utf-8")
    (data / "jobs.csv").write_text(
        f"job_id,enterprise_id,title,description,openings\nj1,e1,保安员,{raw['description']},2\n", "utf-8"
    )
    (data / "workers.csv").write_text(
        f"worker_id,gender,birth_year,home_county_code,experience\nw1,male,1990,623024,{raw['experience']}\n",
        "utf-8",
    )
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    key = b"legacy-store-key-0123456789"
    assert import_paths(url, [data], key=key).written
    engine = open_engine(url)
    with engine.begin() as conn:  # write what the old importer wrote: the raw text, hashed as such
        for model, col, pk, value in (
            (WorkerRow, "experience", WorkerRow.worker_id == "w1", raw["experience"]),
            (JobRow, "description", JobRow.job_id == "j1", raw["description"]),
        ):
            row = dict(conn.execute(model.__table__.select().where(pk)).mappings().one())
            row[col] = value
            conn.execute(update(model).where(pk).values({col: value, "content_sha256": content_hash(row)}))
        batch = conn.execute(text("select max(id) from import_batches")).scalar()
        change = {"experience": {"old": raw["experience"], "new": "焊工"}}
        conn.execute(
            insert(RecordChange).values(
                batch_id=batch,
                kind="workers",
                record_key="w1",
                action="updated",
                file="x",
                row=2,
                changes=change,
            )
        )
        at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        conn.execute(
            insert(JobFairRow).values(
                fair_id="f1", held_on=at.date(), place=raw["place"], county_code="623024", recorded_at=at
            )
        )
        conn.execute(
            insert(PlacementRunRow).values(
                run_id="r1", created_at=at, params={}, input_sha256="0" * 64, model="m", versions={},
                status="optimal", solver="flow", objective=1.0, n_workers=1, n_jobs=1, n_openings=2,
                n_placed=1, n_candidates=1, assignment_sha256="0" * 64, summary={},
            )
        )  # fmt: skip
        conn.execute(
            insert(RunAssignmentRow).values(
                run_id="r1", worker_id="w1", job_id="j1", enterprise_id="e1", home_county_code="623024",
                location_code="120102", score=0.5, factors={}, explanation_zh=raw["explanation"],
            )
        )  # fmt: skip
        conn.execute(
            insert(RunUnplacedRow).values(
                run_id="r1", worker_id="w2", home_county_code="623024", reason="no_candidate",
                hint_zh=raw["hint"], skill_gap={"suggestions": [{"title_zh": raw["gap"]}]},
            )
        )  # fmt: skip
    engine.dispose()
    _back_to(url, "0005_scrub_free_text")  # the later revisions' columns go: 0004 had none of them
    engine = open_engine(url, migrate_schema=False)
    with engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '0004_sessions'"))
    engine.dispose()
    return url, data, raw


def _back_to(url: str, revision: str) -> None:
    """Downgrade the store at ``url`` to ``revision`` with its own migrations."""
    from alembic import command
    from alembic.config import Config

    from matcher.store.engine import MIGRATIONS
    from matcher.store.engine import open_engine as _open

    engine = _open(url, migrate_schema=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


def _store_text(url: str) -> dict[str, str]:
    """Every table of a SQLite store as text, and the bytes of its files (database, WAL)."""
    path = Path(url.removeprefix("sqlite:///"))
    out = {}
    con = sqlite3.connect(path)
    try:
        for (table,) in con.execute("select name from sqlite_master where type = 'table'"):
            rows = con.execute(f'select * from "{table}"').fetchall()
            out[f"table {table}"] = "\n".join("\x1f".join(map(str, r)) for r in rows)
    finally:
        con.close()
    for f in path.parent.glob(path.name + "*"):
        if f.suffix != ".shm":
            out[f"file {f.name}"] = file_text(f)
    return out


def test_migration_0005_scrubs_a_store_written_before_masking(tmp_path):
    from matcher.store import import_paths, open_engine

    plants = Plants()
    url, data, raw = _legacy_store(tmp_path, plants)
    before = _store_text(url)
    assert set().union(*(raw_numbers(t, plants.numbers) for t in before.values())) == set(plants.numbers)
    open_engine(url).dispose()  # opening a store migrates it
    after = _store_text(url)  # the tables, and the database file's bytes: no old page keeps a number
    found = {k: raw_numbers(v, plants.numbers) for k, v in after.items()}
    assert not any(found.values()), found
    for table in ("workers", "jobs", "record_changes", "job_fairs", "run_assignments", "run_unplaced"):
        assert "****" in after[f"table {table}"], table
    report = import_paths(url, [data], key=b"legacy-store-key-0123456789")  # same files, masked on entry
    assert not report.written and report.unchanged == {
        "workers": 1,
        "enterprises": 1,
        "jobs": 1,
        "pairings": 0,
    }


# ----------------------------------------------------------------------------- end to end
YEAR = "2026"


def _plant_into(folder: Path, plants: Plants) -> None:
    """Plant numbers into the free text of the sample's workers, jobs and enterprises."""
    fields = {
        "workers": ("experience", "skills", "desired_occupations", "education", "current_employer"),
        "jobs": ("description", "title"),
        "enterprises": ("name",),
    }
    spellings = plants.every_spelling()
    k = 0
    for kind, cols in fields.items():
        path = folder / f"{kind}.csv"
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for i, row in enumerate(rows[:12]):
            col = cols[i % len(cols)]
            text = (
                spellings[k % len(spellings)]
                if k < len(spellings)
                else plants.text("phone" if k % 2 else "id")
            )
            k += 1
            row[col] = f"{row[col]};{text}" if col in ("skills", "desired_occupations") and row[col] else (
                f"{row[col]} {text}".strip()
            )  # fmt: skip
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    assert k >= len(spellings)


def test_planted_numbers_reach_no_table_file_log_output_response_or_cache(tmp_path, monkeypatch, caplog):
    import matcher.placement.pipeline
    from api.auth import create_key
    from api.cli import app
    from embeddings.cache import CachedEncoder
    from matcher.sample.generate import generate_sample, write_sample
    from matcher.store import open_engine
    from tests.api.conftest import SECRET, open_client
    from tests.fakes import FAKE_MIN_FIT, FakeEncoder

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LABORBRIDGE_SECRET_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    plants = Plants()
    places: dict[str, str] = {}  # name -> text scanned
    fake = FakeEncoder()
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(
        matcher.placement.pipeline, "make_encoder", lambda model, cache: CachedEncoder(fake, cache_dir)
    )
    runner = CliRunner()

    def cli(*args: str) -> str:
        r = runner.invoke(app, list(args))
        assert r.exit_code == 0, (args, r.output)
        places[f"output of {' '.join(args[:2])} #{len(places)}"] = r.output
        return r.stdout

    # import: a sample with numbers planted in its free text, through the command line
    data = tmp_path / "data"
    write_sample(generate_sample(48, 20, seed=4, year=int(YEAR)), data, truth=False)
    _plant_into(data, plants)
    input_text = "\n".join(file_text(p) for p in data.glob("*.csv"))
    assert set(raw_numbers(input_text, plants.numbers)) == set(plants.numbers)  # the scan sees every plant
    url = f"sqlite:///{tmp_path / 'db' / 'laborbridge.db'}"
    cli("import", str(data), "--db", url)
    engine = open_engine(url)
    h = {"Authorization": f"Bearer {create_key(engine, 'city_admin')[0]}"}
    engine.dispose()

    upload = tmp_path / "upload" / "jobs.csv"  # and one more file through POST /imports
    upload.parent.mkdir()
    ent = next(csv.DictReader((data / "enterprises.csv").open(encoding="utf-8")))["enterprise_id"]
    upload.write_text(
        "job_id,enterprise_id,title,description,openings\n"
        + "".join(f"UP{i},{ent},保安员,{plants.text('phone' if i % 2 else 'id')},3\n" for i in range(6)),
        encoding="utf-8",
    )
    responses: list[str] = []
    with open_client(url, CachedEncoder(fake, cache_dir)) as client:
        client.event_hooks["response"].append(lambda r: responses.append(r.read().decode("utf-8", "replace")))
        r = client.post(
            "/imports", files=[("files", ("jobs.csv", upload.read_bytes(), "text/csv"))], headers=h
        )
        assert r.status_code == 200 and r.json()["created"]["jobs"] == 6, r.text

        # PATCH: more numbers into the free text of a worker, a job and an enterprise
        wid, jid = _first_id(data, "workers"), _first_id(data, "jobs")
        patches = [
            (f"/workers/{wid}", {"experience": plants.text("id"), "skills": [plants.text("phone"), "电焊"]}),
            (
                f"/workers/{wid}",
                {"desired_occupations": [plants.text("phone")], "education": plants.text("id")},
            ),
            (f"/jobs/{jid}", {"description": plants.text("phone"), "title": "保安员" + plants.text("id")}),
            (f"/enterprises/{ent}", {"name": "河东物业" + plants.text("phone")}),
        ]
        for path, body in patches:
            r = client.patch(path, json=body, headers=h)
            assert r.status_code == 200, r.text

        # place and recommend, through the API (a profile typed in too) and the command line
        r = client.post("/placements", json={"k": 6, "year": int(YEAR), "min_fit": FAKE_MIN_FIT}, headers=h)
        assert r.status_code == 202, r.text
        client.app.state.services.placements.wait()
        run_id = r.json()["id"]
        assert client.get(f"/placements/{run_id}", headers=h).json()["status"] == "succeeded"
        client.app.state.services.recommender.wait()
        for path in (
            f"/workers/{wid}/recommendations",
            f"/jobs/{jid}/candidates",
            f"/placements/{run_id}/assignments",
        ):
            assert client.get(path, headers=h).status_code == 200, path
        profile = {
            "gender": "male",
            "birth_year": 1990,
            "home_county_code": "623024",
            "experience": plants.text("phone"),
            "skills": [plants.text("id")],
            "desired_occupations": ["保安"],
        }
        r = client.post("/recommendations", json={"profile": profile, "k": 5}, headers=h)
        assert r.status_code == 200, r.text

        # every export the API serves
        for kind in ("workers", "enterprises", "jobs", "pairings"):
            for fmt in ("csv", "xlsx"):
                r = client.get(f"/exports/{kind}", params={"format": fmt}, headers=h)
                assert r.status_code == 200, (kind, fmt)
        for which in ("placements_by_district", "placements_by_enterprise", "supply", "unplaced"):
            for fmt in ("csv", "xlsx"):
                r = client.get(f"/placements/{run_id}/exports/{which}", params={"format": fmt}, headers=h)
                assert r.status_code == 200, (which, fmt)
        for fmt in ("xlsx", "json"):
            assert client.get(f"/reports/{YEAR}", params={"format": fmt}, headers=h).status_code == 200

    # the command line: place, recommend, and every export it writes
    out = tmp_path / "out"
    cli("place", "--db", url, "--out", str(out / "run"), "--k", "6", "--year", YEAR, "--min-fit", "0")
    cli("recommend", wid, "--db", url, "--k", "5", "--year", YEAR, "--json")
    cli("candidates", jid, "--db", url, "--k", "5", "--year", YEAR, "--json")
    for kind in ("workers", "enterprises", "jobs", "pairings"):
        for fmt in ("csv", "xlsx"):
            cli("export", kind, "--format", fmt, "--out", str(out / f"export-{kind}.{fmt}"), "--db", url)
        cli("export", kind, "--db", url, "--headers", "zh")  # CSV to standard output
    cli("export", "workers", "--format", "csv", "--out", str(out / "unmasked.csv"), "--db", url, "--unmasked")
    cli("exports", "--run", "latest", "--db", url, "--out", str(out / "lists"), "--format", "both")
    cli("report", "--year", YEAR, "--db", url, "--out", str(out / "report.xlsx"))
    cli("runs", "show", "latest", "--db", url)

    # the scan
    places |= _store_text(url)
    exported = [p for p in out.rglob("*") if p.is_file()]
    assert len(exported) >= 25, sorted(p.name for p in exported)
    places |= {f"exported {p.relative_to(out)}": file_text(p) for p in exported}
    places |= {f"cache {p.name}": file_text(p) for p in cache_dir.rglob("*") if p.is_file()}
    places["encoder input"] = "\n".join(fake.seen)
    places |= {f"API response #{i}": text for i, text in enumerate(responses)}
    places["logs"] = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert fake.seen and responses and any(k.startswith("cache ") for k in places)
    found = {name: hits for name, text in places.items() if (hits := raw_numbers(text, plants.numbers))}
    summary = f"{len(plants.numbers)} plants x {len(places)} places checked -> {len(found)} with a raw number"
    print(f"\npersonal numbers in free text: {summary}")
    assert not found, f"{summary}: " + "; ".join(
        f"{k}: {[plants.numbers[n] for n in v]}" for k, v in found.items()
    )


def _first_id(folder: Path, kind: str) -> str:
    with (folder / f"{kind}.csv").open(encoding="utf-8") as fh:
        return next(csv.DictReader(fh))[{"workers": "worker_id", "jobs": "job_id"}[kind]]


def test_the_scan_finds_a_number_left_in_clear():
    """The scan is not vacuous: a number in clear, in any spelling, in any kind of text is found."""
    plants = Plants()
    for text in plants.every_spelling():
        assert len(raw_numbers(text, plants.numbers)) == 1, text
    escaped = json.dumps({"x": PHONE_SPELLINGS["full-width"](phone_number(1))})  # \\uff11 escapes
    assert raw_numbers(escaped, [phone_number(1)]) == [phone_number(1)]
