"""Importing local CLI sessions (spec H3): discover, import with the transcript, resume and fork."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, get_session_messages, query

from core.errors import NotFound
from core.jobs.importer import SessionImporter, transcript_events
from tests.support.helpers import kinds, wait_status
from tests.support.scripted_model import text, thinking, tool_use, user_texts


async def _run_cli(directory: Path, prompt: str) -> str:
    """A session made the way a person at a terminal would: the CLI on its own, outside our projects."""
    options = ClaudeAgentOptions(cwd=str(directory), permission_mode="bypassPermissions")
    session_id = None
    async for message in query(prompt=prompt, options=options):
        if isinstance(message, ResultMessage):
            session_id = message.session_id
    assert session_id
    return session_id


async def test_a_cli_session_becomes_a_resumable_job(services, project, scripted_model, claude_env, tmp_path):
    outside = tmp_path / "my tool"
    outside.mkdir()
    scripted_model.add_response(thinking("Let me look."), tool_use("Bash", {"command": "echo from-bash"}))
    scripted_model.add_response(text("The word is noted."))
    session_id = await _run_cli(outside, "Remember the word PINEAPPLE")
    own = services.jobs.submit(project.id, "a job run by this server")
    await wait_status(services.jobs, own.id, "idle", timeout=90)

    importer = SessionImporter(services)
    started = time.perf_counter()
    found = {s.session_id: s for s in importer.discover()}
    discover_ms = (time.perf_counter() - started) * 1000
    local = found[session_id]
    assert local.cwd == str(outside) and local.imported_job_id is None
    assert local.title == "Remember the word PINEAPPLE" == local.first_prompt
    assert local.message_count == len(get_session_messages(session_id, directory=str(outside))) == 5
    assert found[services.jobs.get(own.id).session_id].imported_job_id == own.id, "our own jobs are marked"
    assert [s.session_id for s in importer.discover(query="pineapple remember")] == [session_id]
    assert importer.discover(query="banana") == []
    assert [s.session_id for s in importer.discover(project_path=str(outside))] == [session_id]

    [job] = importer.import_sessions([session_id, session_id])
    assert job.status == "completed" and job.resumable and job.session_id == job.imported_from == session_id
    assert job.name == "Remember the word PINEAPPLE" and job.prompt == "Remember the word PINEAPPLE"
    imported_project = services.projects.get(job.project_id)
    assert imported_project.external and imported_project.name == "my tool"
    assert imported_project.path == str(outside.resolve())
    history = services.jobs.events(job.id)
    assert kinds(history) == ["user", "assistant", "assistant", "tool_result", "assistant", "result"]
    assert history[0]["text"] == "Remember the word PINEAPPLE" and "echoed" not in history[0]
    assert history[1]["block"] == {"type": "thinking", "thinking": "Let me look."}
    assert history[2]["block"]["name"] == "Bash" and history[2]["block"]["input"] == {"command": "echo from-bash"}
    assert history[3]["content"] == "from-bash" and history[3]["tool_use_id"] == history[2]["block"]["id"]
    assert history[4]["block"] == {"type": "text", "text": "The word is noted."}
    assert history[5]["result"] == "The word is noted." and history[5]["imported"]
    assert [e["seq"] for e in history] == [1, 2, 3, 4, 5, 6]
    assert all(abs(e["ts"] - time.time()) < 120 for e in history), "times come from the transcript"

    assert importer.import_sessions([session_id]) == [], "never imported twice"
    assert {s.session_id: s for s in importer.discover()}[session_id].imported_job_id == job.id

    # Resume: the model sees the imported conversation.
    scripted_model.add_response(text("It was PINEAPPLE."))
    services.jobs.follow_up(job.id, "What was the word?")
    await wait_status(services.jobs, job.id, "idle", timeout=90)
    texts = user_texts(scripted_model.last_request())
    assert "Remember the word PINEAPPLE" in texts and texts[-1] == "What was the word?"

    # Fork from the imported turn: the synthesized result is a place to cut.
    scripted_model.add_response(text("Forked."))
    fork = services.jobs.fork(job.id, history[5]["seq"], "And in French?")
    await wait_status(services.jobs, fork.id, "idle", timeout=90)
    texts = user_texts(scripted_model.last_request())
    assert "Remember the word PINEAPPLE" in texts and "What was the word?" not in texts
    assert texts[-1] == "And in French?"
    print(f"\ndiscover() over {len(found)} sessions: {discover_ms:.1f} ms")


async def test_unknown_sessions_are_refused_before_anything_is_imported(services, claude_env):
    importer = SessionImporter(services)
    with pytest.raises(NotFound):
        importer.import_sessions(["not-a-session"])
    with pytest.raises(NotFound):
        importer.import_sessions(["0a5d7370-010b-4814-8f0c-2f73e9dfca44"])
    assert services.jobs.list() == [] and services.projects.list() == []


async def test_sessions_in_a_folder_that_is_a_project_land_there(services, project, scripted_model, claude_env):
    session_id = await _run_cli(Path(project.path), "made outside the server, in a project folder")
    [job] = SessionImporter(services).import_sessions([session_id])
    assert job.project_id == project.id and len(services.projects.list()) == 1


def test_transcripts_close_each_turn_and_keep_images():
    from claude_agent_sdk import SessionMessage

    def user(uuid, content):
        return SessionMessage("user", uuid, "s", {"role": "user", "content": content})

    def assistant(uuid, blocks):
        return SessionMessage("assistant", uuid, "s", {"role": "assistant", "model": "m", "content": blocks})

    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    messages = [user("u1", "one"), assistant("a1", [{"type": "text", "text": "first"}]),
                user("u2", [image, {"type": "text", "text": "two"}]), assistant("a2", [{"type": "text", "text": "2"}]),
                user("u3", [image]), assistant("a3", [{"type": "thinking"}])]
    out = transcript_events(messages, "s", {"u1": 1.0, "a1": 2.0})
    assert kinds(out) == ["user", "assistant", "result", "user", "assistant", "result", "user", "warning"]
    assert out[2]["result"] == "first" and out[2]["ts"] == 2.0
    assert out[3]["images"] == [{"name": "image", "media_type": "image/png", "size": 3}] and out[3]["text"] == "two"
    assert out[6]["text"] == "" and out[6]["images"][0]["media_type"] == "image/png"
