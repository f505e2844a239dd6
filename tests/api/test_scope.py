"""Scope hardening (issue 16, items 3, 6 and 7; issue 15, item 2): who may move a record, what a
scoped caller reads of a run, candidates and the report, one download path for API and console,
and an id out of scope answered exactly as an unknown one, by the same query.

The walk over every role, route and own/other record is in ``test_auth_matrix.py``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from sqlalchemy import event

from api import repo
from api.auth import SCOPE_FIELDS, SESSION_COOKIE, Principal, Role, scope_of
from matcher.geo import builtin_pairings
from matcher.store import open_engine
from tests.api.conftest import YEAR, World, auth, console_session, response_text

ID_ROUTES = [
    ("GET", "/workers/{id}", "w", None),
    ("PATCH", "/workers/{id}", "w", {"education": "高中"}),
    ("GET", "/workers/{id}/recommendations", "w", None),
    ("POST", "/recommendations", "w", {"worker_id": "{id}", "k": 3}),
    ("GET", "/enterprises/{id}", "e", None),
    ("PATCH", "/enterprises/{id}", "e", {"dorm_beds": 2}),
    ("GET", "/jobs/{id}", "j", None),
    ("PATCH", "/jobs/{id}", "j", {"openings": 2}),
    ("GET", "/jobs/{id}/candidates", "j", None),
    ("GET", "/console/workers/{id}", "w", None),
    ("GET", "/console/enterprises/{id}", "e", None),
    ("GET", "/console/jobs/{id}", "j", None),
]


def _other(world: World, kind: str) -> str:
    return {"w": world.worker_other, "e": world.enterprise_other, "j": world.job_other}[kind]


def _unknown_like(record_id: str) -> str:
    """An id no record has, as long as ``record_id`` (so even the lengths of the answers agree)."""
    return record_id[0] + "9" * (len(record_id) - 1)


def _ask(client, world: World, role: str, method: str, path: str, record_id: str, body):
    url = path.format(id=record_id)
    if isinstance(body, dict):
        body = {k: v.format(id=record_id) if isinstance(v, str) else v for k, v in body.items()}
    client.cookies.clear()
    if url.startswith("/console"):
        client.cookies.set(SESSION_COOKIE, console_session(client, world, role))
        try:
            return client.request(method, url, json=body, follow_redirects=False)
        finally:
            client.cookies.clear()
    return client.request(method, url, json=body, headers=auth(world, role))


# ----------------------------------------------------------------------------- item 7: one path
@pytest.mark.parametrize("role", ["district_officer", "enterprise"])
@pytest.mark.parametrize(("method", "path", "kind", "body"), ID_ROUTES)
def test_an_id_out_of_scope_answers_exactly_as_an_unknown_one(client, world, role, method, path, kind, body):
    other = _other(world, kind)
    unknown = _unknown_like(other)
    a = _ask(client, world, role, method, path, other, body)
    b = _ask(client, world, role, method, path, unknown, body)
    assert a.status_code == b.status_code and a.status_code in (403, 404), (a.status_code, a.text)
    assert dict(a.headers) == dict(b.headers)
    assert a.content.replace(other.encode(), b"<id>") == b.content.replace(unknown.encode(), b"<id>")


class _Statements:
    """The SQL statements an engine runs, as text (parameters apart)."""

    def __init__(self, engine) -> None:
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)

    def take(self) -> list[str]:
        out, self.seen = self.seen, []
        return out


@pytest.fixture()
def engine(world: World):
    e = open_engine(world.url)
    yield e
    e.dispose()


def _scope(world: World, role: str):
    if role == "district_officer":
        p = Principal(1, "lb_test", Role.district_officer, district_code=world.own)
        return scope_of(p, {c.county_code for c in builtin_pairings() if c.district_code == world.own})
    return scope_of(Principal(1, "lb_test", Role.enterprise, enterprise_id=world.enterprise_own))


@pytest.mark.parametrize("role", ["district_officer", "enterprise"])
@pytest.mark.parametrize("kind", ["w", "e", "j"])
def test_unknown_and_out_of_scope_ids_run_the_same_single_query(engine, world, role, kind):
    from matcher.errors import NotFoundError

    scope = _scope(world, role)
    get = {"w": repo.get_worker, "e": repo.get_enterprise, "j": repo.get_job}[kind]
    other = _other(world, kind)
    statements = _Statements(engine)
    runs = []
    for record_id in (other, _unknown_like(other)):
        with pytest.raises(NotFoundError) as exc:
            get(engine, record_id, scope)
        runs.append((statements.take(), str(exc.value).replace(record_id, "<id>")))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 1  # the scope is in the WHERE of the lookup itself


def test_the_in_memory_worker_lookup_takes_the_same_path_for_unknown_and_out_of_scope(engine, world):
    from matcher.errors import NotFoundError
    from matcher.store import dataset_from_engine

    ds = dataset_from_engine(engine)
    scope = _scope(world, "district_officer")
    statements = _Statements(engine)
    assert repo.visible_worker(engine, ds, world.worker_own, scope).worker_id == world.worker_own
    assert statements.take() == []  # its own county's worker: from memory, no store read
    runs = []
    for record_id in (world.worker_other, _unknown_like(world.worker_other)):
        with pytest.raises(NotFoundError):
            repo.visible_worker(engine, ds, record_id, scope)
        runs.append(statements.take())
    assert runs[0] == runs[1] and len(runs[0]) == 1


# ----------------------------------------------------------------------------- item 3: scope fields
def _columns(clause) -> set[tuple[str, str]]:
    from sqlalchemy.sql import visitors

    return {(c.table.name, c.name) for c in visitors.iterate(clause) if getattr(c, "table", None) is not None}


@pytest.mark.parametrize("role", ["district_officer", "enterprise"])
def test_the_fields_that_decide_scope_are_exactly_the_admin_only_ones(world, role):
    """What the scope filters read of a record is its key or a field only the city administrator
    may change, so no other write can move a record out of its editor's scope."""
    scope = _scope(world, role)
    filters = {"workers": repo.worker_filter, "enterprises": repo.enterprise_filter, "jobs": repo.job_filter}
    keys = {"workers": "worker_id", "enterprises": "enterprise_id", "jobs": "job_id"}
    read = {t: set() for t in filters}
    for f in filters.values():
        for table, col in _columns(f(scope)):
            if table in read:
                read[table].add(col)
    for kind in filters:
        assert read[kind] - {keys[kind]} <= SCOPE_FIELDS[kind], (kind, read[kind])
    assert read["jobs"] - {"job_id"} <= {"enterprise_id", "location_code"}
    for kind, fields in SCOPE_FIELDS.items():
        assert all(not scope.may_change(kind, f) for f in fields)
        assert scope_of(Principal(1, "lb_x", Role.city_admin)).may_change(kind, "location_code")


