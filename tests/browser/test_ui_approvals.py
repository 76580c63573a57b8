"""Approvals in a real browser (spec E1-E4): answer a question, approve and reject a plan, allow, deny and
always-allow a tool; the header badge, the list across projects and browser notifications follow along."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser import ui_support
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    disk_events,
    disk_job,
    expect_status,
    kinds,
    new_project_with_job,
    wait_for,
)
from tests.support.scripted_model import text, tool_results, tool_use

QUESTIONS = {"questions": [
    {"question": "Which colour?", "header": "Colour", "multiSelect": False,
     "options": [{"label": "Red", "description": "warm"}, {"label": "Blue", "description": "cool"}]},
    {"question": "Which sizes?", "header": "Sizes", "multiSelect": True,
     "options": [{"label": "Small", "description": ""}, {"label": "Large", "description": ""}]},
]}
PLAN = "# Refactor plan\n\n1. Move the parser into `parse.py`\n2. Run the tests"
# Records what the page asks the browser to show; permission is already granted.
NOTIFICATION_STUB = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({title: title, body: (options || {}).body}); }
  static requestPermission() { return Promise.resolve('granted'); }
};
window.Notification.permission = 'granted';
"""

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model


def _notifications(page) -> list[dict]:
    return page.evaluate("window.__notifications || []")


def _card(page, kind: str):
    return page.get_by_test_id("transcript").locator(f"[data-testid=approval-card][data-kind={kind}]")


def _resolved(projects_root, job_id) -> list[dict]:
    return kinds(disk_events(projects_root, job_id), "approval_resolved")


def test_question_is_answered_and_the_answer_reaches_claude(server, page, new_page, steps, scripted_model):
    page.context.grant_permissions(["notifications"])
    page.add_init_script(NOTIFICATION_STUB)
    scripted_model.add_response(tool_use("AskUserQuestion", QUESTIONS))
    scripted_model.add_response(text("Blue, small and large it is."))
    job_id = new_project_with_job(steps, page, "ask", "pick a colour and sizes")

    card = _card(page, "question")
    expect(card).to_contain_text("Claude has a question", timeout=TURN_TIMEOUT_MS)
    expect(card).to_contain_text("Which colour?")
    expect(card).to_contain_text("Blue — cool")
    # Visible everywhere: the header badge, the list across projects, a browser notification.
    expect(page.get_by_test_id("approvals-badge")).to_have_text("1")
    wait_for(lambda: any(n["title"] == "Claude is waiting for you" for n in _notifications(page)),
             what="a notification about the question")
    listing = new_page(server)
    listing.goto("/approvals")
    entry = listing.get_by_test_id("approval-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Which colour?")
    expect(entry.get_by_role("link")).to_contain_text("ask · pick a colour and sizes")  # project · job

    # Single choice, several choices plus a free-text extra.
    card.locator("[data-testid=question][data-index='0']").get_by_text("Blue — cool").click()
    sizes = card.locator("[data-testid=question][data-index='1']")
    sizes.get_by_text("Small").click()
    sizes.get_by_text("Large").click()
    sizes.locator("[data-testid=question-other]").fill("Huge")
    card.get_by_test_id("approve").click()
    expect(card.get_by_test_id("approval-outcome")).to_have_text(
        "Answered — Which colour? → Blue; Which sizes? → Small, Large, Huge")
    expect(page.get_by_test_id("assistant-text")).to_have_text("Blue, small and large it is.",
                                                               timeout=TURN_TIMEOUT_MS)
    expect(page.get_by_test_id("approvals-badge")).to_be_hidden()
    expect(listing.get_by_test_id("approval-entry")).to_have_count(0)
    expect(listing.get_by_text("Nothing is waiting for an answer.")).to_be_visible()
    wait_for(lambda: any(n["title"] == "Job finished" for n in _notifications(page)),
             what="a notification that the job finished")

    results = tool_results(scripted_model.wait_for_requests(2)[1])
    assert len(results) == 1 and not results[0].is_error
    assert "Blue" in results[0].content and "Small, Large, Huge" in results[0].content
    [resolved] = _resolved(server.projects_root, job_id)
    assert resolved["allow"] and resolved["answers"] == {"Which colour?": "Blue",
                                                         "Which sizes?": "Small, Large, Huge"}


def test_plan_is_shown_as_markdown_and_approved(server, page, steps, scripted_model):
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": PLAN}))
    scripted_model.add_response(text("Plan approved, starting."))
    job_id = new_project_with_job(steps, page, "plan-yes", "plan a refactor", permission_mode="plan")

    card = _card(page, "plan")
    expect(card).to_contain_text("Review the plan", timeout=TURN_TIMEOUT_MS)
    expect(card.locator("h1")).to_have_text("Refactor plan")
    expect(card.locator("li")).to_have_count(2)
    expect(card.locator("code")).to_have_text("parse.py")
    card.get_by_test_id("approve").click()
    expect(card.get_by_test_id("approval-outcome")).to_have_text("Plan approved")
    expect(page.get_by_test_id("assistant-text")).to_have_text("Plan approved, starting.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")

    results = tool_results(scripted_model.wait_for_requests(2)[1])
    assert results and not results[0].is_error, results
    assert disk_job(server.projects_root, job_id)["permission_mode"] == "plan"
    assert [r["allow"] for r in _resolved(server.projects_root, job_id)] == [True]


