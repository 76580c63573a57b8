"""What a new user stumbled on (issue 14), as component tests with NiceGUI's simulated `user`.

Each test names what the user sees; the browser tests for the visual items are in
tests/browser/test_ui_new_user.py.
"""

from __future__ import annotations

import asyncio

import pytest
from nicegui import Client, ui
from nicegui.testing import User

from components.common.format import cost
from components.job.header import JobHeader
from components.job.job_list import JobList
from components.shell.sidebar import ProjectSidebar
from core.jobs.approvals import QUESTION
from core.models import Job, JobStatus, new_id
from core.services import Services
from core.settings import Settings

pytestmark = pytest.mark.nicegui_main_file("")


@pytest.fixture
def services(tmp_path) -> Services:
    return Services.create(Settings(projects_root=tmp_path / "projects"))


@pytest.fixture
def project(services: Services):
    return services.projects.create("demo")


def add_job(services: Services, project, name: str = "a job", status: str = JobStatus.RUNNING, **fields) -> Job:
    return services.jobs.add_imported_job(
        Job(id=new_id(), project_id=project.id, name=name, prompt=name, status=status, **fields), [])


@pytest.fixture
async def job_page(user: User, services: Services, project):
    """A page with a job's header, the project's job list and the sidebar, as on /job/{id}."""
    built: dict[str, object] = {}

    @ui.page("/job-page/{job_id}")
    def page(job_id: str) -> None:
        built["sidebar"] = ProjectSidebar(services, active_project_id=project.id, active_job_id=job_id)
        built["list"] = JobList(services, project.id, active_job_id=job_id)
        built["header"] = JobHeader(services, job_id)

    yield built
    for client in list(Client.instances.values()):
        if not client.is_deleted and client.page.path == "/job-page/{job_id}":
            client.delete()


async def until(condition, what: str) -> None:
    for _ in range(60):  # the header and the lists redraw on a 0.3 s timer
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# -- 1. costs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("usd", "shown"), [
    (None, "$0.00"), (0, "$0.00"), (0.00003, "<$0.0001"), (0.00012, "$0.0001"), (0.0123, "$0.0123"),
    (0.1, "$0.10"), (0.5, "$0.50"), (1.5, "$1.50"), (12.345, "$12.35")])
def test_one_cost_format_never_shows_a_bare_dot(usd, shown) -> None:
    assert cost(usd) == shown


async def test_a_tiny_cost_reads_the_same_in_header_list_and_footer(user: User, services: Services, project,
                                                                    job_page) -> None:
    from components.chat.indicator import WorkingIndicator

    job = add_job(services, project, status=JobStatus.IDLE, cost_usd=0.00003, turns=1)

    @ui.page("/indicator/{job_id}")
    def indicator(job_id: str) -> None:
        WorkingIndicator(services.jobs.get(job_id).to_dict())

    await user.open(f"/job-page/{job.id}")
    header: JobHeader = job_page["header"]
    job_list: JobList = job_page["list"]
    assert header.cost.text == "<$0.0001"
    assert job_list._rows[job.id].cost.text == "<$0.0001"
    await user.open(f"/indicator/{job.id}")
    await user.should_see("Job total <$0.0001")


# -- 3. a job waiting for an answer ------------------------------------------------------------


