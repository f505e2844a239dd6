"""The app factory, health and readiness, OpenAPI, the error handler and request limits."""

from __future__ import annotations

from tests.api.conftest import auth


def test_health_needs_no_key(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_ready_after_start_up(client, world):
    r = client.get("/ready", headers=auth(world, "auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ready"] and body["database"] and body["recommender"]
    assert body["workers"] > 0 and body["jobs"] > 0


def test_pii_check_catches_numbers_in_clear_and_passes_masked_ones(client):
    import pytest

    from tests.api.conftest import assert_no_raw_pii

    for leak in ('{"x": "电话13812345678"}', "620503199001011234", "id 62050319900101123X."):
        with pytest.raises(AssertionError):
            assert_no_raw_pii(leak)
    assert_no_raw_pii(
        '{"id": "620503********1234", "phone": "138****5678", "sha": "ab13812345678cd", "s": 0.13812345678}'
    )
    assert client.event_hooks["response"], "every response of the test client is checked"


def test_openapi_and_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/recommendations" in schema["paths"] and "/imports" in schema["paths"]


def test_invalid_request_answers_422_without_echoing_the_input(client, world):
    raw = "620503199001011234" * 2 + "5"  # too long for the field: refused by the schema
    r = client.patch(
        f"/workers/{world.worker_own}", json={"id_number": raw}, headers=auth(world, "city_admin")
    )
    assert r.status_code == 422
    body = r.json()
    assert body["detail"].startswith("invalid request") and body["errors"][0]["loc"] == ["body", "id_number"]
    assert raw not in r.text


def test_unexpected_errors_answer_a_bare_500(world, encoder):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import make_settings

    app = create_app(make_settings(world.url), encoder=encoder, fit_in_background=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.app.state.services.recommender.get = lambda: (_ for _ in ()).throw(RuntimeError("secret internals"))
        r = c.get(f"/jobs/{world.job_own}/candidates", headers=auth(world, "city_admin"))
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert r.headers["x-content-type-options"] == "nosniff"


def test_recommendations_wait_for_the_fit_with_503(world, encoder):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import make_settings

    app = create_app(make_settings(world.url), encoder=encoder, fit_in_background=False)
    with TestClient(app) as c:
        services = c.app.state.services
        fitted, services.recommender.current = services.recommender.current, None
        h = auth(world, "city_admin")
        assert c.get("/ready", headers=h).status_code == 503
        assert c.get(f"/workers/{world.worker_own}/recommendations", headers=h).status_code == 503
        services.recommender.current = fitted
        assert c.get("/ready", headers=h).status_code == 200


def test_every_response_carries_nosniff_and_referrer_policy(client, world):
    h = auth(world, "city_admin")
    responses = [
        client.get("/health"),
        client.get("/me", headers=h),
        client.get("/me"),  # 401
        client.get("/jobs/no-such-job", headers=h),  # 404
        client.post("/recommendations", content=b"{" + b" " * (1 << 20) + b"}", headers=h),  # 413
        client.get("/openapi.json"),
        client.get("/console/sign-in"),
        client.get("/", follow_redirects=False),  # the redirect to the console
    ]
    for r in responses:
        assert r.headers["x-content-type-options"] == "nosniff", (r.request.url, r.status_code)
        assert r.headers["referrer-policy"] == "same-origin", (r.request.url, r.status_code)
