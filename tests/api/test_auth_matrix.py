"""Every role × every route × an object of its own district and one of another district.

Roles that may not use a route get 403; an object outside the caller's scope gets 404, exactly as
an unknown id does; no key gets 401 everywhere but /health.
"""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import World, auth

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
