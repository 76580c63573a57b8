"""Budgets and export in a real browser (spec N3, N5): a project's monthly budget set on its page stops the next
job with a dialog that says by how much; "Continue anyway" starts it; the job's conversation downloads as
Markdown from its header."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import text_field
from tests.browser.ui_support import TURN_TIMEOUT_MS, expect_status
from tests.support.scripted_model import Response, text

MODEL = "claude-sonnet-4-5"
CALL = {"input_tokens": 100_000, "output_tokens": 0, "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0}  # $0.30 at sonnet's price


def _start(page, prompt: str) -> None:
    page.get_by_test_id("job-options").click()
    text_field(page, "prompt").fill(prompt)
    page.get_by_label("Model").fill(MODEL)
    page.get_by_test_id("send").click()


def test_a_monthly_budget_stops_the_next_job_until_continued(server, page, steps, scripted_model):
    scripted_model.add(Response([text("Thirty cents well spent.")], usage=CALL))
    scripted_model.add(Response([text("Going on past the budget.")], usage=CALL))
    project_id = steps.create_project("budgeted")
    _start(page, "spend thirty cents")
    expect(page).to_have_url(re.compile(r"/job/[0-9a-f]+$"))
    expect(page.get_by_test_id("transcript").get_by_test_id("assistant-text")).to_have_text(
        "Thirty cents well spent.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")

    # The job's conversation, as Markdown, from the header.
    page.get_by_test_id("job-export").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-markdown").click()
    markdown = download.value.path().read_text()
    assert "## You\n\nspend thirty cents" in markdown and "Thirty cents well spent." in markdown

    page.goto(f"/project/{project_id}")
    expect(page.get_by_test_id("project-month-spent")).to_contain_text("$0.30")
    text_field(page, "project-budget-input").fill("0.25")
    page.get_by_test_id("project-budget-save").click()
    expect(page.get_by_text("Monthly budget saved.")).to_be_visible()
    _start(page, "one more")
    dialog = page.get_by_test_id("budget-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("budget-reason")).to_contain_text("$0.30 spent of $0.25 ($0.05 over)")
    assert page.url.endswith(f"/project/{project_id}"), "nothing started before the person decided"
    page.get_by_test_id("budget-continue").click()
    expect(page.get_by_test_id("transcript").get_by_test_id("assistant-text")).to_have_text(
        "Going on past the budget.", timeout=TURN_TIMEOUT_MS)
    assert not page.errors, page.errors
