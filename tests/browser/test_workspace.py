"""The workspace tabs in a real browser (spec G1-G5, H3): terminal, files, git, memories, cron, import.

Every test drives `python main.py` through Chromium; Claude's side is the real CLI against the
scripted model. Set SCREENSHOTS_DIR to keep a desktop-width screenshot of each panel (docs/screenshots).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import text_field
from tests.support.scripted_model import text, tool_use, user_texts

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
SLOW_MS = 60_000  # a CLI turn on a loaded two-core machine


# -- helpers ------------------------------------------------------------------------------------


def api(server, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + "/api" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **server.auth_header})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def new_project(server, name: str) -> dict:
    return api(server, "POST", "/projects", {"name": name})


def run_job(server, project_id: str, prompt: str, **options) -> str:
    """A job started through the API (permission mode and all), finished before the test goes on."""
    job = api(server, "POST", "/jobs", {"project_id": project_id, "prompt": prompt, **options})
    deadline = time.monotonic() + SLOW_MS / 1000
    while api(server, "GET", f"/jobs/{job['id']}")["status"] not in ("idle", "completed", "failed"):
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    return job["id"]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.locator(".q-notification").first.wait_for(state="detached", timeout=15_000)
        time.sleep(0.5)  # let transitions and highlighting settle
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def open_tab(page: Page, job_id: str, tab: str) -> None:
    page.goto(f"/job/{job_id}")
    page.get_by_test_id(f"tab-{tab}").click()


_BUFFER_JS = """(el) => {
  const buffer = getElement(el.id.slice(1)).terminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


def terminal_text(page: Page) -> str:
    return page.get_by_test_id("terminal").evaluate(_BUFFER_JS)


def wait_terminal(page: Page, pattern: str, timeout: float = 20.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while True:
        if m := re.search(pattern, terminal_text(page)):
            return m
        assert time.monotonic() < deadline, f"{pattern!r} not in the terminal:\n{terminal_text(page)[-2000:]}"
        time.sleep(0.1)


def type_command(page: Page, command: str) -> None:
    page.get_by_test_id("terminal").click()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def poll(predicate, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def terminal_grid(page: Page) -> tuple[int, int]:
    cols, rows = page.get_by_test_id("terminal").evaluate(
        "(el) => { const t = getElement(el.id.slice(1)).terminal; return [t.cols, t.rows]; }")
    return cols, rows


# -- terminal (G1) ------------------------------------------------------------------------------


def test_terminal_runs_commands_resizes_survives_reload_and_restarts_after_exit(server, page, scripted_model):
    page.set_viewport_size(DESKTOP)
    project = new_project(server, "term")
    scripted_model.add_response(text("Hi."))
    job_id = run_job(server, project["id"], "hello")
    open_tab(page, job_id, "terminal")
    status = page.get_by_test_id("terminal-status")
    expect(status).to_contain_text("Connected")
    pid = re.search(r"shell (\d+)", status.inner_text()).group(1)

    type_command(page, "echo hi-$((40+2)) && pwd")
    wait_terminal(page, r"hi-42\s+" + re.escape(project["path"]))
    screenshot(page, "terminal")

    # The PTY follows the panel: a narrower window gives fewer columns, and the shell sees them.
    cols, rows = terminal_grid(page)
    type_command(page, "stty size")
    wait_terminal(page, rf"\b{rows} {cols}\b")
    page.set_viewport_size({"width": 1000, "height": 700})
    poll(lambda: terminal_grid(page)[0] < cols, "fewer columns")
    narrow_cols, narrow_rows = terminal_grid(page)
    type_command(page, "clear; stty size")
    wait_terminal(page, rf"\b{narrow_rows} {narrow_cols}\b")

    # Other tabs and back: the same terminal, still typing into the same shell.
    page.get_by_test_id("tab-files").click()
    page.get_by_test_id("tab-terminal").click()
    type_command(page, "echo still-$((1+1))")
    wait_terminal(page, r"still-2")

    # A reload re-attaches to the same shell and replays what it showed.
    page.reload()
    page.get_by_test_id("tab-terminal").click()
    expect(status).to_contain_text(f"shell {pid}")
    wait_terminal(page, r"still-2")
    type_command(page, "echo after-reload")
    wait_terminal(page, r"after-reload\s")

    # Another job of the same project shares the shell.
    scripted_model.add_response(text("Hi again."))
    other_job = run_job(server, project["id"], "another job")
    open_tab(page, other_job, "terminal")
    expect(status).to_contain_text(f"shell {pid}")
    wait_terminal(page, r"after-reload\s")

    # Disconnect stops following (the shell lives on); Reconnect replays and continues.
    page.get_by_test_id("terminal-disconnect").click()
    expect(status).to_contain_text("Disconnected")
    page.get_by_test_id("terminal-reconnect").click()
    expect(status).to_contain_text(f"shell {pid}")
    wait_terminal(page, r"after-reload\s")

    # The shell exits: the status says how, and Reconnect starts a new one that works.
    type_command(page, "exit 3")
    expect(status).to_contain_text("Shell exited with code 3")
    page.get_by_test_id("terminal-reconnect").click()
    expect(status).to_contain_text("Connected")
    assert f"shell {pid}" not in status.inner_text()
    type_command(page, "echo new-shell-$((2*3))")
    wait_terminal(page, r"new-shell-6")

    # Ending the shell from the panel (with a background job of its own): all of it goes.
    type_command(page, "sleep 3141 &")
    page.get_by_test_id("terminal-kill").click()
    expect(status).to_contain_text("Shell ended by signal")
    poll(lambda: subprocess.run(["pgrep", "-f", "sleep 3141"], capture_output=True).returncode == 1,
         "the background job to end")
    assert not page.errors, page.errors


# -- files (G2) ---------------------------------------------------------------------------------


def preview_text(page: Page) -> str:
    return page.get_by_test_id("preview").locator(".cm-content").inner_text()


def test_files_open_from_tree_and_search_and_refuse_bad_paths(server, page, scripted_model, tmp_path):
    page.set_viewport_size(DESKTOP)
    project = new_project(server, "files")
    root = Path(project["path"])
    (root / "src" / "app").mkdir(parents=True)
    (root / "src" / "app" / "main.py").write_text("def main():\n    return 'hello'\n")
    (root / "README.md").write_text("# Demo\n\nThe needle is here.\nAnd more.\n")
    (root / "node_modules" / "lib").mkdir(parents=True)
    (root / "node_modules" / "lib" / "index.js").write_text("needle in node_modules\n")
    (root / "logo.bin").write_bytes(bytes(range(256)) * 4)
    with open(root / "huge.img", "wb") as f:  # 1 GB, sparse: costs nothing on disk
        f.truncate(1024 ** 3)
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key.txt").write_text("top secret\n")
    (root / "escape").symlink_to(outside)
    scripted_model.add_response(text("Hi."))
    job_id = run_job(server, project["id"], "hello")
    open_tab(page, job_id, "files")

    tree = page.get_by_test_id("file-tree")
    expect(tree.get_by_text("README.md", exact=True)).to_be_visible()
    expect(tree.get_by_text("node_modules", exact=True)).to_have_count(0)
    expect(tree.get_by_text("escape", exact=True)).to_have_count(0)  # a link out of the project is not listed
    tree.get_by_text("src", exact=True).click()
    tree.get_by_text("app", exact=True).click()
    tree.get_by_text("main.py", exact=True).click()
    expect(page.get_by_test_id("preview-path")).to_have_text("src/app/main.py")
    expect(page.get_by_test_id("preview").locator(".cm-content")).to_contain_text("return 'hello'")
    expect(page.get_by_test_id("preview-meta")).to_contain_text("python")
    screenshot(page, "files")

    search = text_field(page, "file-search")
    search.fill("readme")
    hits = page.get_by_test_id("file-search-hit")
    expect(hits.first).to_contain_text("README.md")
    hits.first.click()
    expect(page.get_by_test_id("preview-path")).to_have_text("README.md")

    page.get_by_test_id("file-search-mode").get_by_text("Content").click()
    search.fill("needle")
    search.press("Enter")
    expect(page.get_by_test_id("file-search-status")).to_have_text("1 line in 1 file")
    expect(hits).to_have_count(1)  # node_modules is not searched
    # Each line beside its number (a long line wraps beside it, not under it).
    expect(hits.first.locator(".ws-hit-line", has_text="The needle is here.").locator(".ws-hit-no")).to_have_text("3")
    expect(hits.first.locator(".ws-hit-line", has_text="# Demo").locator(".ws-hit-no")).to_have_text("1")  # context
    page.get_by_test_id("preview-path").click()  # leave README, then come back through the hit
    tree.get_by_text("logo.bin", exact=True).click()
    hits.first.click()
    expect(page.get_by_test_id("preview-path")).to_have_text("README.md")
    expect(page.get_by_test_id("preview").locator(".ws-hit")).to_have_text("The needle is here.")
    screenshot(page, "files-search")

    page.get_by_test_id("file-search-regex").click()
    search.fill("needle(")
    search.press("Enter")
    expect(page.get_by_test_id("file-search-error")).to_contain_text("Invalid regular expression")

    # Binary and huge files are described, not loaded; paths out of the project are refused.
    notice = page.get_by_test_id("preview-notice")
    tree.get_by_text("logo.bin", exact=True).click()
    expect(notice).to_have_text("Binary file (1.0 KB): not shown.")
    started = time.monotonic()
    tree.get_by_text("huge.img", exact=True).click()
    expect(notice).to_have_text("Binary file (1.0 GB): not shown.")
    assert time.monotonic() - started < 5
    path_box = text_field(page, "file-path")
    for typed, why in [("../../etc/passwd", "'..' is not allowed"), ("/etc/passwd", "absolute paths"),
                       ("escape/key.txt", "leads outside the project"), ("nothing/here.txt", "does not exist"),
                       ("src", "is a directory")]:
        path_box.fill(typed)
        path_box.press("Enter")
        expect(notice).to_contain_text(why)
        expect(page.get_by_test_id("preview")).to_be_hidden()
    path_box.fill("src/app/main.py")
    path_box.press("Enter")
    expect(page.get_by_test_id("preview").locator(".cm-content")).to_contain_text("def main")
    assert not page.errors, page.errors


# -- git (G3) -----------------------------------------------------------------------------------


def git_file(page: Page, group: str, path: str):
    return page.get_by_test_id(f"git-{group}").locator(f"[data-testid=git-file][data-path='{path}']")


def test_git_diff_stage_commit_push_pull_discard_and_errors(server, page, scripted_model, tmp_path):
    page.set_viewport_size(DESKTOP)
    project = new_project(server, "repo")
    root = Path(project["path"])
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Browser Test")  # the server's HOME has no git identity
    git(root, "config", "user.email", "browser@example.com")
    (root / "README.md").write_text("# Repo\n")
    (root / "keep.txt").write_text("original\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first commit")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "remote", "add", "origin", str(remote))
    # Claude writes a file: the panel marks it as touched by the job.
    scripted_model.add_response(tool_use("Write", {"file_path": str(root / "notes.md"), "content": "by claude\n"}))
    scripted_model.add_response(text("Written."))
    job_id = run_job(server, project["id"], "write notes", permission_mode="bypassPermissions")
    (root / "README.md").write_text("# Repo\n\nA second line.\n")
    open_tab(page, job_id, "git")

    expect(page.get_by_test_id("git-branch")).to_have_text("main")
    expect(page.get_by_test_id("git-tracking")).to_have_text("no upstream")
    expect(git_file(page, "modified", "README.md")).to_be_visible()
    notes = git_file(page, "untracked", "notes.md")
    expect(notes.get_by_test_id("git-touched")).to_be_visible()
    expect(git_file(page, "modified", "README.md").get_by_test_id("git-touched")).to_have_count(0)

    git_file(page, "modified", "README.md").click()
    diff = page.get_by_test_id("git-diff")
    expect(diff.locator(".add")).to_have_text(["+", "+A second line."])
    expect(page.get_by_test_id("git-diff-title")).to_have_text("README.md · unstaged · +2 −0")

    # Nothing staged: Commit is not offered, and says why.
    text_field(page, "git-message").fill("try")
    expect(page.get_by_test_id("git-commit")).to_be_disabled()
    expect(page.get_by_test_id("git-commit")).to_contain_text("nothing staged")

    git_file(page, "modified", "README.md").get_by_test_id("git-stage").click()
    expect(git_file(page, "staged", "README.md")).to_be_visible()
    expect(page.get_by_test_id("git-diff-title")).to_contain_text("README.md · staged")  # the diff follows the file
    git_file(page, "staged", "README.md").get_by_test_id("git-unstage").click()
    expect(git_file(page, "modified", "README.md")).to_be_visible()
    page.get_by_test_id("git-stage-all").click()
    expect(git_file(page, "staged", "notes.md")).to_be_visible()
    screenshot(page, "git")
    text_field(page, "git-message").fill("")
    page.get_by_test_id("git-commit").click()
    expect(page.get_by_test_id("git-output")).to_have_text("A commit needs a message.")
    text_field(page, "git-message").fill("second commit from the browser")
    page.get_by_test_id("git-commit").click()
    expect(page.get_by_test_id("git-log-subject").first).to_have_text("second commit from the browser")
    expect(page.get_by_test_id("git-log-subject")).to_have_count(2)
    expect(page.get_by_test_id("git-clean")).to_be_visible()
    expect(text_field(page, "git-message")).to_have_value("")
    assert git(root, "log", "-1", "--format=%s").strip() == "second commit from the browser"

    # Push to the bare repository made by the test: git's own words are shown.
    page.get_by_test_id("git-push").click()
    expect(page.get_by_test_id("git-output")).to_contain_text("HEAD -> main")
    expect(page.get_by_test_id("git-tracking")).to_have_text("origin/main · ↑0 ↓0")
    assert git(remote, "log", "-1", "--format=%s").strip() == "second commit from the browser"

    # Someone else pushes; Pull brings it in.
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    (other / "theirs.txt").write_text("from elsewhere\n")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "commit from elsewhere")
    git(other, "push", "-q")
    page.get_by_test_id("git-refresh").click()
    page.get_by_test_id("git-pull").click()
    expect(page.get_by_test_id("git-output")).to_contain_text("Fast-forward")
    expect(page.get_by_test_id("git-log-subject").first).to_have_text("commit from elsewhere")
    assert (root / "theirs.txt").read_text() == "from elsewhere\n"

    # Discard asks first; Cancel keeps the change, Discard restores the file.
    (root / "keep.txt").write_text("scribbled over\n")
    page.get_by_test_id("git-refresh").click()
    git_file(page, "modified", "keep.txt").get_by_test_id("git-discard").click()
    page.get_by_test_id("git-discard-cancel").click()
    assert (root / "keep.txt").read_text() == "scribbled over\n"
    git_file(page, "modified", "keep.txt").get_by_test_id("git-discard").click()
    page.get_by_test_id("git-discard-confirm").click()
    expect(page.get_by_test_id("git-clean")).to_be_visible()
    assert (root / "keep.txt").read_text() == "original\n"

    # A failing git command: its message is shown, the panel keeps working.
    git(root, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    page.get_by_test_id("git-pull").click()
    expect(page.get_by_test_id("git-output")).to_contain_text("does not appear to be a git repository")
    expect(page.get_by_test_id("git-output")).to_have_class(re.compile("ws-error"))
    page.get_by_test_id("git-refresh").click()
    expect(page.get_by_test_id("git-branch")).to_have_text("main")
    assert not page.errors, page.errors


def test_git_offers_init_outside_a_repository(server, page, scripted_model):
    project = new_project(server, "plain")
    (Path(project["path"]) / "a.txt").write_text("a\n")
    scripted_model.add_response(text("Hi."))
    job_id = run_job(server, project["id"], "hello")
    open_tab(page, job_id, "git")
    expect(page.get_by_test_id("git-not-repo")).to_be_visible()
    expect(page.get_by_test_id("git-push")).to_be_disabled()
    page.get_by_test_id("git-init").click()
    expect(git_file(page, "untracked", "a.txt")).to_be_visible()
    expect(page.get_by_test_id("git-tracking")).to_have_text("no commits yet")
    assert (Path(project["path"]) / ".git").is_dir()
    assert not page.errors, page.errors


# -- memories (G4) ------------------------------------------------------------------------------


def memory_row(page: Page, file_id: str):
    return page.locator(f"[data-testid=memory-file][data-id='{file_id}']")


def type_in_editor(page: Page, testid: str, words: str) -> None:
    page.get_by_test_id(testid).locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(words)


def sent_to_model(request: dict) -> str:
    return json.dumps(request.get("messages", [])) + json.dumps(request.get("system", ""))


def test_memory_edits_are_saved_and_reach_the_next_job(server, page, steps, scripted_model):
    page.set_viewport_size(DESKTOP)
    project = new_project(server, "mem")
    root = Path(project["path"])
    scripted_model.add_response(text("First."))
    job_id = run_job(server, project["id"], "first job")
    assert "MARK-FROM-BROWSER" not in sent_to_model(scripted_model.requests[-1])
    open_tab(page, job_id, "memories")
    expect(page.get_by_test_id("memory-note")).to_contain_text("next session")

    row = memory_row(page, "project")
    expect(row).to_contain_text("not created")
    row.click()
    expect(page.get_by_test_id("memory-title")).to_have_text("CLAUDE.md")
    expect(page.get_by_test_id("memory-editor")).to_be_visible()  # a missing file opens for writing
    type_in_editor(page, "memory-editor", "# Rules\n\nAlways mention MARK-FROM-BROWSER.\n")
    expect(page.get_by_test_id("memory-status")).to_have_text("unsaved changes")
    page.get_by_test_id("memory-save").click()
    expect(page.get_by_test_id("memory-status")).to_have_text("created")
    expect(row).not_to_contain_text("not created")
    assert "MARK-FROM-BROWSER" in (root / "CLAUDE.md").read_text()
    page.get_by_test_id("memory-mode").get_by_text("View").click()
    expect(page.get_by_test_id("memory-view").locator("h1")).to_have_text("Rules")
    screenshot(page, "memories")

    # A rules file, created from the panel.
    page.get_by_test_id("memory-new-rule").click()
    text_field(page, "memory-rule-name").fill("style")
    page.get_by_test_id("memory-rule-create").click()
    expect(page.get_by_test_id("memory-title")).to_have_text(".claude/rules/style.md")
    type_in_editor(page, "memory-editor", "MARK-RULE-FROM-BROWSER\n")
    page.get_by_test_id("memory-save").click()
    expect(page.get_by_test_id("memory-status")).to_have_text("saved")

    # Auto memory is read-only: no edit mode, no save.
    memory_row(page, "auto:MEMORY.md").click()
    expect(page.get_by_test_id("memory-status")).to_have_text("read-only")
    expect(page.get_by_test_id("memory-save")).to_be_hidden()

    # A new job's first request carries both files.
    page.get_by_test_id("new-job").click()
    scripted_model.add_response(text("Second."))
    steps.start_job("second job")
    expect(page.get_by_test_id("transcript").get_by_test_id("assistant-text")).to_have_text("Second.",
                                                                                           timeout=SLOW_MS)
    sent = sent_to_model(scripted_model.requests[-1])
    assert "MARK-FROM-BROWSER" in sent and "MARK-RULE-FROM-BROWSER" in sent
    assert user_texts(scripted_model.requests[-1])[-1] == "second job"
    assert not page.errors, page.errors


# -- cron (G5) ----------------------------------------------------------------------------------


def test_cron_shows_the_durable_task_a_job_created(server, page, scripted_model):
    page.set_viewport_size(DESKTOP)
    project = new_project(server, "cron")
    scripted_model.add_response(tool_use("CronCreate", {"cron": "*/5 * * * *", "prompt": "check the build",
                                                        "recurring": True, "durable": True}))
    scripted_model.add_response(text("Scheduled."))
    job_id = run_job(server, project["id"], "check the build every five minutes",
                     permission_mode="bypassPermissions")
    assert (Path(project["path"]) / ".claude" / "scheduled_tasks.json").is_file()
    open_tab(page, job_id, "cron")
    table = page.get_by_test_id("cron-table")
    row = table.locator("tbody tr").filter(has_text="check the build")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(0)).to_have_text("*/5 * * * *")
    expect(cells.nth(1)).to_have_text("recurring")
    expect(cells.nth(2)).to_have_text("yes")
    expect(cells.nth(5)).to_have_text("never")
    expect(cells.nth(6)).to_have_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d[05]"))
    screenshot(page, "cron")
    row.get_by_test_id("cron-job-link").click()
    expect(page).to_have_url(re.compile(f"/job/{job_id}$"))
    assert not page.errors, page.errors


# -- import (H3) --------------------------------------------------------------------------------


def run_cli_session(directory: Path, prompt: str) -> str:
    """A session made by the CLI on its own, as a person at a terminal would (in a thread: Playwright owns
    this thread's event loop)."""
    from concurrent.futures import ThreadPoolExecutor

    from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, query

    async def run() -> str:
        session_id = None
        async for message in query(prompt=prompt, options=ClaudeAgentOptions(cwd=str(directory))):
            if isinstance(message, ResultMessage):
                session_id = message.session_id
        assert session_id
        return session_id

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=SLOW_MS / 1000)