async def test_a_job_waiting_for_an_answer_says_needs_you_everywhere(user: User, services: Services, project,
                                                                     job_page) -> None:
    job = add_job(services, project)
    await user.open(f"/job-page/{job.id}")
    header: JobHeader = job_page["header"]
    job_list: JobList = job_page["list"]
    sidebar: ProjectSidebar = job_page["sidebar"]
    needs_you = sidebar._sections[project.id]._dots[job.id][3]
    assert header.status.text == "running"
    assert job_list._rows[job.id].badge.text == "running"
    assert not needs_you.visible

    question = {"questions": [{"question": "Which?", "header": "Pick", "multiSelect": False,
                               "options": [{"label": "A", "description": ""}]}]}
    task = asyncio.create_task(services.jobs.approvals.request(job.id, QUESTION, "AskUserQuestion", question))
    await until(lambda: header.status.text == "needs you", "the header to say needs you")
    assert header.status.props["color"] == "orange-9"
    await until(lambda: job_list._rows[job.id].badge.text == "needs you", "the job list to say needs you")
    await until(lambda: needs_you.visible, "the sidebar to say needs you")
    assert sidebar._sections[project.id]._dots[job.id][1].text == "needs you"

    approval = services.jobs.approvals.pending(job.id)[0]
    services.jobs.approvals.answer(approval.id, "allow", answers={"Which?": "A"})
    await task
    await until(lambda: header.status.text == "running", "the header to say running again")
    await until(lambda: job_list._rows[job.id].badge.text == "running", "the job list to say running again")
    await until(lambda: not needs_you.visible, "the sidebar's note to go")


# -- 2. an API error -------------------------------------------------------------------------


API_ERROR = ("API Error: 500 Internal server boom. This is a server-side issue, usually temporary — try again "
             "in a moment.")


def api_error_turn() -> list[dict]:
    """What the real CLI reports when the model's API answers 500 (recorded from claude-agent-sdk's CLI)."""
    from core import events as ev

    return [
        ev.make(ev.ASSISTANT, block={"type": "text", "text": API_ERROR}, message_id="m", uuid=new_id(),
                parent_tool_use_id=None, model="<synthetic>", error="server_error"),
        ev.make(ev.RESULT, subtype="success", is_error=True, total_cost_usd=0, duration_ms=118, num_turns=1,
                result=API_ERROR, errors=None, terminal_reason="api_error", usage={}),
        ev.make(ev.ERROR, message=API_ERROR),
        ev.make(ev.STATUS, status="failed", previous="running", reason=API_ERROR, error=API_ERROR),
    ]


async def test_an_api_error_shows_once_and_the_footer_says_what_failed(user: User, services: Services,
                                                                       project) -> None:
    from components.chat import ChatView
    from core import events as ev

    job = add_job(services, project)
    services.jobs.logs.log(job.id)  # the job's log exists
    services.jobs.emit(job, ev.make(ev.USER, text="hello", uuid=new_id(), images=[]))

    @ui.page("/chat-error/{job_id}")
    def chat(job_id: str) -> None:
        ChatView(services, job_id)

    async def shown() -> tuple[int, list[str]]:
        texts = [t for c in Client.instances.values() if not c.is_deleted and c.page.path == "/chat-error/{job_id}"
                 for e in c.elements.values() if e.visible
                 for t in (getattr(e, "text", None), getattr(e, "content", None)) if isinstance(t, str) and t]
        return sum(API_ERROR in t for t in texts), texts

    await user.open(f"/chat-error/{job.id}")  # live: the events arrive while the page shows the job
    for event in api_error_turn():
        services.jobs.emit(job, event)
    await user.should_see("Turn failed: the API answered with an error")
    count, texts = await shown()
    assert count == 1, texts
    assert not any("(success)" in t for t in texts)
    assert "Job failed" in texts

    for client in list(Client.instances.values()):
        if not client.is_deleted and client.page.path == "/chat-error/{job_id}":
            client.delete()
    await user.open(f"/chat-error/{job.id}")  # stored: the same page after a reload
    await user.should_see("Turn failed: the API answered with an error")
    count, texts = await shown()
    assert count == 1, texts


# -- 6. paths and line numbers in tool and approval cards ---------------------------------------


