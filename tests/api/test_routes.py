"""Routes: records by scope with masking and audit, edits, imports, recommendations, placements, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import delete, insert

from api.app import BodyLimit
from matcher.ingest import load_folder
from matcher.placement.options import DEFAULT_MIN_FIT
from matcher.store import open_engine
from matcher.store.models import PlacementRunRow, RunAssignmentRow
from tests.api.conftest import YEAR, assert_no_raw_pii, auth, last_audit_id
from tests.fakes import FAKE_MIN_FIT


def _audited(client, world, worker_id: str) -> list[dict]:
    r = client.get("/audit", params={"worker_id": worker_id, "limit": 200}, headers=auth(world, "auditor"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


# ----------------------------------------------------------------------------- records
def test_worker_comes_masked_and_its_read_is_audited(client, world):
    before = len(_audited(client, world, world.worker_own))
    r = client.get(f"/workers/{world.worker_own}", headers=auth(world, "district_officer"))
    assert r.status_code == 200, r.text
    w = r.json()
    assert "*" in w["name"] and "*" in w["id_number"] and "*" in w["phone"]
    assert_no_raw_pii(r.text)
    rows = _audited(client, world, world.worker_own)
    assert len(rows) == before + 1
    assert rows[-1]["route"] == "/workers/{worker_id}" and rows[-1]["method"] == "GET"


def test_officer_lists_only_workers_of_its_paired_counties(client, world):
    from api.repo import paired_counties, placed_worker_ids

    engine = open_engine(world.url)
    counties = paired_counties(engine, world.own)
    with engine.connect() as conn:
        placed = set(conn.execute(placed_worker_ids(world.own)).scalars())
    engine.dispose()
    seen, after = [], None
    while True:
        params = {"limit": 50} | ({"after": after} if after else {})
        page = client.get("/workers", params=params, headers=auth(world, "district_officer")).json()
        seen += page["items"]
        after = page["next_after"]
        if after is None:
            break
    assert seen and all(w["home_county_code"] in counties or w["worker_id"] in placed for w in seen)
    ids = [w["worker_id"] for w in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert world.worker_own in ids and world.worker_other not in ids


def test_page_size_is_bounded(client, world):
    r = client.get("/workers", params={"limit": 201}, headers=auth(world, "city_admin"))
    assert r.status_code == 422
    r = client.get("/jobs", params={"limit": 200}, headers=auth(world, "city_admin"))
    assert r.status_code == 200 and len(r.json()["items"]) <= 200


def test_enterprise_sees_only_its_own_jobs(client, world):
    items = client.get("/jobs", params={"limit": 200}, headers=auth(world, "enterprise")).json()["items"]
    assert items and {j["enterprise_id"] for j in items} == {world.enterprise_own}


def test_officer_patches_a_worker_and_the_change_is_validated(client, world):
    h = auth(world, "district_officer")
    r = client.patch(f"/workers/{world.worker_own}", json={"education": "高中"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["education"] == "高中"
    assert client.get(f"/workers/{world.worker_own}", headers=h).json()["education"] == "高中"
    bad = client.patch(f"/workers/{world.worker_own}", json={"id_number": "110101199001011234"}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "id_number"
    assert_no_raw_pii(bad.text)
    extra = client.patch(f"/workers/{world.worker_own}", json={"worker_id": "x"}, headers=h)
    assert extra.status_code == 422
    away = client.patch(f"/workers/{world.worker_own}", json={"home_county_code": "653225"}, headers=h)
    assert away.status_code == 403 and away.json()["errors"][0]["field"] == "home_county_code"


def test_the_worker_survey_and_a_jobs_dates_are_edited_like_any_field(client, world):
    h = auth(world, "district_officer")
    change = {
        "service_needs": ["training", "rights_protection"],
        "employer_contact": "王经理 13912340009",
    }
    r = client.patch(f"/workers/{world.worker_own}", json=change, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["service_needs"] == ["training", "rights_protection"]
    assert body["employer_contact"].startswith("王经理") and "13912340009" not in r.text  # masked on entry
    bad = client.patch(f"/workers/{world.worker_own}", json={"service_needs": ["挖矿"]}, headers=h)
    assert bad.status_code == 422
    admin = auth(world, "city_admin")
    r = client.patch(
        f"/jobs/{world.job_own}", json={"posted_on": "2026-03-01", "closes_on": "2026-02-01"}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "closes_on"
    r = client.patch(f"/jobs/{world.job_own}", json={"posted_on": "2026-03-01"}, headers=admin)
    assert r.status_code == 200 and r.json()["posted_on"] == "2026-03-01"


def test_enterprise_edits_its_job_but_cannot_hand_it_to_another(client, world):
    h = auth(world, "enterprise")
    r = client.patch(f"/jobs/{world.job_own}", json={"openings": 7}, headers=h)
    assert r.status_code == 200 and r.json()["openings"] == 7
    r = client.patch(f"/jobs/{world.job_own}", json={"enterprise_id": world.enterprise_other}, headers=h)
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "enterprise_id"
    r = client.patch(f"/jobs/{world.job_own}", json={"wage_min": 9000, "wage_max": 3000}, headers=h)
    assert r.status_code == 422


def test_unknown_ids_get_404_with_a_detail(client, world):
    for path in ("/workers/nope", "/jobs/nope", "/enterprises/nope", "/placements/nope"):
        r = client.get(path, headers=auth(world, "city_admin"))
        assert r.status_code == 404 and r.json()["detail"], path


def _audit_after(client, world, after: int) -> list[dict]:
    r = client.get("/audit", params={"after": after, "limit": 200}, headers=auth(world, "auditor"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_404_for_a_known_caller_is_audited_as_denied(client, world):
    officer = client.app.state.services.keys.resolve(world.keys["district_officer"])
    last = last_audit_id(client.app.state.services)
    h = auth(world, "district_officer")
    paths = {
        f"/workers/{world.worker_other}": ("/workers/{worker_id}", world.worker_other),
        f"/workers/{world.worker_other}/recommendations": (
            "/workers/{worker_id}/recommendations",
            world.worker_other,
        ),
        f"/jobs/{world.job_other}": ("/jobs/{job_id}", None),
        "/workers/nope": ("/workers/{worker_id}", "nope"),
    }
    for path in paths:
        assert client.get(path, headers=h).status_code == 404, path
    assert client.get(f"/workers/{world.worker_other}").status_code == 401  # no key: nobody to audit
    rows = [r for r in _audit_after(client, world, last) if r["detail"].startswith("denied 404")]
    assert [(r["key_id"], r["method"], r["route"], r["worker_id"]) for r in rows] == [
        (officer.key_id, "GET", route, worker) for route, worker in paths.values()
    ]
    assert world.job_other in rows[2]["detail"]


def test_the_audit_trail_lists_a_cli_row_without_a_key(client, world):
    from api.audit import record_cli

    last = last_audit_id(client.app.state.services)
    record_cli(client.app.state.services.engine, "laborbridge export workers --unmasked", "names in clear")
    rows = _audit_after(client, world, last)
    assert [(r["key_id"], r["method"], r["route"]) for r in rows] == [
        (None, "CLI", "laborbridge export workers --unmasked")
    ]


# ----------------------------------------------------------------------------- imports
def test_import_upload_reports_created_unchanged_and_rejected_rows(client, world):
    jobs = (world.data / "jobs.csv").read_text(encoding="utf-8").splitlines()
    header, first = jobs[0], jobs[1].split(",")
    first[0] = "api-new-job"
    bad = list(first)
    bad[0] = "api-bad-job"
    bad[header.split(",").index("openings")] = "0"
    body = "\n".join([header, ",".join(first), ",".join(bad)]) + "\n"
    files = [("files", ("jobs.csv", body.encode(), "text/csv"))]
    r = client.post("/imports", files=files, headers=auth(world, "city_admin"))
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["created"]["jobs"] == 1 and rep["n_rejected"] == 1
    assert rep["rejected"][0]["file"] == "jobs.csv" and rep["rejected"][0]["field"] == "openings"
    again = client.post("/imports", files=files, headers=auth(world, "city_admin")).json()
    assert again["unchanged"]["jobs"] == 1 and again["created"]["jobs"] == 0


def test_import_refuses_other_file_types_and_oversized_uploads(client, world):
    h = auth(world, "city_admin")
    r = client.post("/imports", files=[("files", ("notes.exe", b"x", "application/octet-stream"))], headers=h)
    assert r.status_code == 422

    limit = next(m for m in client.app.user_middleware if m.cls is BodyLimit).kwargs["upload_max"]
    big = b"a" * (limit + 1)
    r = client.post("/imports", files=[("files", ("workers.csv", big, "text/csv"))], headers=h)
    assert r.status_code == 413
    r = client.post("/recommendations", content=b"{" + b" " * (1 << 20) + b"}", headers=h)
    assert r.status_code == 413


# ----------------------------------------------------------------------------- recommendations
def test_known_worker_recommendation_encodes_nothing(client, world, encoder):
    h = auth(world, "city_admin")
    wid = world.worker_other
    client.app.state.services.recommender.wait()  # a refit after earlier edits encodes; let it end
    n = len(encoder.seen)
    r = client.get(f"/workers/{wid}/recommendations", params={"k": 5}, headers=h)
    assert r.status_code == 200, r.text
    assert len(encoder.seen) == n
    body = r.json()
    assert body["worker_id"] == wid and len(body["items"]) <= 5
    post = client.post("/recommendations", json={"worker_id": wid, "k": 5}, headers=h).json()
    assert post == body
    for it in body["items"]:
        assert abs(sum(it["factors"].values()) - it["score"]) < 1e-4
        assert it["explanation_zh"] and it["explanation_en"]


def test_profile_recommendation_is_encoded_once(client, world, encoder):
    profile = {
        "gender": "male",
        "birth_year": 1990,
        "home_county_code": "623024",
        "desired_occupations": ["保安"],
        "mobility": "anywhere",
    }
    n = len(encoder.seen)
    r = client.post("/recommendations", json={"profile": profile, "k": 3}, headers=auth(world, "city_admin"))
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) <= 3 and len(encoder.seen) > n
    both = client.post(
        "/recommendations", json={"profile": profile, "worker_id": "w"}, headers=auth(world, "city_admin")
    )
    assert both.status_code == 422
    nowhere = dict(profile, home_county_code="999999")
    r = client.post("/recommendations", json={"profile": nowhere}, headers=auth(world, "city_admin"))
    assert r.status_code == 422


def test_candidates_show_a_recruiters_view_only(client, world):
    r = client.get(f"/jobs/{world.job_own}/candidates", params={"k": 10}, headers=auth(world, "enterprise"))
    assert r.status_code == 200, r.text
    for it in r.json()["items"]:
        assert not {"name", "id_number", "phone", "current_employer"} & set(it["worker"])
    assert_no_raw_pii(r.text)


# ----------------------------------------------------------------------------- placements
def test_placement_run_reports_progress_summary_and_paged_assignments(client, world, run_id):
    h = auth(world, "city_admin")
    st = client.get(f"/placements/{run_id}", headers=h).json()
    assert st["status"] == "succeeded" and st["summary"]["n_placed"] > 0
    assert any(p["id"] == run_id for p in client.get("/placements", headers=h).json()["items"])
    page = client.get(f"/placements/{run_id}/assignments", params={"limit": 5}, headers=h).json()
    assert len(page["items"]) == 5 and page["next_after"] == page["items"][-1]["worker_id"]
    ent = client.get(
        f"/placements/{run_id}/assignments", params={"limit": 200}, headers=auth(world, "enterprise")
    )
    assert all(a["enterprise_id"] == world.enterprise_own for a in ent.json()["items"])


def test_officer_sees_a_worker_placed_in_its_district(client, world):
    h = auth(world, "district_officer")
    assert client.get(f"/workers/{world.worker_other}", headers=h).status_code == 404
    recs = f"/workers/{world.worker_other}/recommendations"
    assert client.get(recs, headers=h).status_code == 404
    engine = open_engine(world.url)
    run = dict(
        run_id="test-placed-here", created_at=dt.datetime.now(dt.UTC), kind="plan", base_run_id=None,
        params={"year": YEAR}, input_sha256="0" * 64, model="fake", versions={}, status="OPTIMAL",
        solver="test", objective=1.0, bound=1.0, gap=0.0, n_workers=1, n_jobs=1, n_openings=1, n_placed=1,
        n_candidates=1, assignment_sha256="0" * 64, summary={},
    )  # fmt: skip
    asg = {
        "run_id": "test-placed-here", "worker_id": world.worker_other, "job_id": world.job_own,
        "enterprise_id": world.enterprise_own, "home_county_code": "000000", "location_code": world.own,
        "score": 0.5, "factors": {}, "explanation_zh": "", "explanation_en": "",
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(PlacementRunRow), [run])
        conn.execute(insert(RunAssignmentRow), [asg])
    try:
        assert client.get(f"/workers/{world.worker_other}", headers=h).status_code == 200
        assert client.get(recs, headers=h).status_code == 200  # in-memory answers ask the runs too
        ids = {
            w["worker_id"] for w in client.get("/workers", params={"limit": 200}, headers=h).json()["items"]
        }
        assert world.worker_other in ids or len(ids) == 200
    finally:
        with engine.begin() as conn:
            conn.execute(delete(RunAssignmentRow).where(RunAssignmentRow.run_id == "test-placed-here"))
            conn.execute(delete(PlacementRunRow).where(PlacementRunRow.run_id == "test-placed-here"))
        engine.dispose()


# ----------------------------------------------------------------------------- exports
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_worker_export_is_masked_scoped_and_audited(client, world, fmt):
    r = client.get("/exports/workers", params={"format": fmt}, headers=auth(world, "district_officer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].endswith(f'workers.{fmt}"')
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        ids = {row["worker_id"] for row in rows}
        assert world.worker_own in ids and world.worker_other not in ids
        assert all("*" in row["id_number"] and "*" in row["name"] for row in rows if row["id_number"])
        assert_no_raw_pii(r.content.decode("utf-8-sig"))
        assert any(a["detail"].startswith("export") for a in _audited(client, world, world.worker_own))


def test_run_lists_download_masked_and_scoped(client, world, run_id):
    h = auth(world, "enterprise")
    r = client.get(
        f"/placements/{run_id}/exports/placements_by_enterprise", params={"format": "csv"}, headers=h
    )
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    mine = client.get(f"/placements/{run_id}/assignments", params={"limit": 200}, headers=h).json()["items"]
    assert {row["劳动力编号"] for row in rows if row.get("劳动力编号")} <= {a["worker_id"] for a in mine}
    x = client.get(f"/placements/{run_id}/exports/supply", headers=auth(world, "district_officer"))
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        client.get("/placements/nope/exports/unplaced", headers=auth(world, "city_admin")).status_code == 404
    )


def test_programme_report_downloads_as_json_and_xlsx(client, world, run_id):
    r = client.get(f"/reports/{YEAR}", params={"format": "json"}, headers=auth(world, "auditor"))
    assert r.status_code == 200, r.text
    assert "city" in r.json()
    assert client.get(f"/reports/{YEAR}", headers=auth(world, "city_admin")).status_code == 200


def test_placement_takes_side_rules_and_records_shadow_prices(client, world):
    h = auth(world, "city_admin")
    rules = {"dorm_beds": True, "priority": "lexicographic", "groups": True}
    body = {"k": 10, "year": YEAR, "rules": rules, "min_fit": FAKE_MIN_FIT}
    r = client.post("/placements", json=body, headers=h)
    assert r.status_code == 202, r.text
    client.app.state.services.placements.wait()
    st = client.get(f"/placements/{r.json()['id']}", headers=h).json()
    assert st["status"] == "succeeded", st
    summary = st["summary"]
    assert summary["rules"]["priority"] == "lexicographic" and summary["rules"]["groups"] is True
    assert set(summary["rule_status"]) >= {"priority", "groups"}
    prices = [p["price"] for p in summary["shadow_prices"]]
    assert prices == sorted(prices, reverse=True) and all(p > 0 for p in prices)


def test_placement_rejects_unknown_rules_and_bad_targets(client, world):
    h = auth(world, "city_admin")
    assert client.post("/placements", json={"rules": {"speed": 1}}, headers=h).status_code == 422
    bad = {"rules": {"district_targets": {"999999": 5}}}
    assert client.post("/placements", json=bad, headers=h).status_code == 422


@pytest.mark.parametrize("code", ["120199", "120107", "120100", "120120"])
def test_placement_with_an_unknown_district_target_answers_422_at_once(client, world, code):
    """Codes the pattern 1201dd lets through but no Tianjin district has: refused before a run is
    queued (it used to be queued and fail in the background)."""
    services = client.app.state.services
    before = services.placements.recent(50)
    body = {"k": 10, "year": YEAR, "rules": {"district_targets": {world.own: 5, code: 5}}}
    r = client.post("/placements", json=body, headers=auth(world, "city_admin"))
    assert r.status_code == 422, r.text
    assert f"{code} is not a Tianjin district code" in r.json()["detail"]
    assert services.placements.recent(50) == before


@pytest.mark.parametrize("min_fit", [-0.1, 1.0, 2, "high"])
def test_placement_rejects_a_min_fit_outside_zero_to_one(client, world, min_fit):
    h = auth(world, "city_admin")
    assert client.post("/placements", json={"min_fit": min_fit}, headers=h).status_code == 422


def test_placement_takes_include_employed_and_min_fit_and_records_them(client, world):
    h = auth(world, "city_admin")
    body = {"k": 10, "year": YEAR, "include_employed": True, "min_fit": 0.1}
    r = client.post("/placements", json=body, headers=h)
    assert r.status_code == 202, r.text
    client.app.state.services.placements.wait()
    st = client.get(f"/placements/{r.json()['id']}", headers=h).json()
    assert st["status"] == "succeeded", st
    assert st["params"]["include_employed"] is True and st["params"]["min_fit"] == 0.1
    assert st["summary"]["include_employed"] is True and st["summary"]["min_fit"] == 0.1
    assert set(st["summary"]["unplaced_reasons"]) >= {"employed_kept", "no_fitting_job"}
    assert st["summary"]["unplaced_reasons"]["employed_kept"] == 0


def test_placement_keeps_employed_workers_by_default_at_the_documented_min_fit(client, world):
    h = auth(world, "city_admin")
    r = client.post("/placements", json={"k": 10, "year": YEAR}, headers=h)
    client.app.state.services.placements.wait()
    st = client.get(f"/placements/{r.json()['id']}", headers=h).json()
    assert st["params"]["include_employed"] is False and st["params"]["min_fit"] == DEFAULT_MIN_FIT
    assert st["summary"]["min_fit"] == DEFAULT_MIN_FIT
    employed = sum(w.employment_status.value == "employed" for w in load_folder(world.data).workers)
    assert employed and st["summary"]["unplaced_reasons"]["employed_kept"] == employed


def test_oversized_chunked_body_without_content_length_answers_413(client, world):
    h = auth(world, "city_admin")

    def chunks():  # a generator: httpx sends it chunked, with no Content-Length
        yield b"{"
        for _ in range(17):
            yield b" " * (1 << 16)
        yield b"}"

    r = client.post("/recommendations", content=chunks(), headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("request body over the limit")
