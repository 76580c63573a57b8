"""Isolated jobs in Chromium (spec L1): the switch, git made ready in one click, the branch in the header, the
job's tabs in its worktree, the main checkout untouched, the branch discarded after archiving."""

from __future__ import annotations

import os
import re
import subprocess

from playwright.sync_api import expect

from tests.browser.conftest import click_when_arrived, text_field
from tests.browser.ui_support import TURN_TIMEOUT_MS, choose_permission_mode, expect_status
from tests.support.main_process import ROOT
from tests.support.scripted_model import text, tool_results, tool_use


def _reply(body: dict):
    if tool_results({"messages": [body["messages"][-1]]}):
        return text("Written in my own worktree.")
    return [text("Writing."), tool_use("Bash", {"command": "printf 'isolated work\\n' > result.txt"})]


def test_an_isolated_job_works_in_its_own_worktree_and_its_branch_can_go(server, page, steps, scripted_model):
    scripted_model.add_response(_reply)
    scripted_model.add_response(_reply)
    steps.create_project("isolated-demo")
    main = server.projects_root / "isolated-demo"
    choose_permission_mode(page, "bypassPermissions")  # opens the new job's options
    page.get_by_test_id("isolated").click()
    expect(page.get_by_text("Isolated jobs need a git repository with a commit.")).to_be_visible()
    page.get_by_test_id("git-init-commit").click()
    expect(page.get_by_test_id("git-init-commit")).to_be_hidden()
    assert subprocess.run(["git", "log", "--oneline"], cwd=main, capture_output=True, text=True).stdout.strip()

    text_field(page, "prompt").fill("write a result")
    page.get_by_test_id("send").click()
    expect(page).to_have_url(re.compile(r"/job/[0-9a-f]+$"))
    expect(page.get_by_test_id("job-branch")).to_have_text(re.compile(r"^Branch claude/write-a-result-\w+ from "))
    expect_status(page, "idle", TURN_TIMEOUT_MS)

    # The job's Files tab shows its worktree; the project's main checkout has nothing of it.
    page.get_by_test_id("tab-files").click()
    expect(page.get_by_text("result.txt", exact=True).first).to_be_visible()
    assert not (main / "result.txt").exists()

    page.get_by_test_id("archive").click()
    expect_status(page, "archived")
    page.get_by_test_id("discard-branch").click()
    click_when_arrived(page.get_by_test_id("discard-confirm"))
    expect(page.get_by_test_id("discard-branch")).to_be_hidden()
    branches = subprocess.run(["git", "branch", "--list", "claude/*"], cwd=main, capture_output=True, text=True)
    assert branches.stdout.strip() == ""


def test_the_screenshot_of_parallel_jobs(server, page, scripted_model, tmp_path):
    """docs/usage.md's picture of two isolated jobs (UPDATE_SCREENSHOTS=1 writes docs/screenshots/parallel-jobs.png)."""
    out = ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    with server.bearer() as api:
        project = api.post("/api/projects", json={"name": "webshop"}).json()
        assert api.post(f"/api/projects/{project['id']}/git/init", json={"first_commit": True}).status_code == 200
        ids = []
        for prompt in ("Add a discount code field to the checkout", "Make the cart page load faster"):
            scripted_model.add_response(_reply)
            scripted_model.add_response(_reply)
            ids.append(api.post("/api/jobs", json={"project_id": project["id"], "prompt": prompt, "isolated": True,
                                                   "permission_mode": "bypassPermissions"}).json()["id"])
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/job/{ids[1]}")
    expect_status(page, "idle", TURN_TIMEOUT_MS)
    expect(page.get_by_test_id("job-branch")).to_have_text(re.compile(r"Branch claude/make-the-cart-page"))
    page.wait_for_timeout(400)
    page.screenshot(path=str(out / "parallel-jobs.png"))
    assert "screenshots/parallel-jobs.png" in (ROOT / "docs" / "usage.md").read_text()