async def test_permission_cards_show_project_paths_and_edits_the_files_line_numbers(user: User, services: Services,
                                                                                   project) -> None:
    from components.chat import ChatView
    from core import events as ev
    from core.jobs.approvals import PERMISSION

    folder = services.projects.directory(project.id)
    (folder / "src").mkdir()
    source = folder / "src" / "app.py"
    source.write_text("".join(f"line {n}\n" for n in range(1, 31)))
    edit = {"file_path": str(source), "old_string": "line 20\nline 21\n", "new_string": "line 20\nLINE 21\n"}
    job = add_job(services, project)
    services.jobs.emit(job, ev.make(ev.ASSISTANT, block={"type": "tool_use", "id": "e1", "name": "Edit",
                                                          "input": edit},
                                    message_id="m", uuid=new_id(), parent_tool_use_id=None, model="x", error=None))
    asked = asyncio.create_task(services.jobs.approvals.request(job.id, PERMISSION, "Edit", edit, "e1"))

    @ui.page("/chat-paths/{job_id}")
    def chat(job_id: str) -> None:
        ChatView(services, job_id)

    await user.open(f"/chat-paths/{job.id}")
    await user.should_see(marker="approval-card")

    def texts(marker: str) -> str:
        return " ".join(str(v) for e in user.find(marker=marker).elements for d in e.descendants(include_self=True)
                        for v in (getattr(d, "text", None), getattr(d, "content", None)) if v)

    card, permission = texts("tool-card"), texts("approval-card")
    for shown in (card, permission):
        assert "src/app.py" in shown
        assert str(folder) not in shown, shown
        assert "@@ -20,2 +20,2 @@" in shown, shown  # the file's lines 20-21, not the snippet's 1-2
    services.jobs.approvals.answer(services.jobs.approvals.pending(job.id)[0].id, "deny")
    await asked


def test_an_edit_already_made_or_of_an_unreadable_file_still_gets_a_diff(tmp_path) -> None:
    from components.chat.tools.edit import edit_diff
    from components.chat.tools.paths import shown_against

    source = tmp_path / "a.py"
    source.write_text("".join(f"line {n}\n" for n in range(1, 11)))
    done = {"file_path": str(source), "old_string": "old 5\n", "new_string": "line 5\n"}  # the edit is in the file
    with shown_against(tmp_path):
        assert "@@ -5 +5 @@" in edit_diff(done) and "a/a.py" in edit_diff(done)
    gone = {"file_path": str(tmp_path / "missing.py"), "old_string": "a\n", "new_string": "b\n"}
    assert "@@ -1 +1 @@" in edit_diff(gone)  # the snippet's own numbers
    outside = {"file_path": "/etc/elsewhere.py", "old_string": "a\n", "new_string": "b\n"}
    with shown_against(tmp_path):
        assert "a/etc/elsewhere.py" in edit_diff(outside)


# -- 7. fork notes and background agents ------------------------------------------------------


def background_agent_job() -> list[dict]:
    """What the real CLI records for a Task run in the background, and the turn its result starts."""
    from core import events as ev

    def assistant(block: dict, parent: str | None = None) -> dict:
        return ev.make(ev.ASSISTANT, block=block, message_id=new_id(), uuid=new_id(), parent_tool_use_id=parent,
                       model="m", error=None)

    def result(prompted: bool) -> dict:
        return ev.make(ev.RESULT, subtype="success", is_error=False, total_cost_usd=0.01, duration_ms=50,
                       num_turns=1, usage={}, user_message_uuids=["u"] if prompted else None)

    task = {"description": "Count files", "prompt": "Count the files", "subagent_type": "general-purpose",
            "run_in_background": True}
    return [
        ev.make(ev.USER, text="hello", uuid=new_id(), images=[]),
        ev.make(ev.STATUS, status="running", previous="queued", reason=None, error=None),
        assistant({"type": "tool_use", "id": "t1", "name": "Task", "input": task}),
        ev.make(ev.TASK, subtype="task_started", task_id="a1", description="Count files", tool_use_id="t1"),
        ev.make(ev.TOOL_RESULT, tool_use_id="t1", is_error=False, parent_tool_use_id=None, uuid=new_id(),
                content="Async agent launched successfully. (This tool result is internal metadata — never quote "
                        "it.)\nagentId: a1 (internal ID - do not mention to user.)"),
        assistant({"type": "text", "text": "Started a subagent."}),
        assistant({"type": "text", "text": "42 files."}, parent="t1"),
        ev.make(ev.TASK, subtype="task_notification", task_id="a1", tool_use_id="t1", status="completed",
                summary="42 files."),
        result(True),
        ev.make(ev.STATUS, status="idle", previous="running", reason=None, error=None),
        ev.make(ev.STATUS, status="running", previous="idle", reason=None, error=None),
        assistant({"type": "text", "text": "The subagent counted 42 files."}),
        result(False),
        ev.make(ev.STATUS, status="idle", previous="running", reason=None, error=None),
    ]


