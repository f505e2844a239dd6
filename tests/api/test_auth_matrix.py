"""Every role × every route × an object of its own district and one of another district.

Roles that may not use a route get 403; an object outside the caller's scope gets 404, exactly as
an unknown id does; no key gets 401 everywhere but /health. Then the walk over every role, read and
write of the API and the console, own and other record, counting its cross-scope successes (0).
"""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import World, auth, console_session

ROLES = ("city_admin", "district_officer", "enterprise", "auditor")
A, D, E, U = ROLES  # admin, district officer, enterprise, auditor

# (method, path template, body, {role: (status for own, status for other)})
# Templates name {w} worker, {e} enterprise, {j} job, {r} run; "own"/"other" pick the district.
ROUTES: list[tuple[str, str, object, dict[str, tuple[int, int]]]] = [
    ("GET", "/ready", None, {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)}),
    ("GET", "/me", None, {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)}),
    ("GET", "/workers", None, {A: (200, 200), D: (200, 200), E: (403, 403), U: (200, 200)}),
    ("GET", "/workers/{w}", None, {A: (200, 200), D: (200, 404), E: (403, 403), U: (200, 200)}),
    ("PATCH", "/workers/{w}", {}, {A: (200, 200), D: (200, 404), E: (403, 403), U: (403, 403)}),
    (
        "GET",
        "/workers/{w}/recommendations",
        None,
        {A: (200, 200), D: (200, 404), E: (403, 403), U: (200, 200)},
    ),
    ("POST", "/recommendations", "w", {A: (200, 200), D: (200, 404), E: (403, 403), U: (200, 200)}),
    ("GET", "/enterprises", None, {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)}),
    ("GET", "/enterprises/{e}", None, {A: (200, 200), D: (200, 404), E: (200, 404), U: (200, 200)}),
    ("PATCH", "/enterprises/{e}", {}, {A: (200, 200), D: (200, 404), E: (200, 404), U: (403, 403)}),
    ("GET", "/jobs", None, {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)}),
    ("GET", "/jobs/{j}", None, {A: (200, 200), D: (200, 404), E: (200, 404), U: (200, 200)}),
    ("PATCH", "/jobs/{j}", {}, {A: (200, 200), D: (200, 404), E: (200, 404), U: (403, 403)}),
    ("GET", "/jobs/{j}/candidates", None, {A: (200, 200), D: (200, 404), E: (200, 404), U: (200, 200)}),
    ("POST", "/imports", "upload", {A: (200, 200), D: (403, 403), E: (403, 403), U: (403, 403)}),
    ("POST", "/placements", {"k": 5}, {A: (202, 202), D: (403, 403), E: (403, 403), U: (403, 403)}),
    ("GET", "/placements", None, {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)}),
    ("GET", "/placements/{r}", None, {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)}),
    (
        "GET",
        "/placements/{r}/assignments",
        None,
        {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)},
    ),
    ("GET", "/exports/workers", None, {A: (200, 200), D: (200, 200), E: (403, 403), U: (200, 200)}),
    ("GET", "/exports/jobs", None, {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)}),
    (
        "GET",
        "/placements/{r}/exports/placements_by_district",
        None,
        {A: (200, 200), D: (200, 200), E: (200, 200), U: (200, 200)},
    ),
    (
        "GET",
        "/placements/{r}/exports/unplaced",
        None,
        {A: (200, 200), D: (200, 200), E: (403, 403), U: (200, 200)},
    ),
    ("GET", "/reports/2026", None, {A: (200, 200), D: (403, 403), E: (403, 403), U: (200, 200)}),
    ("GET", "/audit", None, {A: (200, 200), D: (403, 403), E: (403, 403), U: (200, 200)}),
]
CASES = [
    pytest.param(m, path, body, role, side, expected[role][side == "other"], id=f"{m} {path} {role} {side}")
    for m, path, body, expected in ROUTES
    for role in ROLES
    for side in ("own", "other")
]


