"""Sessions across channels: resume, fresh starts, fork, edit & resend, hibernation (C4, C5, C7, C8, C10)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core import events
from core.errors import Conflict, UserError
from core.models import Job, JobStatus, new_id
from tests.support.helpers import assistant_texts, wait_status, wait_until
from tests.support.scripted_model import text


async def _finish_turn(services, job_id, turns):
    await wait_until(lambda: services.jobs.get(job_id).turns >= turns and
                     services.jobs.get(job_id).status in ("idle", "failed"), what=f"turn {turns}")


async def test_follow_up_on_a_completed_job_resumes_with_context(services, project, scripted_model):
    scripted_model.add_response(text("Noted: the cat is called Miso."))
    job = services.jobs.submit(project.id, "my cat is called Miso")
    await wait_status(services.jobs, job.id, "idle")
    services.jobs.complete(job.id)
    await wait_status(services.jobs, job.id, "completed")
    session_id = services.jobs.get(job.id).session_id
    services.jobs.follow_up(job.id, "what is my cat called?")
    await _finish_turn(services, job.id, 2)
    resumed = scripted_model.requests[-1]
    assert "my cat is called Miso" in " ".join(scripted_model.user_texts(resumed))
    assert "Noted: the cat is called Miso." in assistant_texts(resumed)
    assert services.jobs.get(job.id).session_id == session_id
    assert not any(e["kind"] == "warning" for e in services.jobs.events(job.id))


async def test_follow_up_without_session_id_starts_fresh_with_a_warning(services, project, scripted_model):
    # Legacy or imported data: a transcript with replies, but no handle to resume it by.
    legacy = Job(id=new_id(), project_id=project.id, name="legacy", prompt="the first attempt",
                 status=JobStatus.COMPLETED)
    services.jobs.add_imported_job(legacy, [
        events.make(events.USER, text="the first attempt"),
        events.make(events.ASSISTANT, block={"type": "text", "text": "An earlier answer."})])
    services.jobs.follow_up(legacy.id, "second attempt")
    await wait_status(services.jobs, legacy.id, "idle")
    warnings = [e for e in services.jobs.events(legacy.id) if e["kind"] == "warning"]
    assert warnings and "will not see the earlier messages" in warnings[0]["message"]
    texts = scripted_model.user_texts(scripted_model.requests[-1])
    assert "second attempt" in texts and "the first attempt" not in " ".join(texts)
    assert services.jobs.get(legacy.id).session_id, "the fresh run's session is now resumable"


async def test_a_job_that_failed_before_starting_can_be_retried(services, project, scripted_model):
    directory = Path(project.path)
    shutil.rmtree(directory)
    job = services.jobs.submit(project.id, "the first attempt")
    assert services.jobs.get(job.id).status == "failed"
    assert "does not exist" in services.jobs.get(job.id).error
    assert services.jobs.get(job.id).session_id is None
    directory.mkdir()
    services.jobs.retry(job.id)
    await wait_status(services.jobs, job.id, "idle")
    assert scripted_model.user_texts(scripted_model.requests[-1])[-1] == "the first attempt"
    assert not any(e["kind"] == "warning" for e in services.jobs.events(job.id)), "no context was lost"


async def test_resume_as_session_reattaches_immediately(services, project, scripted_model):
    job = services.jobs.submit(project.id, "hello")
    await wait_status(services.jobs, job.id, "idle")
    services.jobs.complete(job.id)
    await wait_status(services.jobs, job.id, "completed")
    services.jobs.resume_session(job.id)
    await wait_status(services.jobs, job.id, "idle")
    assert services.jobs.is_live(job.id) and services.jobs.get(job.id).mode == "session"
    assert len(scripted_model.requests) == 1, "re-attaching sends nothing to the model"
    with pytest.raises(Conflict):
        services.jobs.resume_session(job.id)
    services.jobs.follow_up(job.id, "still there?")
    await _finish_turn(services, job.id, 2)
    assert "hello" in " ".join(scripted_model.user_texts(scripted_model.requests[-1]))


async def test_fork_from_an_assistant_turn_keeps_history_up_to_that_turn(services, project, scripted_model):
    scripted_model.add_response(text("Answer one."))
    scripted_model.add_response(text("Answer two."))
    scripted_model.add_response(text("Forked answer."))
    parent = services.jobs.submit(project.id, "question one", mode="session")
    await _finish_turn(services, parent.id, 1)
    services.jobs.follow_up(parent.id, "question two")
    await _finish_turn(services, parent.id, 2)
    first_answer = next(e for e in services.jobs.events(parent.id)
                        if e["kind"] == "assistant" and e["block"].get("text") == "Answer one.")
    child = services.jobs.fork(parent.id, first_answer["seq"], "a different question two")
    await wait_status(services.jobs, child.id, "idle")
    request = scripted_model.requests[-1]
    texts = " ".join(scripted_model.user_texts(request))
    assert "question one" in texts and "a different question two" in texts and "question two" not in \
        texts.replace("a different question two", "")
    assert assistant_texts(request) == ["Answer one."]
    child = services.jobs.get(child.id)
    assert child.parent_job_id == parent.id and child.session_id != services.jobs.get(parent.id).session_id
    child_events = services.jobs.events(child.id)
    assert any(e["kind"] == "assistant" and e["block"].get("text") == "Answer one." for e in child_events)
    assert not any(e["kind"] == "assistant" and e["block"].get("text") == "Answer two." for e in child_events)
    assert [e["seq"] for e in child_events] == list(range(1, len(child_events) + 1))


async def test_edit_and_resend_replaces_a_user_message(services, project, scripted_model):
    scripted_model.add_response(text("Answer one."))
    scripted_model.add_response(text("Answer two."))
    scripted_model.add_response(text("Edited answer."))
    parent = services.jobs.submit(project.id, "question one", mode="session")
    await _finish_turn(services, parent.id, 1)
    services.jobs.follow_up(parent.id, "question two with a typo")
    await _finish_turn(services, parent.id, 2)
    second_user = [e for e in services.jobs.events(parent.id) if e["kind"] == "user"][1]
    child = services.jobs.edit_resend(parent.id, second_user["seq"], "question two, fixed")
    await wait_status(services.jobs, child.id, "idle")
    texts = scripted_model.user_texts(scripted_model.requests[-1])
    assert "question one" in " ".join(texts) and texts[-1] == "question two, fixed"
    assert "typo" not in " ".join(texts)
    assert assistant_texts(scripted_model.requests[-1]) == ["Answer one."]


async def test_edit_of_the_first_message_starts_a_new_conversation(services, project, scripted_model):
    parent = services.jobs.submit(project.id, "first version")
    await wait_status(services.jobs, parent.id, "idle")
    first_user = services.jobs.events(parent.id)[0]
    child = services.jobs.edit_resend(parent.id, first_user["seq"], "second version")
    await wait_status(services.jobs, child.id, "idle")
    texts = scripted_model.user_texts(scripted_model.requests[-1])
    assert texts[-1] == "second version" and "first version" not in " ".join(texts)
    with pytest.raises(UserError):
        services.jobs.edit_resend(parent.id, 10_000, "nothing there")


async def test_hibernated_session_reattaches_on_the_next_message(services, project, scripted_model):
    scripted_model.add_response(text("I will remember the number 42."))
    job = services.jobs.submit(project.id, "remember 42", mode="session")
    await wait_status(services.jobs, job.id, "idle")
    assert services.jobs.liveness.hibernate_idle(older_than_s=0) == [job.id]
    await wait_until(lambda: not services.jobs.is_live(job.id) and job.id not in services.jobs.live,
                     what="CLI released")
    job_now = services.jobs.get(job.id)
    assert job_now.status == "idle" and job_now.hibernated
    assert services.jobs.live_info(job.id)["live"] is False, "liveness is reported honestly"
    services.jobs.follow_up(job.id, "which number?")
    await _finish_turn(services, job.id, 2)
    assert "I will remember the number 42." in assistant_texts(scripted_model.requests[-1])
    assert not services.jobs.get(job.id).hibernated and services.jobs.is_live(job.id)


async def test_settings_change_between_turns(services, project, scripted_model):
    job = services.jobs.submit(project.id, "hello", mode="session", model="claude-sonnet-4-5")
    await wait_status(services.jobs, job.id, "idle")
    assert scripted_model.requests[-1]["model"] == "claude-sonnet-4-5"
    await services.jobs.update_settings(job.id, model="claude-haiku-4-5", effort="low", thinking_tokens=2048)
    services.jobs.follow_up(job.id, "again")
    await _finish_turn(services, job.id, 2)
    request = scripted_model.requests[-1]
    assert request["model"] == "claude-haiku-4-5"
    assert request.get("thinking", {}).get("budget_tokens") == 2048, request.get("thinking")
    assert "hello" in " ".join(scripted_model.user_texts(request)), "reconnecting kept the conversation"
    with pytest.raises(UserError):
        await services.jobs.update_settings(job.id, effort="extreme")