async def test_a_background_agent_is_explained_and_a_fork_names_its_parent(user: User, services: Services,
                                                                         project) -> None:
    from components.chat import ChatView
    from core import events as ev

    job = services.jobs.add_imported_job(
        Job(id=new_id(), project_id=project.id, name="counting", prompt="hello", status=JobStatus.IDLE),
        background_agent_job())
    fork = services.jobs.add_imported_job(
        Job(id=new_id(), project_id=project.id, name="fork", prompt="x", status=JobStatus.IDLE,
            parent_job_id=job.id),
        [ev.make(ev.SYSTEM, subtype="forked", parent_job_id=job.id, parent_seq=9)])

    @ui.page("/chat-bg/{job_id}")
    def chat(job_id: str) -> None:
        ChatView(services, job_id)

    await user.open(f"/chat-bg/{job.id}")
    await user.should_see(marker="background-launch")
    await user.should_not_see("agentId")
    await user.should_not_see("internal metadata")
    note = user.find(marker="background-turn").elements
    assert len(note) == 1
    assert any("Count files" in str(getattr(e, "text", "")) for e in next(iter(note)).descendants())
    await user.should_see("Background result: the subagent “Count files” finished")

    await user.open(f"/chat-bg/{fork.id}")
    await user.should_see(marker="fork-notice")
    link = next(iter(user.find(marker="fork-parent").elements))
    assert link.text == "counting" and link.props["href"] == f"/job/{job.id}"
    await user.should_not_see(job.id)


# -- 10. the Files tree follows what jobs write --------------------------------------------------


async def test_the_files_tree_shows_a_file_a_job_just_wrote(user: User, services: Services, project) -> None:
    from pathlib import Path

    from components.workspace import FilesPanel

    root = Path(project.path)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("x = 1\n")
    job = add_job(services, project)
    panels: list[FilesPanel] = []

    @ui.page("/files-live")
    def page() -> None:
        panels.append(FilesPanel(services, project.id, job.id))

    await user.open("/files-live")
    panel = panels[0]
    await until(lambda: panel.tree and panel.tree.tree.props["nodes"], "the root listing")
    panel.tree.tree.expand(["src"])
    await panel.tree._open_dir("src")

    def labels() -> list[str]:
        nodes = panel.tree.tree.props["nodes"]
        return [n["label"] for n in nodes] + [c["label"] for n in nodes for c in n.get("children", [])]

    # What the job's Write hook reports: the file is on disk and in the job's files touched.
    (root / "src" / "written.py").write_text("y = 2\n")
    (root / "NOTES.md").write_text("notes\n")
    record = services.jobs.get(job.id)
    record.files_touched.append(str(root / "src" / "written.py"))
    services.jobs.save(record)
    await until(lambda: "written.py" in labels() and "NOTES.md" in labels(), "the new files in the tree")
    assert "src" in panel.tree.tree.props["expanded"], "the open folder stays open"

    # A shell command writes no hook event: the end of the turn refreshes too.
    (root / "src" / "by_bash.txt").write_text("z\n")
    services.jobs.set_status(services.jobs.get(job.id), JobStatus.IDLE)
    await until(lambda: "by_bash.txt" in labels(), "the file a command wrote")
    for client in list(Client.instances.values()):
        if not client.is_deleted and client.page.path == "/files-live":
            client.delete()
