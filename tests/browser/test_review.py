"""Review in Chromium (spec L2, G3): an isolated job's Changes tab, hunk by hunk, then the merge; and the Git tab
of an ordinary project staging a single hunk.

Claude's side is the real CLI against the scripted model: the isolated job edits a file in its own
worktree with a shell command, as an agent would. Set SCREENSHOTS_DIR to keep the Changes tab's
desktop screenshot (docs/screenshots/changes.png).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import click_when_arrived, text_field
from tests.support.scripted_model import text, tool_results, tool_use

NUMBERS = "".join(f"line {n}\n" for n in range(1, 31))
EDIT = "sed -i 's/^line 2$/line two/;s/^line 15$/line fifteen/;s/^line 28$/line twenty-eight/' numbers.txt"
TURN_S = 60.0


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=Browser Test", "-c", "user.email=browser@example.com"]
    return subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def committed_project(server, name: str) -> tuple[str, Path]:
    with server.bearer() as api:
        project = api.post("/api/projects", json={"name": name}).json()
    root = Path(project["path"])
    git(root, "init", "-q", "-b", "main")
    (root / "numbers.txt").write_text(NUMBERS)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return project["id"], root


def finished_job(server, body: dict) -> dict:
    with server.bearer() as api:
        job = api.post("/api/jobs", json=body)
        assert job.status_code == 201, job.text
        deadline = time.monotonic() + TURN_S
        while (found := api.get(f"/api/jobs/{job.json()['id']}").json())["status"] not in ("idle", "completed"):
            assert found["status"] != "failed", found["error"]
            assert time.monotonic() < deadline, "the job's turn did not end"
            time.sleep(0.2)
        return found


def _edits_numbers(body: dict):
    if tool_results({"messages": [body["messages"][-1]]}):
        return text("Three lines renamed.")
    return [text("Renaming."), tool_use("Bash", {"command": EDIT})]


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        time.sleep(0.5)  # let transitions settle
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def hunks(page: Page):
    return page.get_by_test_id("changes-diff").get_by_test_id("hunk")


def test_accept_two_hunks_reject_the_third_then_merge(server, page, scripted_model):
    scripted_model.add_response(_edits_numbers)
    scripted_model.add_response(_edits_numbers)
    project_id, root = committed_project(server, "reviewed")
    job = finished_job(server, {"project_id": project_id, "prompt": "rename three lines", "isolated": True,
                                "permission_mode": "bypassPermissions", "name": "Rename three lines"})
    work = Path(job["worktree"])
    assert (work / "numbers.txt").read_text() != NUMBERS and (root / "numbers.txt").read_text() == NUMBERS

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/job/{job['id']}")
    page.get_by_test_id("tab-changes").click()
    expect(page.get_by_test_id("changes-summary")).to_have_text("1 file · +3 −3 · 0 of 3 hunks accepted")
    page.locator("[data-testid=change-file][data-path='numbers.txt']").click()
    expect(hunks(page)).to_have_count(3)
    hunks(page).nth(0).get_by_test_id("hunk-accept").click()
    expect(hunks(page).nth(0).get_by_test_id("hunk-accepted")).to_be_visible()
    hunks(page).nth(1).get_by_test_id("hunk-accept").click()
    expect(page.get_by_test_id("changes-summary")).to_have_text("1 file · +3 −3 · 2 of 3 hunks accepted")
    screenshot(page, "changes")
    hunks(page).nth(2).get_by_test_id("hunk-reject").click()
    click_when_arrived(page.get_by_test_id("reject-confirm"))
    expect(hunks(page)).to_have_count(2)
    expect(page.get_by_test_id("changes-summary")).to_have_text("1 file · +2 −2 · 2 of 2 hunks accepted")
    expect(page.get_by_test_id("change-file-done")).to_be_visible()
    assert (work / "numbers.txt").read_text() == NUMBERS.replace("line 2\n", "line two\n").replace(
        "line 15\n", "line fifteen\n")

    page.get_by_test_id("changes-merge").click()
    expect(text_field(page, "merge-message")).to_have_value("Rename three lines")
    click_when_arrived(page.get_by_test_id("merge-confirm"))
    expect(page.get_by_test_id("changes-outcome")).to_contain_text("merged into main")
    expect(page.get_by_test_id("changes-empty")).to_be_visible()
    assert (root / "numbers.txt").read_text() == (work / "numbers.txt").read_text()
    assert git(root, "log", "-1", "--format=%s").strip() == "Rename three lines"
    assert git(root, "status", "--porcelain") == ""
    assert not page.errors, page.errors


def test_the_git_tab_of_an_ordinary_project_stages_one_hunk(server, page, scripted_model):
    scripted_model.add_response(text("Nothing to do."))
    project_id, root = committed_project(server, "plain")
    job = finished_job(server, {"project_id": project_id, "prompt": "look around"})
    assert not job["isolated"]
    (root / "numbers.txt").write_text(NUMBERS.replace("line 3\n", "line three\n").replace("line 25\n", "line 25!\n"))

    page.goto(f"/job/{job['id']}")
    expect(page.get_by_test_id("tab-changes")).to_have_count(0)  # only isolated jobs have one
    page.get_by_test_id("tab-git").click()
    page.get_by_test_id("git-modified").locator("[data-testid=git-file][data-path='numbers.txt']").click()
    diff = page.get_by_test_id("git-diff")
    expect(diff.get_by_test_id("hunk")).to_have_count(2)
    diff.get_by_test_id("hunk").nth(1).get_by_test_id("hunk-stage").click()
    staged = page.get_by_test_id("git-staged").locator("[data-testid=git-file][data-path='numbers.txt']")
    expect(staged).to_be_visible()
    assert git(root, "diff", "--cached", "-U0").count("\n+line") == 1
    assert "+line 25!" in git(root, "diff", "--cached")
    assert "+line three" in git(root, "diff")  # the other hunk stays unstaged

    # The diff shows the unstaged side still; the first hunk is discarded after a confirmation.
    expect(diff.get_by_test_id("hunk")).to_have_count(1)
    diff.get_by_test_id("hunk-discard").click()
    click_when_arrived(page.get_by_test_id("git-discard-confirm"))
    expect(page.get_by_test_id("git-diff-title")).to_contain_text("numbers.txt · staged")
    assert (root / "numbers.txt").read_text() == NUMBERS.replace("line 25\n", "line 25!\n")
    staged.click()
    diff.get_by_test_id("hunk-unstage").click()
    expect(page.get_by_test_id("git-modified").locator("[data-testid=git-file][data-path='numbers.txt']")).to_be_visible()
    assert git(root, "diff", "--cached") == ""
    assert not page.errors, page.errors