@pytest.mark.parametrize(
    ("role", "path", "field", "to"),
    [
        ("district_officer", "/jobs/{job_own}", "enterprise_id", "{enterprise_other}"),
        ("district_officer", "/jobs/{job_own}", "location_code", "{other}"),
        ("district_officer", "/enterprises/{enterprise_own}", "location_code", "{other}"),
        ("district_officer", "/workers/{worker_own}", "home_county_code", "{other_county}"),
        ("enterprise", "/jobs/{job_own}", "enterprise_id", "{enterprise_other}"),
        ("enterprise", "/jobs/{job_own}", "location_code", "{other}"),
        ("enterprise", "/enterprises/{enterprise_own}", "location_code", "{other}"),
    ],
)
def test_only_the_city_admin_moves_a_record_and_others_get_403_naming_the_field(
    client, world, role, path, field, to
):
    other_county = sorted(
        {p.county_code for p in builtin_pairings() if p.district_code == world.other}
        - {p.county_code for p in builtin_pairings() if p.district_code == world.own}
    )[0]
    names = vars(world) | {"other_county": other_county}
    url, value = path.format(**names), to.format(**names)
    before = client.get(url, headers=auth(world, "city_admin")).json()
    r = client.patch(url, json={field: value}, headers=auth(world, role))
    assert r.status_code == 403, r.text
    assert r.json()["errors"] == [{"field": field, "reason": r.json()["detail"]}]
    assert field in r.json()["detail"]
    assert client.get(url, headers=auth(world, "city_admin")).json() == before
    # the same value sent back is no change: allowed
    same = client.patch(url, json={field: before[field]}, headers=auth(world, role))
    assert same.status_code == 200, same.text
    # the city administrator may move it (and moves it back)
    moved = client.patch(url, json={field: value}, headers=auth(world, "city_admin"))
    assert moved.status_code == 200 and moved.json()[field] == value, moved.text
    back = client.patch(url, json={field: before[field]}, headers=auth(world, "city_admin"))
    assert back.status_code == 200 and back.json() == before


