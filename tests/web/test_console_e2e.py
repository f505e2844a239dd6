"""The console in a real browser: Debian's Chromium, headless, driven by Playwright.

The journey an office worker takes: sign in → import a file with some bad rows → read the errors
→ confirm → start a placement run → watch it finish → open a worker → download the job supply
list. A district officer cannot reach another district's pages, and no page shows an ID number
or a phone in clear. Every page is saved as a screenshot under ``test-artifacts/web/``.

No browser is downloaded: the test uses ``/usr/bin/chromium`` (apt package ``chromium``) and is
skipped when it or the ``playwright`` package is missing.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import ARTIFACTS, YEAR

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ID_LIKE = re.compile(r"(?<![\d*])\d{17}[\dXx](?![\d*])")
MOBILE_LIKE = re.compile(r"(?<![\d*])1[3-9]\d{9}(?![\d*])")

pytestmark = [
    pytest.mark.slow,
    # In CI the Makefile installs Chromium, so a missing browser there is a failure, not a skip.
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None and not os.environ.get("CI"),
        reason="needs Debian's chromium at /usr/bin/chromium",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser, live_server):
    base, _ = live_server
    ctx = browser.new_context(
        base_url=base, viewport={"width": 1360, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    ctx.set_default_timeout(20_000)
    pg = ctx.new_page()
    pg.on("console", lambda m: m.type == "error" and _console_errors.append(m.text))
    yield pg
    ctx.close()


_console_errors: list[str] = []


def shot(page, name: str) -> str:
    """Save a full-page screenshot and check the page for personal numbers in clear."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    html = page.content()
    assert not ID_LIKE.search(html), f"{name}: an ID number in clear: {ID_LIKE.search(html)}"
    assert not MOBILE_LIKE.search(html), f"{name}: a phone in clear: {MOBILE_LIKE.search(html)}"
    return html


def nav(page, name: str) -> None:
    """Follow a link of the navigation bar."""
    page.locator("nav.main").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()


def sign_in(page, key: str) -> None:
    page.goto("/")
    page.wait_for_url(re.compile(r"/console/sign-in"))
    page.fill("#key", key)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/(\?.*)?$|/console/enterprises/"))


def test_office_journey_import_run_worker_supply_list(page, live_server):
    base, world = live_server
    page.goto("/")
    page.wait_for_url(re.compile(r"/console/sign-in"))
    shot(page, "01-sign-in")
    page.fill("#key", world.keys["city_admin"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/$"))
    assert page.get_by_test_id("role").inner_text().startswith("市级管理员")
    shot(page, "02-dashboard")

    # import: check the file, read the errors, confirm
    nav(page, "数据导入")
    page.set_input_files("#files", str(world.upload))
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector("[data-testid=rejected]")
    assert page.get_by_test_id("n-rejected").inner_text() == str(world.n_bad)
    rows = page.locator("[data-testid=rejected] tbody tr")
    assert rows.count() == world.n_bad
    text = page.locator("[data-testid=rejected]").inner_text()
    for expected in ("workers_new.csv", "身份证号", "手机号", "行政区划代码 999999 不存在"):
        assert expected in text
    shot(page, "03-import-report")
    page.get_by_test_id("confirm").click()
    page.wait_for_selector("[data-testid=import-done]")
    assert "新增 60 条" in page.get_by_test_id("import-done").inner_text()
    shot(page, "04-import-done")

    # start a run and watch it finish
    nav(page, "批量匹配")
    page.fill("#k", "10")
    shot(page, "05-runs")
    page.get_by_test_id("start-run").click()
    page.wait_for_url(re.compile(r"/console/runs/[0-9T]+-[0-9a-f]+$"))
    if page.locator("[data-testid=run-progress]").count():
        shot(page, "06-run-progress")
    page.wait_for_selector("[data-testid=run-summary]", timeout=90_000)
    assert page.get_by_test_id("run-status").inner_text() == "已完成"
    assert int(page.get_by_test_id("n-placed").inner_text().replace(",", "")) > 0
    shot(page, "07-run-summary")

    # the supply list of a paired county that has one
    run_id = page.url.rsplit("/", 1)[1]
    county = _county_with_supply(world.url, run_id)
    page.select_option("#county", county)
    with page.expect_download() as info:
        page.get_by_test_id("dl-supply").click()
    download = info.value
    target = ARTIFACTS / download.suggested_filename
    download.save_as(str(target))
    assert download.suggested_filename.startswith("岗位供给清单-") and target.suffix == ".xlsx"
    _check_supply_list(target)

    # a worker from the placement list
    page.locator("[data-testid=assignments] tbody tr td a").first.click()
    page.wait_for_selector("[data-testid=worker-facts]")
    assert "*" in page.get_by_test_id("id-number").inner_text()
    assert page.locator("[data-testid=history] tbody tr").count() >= 1
    if page.locator("[data-testid=recommendations]").count():
        assert page.locator("[data-testid=explanation]").first.inner_text().strip()
        page.locator("details.breakdown summary").first.click()
    shot(page, "08-worker")

    # a job and its candidates, the lists, the reports, English
    page.locator("[data-testid=recommendations] a, [data-testid=history] a[href*='/jobs/']").first.click()
    page.wait_for_url(re.compile(r"/console/jobs/"))
    shot(page, "09-job")
    nav(page, "岗位")
    page.locator("[data-testid=jobs] thead a", has_text="招聘人数").click()
    page.wait_for_url(re.compile(r"sort=openings"))
    shot(page, "10-jobs-sorted")
    nav(page, "用人单位")
    shot(page, "11-enterprises")
    nav(page, "劳动力")
    page.fill("input[name=q]", "张")
    page.get_by_role("button", name="查询").click()
    shot(page, "12-workers-search")
    nav(page, "报表")
    shot(page, "13-reports")
    nav(page, "工作台")
    page.get_by_role("link", name="English").click()
    page.wait_for_selector("text=Dashboard")
    shot(page, "14-dashboard-en")
    page.get_by_role("link", name="中文").click()
    assert not _console_errors, _console_errors


def _county_with_supply(url: str, run_id: str) -> str:
    from matcher.reporting.exports import supply_tables
    from matcher.store import load_dataset, open_engine
    from matcher.store.runs_repo import run_assignments

    engine = open_engine(url)
    try:
        tables = supply_tables(load_dataset(url), YEAR, run_assignments(engine, run_id))
    finally:
        engine.dispose()
    assert tables, "the sample has no county with open jobs left"
    return max(tables, key=lambda c: len(tables[c].rows))


def _check_supply_list(path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("岗位编号", "岗位名称")
    assert len(rows) > 1


def test_district_officer_stays_in_its_district(page, live_server):
    _, world = live_server
    sign_in(page, world.keys["district_officer"])
    assert page.locator("[data-testid=district-table] tbody tr").count() == 1
    shot(page, "20-officer-dashboard")
    for path in (f"/console/workers/{world.worker_other}", f"/console/jobs/{world.job_other}"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        assert "不在您的管辖范围内" in page.get_by_test_id("error").inner_text()
    shot(page, "21-officer-other-district")
    response = page.goto("/console/import")
    assert response is not None and response.status == 403
    response = page.goto(f"/console/workers/{world.worker_own}")
    assert response is not None and response.status == 200
    shot(page, "22-officer-own-worker")


def test_signed_out_pages_lead_to_sign_in(page, live_server):
    page.goto("/console/workers")
    page.wait_for_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Fworkers"))
    page.fill("#key", "lb_not_a_key")
    page.get_by_role("button", name="登录").click()
    assert page.locator(".note.bad").is_visible()
    shot(page, "23-sign-in-failed")