def _call(client, world: World, run_id: str, method: str, path: str, body: object, side: str, headers: dict):
    ids = {
        "w": world.worker_own if side == "own" else world.worker_other,
        "e": world.enterprise_own if side == "own" else world.enterprise_other,
        "j": world.job_own if side == "own" else world.job_other,
        "r": run_id,
    }
    url = path.format(**ids)
    if body == "upload":
        content = (world.data / "enterprises.csv").read_bytes()
        return client.post(url, files={"files": ("enterprises.csv", content, "text/csv")}, headers=headers)
    if body == "w":
        body = {"worker_id": ids["w"], "k": 5}
    return client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "role", "side", "expected"), CASES)
def test_route_answers_each_role_by_scope(client, world, run_id, method, path, body, role, side, expected):
    r = _call(client, world, run_id, method, path, body, side, auth(world, role))
    assert r.status_code == expected, r.text


@pytest.mark.parametrize(("method", "path", "body"), [(m, p, b) for m, p, b, _ in ROUTES])
def test_route_refuses_a_request_without_a_key(client, world, run_id, method, path, body):
    r = _call(client, world, run_id, method, path, body, "own", {})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"


def _template(path: str) -> str:
    names = {"w": "{worker_id}", "e": "{enterprise_id}", "j": "{job_id}", "r": "{run_id}"}
    path = path.format(**names)
    path = re.sub(r"^/exports/\w+$", "/exports/{kind}", path)
    path = re.sub(r"/exports/(placements_by_district|unplaced)$", "/exports/{which}", path)
    return re.sub(r"^/reports/\d+$", "/reports/{year}", path)


def test_every_route_of_the_app_is_in_the_matrix(client):
    paths = client.app.openapi()["paths"]
    served = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    covered = {(m, _template(p)) for m, p, _, _ in ROUTES}
    assert served - covered == {("GET", "/health")}
    assert not covered - served


def test_every_route_but_health_declares_the_key_schemes(client):
    schema = client.app.openapi()
    schemes = set(schema["components"]["securitySchemes"])
    assert schemes == {"HTTPBearer", "APIKeyHeader", "APIKeyCookie"}
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            declared = {name for req in op.get("security", []) for name in req}
            assert declared == (set() if path == "/health" else schemes), (method, path)


# ----------------------------------------------------------------------------- 0 cross-scope successes
# Every role walks every read and write of the API and the console, on its own records and on another
# district's, and every answer is judged against the roles' scopes as the README states them,
# computed here from the store (not through api.repo): a district officer sees the workers of its
# paired counties and those placed in its district, the enterprises located there and the jobs of
# those enterprises or located there; an enterprise its own enterprise and jobs, and the placements
# into them, in a recruiter's view. A cross-scope success is a 2xx for another district's record,
# a write that moves a record out of its editor's scope, an id out of scope in a list, an export or
# a page, personal columns in an enterprise's run list, or a city-wide figure for a scoped caller.
ID_TOKEN = re.compile(r"(?<![A-Za-z0-9])([WEJ]\d{5,})(?![A-Za-z0-9])")
PERSONAL_HEADERS = ("姓名", "身份证号", "手机号")
ENTERPRISE_SUMMARY = {"year", "mode", "k", "min_fit", "include_employed", "rules", "status", "solver"}
ENTERPRISE_SUMMARY |= {"model", "n_placed", "shadow_prices", "job_codes_predicted"}

