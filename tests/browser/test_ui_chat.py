"""The chat in a real browser: a prompt's reply streams in, follow-ups (sent and queued), a reload in the
middle of a stream, and one job open in two browsers (spec C1, C5, D1, D4, D5, F1)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import ui_support
from tests.browser.conftest import text_field
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    disk_events,
    disk_job,
    expect_status,
    job_id_of,
    kinds,
    new_project_with_job,
    send_follow_up,
    wait_for,
)
from tests.support.helpers import assistant_texts
from tests.support.scripted_model import text, tool_use, user_texts

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model

SLOW_REPLY = ("Streaming arrives piece by piece, so you can read the answer while Claude is still "
              "writing the rest of it.")


def _streamed(reply: str, chunk: int = 4, seconds: float = 3.0):
    """A text block that takes about ``seconds`` to stream."""
    pieces = max(1, len(reply) // chunk)
    return text(reply, chunk=chunk, delay=seconds / pieces)


def test_reply_streams_in_then_a_follow_up_continues_the_conversation(server, page, steps, scripted_model):
    scripted_model.add_response(_streamed(SLOW_REPLY))
    scripted_model.add_response(text("Second answer, with the first one in mind."))
    job_id = new_project_with_job(steps, page, "chat-stream", "explain streaming")
    transcript = page.get_by_test_id("transcript")

    # While the model is still sending, part of the reply is already on screen.
    streaming = transcript.get_by_test_id("assistant-streaming")
    expect(streaming).to_contain_text(SLOW_REPLY[:12], timeout=TURN_TIMEOUT_MS)
    expect(page.get_by_test_id("working-indicator")).to_be_visible()
    seen = streaming.inner_text().strip()
    assert SLOW_REPLY.startswith(seen) and len(seen) < len(SLOW_REPLY), seen

    # Then the whole reply, once, and the streamed copy is gone.
    expect(transcript.get_by_test_id("assistant-text")).to_have_text(SLOW_REPLY, timeout=TURN_TIMEOUT_MS)
    expect(streaming).to_have_count(0)
    expect_status(page, "idle")
    expect(page.get_by_test_id("working-indicator")).to_be_hidden()
    expect(page.get_by_test_id("grace")).to_contain_text("completes in")
    expect(transcript.get_by_test_id("turn-footer")).to_have_count(1)
    expect(transcript.get_by_test_id("job-usage")).to_contain_text("1 turn")

    # A follow-up typed into the job's composer, sent with Enter, continues the same conversation.
    send_follow_up(page, "and now a follow-up")
    expect(transcript.get_by_test_id("user-message")).to_have_count(2)
    expect(transcript.get_by_test_id("assistant-text").nth(1)).to_have_text(
        "Second answer, with the first one in mind.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")
    expect(transcript.get_by_test_id("job-usage")).to_contain_text("2 turns")

    # At the model: the second request carries the first turn as history.
    requests = scripted_model.wait_for_requests(2)
    assert user_texts(requests[0])[-1] == "explain streaming"
    assert user_texts(requests[1])[-1] == "and now a follow-up"
    assert SLOW_REPLY in assistant_texts(requests[1])
    # On disk: both prompts, both replies, both turns; the job is idle in its grace period.
    events = disk_events(server.projects_root, job_id)
    assert [e["text"] for e in kinds(events, "user")] == ["explain streaming", "and now a follow-up"]
    assert len(kinds(events, "result")) == 2
    job = disk_job(server.projects_root, job_id)
    assert (job["status"], job["turns"], job["mode"]) == ("idle", 2, "job")
    assert job["session_id"] and job["grace_deadline"]
    assert not page.errors, page.errors


def test_shift_enter_adds_a_line_and_enter_sends(server, page, steps, scripted_model):
    scripted_model.add_response(text("First."))
    scripted_model.add_response(text("Got both lines."))
    job_id = new_project_with_job(steps, page, "chat-lines", "first")
    expect_status(page, "idle")
    field = text_field(page, "prompt")
    field.click()
    field.type("line one")
    field.press("Shift+Enter")
    field.type("line two")
    expect(field).to_have_value("line one\nline two")  # Shift+Enter did not send
    assert len(scripted_model.requests) == 1
    field.press("Enter")
    expect(page.get_by_test_id("user-message").nth(1)).to_contain_text("line one\nline two")
    expect(page.get_by_test_id("assistant-text").nth(1)).to_have_text("Got both lines.", timeout=TURN_TIMEOUT_MS)
    assert user_texts(scripted_model.wait_for_requests(2)[1])[-1] == "line one\nline two"
    assert kinds(disk_events(server.projects_root, job_id), "user")[-1]["text"] == "line one\nline two"


def test_follow_up_during_a_turn_is_queued_then_sent(server, page, steps, scripted_model):
    scripted_model.add_response(_streamed(SLOW_REPLY, seconds=4))
    scripted_model.add_response(text("Answer to the queued message."))
    job_id = new_project_with_job(steps, page, "chat-queue", "a long answer please")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("assistant-streaming")).to_contain_text(SLOW_REPLY[:8],
                                                                           timeout=TURN_TIMEOUT_MS)

    send_follow_up(page, "queued while you write")
    queued = transcript.get_by_test_id("queued-prompt")
    expect(queued).to_contain_text("queued while you write")
    expect(queued).to_contain_text("will be sent after the current turn")
    assert len(scripted_model.requests) == 1, "nothing goes to the model before the turn ends"

    # After the first turn the queued message goes out and takes its place in the conversation.
    expect(transcript.get_by_test_id("assistant-text").nth(1)).to_have_text("Answer to the queued message.",
                                                                           timeout=TURN_TIMEOUT_MS)
    expect(queued).to_have_count(0)
    expect(transcript.get_by_test_id("user-message")).to_have_count(2)
    expect(transcript.get_by_test_id("user-message").nth(1)).to_contain_text("queued while you write")
    expect_status(page, "idle")
    requests = scripted_model.wait_for_requests(2)
    assert user_texts(requests[1])[-1] == "queued while you write"
    assert SLOW_REPLY in assistant_texts(requests[1])
    events = disk_events(server.projects_root, job_id)
    queued_event = kinds(events, "prompt_queued")[0]
    sent = [e for e in kinds(events, "user") if e.get("uuid") == queued_event["uuid"]]
    assert len(sent) == 1 and sent[0]["seq"] > queued_event["seq"]


def test_reload_in_the_middle_of_a_stream_loses_and_repeats_nothing(server, page, steps, scripted_model):
    long_reply = " ".join(f"word{n:03d}" for n in range(60))
    scripted_model.add_response(tool_use("Bash", {"command": "echo before-the-reload", "description": "Say hi"}))
    scripted_model.add_response(_streamed(long_reply, chunk=8, seconds=6))
    job_id = new_project_with_job(steps, page, "chat-reload", "run a command then write a lot",
                                  permission_mode="bypassPermissions")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("tool-result")).to_contain_text("before-the-reload", timeout=TURN_TIMEOUT_MS)
    streaming = transcript.get_by_test_id("assistant-streaming")
    expect(streaming).to_contain_text("word005", timeout=TURN_TIMEOUT_MS)
    assert "word059" not in streaming.inner_text()

    page.reload()
    # What streamed before the reload is back at once, from its first word, and the stream goes on.
    expect(streaming).to_contain_text("word000 word001", timeout=TURN_TIMEOUT_MS)
    expect(transcript.get_by_test_id("assistant-text")).to_have_text(long_reply, timeout=TURN_TIMEOUT_MS)
    expect(streaming).to_have_count(0)
    expect_status(page, "idle")
    expect(transcript.get_by_test_id("user-message")).to_have_count(1)
    expect(transcript.get_by_test_id("tool-card")).to_have_count(1)
    expect(transcript.get_by_test_id("turn-footer")).to_have_count(1)
    expect(page.get_by_text("word030")).to_have_count(1)

    # And once more after the turn: the stored transcript alone, each item once.
    page.reload()
    expect(transcript.get_by_test_id("assistant-text")).to_have_text(long_reply)
    expect(transcript.get_by_test_id("tool-card")).to_have_count(1)
    expect(transcript.get_by_test_id("user-message")).to_have_count(1)
    texts = [e["block"]["text"] for e in kinds(disk_events(server.projects_root, job_id), "assistant")
             if e["block"].get("type") == "text"]
    assert texts == [long_reply]
    assert len(scripted_model.requests) == 2, "reloading starts nothing at the model"
    assert not page.errors, page.errors


def test_one_job_in_two_browsers_shows_the_same_conversation(server, page, new_page, steps, scripted_model):
    scripted_model.add_response(text("Hello to both of you."))
    scripted_model.add_response(_streamed(SLOW_REPLY, seconds=3))
    job_id = new_project_with_job(steps, page, "chat-two", "hello")
    expect_status(page, "idle")

    other = new_page(server)
    other.goto(f"/job/{job_id}")
    expect(other.get_by_test_id("assistant-text")).to_have_text("Hello to both of you.")

    # The second browser writes; the first one sees the message and the reply stream in.
    send_follow_up(other, "from the second browser")
    for viewer in (page, other):
        expect(viewer.get_by_test_id("user-message").nth(1)).to_contain_text("from the second browser")
    expect(page.get_by_test_id("assistant-streaming")).to_contain_text(SLOW_REPLY[:10], timeout=TURN_TIMEOUT_MS)
    for viewer in (page, other):
        expect(viewer.get_by_test_id("assistant-text").nth(1)).to_have_text(SLOW_REPLY, timeout=TURN_TIMEOUT_MS)
        expect(viewer.get_by_test_id("assistant-text")).to_have_count(2)
        expect(viewer.get_by_test_id("user-message")).to_have_count(2)
        expect_status(viewer, "idle")
    assert job_id_of(other) == job_id
    requests = scripted_model.wait_for_requests(2)
    assert user_texts(requests[1])[-1] == "from the second browser"
    assert len(kinds(disk_events(server.projects_root, job_id), "user")) == 2
    wait_for(lambda: disk_job(server.projects_root, job_id)["turns"] == 2, what="two turns on disk")
