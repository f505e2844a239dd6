"""The console's pages without a browser: sign-in cookie, roles and district scope, forms, words, masking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.auth import RateLimiter
from api.web.i18n import EN, ZH, reason_text
from matcher.placement.options import DEFAULT_MIN_FIT
from tests.api.conftest import last_audit_id
from tests.web.conftest import World, sign_in

ID_LIKE = re.compile(r"(?<![\d*])\d{17}[\dXx](?![\d*])")
MOBILE_LIKE = re.compile(r"(?<![\d*])1[3-9]\d{9}(?![\d*])")
TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "web" / "templates"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([A-Za-z0-9_-]{32})"', html)
    assert m, "no form token on the page"
    return m.group(1)


def _no_pii(html: str) -> None:
    assert not ID_LIKE.search(html), ID_LIKE.search(html)
    assert not MOBILE_LIKE.search(html), MOBILE_LIKE.search(html)


def test_root_leads_to_sign_in_without_a_session(client):
    client.cookies.clear()
    r = client.get("/", follow_redirects=True)
    assert r.status_code == 200 and "/console/sign-in" in str(r.url)
    assert 'type="password"' in r.text


def test_sign_in_sets_an_http_only_lax_cookie_not_secure_on_plain_http(client, world: World):
    client.cookies.clear()
    r = client.post(
        "/console/sign-in",
        data={"key": world.keys["auditor"], "next": "/console/jobs"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/jobs"
    cookie = r.headers["set-cookie"].lower()
    assert "laborbridge_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie.replace("samesite", "")


def test_sign_in_cookie_is_secure_over_https(world: World):
    from fastapi.testclient import TestClient

    from tests.web.conftest import make_app

    with TestClient(make_app(world), base_url="https://console.example") as c:
        r = c.post("/console/sign-in", data={"key": world.keys["auditor"]}, follow_redirects=False)
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower().replace("samesite", "")


def test_a_bad_key_is_refused_and_next_never_leaves_the_console(client, world: World):
    client.cookies.clear()
    r = client.post("/console/sign-in", data={"key": "lb_nope"})
    assert r.status_code == 401 and "密钥无效" in r.text
    r = client.post(
        "/console/sign-in",
        data={"key": world.keys["auditor"], "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/"


def test_the_console_session_also_signs_api_calls(client, world: World):
    sign_in(client, world.keys["auditor"])
    assert client.get("/me").json()["role"] == "auditor"


@pytest.mark.parametrize(
    "path",
    ["/console/", "/console/workers", "/console/jobs", "/console/enterprises", "/console/runs"]
    + ["/console/reports"],
)
def test_every_page_renders_for_the_city_admin_without_personal_numbers(client, world: World, path):
    sign_in(client, world.keys["city_admin"])
    r = client.get(path)
    assert r.status_code == 200, r.text[-500:]
    assert '<nav class="main"' in r.text
    _no_pii(r.text)


def test_a_worker_page_shows_masked_numbers_recommendations_and_is_audited(client, world: World):
    sign_in(client, world.keys["city_admin"])
    r = client.get(f"/console/workers/{world.worker_own}")
    assert r.status_code == 200
    _no_pii(r.text)
    assert re.search(r'data-testid="id-number">\d{6}\*{8}\d{3}[\dX]<', r.text)
    assert 'data-testid="recommendations"' in r.text or "暂无符合条件的岗位" in r.text
    services = client.app.state.services
    services.audit.flush()
    from api.audit import audit_rows

    rows = audit_rows(services.engine, worker_id=world.worker_own, after=0, limit=50)
    assert any(row["route"].startswith("console /console/workers/") for row in rows)


def test_district_officer_sees_only_its_district(client, world: World):
    sign_in(client, world.keys["district_officer"])
    dash = client.get("/console/")
    assert dash.status_code == 200
    assert dash.text.count("<tr><td>") == 1  # one district row
    assert client.get(f"/console/workers/{world.worker_other}").status_code == 404
    assert client.get(f"/console/jobs/{world.job_other}").status_code == 404
    assert client.get(f"/console/enterprises/{world.enterprise_other}").status_code == 404
    assert client.get(f"/console/workers/{world.worker_own}").status_code == 200
    assert client.get("/console/import").status_code == 403
    listed = client.get("/console/workers?q=" + world.worker_other)
    assert f"/console/workers/{world.worker_other}" not in listed.text


def test_enterprise_key_cannot_see_workers_and_lands_on_its_enterprise(client, world: World):
    sign_in(client, world.keys["enterprise"])
    r = client.get("/console/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"/enterprises/{world.enterprise_other}")
    assert client.get("/console/workers").status_code == 403
    assert client.get(f"/console/workers/{world.worker_own}").status_code == 403


def test_forms_need_the_session_token_and_the_same_origin(client, world: World):
    sign_in(client, world.keys["city_admin"])
    r = client.post("/console/runs", data={"k": 5, "csrf": "0" * 32})
    assert r.status_code == 400 and "页面已过期" in r.text
    token = _csrf(client.get("/console/runs").text)
    r = client.post("/console/runs", data={"k": 5, "csrf": token}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 400
    assert client.app.state.services.placements.recent(5) == []


def test_the_run_form_passes_include_employed_and_min_fit_to_the_run(client, world: World):
    sign_in(client, world.keys["city_admin"])
    page = client.get("/console/runs").text
    assert 'name="include_employed"' in page and 'name="min_fit"' in page
    assert f'value="{DEFAULT_MIN_FIT}"' in page
    token = _csrf(page)
    form = {"k": 5, "csrf": token, "include_employed": "true", "min_fit": "0.2"}
    r = client.post("/console/runs", data=form, follow_redirects=False)
    assert r.status_code in (302, 303), r.text[-500:]
    run_id = r.headers["location"].rsplit("/", 1)[-1]
    params = client.app.state.services.placements.status(run_id)["params"]
    assert params["include_employed"] is True and params["min_fit"] == 0.2
    client.app.state.services.placements.wait()
    bad = client.post("/console/runs", data={**form, "min_fit": "1.5"}, follow_redirects=False)
    assert bad.status_code in (400, 422)


def test_import_checks_first_and_writes_only_on_confirm(client, world: World):
    sign_in(client, world.keys["city_admin"])
    token = _csrf(client.get("/console/import").text)
    files = [("files", ("workers_new.csv", world.upload.read_bytes(), "text/csv"))]
    r = client.post("/console/import", data={"csrf": token}, files=files)
    assert r.status_code == 200 and 'data-testid="rejected"' in r.text
    assert r.text.count("workers_new.csv</td>") == world.n_bad + 1  # the files table, then each bad row
    assert "身份证号校验位不正确" in r.text
    _no_pii(r.text)
    held_back = re.findall(r"^(W\d+),", world.upload.read_text(encoding="utf-8"), re.M)[0]
    assert client.get(f"/console/workers/{held_back}").status_code == 404  # nothing written yet
    confirm = re.search(r'action="(/console/import/[^"]+/confirm)"', r.text).group(1)
    done = client.post(confirm, data={"csrf": token})
    assert "新增 60 条" in done.text
    assert client.get(f"/console/workers/{held_back}").status_code == 200


def test_english_toggle_switches_the_words(client, world: World):
    sign_in(client, world.keys["auditor"])
    r = client.get("/console/lang/en?next=/console/jobs", follow_redirects=True)
    assert r.status_code == 200 and ">Jobs</a>" in r.text and 'lang="en"' in r.text
    client.get("/console/lang/zh")
    assert "岗位" in client.get("/console/jobs").text


def test_every_word_the_templates_use_exists_in_both_languages():
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\('([a-z_]+\.[a-z_0-9]+)'\s*[,)]""", path.read_text(encoding="utf-8")))
    dynamic = {k for k in ZH if k.split(".")[0] in {"role", "gender", "mobility", "status", "ekind"}}
    assert used, "no t('...') calls found"
    assert not used - set(ZH), sorted(used - set(ZH))
    assert not (used | dynamic) - set(EN), sorted((used | dynamic) - set(EN))
    assert set(ZH) == set(EN)