# ----------------------------------------------------------------------------- item 6: reads of runs
def _officer_workers(world: World) -> set[str]:
    from sqlalchemy import select

    from matcher.store import load_dataset
    from matcher.store.models import RunAssignmentRow

    counties = {p.county_code for p in builtin_pairings() if p.district_code == world.own}
    engine = open_engine(world.url)
    with engine.connect() as conn:
        q = select(RunAssignmentRow.worker_id).where(RunAssignmentRow.location_code == world.own)
        placed = set(conn.execute(q).scalars())
    engine.dispose()
    return {w.worker_id for w in load_dataset(world.url).workers if w.home_county_code in counties} | placed


def test_an_officers_candidates_are_its_own_workers_best_first(client, world):
    k = 10
    mine = _officer_workers(world)
    # both lists from one fit: a refit started by an earlier test's edit must not land between them
    client.app.state.services.recommender.wait()
    got = client.get(
        f"/jobs/{world.job_own}/candidates", params={"k": k}, headers=auth(world, "district_officer")
    )
    assert got.status_code == 200, got.text
    ids = [it["worker_id"] for it in got.json()["items"]]
    everyone = client.get(
        f"/jobs/{world.job_own}/candidates", params={"k": 100}, headers=auth(world, "city_admin")
    ).json()["items"]
    ranked_mine = [it["worker_id"] for it in everyone if it["worker_id"] in mine]
    assert set(ids) <= mine
    assert len(everyone) > len(ranked_mine)  # the job draws workers from outside the district too
    assert ids == ranked_mine[:k]  # the best of its own, in the city's order, as many as asked
    page = _ask(client, world, "district_officer", "GET", "/console/jobs/{id}", world.job_own, None)
    assert page.status_code == 200
    shown = set(re.findall(r"W\d{5,}", page.text))
    assert shown <= mine


def test_a_scoped_caller_reads_the_run_summary_of_its_own_jobs(client, world, run_id):
    full = client.get(f"/placements/{run_id}", headers=auth(world, "city_admin")).json()["summary"]
    assert full == client.get(f"/placements/{run_id}", headers=auth(world, "auditor")).json()["summary"]
    jobs = {
        role: {
            j["job_id"]
            for j in client.get("/jobs", params={"limit": 200}, headers=auth(world, role)).json()["items"]
        }
        for role in ("district_officer", "enterprise")
    }
    officer = client.get(f"/placements/{run_id}", headers=auth(world, "district_officer")).json()["summary"]
    assert {p["job_id"] for p in officer["shadow_prices"]} <= jobs["district_officer"]
    assert [p for p in full["shadow_prices"] if p["job_id"] in jobs["district_officer"]] == officer[
        "shadow_prices"
    ]
    assert officer["n_workers"] == full["n_workers"]  # the office's run figures stay
    ent = client.get(f"/placements/{run_id}", headers=auth(world, "enterprise")).json()["summary"]
    assert {p["job_id"] for p in ent["shadow_prices"]} <= jobs["enterprise"]
    assert set(ent["job_codes_predicted"]) <= jobs["enterprise"]
    assert not {"n_workers", "objective", "unplaced_reasons", "wishes", "n_openings"} & set(ent)
    mine = client.get(
        f"/placements/{run_id}/assignments", params={"limit": 200}, headers=auth(world, "enterprise")
    ).json()["items"]
    assert ent["n_placed"] == len(mine) and ent["year"] == full["year"]


