"""Smoke test in a real browser: create a project, submit a prompt, watch the reply arrive (spec A, C1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.scripted_model import text, user_texts

pytestmark = pytest.mark.browser

REPLY = "Hello from the scripted model, streamed in small pieces."
PROMPT = "say hello from the browser"


def test_prompt_to_reply_and_reload(server, page, steps, scripted_model):
    scripted_model.add_response(text(REPLY, chunk=5, delay=0.03))

    page.goto("/")
    steps.create_project("smoke")
    expect(page.get_by_text(str(server.projects_root / "smoke")).first).to_be_visible()
    assert (server.projects_root / "smoke").is_dir()

    steps.start_job(PROMPT)
    transcript = page.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("user-message")).to_contain_text(PROMPT)
    expect(transcript.get_by_test_id("assistant-text")).to_have_text(REPLY)
    expect(page.get_by_test_id("job-status")).to_have_text("idle")

    # What the model saw: one turn, carrying the prompt typed in the browser.
    assert len(scripted_model.requests) == 1
    assert user_texts(scripted_model.requests[0])[-1] == PROMPT

    page.reload()
    expect(page.get_by_test_id("job-status")).to_have_text("idle")
    expect(transcript.get_by_test_id("assistant-text")).to_have_text(REPLY)
    expect(page.get_by_text(REPLY)).to_have_count(1)  # the stored reply only: no streamed leftover
    expect(transcript.get_by_test_id("user-message")).to_have_count(1)
    assert len(scripted_model.requests) == 1, "a reload starts nothing at the model"
    assert not page.errors, page.errors
