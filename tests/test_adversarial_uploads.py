"""The adversarial corpus, hostile uploads (issue 16, item 5): files built to crash a parser.

JSON nested ~1,000 deep (the parser's recursion), a CSV cell over the csv module's 131,072-character
limit, an XLSX whose XML declares a billion-laughs entity or an external entity, and a workbook with
a damaged sheet. Each is an error that names the file, and the row and field where there is one:

* ``ingest`` (every import path) reports it and keeps every valid row the format lets it keep;
* ``POST /imports`` answers 4xx (422 when nothing could be imported, else 200 with the rejection),
  never 500, and never echoes a local file an external entity points to;
* ``laborbridge import`` prints the report and exits 1 when nothing went in, no traceback.

The files are made at test time (a few are large); the builders are reusable.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.errors import SchemaError
from matcher.ingest import ingest
from matcher.ingest.readers import MAX_FIELD

HEAD = "worker_id,name,gender,birth_year,home_county_code,experience\n"
OK_ROW = "{wid},张三,male,1990,623024,焊工\n"
BIG = MAX_FIELD + 10_000


# ----------------------------------------------------------------------------- builders
def big_cell_csv(path: Path) -> Path:
    """workers.csv: valid rows 2 and 5; rows 3 and 4 with an over-limit ``experience`` (unquoted,
    and quoted holding the delimiter), so the culprit must be found past quoted commas."""
    rows = [
        OK_ROW.format(wid="ok1"),
        "big1,李四,male,1990,623024," + "长" * BIG + "\n",
        'big2,王五,male,1990,623024,"' + "x," * (BIG // 2) + '"\n',
        OK_ROW.format(wid="ok2"),
    ]
    path.write_text(HEAD + "".join(rows), encoding="utf-8")
    return path


def deep_json(path: Path, depth: int = 1_000, *, as_object: bool = True) -> Path:
    """A JSON file nested ``depth`` levels: past what the parser's recursion can follow."""
    nested = "[" * depth + "]" * depth
    path.write_text('{"workers": ' + nested + "}" if as_object else nested, encoding="utf-8")
    return path


