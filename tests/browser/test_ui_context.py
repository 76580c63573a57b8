"""The context gauge in a real browser (spec N2): a live job shows how full its context window is, as the CLI
counts it; Compact sends the CLI's /compact, which asks the model for a summary."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.ui_support import TURN_TIMEOUT_MS, expect_status, new_project_with_job, shots_dir, wait_for
from tests.support.scripted_model import text


def test_a_live_job_shows_its_context_and_compacts_on_request(server, page, steps, scripted_model, tmp_path):
    scripted_model.add_response(text("Here is the answer."))
    scripted_model.add_response(text("Summary: the user asked a question and got an answer."))
    new_project_with_job(steps, page, "context", "a question")
    expect(page.get_by_test_id("transcript").get_by_test_id("assistant-text")).to_have_text(
        "Here is the answer.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")
    gauge = page.get_by_test_id("context-gauge")
    expect(gauge).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(page.get_by_test_id("context-label")).to_have_text(re.compile(r"Context \d+% · [\d,k]+ of [\d,k]+ tokens"))

    before = len(scripted_model.requests)
    page.get_by_test_id("context-compact").click()
    wait_for(lambda: len(scripted_model.requests) > before, what="the compaction's request at the model")
    expect_status(page, "idle")
    # What the model keeps from here on, folded, without the CLI's instructions to it (or their temp paths).
    summary = page.get_by_test_id("compaction-summary")
    expect(summary).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    summary.click()
    expect(summary).to_contain_text("Summary: the user asked a question and got an answer.")
    expect(summary).not_to_contain_text("system-reminder")
    expect(summary).not_to_contain_text(".jsonl")
    page.screenshot(path=str(shots_dir(tmp_path) / "context-gauge.png"))  # docs/usage.md shows it
    assert not page.errors, page.errors