def test_import_reasons_read_in_chinese_and_stay_as_written_in_english():
    reason = "invalid ID number: check digit does not match"
    assert reason_text(reason, "zh") == "身份证号校验位不正确"
    assert reason_text(reason, "en") == reason
    assert reason_text("unknown admin code 999999 (not a county)", "zh") == "行政区划代码 999999 不存在"


def test_date_and_contact_reasons_of_an_import_read_in_chinese(tmp_path):
    from matcher.ingest import ingest

    (tmp_path / "enterprises.csv").write_text(
        "enterprise_id,name,location_code,contact_phone\ne1,河东物业,120102,找王经理\n", encoding="utf-8"
    )
    (tmp_path / "jobs.csv").write_text(
        "job_id,enterprise_id,title,openings,posted_on,closes_on\n"
        "j1,e1,保安,1,2019-02-30,\nj2,e1,保安,1,soon,\nj3,e1,保安,1,2019-05-01,2019-04-01\n",
        encoding="utf-8",
    )
    result = ingest([tmp_path / "enterprises.csv", tmp_path / "jobs.csv"])
    zh = {(e.row, e.field): reason_text(e.reason, "zh") for e in result.rejected}
    assert zh[(2, "contact_phone")] == "联系电话格式不正确"
    assert zh[(2, "posted_on")] == "日期不存在"
    assert zh[(3, "posted_on")].startswith("日期格式不正确")
    assert zh[(4, "closes_on")] == "截止日期早于发布日期"


