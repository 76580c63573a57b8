"""The usage page in a real browser (spec N1): two jobs whose turns the real CLI priced from known token counts;
the page's totals, per-job costs and CSV agree with the API to the cent, at 1440x900 and on a phone."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from components.common.format import cost
from tests.browser.ui_support import TURN_TIMEOUT_MS, expect_status, new_project_with_job, shots_dir
from tests.support.scripted_model import Response, text

USAGE = {"input_tokens": 200_000, "output_tokens": 10_000, "cache_read_input_tokens": 0,
         "cache_creation_input_tokens": 0}


def test_the_usage_page_shows_what_the_jobs_cost(server, page, new_page, steps, scripted_model, tmp_path):
    for reply in ("First answer.", "Second answer."):
        scripted_model.add(Response([text(reply)], usage=USAGE))
    for project, prompt in (("usage-a", "first costly job"), ("usage-b", "second costly job")):
        new_project_with_job(steps, page, project, prompt)
        expect(page.get_by_test_id("transcript").get_by_test_id("assistant-text")).to_have_count(
            1, timeout=TURN_TIMEOUT_MS)
        expect_status(page, "idle")

    with server.bearer() as client:
        report = client.get("/api/usage").json()
        client.post("/api/projects", json={"name": "usage-idle"}).raise_for_status()
    assert report["totals"]["turns"] == 2 and report["totals"]["cost_usd"] > 0.5

    page.get_by_test_id("usage-link").click()  # from the header
    expect(page).to_have_url(f"{server.url}/usage")
    expect(page.get_by_test_id("usage-total-cost")).to_have_text(cost(report["totals"]["cost_usd"]))
    expect(page.get_by_test_id("usage-total-turns")).to_have_text("2")
    expect(page.get_by_test_id("usage-total-input_tokens")).to_have_text("400k")
    jobs = page.get_by_test_id("usage-job")
    expect(jobs).to_have_count(2)
    expect(jobs.first).to_contain_text(report["top_jobs"][0]["job_name"])
    expect(jobs.first.get_by_test_id("usage-job-cost")).to_have_text(cost(report["top_jobs"][0]["cost_usd"]))
    expect(page.get_by_test_id("usage-cost-chart").locator("canvas")).to_have_count(1)
    page.screenshot(path=str(shots_dir(tmp_path) / "usage.png"))  # docs/usage.md shows it

    # One project: its job only.
    page.get_by_test_id("usage-project").click()
    page.get_by_role("option", name="usage-b").click()
    expect(page.get_by_test_id("usage-total-turns")).to_have_text("1")
    expect(jobs).to_have_count(1)
    expect(jobs.first).to_contain_text("second costly job")

    # The CSV is the period's rows, adding up to the page's total.
    with page.expect_download() as download:
        page.get_by_test_id("usage-csv").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [r["job"] for r in rows] == ["second costly job"]

    # A project that used nothing in the period says so instead of drawing empty charts.
    page.get_by_test_id("usage-project").click()
    page.get_by_role("option", name="usage-idle").click()
    expect(page.get_by_test_id("usage-empty")).to_be_visible()
    expect(page.get_by_test_id("usage-cost-chart")).to_be_hidden()
    expect(page.get_by_test_id("usage-total-turns")).to_have_text("0")

    phone = new_page(server, viewport={"width": 390, "height": 844})
    phone.goto("/")
    expect(phone.get_by_test_id("usage-link")).to_be_hidden()  # no room in a phone's header: in the sidebar
    phone.get_by_test_id("usage-link-phone").click()
    expect(phone).to_have_url(f"{server.url}/usage")
    expect(phone.get_by_test_id("usage-total-cost")).to_have_text(cost(report["totals"]["cost_usd"]))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
    phone.screenshot(path=str(tmp_path / "usage-phone.png"), full_page=True)
    assert not page.errors and not phone.errors, (page.errors, phone.errors)