# (method, path, body, kinds of ids the answer may only name in scope: W workers, E enterprises, J jobs)
# {w} {e} {j}: a record of the side's district; {r}: the run; {other}, {other_county},
# {other_enterprise}: where a write tries to move a record; "@field": a write of the field's
# current value (no change, so a 2xx is right on one's own record).
SCOPE_ROUTES: list[tuple[str, str, object, str]] = [
    ("GET", "/workers/{w}", None, ""),
    ("GET", "/workers/{w}/recommendations", None, ""),
    ("POST", "/recommendations", {"worker_id": "{w}", "k": 5}, ""),
    ("GET", "/enterprises/{e}", None, ""),
    ("GET", "/jobs/{j}", None, ""),
    ("GET", "/jobs/{j}/candidates?k=50", None, "W"),
    ("GET", "/workers?limit=200", None, "W"),
    ("GET", "/enterprises?limit=200", None, "E"),
    ("GET", "/jobs?limit=200", None, "J"),
    ("GET", "/exports/workers", None, "W"),
    ("GET", "/exports/enterprises", None, "E"),
    ("GET", "/exports/jobs", None, "J"),
    ("GET", "/placements/{r}", None, "J"),
    ("GET", "/placements/{r}/assignments?limit=200", None, "W"),
    ("GET", "/placements/{r}/exports/placements_by_district?format=csv", None, "W"),
    ("GET", "/placements/{r}/exports/placements_by_enterprise", None, "W"),
    ("GET", "/placements/{r}/exports/unplaced?format=csv", None, "W"),
    ("GET", "/placements/{r}/exports/supply", None, "J"),
    ("GET", "/reports/2026?format=json", None, ""),
    ("PATCH", "/workers/{w}", "@education", ""),
    ("PATCH", "/enterprises/{e}", "@dorm_beds", ""),
    ("PATCH", "/jobs/{j}", "@openings", ""),
    ("PATCH", "/workers/{w}", {"home_county_code": "{other_county}"}, ""),
    ("PATCH", "/enterprises/{e}", {"location_code": "{other}"}, ""),
    ("PATCH", "/jobs/{j}", {"location_code": "{other}"}, ""),
    ("PATCH", "/jobs/{j}", {"enterprise_id": "{other_enterprise}"}, ""),
    ("GET", "/console/workers/{w}", None, ""),
    ("GET", "/console/enterprises/{e}", None, "J"),
    ("GET", "/console/jobs/{j}", None, "W"),
    ("GET", "/console/workers", None, "W"),
    ("GET", "/console/enterprises", None, "E"),
    ("GET", "/console/jobs", None, "J"),
    ("GET", "/console/runs/{r}", None, "W"),
    ("GET", "/console/runs/{r}/download/placements_by_district", None, "W"),
    ("GET", "/console/runs/{r}/download/placements_by_enterprise", None, "W"),
    ("GET", "/console/runs/{r}/download/unplaced", None, "W"),
    ("GET", "/console/runs/{r}/download/supply", None, "J"),
    ("GET", "/console/reports/download?year=2026", None, ""),
]
CITY_WIDE = ("/reports/", "/console/reports/download")
"""Files of the whole city: any 2xx for a district officer or an enterprise is a leak."""
RUN_LISTS = ("/exports/placements_by", "/download/placements_by")
"""An enterprise's run lists: its own placements (its jobs and enterprise), no personal column."""


def _scopes(world: World) -> dict[str, dict[str, set[str]]]:
    """The ids each role may see, by kind, from the store and the built-in pairings."""
    from sqlalchemy import select

    from matcher.store import load_dataset, open_engine
    from matcher.store.models import RunAssignmentRow

    ds = load_dataset(world.url)
    engine = open_engine(world.url)
    q = select(RunAssignmentRow.worker_id).where(RunAssignmentRow.location_code == world.own)
    with engine.connect() as conn:
        placed = set(conn.execute(q).scalars())
    engine.dispose()
    counties = _counties(world.own)
    loc = {e.enterprise_id: e.location_code for e in ds.enterprises}
    everything = {"W": {w.worker_id for w in ds.workers}, "E": set(loc), "J": {j.job_id for j in ds.jobs}}
    officer = {
        "W": {w.worker_id for w in ds.workers if w.home_county_code in counties or w.worker_id in placed},
        "E": {e for e, at in loc.items() if at == world.own},
        "J": {j.job_id for j in ds.jobs if world.own in (loc[j.enterprise_id], j.location_code)},
    }
    enterprise = {
        "W": everything["W"],  # candidates and placements, in a recruiter's view
        "E": {world.enterprise_own},
        "J": {j.job_id for j in ds.jobs if j.enterprise_id == world.enterprise_own},
    }
    return {A: everything, U: everything, D: officer, E: enterprise}


def _counties(district: str) -> set[str]:
    from matcher.geo import builtin_pairings

    return {p.county_code for p in builtin_pairings() if p.district_code == district}