def test_console_rate_limit_answers_429_with_retry_after_in_seconds(client, world: World):
    sign_in(client, world.keys["auditor"])
    services = client.app.state.services
    saved = services.limiter
    services.limiter = RateLimiter(rate=0.01, burst=1)
    try:
        first = client.get("/console/jobs")
        r = client.get("/console/jobs")
    finally:
        services.limiter = saved
    assert first.status_code == 200 and r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-content-type-options"] == "nosniff"


# ----------------------------------------------------------------------------- sessions (issue 16, item 9)
def _session_cookie(client) -> str:
    return client.cookies.get("laborbridge_session") or ""


def test_the_cookie_holds_an_opaque_session_id_never_the_key(client, world: World):
    client.cookies.clear()
    key = world.keys["auditor"]
    r = client.post("/console/sign-in", data={"key": key}, follow_redirects=False)
    assert r.status_code == 303
    sid = _session_cookie(client)
    assert sid.startswith("lbs_") and key not in r.headers["set-cookie"] and key[11:] not in sid
    max_age = int(re.search(r"max-age=(\d+)", r.headers["set-cookie"], re.I).group(1))
    assert 0 < max_age <= 12 * 3600
    r = client.post("/console/sign-in", data={"key": key}, follow_redirects=False)
    assert r.status_code == 303 and _session_cookie(client) != sid  # every sign-in, a session of its own
    assert client.app.state.services.sessions.resolve(sid) is None  # and the one it replaced ends
    client.cookies.clear()


