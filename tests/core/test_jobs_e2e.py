"""Jobs end to end with the real CLI: tools touch the disk, turns stream, follow-ups keep context (C1-C9)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.errors import Conflict
from core.jobs.images import Image
from tests.support.helpers import PNG_1PX, assistant_texts, kinds, submit_and_stall, wait_status, wait_until
from tests.support.scripted_model import text, thinking, tool_use

pytestmark = pytest.mark.warm_pool  # the default: the pool on (spec O1)


async def test_write_lands_in_the_project_directory(services, project, scripted_model):
    target = Path(project.path) / "notes" / "hello.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "hello\n"}))
    scripted_model.add_response(text("Wrote it."))
    job = services.jobs.submit(project.id, "write hello", permission_mode="acceptEdits")
    await wait_status(services.jobs, job.id, "idle")
    assert target.read_text() == "hello\n"
    job = services.jobs.get(job.id)
    assert job.session_id and job.files_touched == [str(target)]
    assert job.cost_usd > 0 and job.turns == 1
    results = scripted_model.tool_results(scripted_model.requests[1])
    assert results and not results[0].is_error
    stored = services.jobs.events(job.id)
    assert kinds(stored)[:2] == ["user", "status"]
    assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))


async def test_text_and_thinking_stream_live_before_the_turn_ends(services, project, scripted_model):
    scripted_model.add_response(thinking("Let me think."), text("one two three four five six", chunk=4, delay=0.05))
    job = services.jobs.submit(project.id, "count")
    seen: list[dict] = []
    backlog, unsubscribe = services.jobs.follow(job.id, seen.append)
    await wait_status(services.jobs, job.id, "idle")
    unsubscribe()
    deltas = [e["text"] for e in seen if e["kind"] == "delta" and e.get("delta_type") == "text_delta"]
    assert len(deltas) >= 5 and "".join(deltas) == "one two three four five six"
    first_delta = next(i for i, e in enumerate(seen) if e["kind"] == "delta" and e.get("delta_type") == "text_delta")
    final_text = next(i for i, e in enumerate(seen) if e["kind"] == "assistant" and e["block"]["type"] == "text")
    assert first_delta < final_text
    assert any(e["kind"] == "assistant" and e["block"]["type"] == "thinking" for e in seen)
    assert not any(e["kind"] == "delta" for e in services.jobs.events(job.id)), "deltas are live only"
    stored_seqs = [e["seq"] for e in backlog + seen if e["kind"] != "delta"]
    assert stored_seqs == sorted(set(stored_seqs)), "every stored event exactly once"


async def test_follow_up_on_an_idle_job_keeps_context(services, project, scripted_model):
    scripted_model.add_response(text("The secret word is heron."))
    scripted_model.add_response(text("You asked about the secret."))
    job = services.jobs.submit(project.id, "remember: the secret is heron")
    await wait_status(services.jobs, job.id, "idle")
    session_id = services.jobs.get(job.id).session_id
    services.jobs.follow_up(job.id, "what did I tell you?")
    await wait_until(lambda: services.jobs.get(job.id).turns == 2, what="second turn")
    second = scripted_model.requests[1]
    assert "remember: the secret is heron" in " ".join(scripted_model.user_texts(second))
    assert "The secret word is heron." in assistant_texts(second)
    assert services.jobs.get(job.id).session_id == session_id


async def test_follow_up_while_running_is_queued_until_the_turn_ends(services, project, scripted_model):
    scripted_model.add_response(text("slow answer " * 5, chunk=6, delay=0.1))
    scripted_model.add_response(text("second answer"))
    job = services.jobs.submit(project.id, "first")
    await wait_until(lambda: len(scripted_model.requests) == 1, what="first request")
    services.jobs.follow_up(job.id, "second")
    assert services.jobs.live_info(job.id)["queued_prompts"] == ["second"]
    stored = services.jobs.events(job.id)
    assert stored[-1]["kind"] == "prompt_queued"
    await wait_until(lambda: services.jobs.get(job.id).turns == 2, what="queued prompt's turn")
    assert len(scripted_model.requests) == 2
    assert scripted_model.user_texts(scripted_model.requests[1])[-1] == "second"
    history = services.jobs.events(job.id)
    first_result = kinds(history).index("result")
    sent = [i for i, e in enumerate(history) if e["kind"] == "user" and e.get("text") == "second"]
    assert sent and sent[0] > first_result, "the queued message is sent after the first turn"


async def test_job_past_its_grace_period_completes(services_factory, project_factory, scripted_model):
    services = services_factory(grace_period_s=0.5)
    project = project_factory(services)
    job = services.jobs.submit(project.id, "quick")
    await wait_status(services.jobs, job.id, "idle")
    assert services.jobs.get(job.id).grace_deadline is not None
    await wait_status(services.jobs, job.id, "completed", timeout=10)
    assert not services.jobs.is_live(job.id)
    assert services.jobs.get(job.id).resumable


async def test_pinned_job_does_not_complete(services_factory, project_factory, scripted_model):
    services = services_factory(grace_period_s=0.5)
    project = project_factory(services)
    job = services.jobs.submit(project.id, "quick")
    await wait_status(services.jobs, job.id, "idle")
    services.jobs.pin(job.id)
    await asyncio.sleep(1.2)
    job = services.jobs.get(job.id)
    assert job.status == "idle" and job.mode == "session" and job.grace_deadline is None
    assert services.jobs.is_live(job.id)
    with pytest.raises(Conflict):
        services.jobs.pin(job.id)
    services.jobs.complete(job.id)  # Close Session
    await wait_status(services.jobs, job.id, "completed")


async def test_stop_interrupts_a_running_turn(services, project, scripted_model):
    scripted_model.add_response(text("never finishes"), hang=True)
    scripted_model.add_response(text("still here"))
    job = services.jobs.submit(project.id, "long task")
    await wait_until(lambda: len(scripted_model.requests) == 1, what="request")
    await wait_status(services.jobs, job.id, "running")
    await services.jobs.stop(job.id)
    await wait_status(services.jobs, job.id, "idle", timeout=15)
    status_events = [e for e in services.jobs.events(job.id) if e["kind"] == "status"]
    assert status_events[-1]["reason"] == "stopped by the user"
    services.jobs.follow_up(job.id, "are you there?")
    await wait_until(lambda: services.jobs.get(job.id).turns == 2, what="turn after stop")
    assert scripted_model.user_texts(scripted_model.requests[-1])[-1] == "are you there?"


async def test_stop_mid_sentence_keeps_the_streamed_text_once(services, project, scripted_model):
    """Spec C12: what people saw stream in stays in the transcript when they stop the turn."""
    seen = "Here is the first half of my answer, and then"
    job = await submit_and_stall(services, project.id, scripted_model, "a long answer please", seen)
    await services.jobs.stop(job.id)
    await wait_status(services.jobs, job.id, "idle", timeout=15)
    services.jobs.complete(job.id)
    await wait_status(services.jobs, job.id, "completed", timeout=15)
    replies = [e["block"]["text"] for e in services.jobs.events(job.id)
               if e["kind"] == "assistant" and e["block"]["type"] == "text"]
    assert replies == [seen]  # the CLI hands the cut message over itself; it is not added twice
    assert not services.logs._partial_path(job.id).exists()


async def test_a_finished_reply_leaves_no_crash_copy_behind(services, project, scripted_model):
    scripted_model.add_response(text("A complete reply, streamed slowly.", chunk=4, delay=0.05))
    job = services.jobs.submit(project.id, "hello")
    await wait_status(services.jobs, job.id, "idle")
    assert not services.logs._partial_path(job.id).exists()
    assert not [e for e in services.jobs.events(job.id) if e.get("interrupted")]
    replies = [e["block"]["text"] for e in services.jobs.events(job.id)
               if e["kind"] == "assistant" and e["block"]["type"] == "text"]
    assert replies == ["A complete reply, streamed slowly."]


async def test_concurrency_limit_queues_jobs(services_factory, project_factory, scripted_model):
    services = services_factory(max_running_jobs=1)
    project = project_factory(services)
    scripted_model.add_response(text("first done", chunk=3, delay=0.05))
    first = services.jobs.submit(project.id, "first")
    second = services.jobs.submit(project.id, "second")
    assert services.jobs.get(second.id).status == "queued"
    assert services.jobs.live_info(second.id)["queue_position"] == 1
    await wait_status(services.jobs, first.id, "idle")
    await wait_status(services.jobs, second.id, "idle")
    second_events = kinds(services.jobs.events(second.id))
    assert second_events.index("status") < second_events.index("system")
    first_done = next(e["ts"] for e in services.jobs.events(first.id) if e["kind"] == "result")
    second_start = next(e["ts"] for e in services.jobs.events(second.id)
                        if e["kind"] == "status" and e["status"] == "running")
    assert second_start >= first_done


async def test_image_reaches_the_model(services, project, scripted_model):
    image = Image("image/png", PNG_1PX, "dot.png")
    job = services.jobs.submit(project.id, "what is in this picture?", [image])
    await wait_status(services.jobs, job.id, "idle")
    sent = scripted_model.images(scripted_model.requests[0])
    assert len(sent) == 1 and sent[0]["source"]["media_type"] == "image/png"
    user_event = services.jobs.events(job.id)[0]
    assert user_event["images"] == [{"name": "dot.png", "media_type": "image/png", "size": len(PNG_1PX)}]


async def test_complete_now_ends_the_live_channel(services, project, scripted_model):
    job = services.jobs.submit(project.id, "hello")
    await wait_status(services.jobs, job.id, "idle")
    services.jobs.complete(job.id)
    await wait_status(services.jobs, job.id, "completed")
    assert not services.jobs.is_live(job.id)
    with pytest.raises(Conflict):
        services.jobs.complete(job.id)