def test_import_a_cli_session_and_resume_it_with_its_context(server, page, scripted_model, tmp_path):
    page.set_viewport_size(DESKTOP)
    folder = tmp_path / "my tool"
    folder.mkdir()
    scripted_model.add_response(text("Noted: PINEAPPLE."))
    session_id = run_cli_session(folder, "Remember the word PINEAPPLE")
    scripted_model.add_response(text("Other."))
    run_cli_session(tmp_path, "an unrelated session")

    page.goto("/import")
    table = page.get_by_test_id("import-table")
    row = table.locator("tbody tr").filter(has_text="Remember the word PINEAPPLE")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(str(folder))
    expect(table.locator("tbody tr")).to_have_count(2)
    text_field(page, "import-filter").fill("pineapple")
    expect(table.locator("tbody tr")).to_have_count(1)
    screenshot(page, "import")
    expect(page.get_by_test_id("import-selected")).to_be_disabled()
    row.locator(".q-checkbox").click()
    expect(page.get_by_test_id("import-selected")).to_have_text(re.compile("Import selected \\(1\\)"))
    page.get_by_test_id("import-selected").click()
    expect(row.get_by_test_id("import-open-job")).to_be_visible()
    expect(row.locator(".q-checkbox")).to_have_count(0)  # never imported twice
    expect(page.get_by_test_id("import-status")).to_contain_text("1 already imported")

    row.get_by_test_id("import-open-job").click()
    expect(page).to_have_url(re.compile(r"/job/[0-9a-f]+$"))
    transcript = page.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("user-message")).to_contain_text("Remember the word PINEAPPLE")
    expect(transcript.get_by_test_id("assistant-text")).to_have_text("Noted: PINEAPPLE.")
    job = api(server, "GET", "/jobs/" + page.url.rsplit("/", 1)[1])
    assert job["session_id"] == session_id and job["status"] == "completed"

    scripted_model.add_response(text("It was PINEAPPLE."))
    text_field(page, "prompt").fill("What was the word?")
    page.get_by_test_id("send").click()
    expect(transcript.get_by_test_id("assistant-text").last).to_have_text("It was PINEAPPLE.", timeout=SLOW_MS)
    texts = user_texts(scripted_model.requests[-1])
    assert "Remember the word PINEAPPLE" in texts and texts[-1] == "What was the word?"
    assert not page.errors, page.errors
