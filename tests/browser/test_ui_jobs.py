"""Job controls in a real browser (spec B2, C3, C4, C6, C7, C8, C11): fork, edit & resend, pin, stop,
complete and resume, rename, settings, archive and restore of jobs and projects."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import ui_support
from tests.browser.conftest import click_when_arrived, text_field
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    disk_events,
    disk_job,
    disk_projects,
    expect_status,
    job_id_of,
    kinds,
    new_project_with_job,
    send_follow_up,
    wait_for,
)
from tests.support.helpers import assistant_texts
from tests.support.scripted_model import text, user_texts

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model


def _two_turns(page, steps, scripted_model, project: str) -> str:
    scripted_model.add_response(text("Reply one: the word is apple."))
    scripted_model.add_response(text("Reply two: the word is pear."))
    job_id = new_project_with_job(steps, page, project, "first question")
    expect_status(page, "idle")
    send_follow_up(page, "second question")
    expect(page.get_by_test_id("assistant-text").nth(1)).to_have_text("Reply two: the word is pear.",
                                                                      timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")
    return job_id


def _branch(page, prompt: str | None) -> str:
    """Fill the fork / edit dialog and start the new job; returns its id."""
    field = text_field(page, "branch-prompt")
    expect(field).to_be_visible()
    if prompt is not None:
        field.fill(prompt)
    parent = page.url
    click_when_arrived(page.get_by_test_id("branch-start"))
    expect(page).not_to_have_url(parent)
    expect(page).to_have_url(re.compile(r"/job/[0-9a-f]+$"))
    return job_id_of(page)


def test_fork_from_an_earlier_turn_keeps_the_conversation_up_to_there(server, page, steps, scripted_model):
    parent_id = _two_turns(page, steps, scripted_model, "fork")
    scripted_model.add_response(text("Forked reply."))

    page.get_by_test_id("turn-footer").first.get_by_test_id("fork").click()
    fork_id = _branch(page, "continue from the first answer")
    expect(page.get_by_test_id("parent-link")).to_have_text("Forked from: first question")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("assistant-text").last).to_have_text("Forked reply.", timeout=TURN_TIMEOUT_MS)
    expect(transcript.get_by_text("Reply one: the word is apple.")).to_be_visible()
    expect(transcript.get_by_text("Reply two: the word is pear.")).to_have_count(0)
    expect_status(page, "idle")

    # The model sees turn one and the new prompt, not turn two.
    request = scripted_model.wait_for_requests(3)[2]
    assert user_texts(request)[-1] == "continue from the first answer"
    assert "first question" in user_texts(request) and "second question" not in user_texts(request)
    assert assistant_texts(request) == ["Reply one: the word is apple."]
    fork = disk_job(server.projects_root, fork_id)
    assert fork["parent_job_id"] == parent_id and fork["session_id"] != disk_job(server.projects_root,
                                                                                   parent_id)["session_id"]
    # The parent is untouched, and the fork links back to it.
    page.get_by_test_id("parent-link").click()
    expect(page).to_have_url(re.compile(f"/job/{parent_id}$"))
    expect(page.get_by_test_id("assistant-text")).to_have_count(2)


def test_edit_and_resend_replaces_a_message_in_a_new_job(server, page, steps, scripted_model):
    parent_id = _two_turns(page, steps, scripted_model, "edit")
    scripted_model.add_response(text("Answer to the edited question."))

    page.get_by_test_id("user-message").nth(1).get_by_test_id("edit").click()
    expect(text_field(page, "branch-prompt")).to_have_value("second question")  # prefilled
    edited_id = _branch(page, "second question, said better")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("assistant-text").last).to_have_text("Answer to the edited question.",
                                                                         timeout=TURN_TIMEOUT_MS)
    expect(transcript.get_by_test_id("user-message").last).to_contain_text("second question, said better")
    expect(transcript.get_by_text("Reply two: the word is pear.")).to_have_count(0)

    request = scripted_model.wait_for_requests(3)[2]
    assert user_texts(request)[-1] == "second question, said better"
    assert "second question" not in user_texts(request)
    assert assistant_texts(request) == ["Reply one: the word is apple."]
    assert disk_job(server.projects_root, edited_id)["parent_job_id"] == parent_id
    assert kinds(disk_events(server.projects_root, edited_id), "user")[-1]["text"] == "second question, said better"


def test_pin_as_session_stops_the_countdown(server, page, steps, scripted_model):
    scripted_model.add_response(text("Pin me."))
    job_id = new_project_with_job(steps, page, "pin", "a job to keep")
    expect_status(page, "idle")
    expect(page.get_by_test_id("grace")).to_contain_text(re.compile(r"completes in \d+:\d\d"))
    assert disk_job(server.projects_root, job_id)["grace_deadline"]

    page.get_by_test_id("pin").click()
    expect(page.get_by_test_id("mode-session")).to_be_visible()
    expect_status(page, "session active")
    expect(page.get_by_test_id("grace")).to_have_text("")
    expect(page.get_by_test_id("pin")).to_be_hidden()
    expect(page.get_by_test_id("close-session")).to_be_visible()
    job = wait_for(lambda: (j := disk_job(server.projects_root, job_id))["mode"] == "session" and j,
                   what="the job to be a session on disk")
    assert job["status"] == "idle" and job["grace_deadline"] is None
    # The job list marks it as a session too.
    expect(page.get_by_test_id(f"job-row-{job_id}").get_by_text("push_pin")).to_be_visible()


def test_stop_interrupts_a_turn_and_the_job_takes_follow_ups_again(server, page, steps, scripted_model):
    scripted_model.add_response(text("this reply never finishes"), hang=True)
    scripted_model.add_response(text("Back to work."))
    job_id = new_project_with_job(steps, page, "stop", "start something long")
    expect_status(page, "running")
    scripted_model.wait_for_requests(1)
    page.get_by_test_id("stop").click()
    expect(page.get_by_test_id("turn-footer")).to_contain_text("Stopped", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")
    send_follow_up(page, "carry on")
    expect(page.get_by_test_id("assistant-text").last).to_have_text("Back to work.", timeout=TURN_TIMEOUT_MS)
    assert user_texts(scripted_model.wait_for_requests(2)[1])[-1] == "carry on"
    wait_for(lambda: [r["subtype"] for r in kinds(disk_events(server.projects_root, job_id), "result")]
             == ["error_during_execution", "success"], what="an interrupted turn, then a finished one, on disk")


def test_complete_now_then_resume_as_session(server, page, steps, scripted_model):
    scripted_model.add_response(text("The code word is walnut."))
    scripted_model.add_response(text("You said walnut."))
    job_id = new_project_with_job(steps, page, "complete", "remember walnut")
    expect_status(page, "idle")
    page.get_by_test_id("complete-now").click()
    expect_status(page, "completed")
    expect(page.get_by_test_id("grace")).to_have_text("")
    wait_for(lambda: disk_job(server.projects_root, job_id)["status"] == "completed", what="completed on disk")

    page.get_by_test_id("resume-session").click()
    expect_status(page, "session active", timeout=TURN_TIMEOUT_MS)
    expect(page.get_by_test_id("mode-session")).to_be_visible()
    send_follow_up(page, "what was the word?")
    expect(page.get_by_test_id("assistant-text").last).to_have_text("You said walnut.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "session active")
    request = scripted_model.wait_for_requests(2)[1]
    assert "The code word is walnut." in assistant_texts(request)  # resumed with full context
    wait_for(lambda: (lambda j: (j["mode"], j["status"], j["turns"]) == ("session", "idle", 2))(
        disk_job(server.projects_root, job_id)), what="an idle session with two turns on disk")


def test_rename_and_change_settings_between_turns(server, page, steps, scripted_model):
    scripted_model.add_response(text("First."))
    scripted_model.add_response(text("Second, on another model."))
    job_id = new_project_with_job(steps, page, "settings", "name me")
    expect_status(page, "idle")

    page.get_by_test_id("job-name").click()
    text_field(page, "rename-input").fill("A better name")
    click_when_arrived(page.get_by_test_id("rename-save"))
    expect(page.get_by_test_id("job-name")).to_have_text("A better name")
    expect(page.get_by_test_id(f"job-row-{job_id}")).to_contain_text("A better name")

    page.get_by_test_id("job-settings").click()
    menu = page.locator(".q-menu")
    menu.get_by_label("Model").fill("claude-haiku-4-5")
    menu.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Settings saved; they apply from the next turn.")).to_be_visible()
    page.keyboard.press("Escape")
    send_follow_up(page, "again")
    expect(page.get_by_test_id("assistant-text").last).to_have_text("Second, on another model.",
                                                                    timeout=TURN_TIMEOUT_MS)
    requests = scripted_model.wait_for_requests(2)
    # The CLI resolves the name to the model it stands for today; what matters is that it changed.
    assert "haiku" in requests[1]["model"] and "haiku" not in requests[0]["model"], [r["model"] for r in requests]
    job = disk_job(server.projects_root, job_id)
    assert (job["name"], job["model"]) == ("A better name", "claude-haiku-4-5")


def test_archive_and_restore_a_job_and_a_project(server, page, steps, scripted_model):
    scripted_model.add_response(text("Done."))
    job_id = new_project_with_job(steps, page, "archive", "something to archive")
    expect_status(page, "idle")
    row = page.get_by_test_id(f"job-row-{job_id}")
    expect(row).to_be_visible()

    page.get_by_test_id("archive").click()
    expect_status(page, "archived")
    expect(row).to_have_count(0)  # archived jobs leave the list...
    page.get_by_test_id("show-archived").click()
    expect(row).to_be_visible()  # ...unless asked for
    job = wait_for(lambda: (j := disk_job(server.projects_root, job_id))["status"] == "archived" and j,
                   what="the job archived on disk")
    assert job["archived_from"] == "completed"  # its live channel was closed first
    expect(page.get_by_test_id("transcript").get_by_test_id("assistant-text")).to_have_text("Done.")

    page.get_by_test_id("restore").click()
    expect_status(page, "completed")
    wait_for(lambda: disk_job(server.projects_root, job_id)["status"] == "completed", what="restored on disk")

    # The project: archived from the sidebar's menu, restored from the Archived group.
    project_id = disk_job(server.projects_root, job_id)["project_id"]
    page.get_by_test_id("project-archive").locator("xpath=..").get_by_role("button").click()
    page.locator(".q-menu").get_by_text("Archive", exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("project-archive")).to_have_count(0)
    assert wait_for(lambda: disk_projects(server.projects_root)[project_id]["archived"], what="archived project")
    page.get_by_text(re.compile(r"Archived \(\d+\)")).click()
    page.get_by_test_id("restore-project-archive").click()
    expect(page.get_by_test_id("project-archive")).to_be_visible()
    wait_for(lambda: not disk_projects(server.projects_root)[project_id]["archived"], what="restored project")
    assert (server.projects_root / "archive").is_dir(), "archiving deletes nothing"
