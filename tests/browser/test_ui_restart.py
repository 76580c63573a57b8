"""A server restart seen from the browser (spec C4, C10, C12): the transcript is all there, a running job
comes back finished and resumable, an idle session sleeps and wakes on the next message with its context."""

from __future__ import annotations

import os
import signal

import pytest
from playwright.sync_api import expect

from core.jobs.conversations import RESTART_MESSAGE
from tests.browser.conftest import Steps
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    choose_permission_mode,
    disk_job,
    expect_status,
    send_follow_up,
    wait_for,
)
from tests.support.helpers import assistant_texts
from tests.support.scripted_model import Response, text, tool_results, tool_use, user_texts

SESSION_PROMPT = "remember that the word is kiwi"
RUNNING_PROMPT = "run a command, then take your time"


def _answer(body: dict):
    """Answer by prompt: the two jobs reach the model in no fixed order."""
    texts = user_texts(body)
    last = texts[-1] if texts else ""
    if last == SESSION_PROMPT:
        return "Noted: kiwi."
    if last == "which word?":
        return "The word was kiwi."
    if last == "are you back?":
        return "Back, and the command said kept-across-restarts."
    if last == RUNNING_PROMPT:
        if any(r.content.strip() == "kept-across-restarts" for r in tool_results(body)):
            return Response([text("never sent")], hang=True)  # still running when the server stops
        return [tool_use("Bash", {"command": "echo kept-across-restarts", "description": "Echo"})]
    return f"unexpected prompt {last!r}"


def _stop(server, how: str) -> None:
    if how == "crash":  # kill -9 of the server and its CLIs: no shutdown code runs
        os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
    else:  # SIGTERM, as Ctrl+C or systemd would
        server.stop()


@pytest.mark.parametrize("how", [
    "crash",
    "graceful",
])
def test_resume_after_a_server_restart(server_factory, new_page, scripted_model, how):
    for _ in range(10):
        scripted_model.add_response(_answer)
    first = server_factory()
    page = new_page(first)
    steps = Steps(page)
    page.goto("/")
    steps.create_project("restart")

    # A session with one finished turn.
    page.get_by_test_id("job-options").click()
    page.get_by_test_id("mode").get_by_text("Session").click()
    session_id = steps.start_job(SESSION_PROMPT)
    expect(page.get_by_test_id("assistant-text")).to_have_text("Noted: kiwi.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "session active")

    # A job still running when the server goes down, after a command it already ran.
    page.get_by_test_id("new-job").click()
    choose_permission_mode(page, "bypassPermissions")
    running_id = steps.start_job(RUNNING_PROMPT)
    expect(page.get_by_test_id("tool-result")).to_contain_text("kept-across-restarts", timeout=TURN_TIMEOUT_MS)
    scripted_model.wait_for_requests(3)
    expect_status(page, "running")

    page.context.close()  # the old tab would only log failed reconnects
    _stop(first, how)
    second = server_factory(projects_root=first.projects_root)
    page = new_page(second)

    # The running job: failed, saying why, its transcript intact, resumable.
    page.goto(f"/job/{running_id}")
    expect_status(page, "failed", timeout=10_000)  # known at once after the restart
    expect(page.get_by_test_id("job-error")).to_have_text(RESTART_MESSAGE)
    expect(page.get_by_test_id("user-message")).to_contain_text(RUNNING_PROMPT)
    expect(page.get_by_test_id("tool-result")).to_contain_text("kept-across-restarts")
    job = disk_job(second.projects_root, running_id)
    assert job["status"] == "failed" and job["session_id"], job
    page.get_by_test_id("resume-session").click()
    expect_status(page, "session active", timeout=TURN_TIMEOUT_MS)
    send_follow_up(page, "are you back?")
    expect(page.get_by_test_id("assistant-text").last).to_have_text(
        "Back, and the command said kept-across-restarts.", timeout=TURN_TIMEOUT_MS)
    request = next(r for r in scripted_model.requests if user_texts(r)[-1] == "are you back?")
    assert RUNNING_PROMPT in user_texts(request)  # resumed with the conversation, not a fresh start

    # The idle session: no process after the restart (it sleeps), and wakes with its context.
    page.goto(f"/job/{session_id}")
    expect_status(page, "sleeping")
    expect(page.get_by_test_id("assistant-text")).to_have_text("Noted: kiwi.")
    send_follow_up(page, "which word?")
    expect(page.get_by_test_id("assistant-text").last).to_have_text("The word was kiwi.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "session active")
    request = next(r for r in scripted_model.requests if user_texts(r)[-1] == "which word?")
    assert "Noted: kiwi." in assistant_texts(request)
    wait_for(lambda: disk_job(second.projects_root, session_id)["turns"] == 2, what="the session's second turn")
    assert not page.errors, page.errors