def test_the_report_file_is_city_wide_for_admin_and_auditor_only_on_api_and_console(client, world, run_id):
    for role, status in (
        ("city_admin", 200),
        ("auditor", 200),
        ("district_officer", 403),
        ("enterprise", 403),
    ):
        for fmt in ("json", "xlsx"):
            r = client.get(f"/reports/{YEAR}", params={"format": fmt}, headers=auth(world, role))
            assert r.status_code == status, (role, fmt, r.text[:200])
        page = _ask(client, world, role, "GET", "/console/reports/download?year={id}", str(YEAR), None)
        assert page.status_code == status, (role, page.status_code)
    officer = _ask(client, world, "district_officer", "GET", "/console/reports?year={id}", str(YEAR), None)
    assert officer.status_code == 200 and 'data-testid="dl-report"' not in officer.text


# ----------------------------------------------------------------------------- issue 15 item 2: one path
LISTS = ["placements_by_district", "placements_by_enterprise", "unplaced", "supply"]


@pytest.mark.parametrize("role", ["city_admin", "district_officer", "enterprise", "auditor"])
@pytest.mark.parametrize("which", LISTS)
def test_api_and_console_hand_out_the_same_run_list(client, world, run_id, role, which):
    api = client.get(f"/placements/{run_id}/exports/{which}", headers=auth(world, role))
    console = _ask(client, world, role, "GET", f"/console/runs/{{id}}/download/{which}", run_id, None)
    assert api.status_code == console.status_code, (api.status_code, console.status_code)
    if role == "enterprise" and which in ("unplaced", "supply"):
        assert api.status_code == 403
        return
    assert api.status_code == 200, api.text[:300]
    assert response_text(api) == response_text(console)
    assert api.headers["content-disposition"] == console.headers["content-disposition"]
    if which.startswith("placements"):
        header = response_text(api).split("\n", 1)[0].split(",")
        personal = {"姓名", "身份证号", "手机号"} & set(header)
        assert personal == (set() if role == "enterprise" else {"姓名", "身份证号", "手机号"}), header


def test_a_supply_list_of_one_county_comes_from_the_same_path(client, world, run_id):
    counties = sorted({p.county_code for p in builtin_pairings() if p.district_code == world.own})
    whole = response_text(
        client.get(f"/placements/{run_id}/exports/supply", headers=auth(world, "district_officer"))
    )
    got = 0
    for c in counties:
        r = _ask(
            client,
            world,
            "district_officer",
            "GET",
            f"/console/runs/{{id}}/download/supply?county={c}",
            run_id,
            None,
        )
        if r.status_code == 404:  # a county with no registered worker has no list
            continue
        assert r.status_code == 200 and "岗位供给清单-" in unquote(r.headers["content-disposition"])
        part = response_text(r)
        assert not part or all(line in whole for line in part.splitlines())
        got += 1
    assert got
    outside = [p.county_code for p in builtin_pairings() if p.district_code == world.other]
    outside = [c for c in outside if c not in counties]
    r = _ask(
        client,
        world,
        "district_officer",
        "GET",
        f"/console/runs/{{id}}/download/supply?county={outside[0]}",
        run_id,
        None,
    )
    assert r.status_code == 404
