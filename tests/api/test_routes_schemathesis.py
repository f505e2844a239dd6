"""schemathesis over the OpenAPI schema: no server errors, status codes and bodies as declared.

Skipped where schemathesis is not installed (a dev dependency: schemathesis==4.32.5). Its pytest
plugin (``schema.parametrize``) does not work under pytest 9 (it reads ``node._nodeid``), so each
operation's strategy is driven by Hypothesis directly.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")

from tests.api.conftest import make_world, open_client  # noqa: E402
from tests.fakes import FakeEncoder  # noqa: E402

pytestmark = pytest.mark.slow
SKIP = {("POST", "/placements")}  # each example would queue a full batch run; covered in test_routes


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    world = make_world(tmp_path_factory.mktemp("schemathesis"), n_workers=150, n_jobs=50, seed=7)
    with open_client(world.url, FakeEncoder()) as client:
        yield world, client, schemathesis.openapi.from_asgi("/openapi.json", client.app)


ROLES = ("city_admin", "district_officer", "enterprise", "auditor")


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_its_schema_without_server_errors(served, role):
    """Every operation, with each role's key: no server error, and (for the city administrator,
    who may call everything) status codes and bodies as the schema declares them."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    world, _, schema = served
    checks = [not_a_server_error]
    if role == "city_admin":
        checks += [status_code_conformance, response_schema_conformance]
    seen = cases = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue
        seen += 1

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=op.as_strategy())
        def run(case) -> None:
            nonlocal cases
            cases += 1
            response = case.call(headers={"X-API-Key": world.keys[role]})
            case.validate_response(response, checks=tuple(checks))

        run()
    print(f"{role}: {seen} operations, {cases} cases, 0 server errors")
    assert seen >= 20 and cases >= seen