def _request(client, world: World, role: str, method: str, url: str, body: object):
    """The request as ``role``: its key on the API, its session cookie on the console."""
    from api.auth import SESSION_COOKIE

    client.cookies.clear()
    if not url.startswith("/console"):
        return client.request(method, url, json=body, headers=auth(world, role))
    client.cookies.set(SESSION_COOKIE, console_session(client, world, role))
    try:
        return client.request(method, url, json=body, follow_redirects=False)
    finally:
        client.cookies.clear()


def _walk_case(client, world, names, role, side, route, scope_ids) -> tuple[list[str], int]:
    """One request: the cross-scope successes it shows (none, when all is well) and its status."""
    from tests.api.conftest import response_text

    method, path, body, scan = route
    url = path.format(**names[side])
    admin = auth(world, A)
    before = None
    if method == "PATCH":
        before = client.get(url, headers=admin).json()
        if isinstance(body, str):  # no change: the field's current value
            body = {body[1:]: before[body[1:]]}
    if isinstance(body, dict):
        body = {k: v.format(**names[side]) if isinstance(v, str) else v for k, v in body.items()}
    r = _request(client, world, role, method, url, body)
    leaks = []
    scoped = role in (D, E)
    if scoped and side == "other" and any(t in path for t in ("{w}", "{e}", "{j}")) and r.status_code < 300:
        leaks.append("answered for another district's record")
    if method == "PATCH":
        after = client.get(url, headers=admin).json()
        moved = sorted(k for k in body if before.get(k) != after.get(k))
        if moved and role == A:  # the city administrator may move a record: put it back
            assert client.patch(url, json={k: before[k] for k in moved}, headers=admin).status_code == 200
        elif moved:
            leaks.append(f"moved {moved} to {[after[k] for k in moved]}")
    if r.status_code >= 300:
        return leaks, r.status_code
    if scoped and any(p in path for p in CITY_WIDE):
        leaks.append("a city-wide file")
    text = response_text(r)
    if role == E:
        if any(p in path for p in RUN_LISTS):
            scan += "JE"
            if any(h in text.split("\n", 1)[0] for h in PERSONAL_HEADERS):
                leaks.append("personal columns")
        if path.startswith(("/placements/{r}/assignments", "/console/runs/{r}")):
            scan += "J"
        if path == "/placements/{r}":
            extra = set(r.json().get("summary") or {}) - ENTERPRISE_SUMMARY
            if extra:
                leaks.append(f"city-wide figures {sorted(extra)}")
    for token in set(ID_TOKEN.findall(text)):
        kind = token[0]  # a token no record has (a placeholder) names nobody
        if kind in scan and token in scope_ids[A][kind] and token not in scope_ids[role][kind]:
            leaks.append(f"{token} out of scope")
    return leaks, r.status_code


def test_no_role_reads_or_writes_across_its_scope(client, world, run_id):
    """Role × route × own/other record, reads and writes, API and console: 0 cross-scope successes."""
    scope_ids = _scopes(world)
    target = {
        "r": run_id,
        "other": world.other,
        "other_county": sorted(_counties(world.other) - _counties(world.own))[0],
        "other_enterprise": world.enterprise_other,
    }
    names = {
        "own": {"w": world.worker_own, "e": world.enterprise_own, "j": world.job_own, **target},
        "other": {"w": world.worker_other, "e": world.enterprise_other, "j": world.job_other, **target},
    }
    found: list[str] = []
    cases = writes = answered = 0
    for role in ROLES:
        for side in ("own", "other"):
            for route in SCOPE_ROUTES:
                leaks, status = _walk_case(client, world, names, role, side, route, scope_ids)
                cases += 1
                writes += route[0] == "PATCH"
                answered += status < 300
                found += [f"{role} {side} {route[0]} {route[1]}: {x}" for x in leaks]
    summary = (
        f"{cases} cases ({cases - writes} reads, {writes} writes; {answered} answered 2xx), "
        f"{len(found)} cross-scope"
    )
    print(summary)
    assert cases == len(ROLES) * 2 * len(SCOPE_ROUTES), summary
    assert answered > cases // 2, summary  # the walk reached real answers, not only refusals
    assert not found, summary + ":\n" + "\n".join(found)