def deep_cell_json(path: Path, depth: int = 500) -> Path:
    """workers.json: row 1 holds a list nested ``depth`` deep in ``skills``; row 2 is valid."""
    nested: object = ["电焊"]
    for _ in range(depth):
        nested = [nested]
    rows = [
        {"worker_id": "deep", "gender": "male", "birth_year": 1990, "home_county_code": "623024"},
        {"worker_id": "ok", "gender": "male", "birth_year": 1990, "home_county_code": "623024"},
    ]
    rows[0]["skills"] = nested
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
EXTERNAL_ENTITY = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def hostile_xlsx(path: Path, dtd: str, ref: str, part: str = "xl/worksheets/sheet1.xml") -> Path:
    """A valid workers workbook whose ``part`` gets ``dtd`` in its prolog and ``ref`` in a cell."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "workers"
    ws.append(["worker_id", "gender", "birth_year", "home_county_code", "experience"])
    ws.append(["x1", "male", 1990, "623024", "PLACEHOLDER"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == part:
                data = dtd.encode() + data
            zout.writestr(info, data.replace(b"PLACEHOLDER", ref.encode()))
    return path


def damaged_xlsx(path: Path) -> Path:
    """A workbook whose sheet XML breaks off in the middle of a row."""
    hostile_xlsx(path, "", "x")
    with zipfile.ZipFile(path) as zin:
        parts = {i.filename: zin.read(i) for i in zin.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet[: sheet.index(b'<row r="2"') + 30]
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    return path


HOSTILE = {
    "deep.json": lambda p: deep_json(p / "deep.json"),
    "workers_deep100k.json": lambda p: deep_json(p / "workers_deep100k.json", 100_000, as_object=False),
    "laughs.xlsx": lambda p: hostile_xlsx(p / "laughs.xlsx", BILLION_LAUGHS, "&lol9;"),
    "laughs_strings.xlsx": lambda p: hostile_xlsx(
        p / "laughs_strings.xlsx", BILLION_LAUGHS, "&lol9;", part="xl/workbook.xml"
    ),
    "xxe.xlsx": lambda p: hostile_xlsx(p / "xxe.xlsx", EXTERNAL_ENTITY, "&xxe;"),
    "damaged.xlsx": lambda p: damaged_xlsx(p / "damaged.xlsx"),
}
"""File-level cases: the whole file is refused (name → builder into a folder)."""


# ----------------------------------------------------------------------------- ingest
def test_csv_cell_over_the_limit_rejects_its_row_and_keeps_the_rows_after(tmp_path):
    result = ingest([big_cell_csv(tmp_path / "workers.csv")])
    got = [(Path(e.file).name, e.row, e.field) for e in result.rejected]
    assert got == [("workers.csv", 3, "experience"), ("workers.csv", 4, "experience")], got
    assert all(f"over {MAX_FIELD:,} characters" in e.reason for e in result.rejected)
    assert [lo.record.worker_id for lo in result.records["workers"]] == ["ok1", "ok2"]
    assert all(len(e.value or "") < 100 for e in result.rejected)  # the report does not echo the cell


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_is_one_file_level_error_naming_it(tmp_path, name):
    path = HOSTILE[name](tmp_path)
    result = ingest([path])
    assert [type(e) for e in result.rejected] == [SchemaError], [str(e) for e in result.rejected]
    err = result.rejected[0]
    assert err.file and Path(err.file.split(" [")[0]).name == name
    assert not any(result.records.values())
    if name.endswith(".json") and "deep" in name:
        assert "nested too deep" in err.reason
    if name.startswith(("laughs", "xxe")):
        assert "DTD" in err.reason and "root:" not in str(err)


def test_a_list_nested_in_a_json_cell_rejects_its_row(tmp_path):
    result = ingest([deep_cell_json(tmp_path / "workers.json")])
    assert [(e.row, e.field) for e in result.rejected] == [(1, "skills")]
    assert [lo.record.worker_id for lo in result.records["workers"]] == ["ok"]


def test_a_refused_file_does_not_cost_the_other_files_their_rows(tmp_path):
    (tmp_path / "workers.csv").write_text(HEAD + OK_ROW.format(wid="w1"), encoding="utf-8")
    paths = [tmp_path / "workers.csv", *(build(tmp_path) for build in HOSTILE.values())]
    result = ingest(paths)
    assert [lo.record.worker_id for lo in result.records["workers"]] == ["w1"]
    assert len(result.rejected) == len(HOSTILE)


def test_workbooks_without_a_dtd_still_read(tmp_path):
    path = hostile_xlsx(tmp_path / "workers.xlsx", "", "做过保安")
    result = ingest([path])
    assert not result.rejected and result.records["workers"][0].record.experience == "做过保安"


# ----------------------------------------------------------------------------- the API
@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from tests.api.conftest import auth, make_world, open_client
    from tests.fakes import FakeEncoder

    world = make_world(tmp_path_factory.mktemp("uploads-api"), n_workers=60, n_jobs=20, seed=7)
    with open_client(world.url, FakeEncoder()) as client:
        yield client, auth(world, "city_admin")


def _upload(client, headers, paths):
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    return client.post("/imports", files=files, headers=headers)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_post_imports_answers_422_naming_the_hostile_file(api, tmp_path, name):
    client, h = api
    r = _upload(client, h, [HOSTILE[name](tmp_path)])
    assert r.status_code == 422, r.text
    body = r.json()
    assert name in body["detail"] and body["errors"][0]["file"].startswith(name), body
    assert "root:" not in r.text and str(tmp_path) not in r.text  # no file content, no server path


def test_post_imports_keeps_valid_rows_beside_a_refused_row_or_file(api, tmp_path):
    client, h = api
    csv_path = big_cell_csv(tmp_path / "workers.csv")
    r = _upload(client, h, [csv_path, HOSTILE["xxe.xlsx"](tmp_path)])
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["created"]["workers"] + rep["unchanged"]["workers"] == 2
    got = {(e["file"], e["row"], e["field"]) for e in rep["rejected"]}
    assert got == {
        ("workers.csv", 3, "experience"),
        ("workers.csv", 4, "experience"),
        ("xxe.xlsx", None, None),
    }


# ----------------------------------------------------------------------------- the CLI
@pytest.fixture
def cli(tmp_path, monkeypatch):
    from api.cli import app

    monkeypatch.setenv("LABORBRIDGE_SECRET_KEY", "uploads-test-secret-0123456789")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["import", *map(str, args), "--db", f"sqlite:///{tmp_path}/s.db"])


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_cli_import_of_a_hostile_file_is_a_clean_error(cli, tmp_path, name):
    (tmp_path / "in").mkdir()
    res = cli(HOSTILE[name](tmp_path / "in"))
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output and name in res.output


def test_cli_import_keeps_the_valid_rows_of_a_csv_with_an_over_limit_cell(cli, tmp_path):
    res = cli(big_cell_csv(tmp_path / "workers.csv"), "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["imported"]["workers"] == 2
    assert [(r["row"], r["field"]) for r in report["rejected"]] == [(3, "experience"), (4, "experience")]
