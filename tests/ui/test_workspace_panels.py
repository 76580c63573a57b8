"""The workspace panels (G2-G5, H3) in NiceGUI's simulated `user`: no browser, no CLI.

The terminal needs a browser (xterm measures itself there); tests/browser/test_workspace.py
drives it, and every panel again, against `python main.py`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from nicegui import Client, ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from components.workspace import PANELS, CronPanel, FilesPanel, GitPanel, MemoriesPanel
from components.workspace.changes_panel import ChangesPanel
from components.workspace.common import when_shown
from components.workspace.file_preview import editor_language, human_size
from components.workspace.git_diff import hunk_lines_html
from components.workspace.git_panel import _still_changed
from components.workspace.terminal_panel import exit_text
from core import events
from core.models import Job, JobStatus, new_id
from core.services import Services
from core.settings import Settings
from core.workspace.git.status import GitChange, GitStatus
from core.workspace.worktrees import Worktrees
from pages.import_sessions import ImportView, matches

pytestmark = pytest.mark.nicegui_main_file("")


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def services(tmp_path, monkeypatch) -> Services:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # memory files and CLI sessions of this test only
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return Services.create(Settings(projects_root=tmp_path / "projects"))


@pytest.fixture
def project(services):
    project = services.projects.create("demo")
    yield project
    services.workspaces.forget(project.id)


@pytest.fixture
def show(user: User):
    """Open a page holding one panel (or whatever `build` makes)."""
    async def open_(build: Callable[[], object]) -> None:
        @ui.page("/panel")
        def page() -> None:
            build()

        await user.open("/panel")
    yield open_
    for client in list(Client.instances.values()):  # stop timers before NiceGUI's teardown races them
        if not client.is_deleted and client.page.path == "/panel":
            client.delete()


def by_testid(user: User, testid: str) -> list[ui.element]:
    return sorted((e for e in user.client.elements.values() if e.props.get("data-testid") == testid),
                  key=lambda e: e.id)


def text_of(element: ui.element) -> str:
    return " ".join(str(value) for e in element.descendants(include_self=True)
                    for value in (getattr(e, "text", None), getattr(e, "content", None)) if value)


async def eventually(predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def click(user: User, element: ui.element) -> None:
    UserInteraction(user, {element}, None).click()


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True,
                   capture_output=True)


# -- the registry and lazy building -------------------------------------------------------------


def test_every_workspace_tab_has_a_panel():
    from pages.job import TABS

    assert set(PANELS) == set(TABS) - {"Chat"} == {"Changes", "Terminal", "Files", "Git", "Memories", "Cron", "MCP"}


async def test_a_panel_is_built_when_its_tab_is_first_shown(user: User, show):
    built: list[str] = []
    tabs_holder: list[ui.tabs] = []

    def page() -> None:
        with ui.tabs() as tabs:
            ui.tab("Chat")
            ui.tab("Git")
        tabs_holder.append(tabs)
        with ui.tab_panels(tabs, value="Chat"):
            with ui.tab_panel("Chat"):
                when_shown(lambda: built.append("Chat"))
            with ui.tab_panel("Git"):
                when_shown(lambda: built.append("Git"))
        when_shown(lambda: built.append("outside tabs"))

    await show(page)
    assert built == ["Chat", "outside tabs"]
    tabs = tabs_holder[0]
    tabs.value = "Git"
    await eventually(lambda: "Git" in built, "the Git panel built")
    tabs.value = "Chat"
    tabs.value = "Git"
    await asyncio.sleep(0.2)
    assert built == ["Chat", "outside tabs", "Git"], "once, on first view"


# -- files (G2) ---------------------------------------------------------------------------------


async def test_files_panel_lists_lazily_previews_and_refuses_paths(user: User, show, services, project):
    root = Path(project.path)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "node_modules").mkdir()
    (root / "data.bin").write_bytes(b"\0\1\2\3" * 10)
    panels: list[FilesPanel] = []
    await show(lambda: panels.append(FilesPanel(services, project.id, None)))
    panel = panels[0]
    await eventually(lambda: panel.tree and panel.tree.tree.props["nodes"], "the root listing")
    nodes = panel.tree.tree.props["nodes"]
    assert [n["label"] for n in nodes] == ["src", "data.bin"], "node_modules is hidden"
    assert nodes[0]["children"][0]["label"] == "Loading…", "a folder is listed when opened"

    await panel.tree._open_dir("src")
    assert [c["label"] for c in panel.tree.tree.props["nodes"][0]["children"]] == ["app.py"]

    await panel.open("src/app.py")
    preview = panel.preview
    assert preview.editor.value == "print('hi')\n" and preview.editor.visible
    assert preview.editor.props["language"] == "Python" and preview.title.text == "src/app.py"
    assert panel.tree.tree.props["selected"] == "src/app.py", "the tree marks the open file"

    await panel.open("data.bin")
    assert preview.notice.text == "Binary file (40 bytes): not shown." and not preview.editor.visible

    for typed, why in [("../outside.txt", "'..' is not allowed"), ("/etc/passwd", "absolute paths"),
                       ("missing.txt", "does not exist")]:
        panel.path_input.value = typed
        await panel._open_typed()
        assert why in preview.notice.text and not preview.editor.visible


# -- git (G3) -----------------------------------------------------------------------------------


async def test_git_panel_inits_stages_commits_and_reports_errors(user: User, show, services, project):
    root = Path(project.path)
    (root / "a.txt").write_text("a\n")
    panels: list[GitPanel] = []
    await show(lambda: panels.append(GitPanel(services, project.id, None)))
    panel = panels[0]
    await eventually(lambda: panel.not_repo.visible, "the offer to init")
    await panel.init()
    assert panel.repo_view.visible and panel.tracking.text == "no commits yet"
    assert "a.txt" in text_of(by_testid(user, "git-untracked")[0])

    git(root, "config", "user.name", "T")
    git(root, "config", "user.email", "t@example.com")
    panel.message.value = "first"
    await panel.commit()
    assert panel.output.visible and "Nothing is staged" in panel.output.text
    click(user, panel.stage_all_button)
    await eventually(lambda: by_testid(user, "git-staged"), "the staged group")
    assert not panel.output.visible, "a later success clears the old error"
    assert "a.txt" in text_of(by_testid(user, "git-staged")[0])
    await panel.show_diff("a.txt", True)
    assert any('<div class="add">+a</div>' in e.content for e in panel.diff.descendants() if isinstance(e, ui.html))
    assert [b.text for b in panel.diff.descendants() if isinstance(b, ui.button)] == ["Unstage"]
    click(user, panel.commit_button)
    await eventually(lambda: by_testid(user, "git-log-subject"), "the log")
    assert [e.text for e in by_testid(user, "git-log-subject")] == ["first"]
    assert panel.message.value == "" and by_testid(user, "git-clean")

    await panel._network("push")
    assert panel.output.visible and "no remote to push to" in panel.output.text


def test_a_shown_diff_follows_its_file_across_a_refresh():
    status = GitStatus(root="/p", is_repo=True, staged=[GitChange("a", "modified")],
                       modified=[GitChange("b", "modified")])
    assert _still_changed(status, ("a", False)) == ("a", True)
    assert _still_changed(status, ("b", False)) == ("b", False)
    assert _still_changed(status, ("gone", True)) is None
    assert _still_changed(GitStatus(root="/p", is_repo=False), ("a", True)) is None


def test_diff_lines_are_escaped_and_colored_by_their_first_character():
    html = hunk_lines_html(["-<b>old</b>", "+new & improved", " context", "++++ added, not a header", "",
                            "\\ No newline at end of file", "+caf\udce9"])
    assert '<div class="del">-&lt;b&gt;old&lt;/b&gt;</div>' in html
    assert '<div class="add">+new &amp; improved</div>' in html
    assert '<div class=""> context</div>' in html and '<div class="">&nbsp;</div>' in html
    assert '<div class="add">++++ added, not a header</div>' in html
    assert '<div class="meta">\\ No newline at end of file</div>' in html
    assert '<div class="add">+caf\ufffd</div>' in html  # a Latin-1 byte, shown rather than breaking the page
    assert hunk_lines_html(["+x"] * 5, limit=2).endswith('<div class="meta">… 3 more lines not shown</div>')


# -- changes of an isolated job (L2) ----------------------------------------------------------------


async def test_changes_panel_lists_files_shows_hunks_accepts_and_merges(user: User, show, services, project):
    root = Path(project.path)
    git(root, "init", "-q", "-b", "main")
    (root / "a.txt").write_text("".join(f"{n}\n" for n in range(30)))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    job = Job(id=new_id(), project_id=project.id, name="Edit a", prompt="p", status=JobStatus.COMPLETED)
    made = Worktrees(services.settings.state_dir).create(services.workspaces.git(project.id), job.id, job.name)
    job.isolated, job.worktree, job.branch, job.base, job.base_commit = (
        True, made.worktree, made.branch, made.base, made.base_commit)
    services.jobs.add_imported_job(job, [events.make(events.USER, text="p")])
    work = Path(made.worktree)
    (work / "a.txt").write_text("".join(f"{n}\n" for n in range(30)).replace("2\n", "two\n", 1).replace(
        "25\n", "twenty-five\n"))
    (work / "<b>.txt").write_text("new\n")

    panels: list[ChangesPanel] = []
    await show(lambda: panels.append(ChangesPanel(services, project.id, job.id)))
    panel = panels[0]
    await eventually(lambda: panel.changes is not None, "the changes")
    assert panel.title.text == f"{job.branch} → main"
    assert panel.summary.text == "2 files · +3 −2 · 0 of 3 hunks accepted"
    assert panel.file_list.content.count('data-testid="change-file"') == 2
    assert 'data-path="&lt;b&gt;.txt"' in panel.file_list.content  # names are escaped
    assert panel.merge_button.text == "Merge into main" and panel.merge_button.enabled

    panel._picked(type("Event", (), {"args": 1})())
    assert panel.selected == "a.txt" and len(by_testid(user, "hunk")) == 2
    first = panel.changes.files[1].hunks[0]
    await panel.accept(panel.changes.files[1], first)
    assert panel.changes.accepted == {first.id} and "1 of 3 hunks accepted" in panel.summary.text
    assert len(by_testid(user, "hunk-accepted")) == 1 and len(by_testid(user, "hunk-accept")) == 1
    panel._picked(type("Event", (), {"args": 99})())  # a stale index from an old list: ignored
    assert panel.selected == "a.txt"

    await panel.merge(squash=True, message="Both files")
    assert panel.outcome.visible and "squashed into one commit on main" in panel.outcome.text
    assert panel.changes.files == [] and panel.empty.visible and not panel.merge_button.enabled
    assert (root / "<b>.txt").read_text() == "new\n"


# -- memories (G4) ------------------------------------------------------------------------------


async def test_memory_is_created_on_first_save_and_auto_memory_is_read_only(user: User, show, services, project):
    panels: list[MemoriesPanel] = []
    await show(lambda: panels.append(MemoriesPanel(services, project.id, None)))
    panel = panels[0]
    await eventually(lambda: by_testid(user, "memory-file"), "the list")
    ids = [e.props["data-id"] for e in by_testid(user, "memory-file")]
    assert ids[:4] == ["user", "project", "project-claude", "local"] and "auto:MEMORY.md" in ids

    await panel.open("project")
    assert panel.mode.value == "edit" and panel.editor.visible, "an empty file opens for writing"
    panel.editor.value = "Use tabs.\n"
    assert panel.status.text == "unsaved changes"
    await panel.save()
    assert (Path(project.path) / "CLAUDE.md").read_text() == "Use tabs.\n"
    assert panel.status.text == "created" and panel.current.exists
    panel.mode.value = "view"
    assert panel.view.visible and panel.view.content == "Use tabs.\n"

    await panel.open("auto:MEMORY.md")
    assert panel.status.text == "read-only" and not panel.save_button.visible and not panel.editor.visible


# -- cron (G5) ----------------------------------------------------------------------------------


async def test_cron_table_shows_durable_tasks_from_the_project_file(user: User, show, services, project):
    tasks = {"tasks": [
        {"id": "t1", "cron": "*/5 * * * *", "prompt": "check the build", "recurring": True,
         "createdAt": int(time.time() * 1000)},
        {"id": "t2", "cron": "not a schedule", "prompt": "broken", "createdAt": int(time.time() * 1000)},
    ]}
    (Path(project.path) / ".claude").mkdir()
    (Path(project.path) / ".claude" / "scheduled_tasks.json").write_text(json.dumps(tasks))
    panels: list[CronPanel] = []
    await show(lambda: panels.append(CronPanel(services, project.id, None)))
    table = panels[0].table
    await eventually(lambda: len(table.rows) == 2, "two rows")
    first, broken = table.rows
    assert (first["cron"], first["kind"], first["durable"], first["last_run"]) == \
        ("*/5 * * * *", "recurring", "yes", "never")
    assert first["next_run"].endswith(("0", "5")) and first["job_id"] is None
    assert broken["kind"] == "once" and broken["next_run"] == "never (unreadable schedule)"


# -- import (H3) --------------------------------------------------------------------------------


async def test_import_page_with_no_sessions_says_so(user: User, show, services):
    views: list[ImportView] = []
    await show(lambda: views.append(ImportView(services)))
    await views[0].discover()
    assert views[0].status.text == "0 of 0 sessions · 0 already imported"
    assert not views[0].import_button.enabled


def test_import_filter_needs_every_word_and_the_folder():
    from core.jobs.importer import LocalSession

    session = LocalSession("s", "/work/tool", "Fix the parser", "fix the parser please", 0.0, 4, None)
    assert matches(session, ["parser", "tool"], "__all__")
    assert not matches(session, ["parser", "banana"], "__all__")
    assert not matches(session, [], "/elsewhere") and matches(session, [], "/work/tool")


# -- small helpers ------------------------------------------------------------------------------


def test_labels_for_sizes_languages_and_exits():
    assert human_size(40) == "40 bytes" and human_size(1024 ** 3) == "1.0 GB"
    assert editor_language("python") == "Python" and editor_language("bash") == "Shell"
    assert editor_language("text") is None
    assert exit_text(0) == "Shell exited with code 0" and exit_text(-9) == "Shell ended by signal 9"