def test_sign_out_ends_the_session_so_a_copied_cookie_stops_working(client, world: World):
    sign_in(client, world.keys["auditor"])
    sid = _session_cookie(client)
    token = _csrf(client.get("/console/jobs").text)
    r = client.post("/console/sign-out", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/sign-in?bye=1")
    client.cookies.set("laborbridge_session", sid)  # the copy an attacker kept
    r = client.get("/console/jobs", follow_redirects=False)
    assert r.status_code == 303 and "/console/sign-in" in r.headers["location"]
    assert client.get("/me").status_code == 401
    client.cookies.clear()


def test_revoking_the_key_ends_its_console_sessions(client, world: World):
    from api.auth import create_key, revoke_key

    engine = client.app.state.services.engine
    key, info = create_key(engine, "auditor", label="to revoke")
    sign_in(client, key)
    assert client.get("/console/jobs").status_code == 200
    revoke_key(engine, info.prefix)
    r = client.get("/console/jobs", follow_redirects=False)
    assert r.status_code == 303 and "/console/sign-in" in r.headers["location"]
    client.cookies.clear()


def test_an_expired_key_cannot_sign_in(client, world: World):
    import datetime as dt

    from api.auth import create_key, utcnow

    engine = client.app.state.services.engine
    key, _ = create_key(engine, "auditor", expires_days=1, now=utcnow() - dt.timedelta(days=2))
    client.cookies.clear()
    r = client.post("/console/sign-in", data={"key": key}, follow_redirects=False)
    assert r.status_code == 401 and "密钥无效" in r.text and not _session_cookie(client)


def test_failed_sign_ins_from_one_address_get_429_but_not_other_addresses(client, world: World):
    from fastapi.testclient import TestClient

    keys = client.app.state.services.keys
    saved, clock = keys.failures, [0.0]
    keys.failures = RateLimiter(rate=1 / 30, burst=2, clock=lambda: clock[0])
    try:
        attacker = TestClient(client.app, base_url="http://127.0.0.1", client=("203.0.113.5", 1))
        codes = [
            attacker.post("/console/sign-in", data={"key": f"lb_guess{i}"}).status_code for i in range(3)
        ]
        assert codes == [401, 401, 429]
        r = attacker.post("/console/sign-in", data={"key": world.keys["auditor"]}, follow_redirects=False)
        assert r.status_code == 429 and r.headers["retry-after"] == "30"
        office = TestClient(client.app, base_url="http://127.0.0.1", client=("198.51.100.5", 1))
        r = office.post("/console/sign-in", data={"key": world.keys["auditor"]}, follow_redirects=False)
        assert r.status_code == 303
        assert office.get("/console/jobs").status_code == 200
        clock[0] += 30
        r = attacker.post("/console/sign-in", data={"key": world.keys["auditor"]}, follow_redirects=False)
        assert r.status_code == 303
    finally:
        keys.failures = saved


# ----------------------------------------------------------------------------- audit (issue 16, item 11)
def _audit_rows_after(client, after: int) -> list[dict]:
    from api.audit import audit_rows

    services = client.app.state.services
    services.audit.flush()
    return audit_rows(services.engine, after=after, limit=1000)


def test_a_console_404_for_a_signed_in_caller_is_audited_as_denied(client, world: World):
    sign_in(client, world.keys["district_officer"])
    last = last_audit_id(client.app.state.services)
    assert client.get(f"/console/workers/{world.worker_other}").status_code == 404
    assert client.get(f"/console/jobs/{world.job_other}").status_code == 404
    rows = [r for r in _audit_rows_after(client, last) if r["detail"].startswith("denied 404")]
    assert [(r["route"], r["worker_id"]) for r in rows] == [
        (f"console /console/workers/{world.worker_other}", world.worker_other),
        (f"console /console/jobs/{world.job_other}", None),
    ]


def test_every_console_download_writes_an_audit_row(client, world: World):
    from tests.fakes import FAKE_MIN_FIT
    from tests.web.conftest import YEAR

    services = client.app.state.services
    state = services.placements.start({"k": 10, "year": YEAR, "min_fit": FAKE_MIN_FIT})
    services.placements.wait()
    assert services.placements.status(state.run_id)["status"] == "succeeded"
    sign_in(client, world.keys["city_admin"])
    page = client.get(f"/console/runs/{state.run_id}").text
    county = re.search(r'name="county">\s*<option value="(\d{6})"', page)
    assert county, "no county to download a supply list for"
    run = f"/console/runs/{state.run_id}/download"
    last = last_audit_id(client.app.state.services)
    paths = {
        f"{run}/placements_by_district": "console download placements_by_district of run",
        f"{run}/unplaced": "console download unplaced of run",
        f"{run}/supply?county={county.group(1)}": "console download supply county",
        f"/console/reports/download?year={YEAR}": f"console download report {YEAR}",
        "/console/template": "console download import template",
    }
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"], path
    details = {r["detail"] for r in _audit_rows_after(client, last)}
    for path, detail in paths.items():
        assert any(d.startswith(detail) for d in details), (path, details)


def test_pages_show_the_survey_posting_dates_and_enterprise_contacts(client, world: World):
    """The worker survey, a job's posting dates and an enterprise's contact (issue 17), in the
    office's words; the employer contact of a worker shows masked numbers only."""
    from matcher.store import load_dataset

    sign_in(client, world.keys["city_admin"])
    ds = load_dataset(world.url)
    worker = next(w for w in ds.workers if w.service_needs and w.employment_status.value == "employed")
    r = client.get(f"/console/workers/{worker.worker_id}")
    assert r.status_code == 200
    _no_pii(r.text)
    needs = {"training": "职业培训", "job_referral": "职业介绍", "policy_consultation": "政策咨询",
             "rights_protection": "权益维护"}  # fmt: skip
    shown = re.search(r'data-testid="service-needs">([^<]*)<', r.text)
    assert shown and shown.group(1) == "、".join(needs[n.value] for n in worker.service_needs)
    assert 'data-testid="employer-contact">' in r.text
    job = next(j for j in ds.jobs if j.posted_on is not None)
    assert (
        f'data-testid="posted-on">{job.posted_on.isoformat()}<'
        in client.get(f"/console/jobs/{job.job_id}").text
    )
    ent = next(e for e in ds.enterprises if e.contact_phone)
    page = client.get(f"/console/enterprises/{ent.enterprise_id}").text
    assert f'data-testid="contact-phone">{ent.contact_phone}<' in page and ent.contact_name in page