def test_plan_is_rejected_with_a_reason(server, page, steps, scripted_model):
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": "Delete every file"}))
    scripted_model.add_response(text("I will revise the plan."))
    job_id = new_project_with_job(steps, page, "plan-no", "plan a cleanup", permission_mode="plan")

    card = _card(page, "plan")
    expect(card).to_contain_text("Delete every file", timeout=TURN_TIMEOUT_MS)
    card.locator("input[data-testid=deny-reason]").fill("too risky, keep the files")
    card.get_by_test_id("deny").click()
    expect(card.get_by_test_id("approval-outcome")).to_have_text("Denied — too risky, keep the files")
    expect(page.get_by_test_id("assistant-text")).to_have_text("I will revise the plan.", timeout=TURN_TIMEOUT_MS)

    results = tool_results(scripted_model.wait_for_requests(2)[1])
    assert any(r.is_error and "too risky, keep the files" in r.content for r in results), results
    [resolved] = _resolved(server.projects_root, job_id)
    assert not resolved["allow"] and resolved["message"] == "too risky, keep the files"


def test_tool_is_allowed_in_the_chat_then_another_denied_from_the_approvals_list(server, page, new_page, steps,
                                                                                  scripted_model):
    project_dir = server.projects_root / "tools"
    allowed, denied = project_dir / "allowed.txt", project_dir / "denied.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(allowed), "content": "yes\n"}))
    scripted_model.add_response(tool_use("Write", {"file_path": str(denied), "content": "no\n"}))
    scripted_model.add_response(text("One written, one refused."))
    job_id = new_project_with_job(steps, page, "tools", "write two files", permission_mode="default")

    first = _card(page, "permission").first
    expect(first).to_contain_text("Write", timeout=TURN_TIMEOUT_MS)
    expect(first).to_contain_text("allowed.txt")
    expect(page.get_by_test_id("approvals-badge")).to_have_text("1")
    first.get_by_test_id("approve").click()
    expect(first.get_by_test_id("approval-outcome")).to_have_text("Allowed")
    wait_for(allowed.exists, what="the allowed file")

    # The second one is answered from the list across projects, in another browser.
    second = _card(page, "permission").nth(1)
    expect(second).to_contain_text("denied.txt", timeout=TURN_TIMEOUT_MS)
    listing = new_page(server)
    listing.goto("/approvals")
    entry = listing.get_by_test_id("approval-entry")
    expect(entry).to_contain_text("denied.txt")
    entry.locator("input[data-testid=deny-reason]").fill("not that one")
    entry.get_by_test_id("deny").click()
    expect(listing.get_by_text("Nothing is waiting for an answer.")).to_be_visible()
    expect(second.get_by_test_id("approval-outcome")).to_have_text("Denied — not that one")
    expect(page.get_by_test_id("assistant-text").last).to_have_text("One written, one refused.",
                                                                    timeout=TURN_TIMEOUT_MS)
    expect(page.get_by_test_id("approvals-badge")).to_be_hidden()

    assert allowed.read_text() == "yes\n" and not denied.exists()
    requests = scripted_model.wait_for_requests(3)
    assert not tool_results(requests[1])[-1].is_error
    refused = tool_results(requests[2])[-1]
    assert refused.is_error and "not that one" in refused.content
    assert [r["allow"] for r in _resolved(server.projects_root, job_id)] == [True, False]
    # The tool cards show the outcome too: the written file's result, the refusal as an error.
    cards = page.get_by_test_id("tool-card")
    expect(cards.first.get_by_test_id("tool-result")).to_have_attribute("data-error", "false")
    expect(cards.nth(1).get_by_test_id("tool-result")).to_have_attribute("data-error", "true")


def test_always_allow_skips_the_next_prompt_for_that_tool(server, page, steps, scripted_model):
    project_dir = server.projects_root / "always"
    first, second = project_dir / "one.txt", project_dir / "two.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(first), "content": "1"}))
    scripted_model.add_response(tool_use("Write", {"file_path": str(second), "content": "2"}))
    scripted_model.add_response(text("Both written."))
    job_id = new_project_with_job(steps, page, "always", "write two files", permission_mode="default")

    card = _card(page, "permission")
    expect(card).to_contain_text("one.txt", timeout=TURN_TIMEOUT_MS)
    card.get_by_test_id("always-allow").click()
    expect(card.get_by_test_id("approval-outcome")).to_have_text("Always allowed for this job")
    expect(page.get_by_test_id("assistant-text").last).to_have_text("Both written.", timeout=TURN_TIMEOUT_MS)
    expect(card).to_have_count(1)  # the second Write did not ask
    assert first.read_text() == "1" and second.read_text() == "2"
    assert disk_job(server.projects_root, job_id)["always_allow"] == ["Write"]
    assert len(kinds(disk_events(server.projects_root, job_id), "approval")) == 1
    assert json.dumps(tool_results(scripted_model.wait_for_requests(3)[2])[-1].raw)  # the second ran
