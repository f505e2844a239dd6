"""Scope hardening (issue 16, item 3): only the city administrator moves a record out of a scope."""

from __future__ import annotations

import pytest

from api import repo
from api.auth import SCOPE_FIELDS, Principal, Role, scope_of
from matcher.geo import builtin_pairings
from tests.api.conftest import World, auth


def _scope(world: World, role: str):
    if role == "district_officer":
        p = Principal(1, "lb_test", Role.district_officer, district_code=world.own)
        return scope_of(p, {c.county_code for c in builtin_pairings() if c.district_code == world.own})
    return scope_of(Principal(1, "lb_test", Role.enterprise, enterprise_id=world.enterprise_own))


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
