"""Bad input and broken parts: each gives a clear error on the job, and other jobs carry on (A3, B1, J5)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from core.errors import Conflict, UserError
from core.jobs.images import MAX_IMAGE_BYTES, Image
from core.jobs.manager import NO_CREDENTIALS
from tests.support.helpers import PNG_1PX, assistant_texts, submit_and_stall, wait_status, wait_until
from tests.support.scripted_model import text


@pytest.mark.parametrize("name", ["", "   ", "../escape", "a/b", "a\\b", ".hidden", "-flag", "x" * 101,
                                  "bad\x00name", "..", "semi;colon"])
async def test_invalid_project_names_are_refused(services, name):
    with pytest.raises(UserError):
        services.projects.create(name)
    assert services.projects.list() == []


async def test_duplicate_and_dangerous_project_locations_are_refused(services, tmp_path):
    services.projects.create("alpha")
    with pytest.raises(Conflict):
        services.projects.create("ALPHA")
    for path in ("/", "/etc", str(Path.home()), "relative/dir", str(tmp_path / "missing")):
        with pytest.raises(UserError):
            services.projects.create(f"ext-{len(path)}", path=path)
    outside = tmp_path / "existing"
    outside.mkdir()
    project = services.projects.create("external", path=str(outside))
    assert project.path == str(outside) and project.external
    with pytest.raises(Conflict):
        services.projects.create("external-again", path=str(outside))


async def test_missing_project_directory_fails_the_job_and_others_continue(services, project_factory,
                                                                           scripted_model):
    broken, healthy = project_factory(services), project_factory(services)
    shutil.rmtree(broken.path)
    failed = services.jobs.submit(broken.id, "hello")
    working = services.jobs.submit(healthy.id, "hello")
    assert services.jobs.get(failed.id).status == "failed"
    assert broken.path in services.jobs.get(failed.id).error
    errors = [e for e in services.jobs.events(failed.id) if e["kind"] == "error"]
    assert errors and "does not exist" in errors[0]["message"]
    await wait_status(services.jobs, working.id, "idle")


async def test_dead_cli_process_fails_the_job_and_others_continue(services, project, scripted_model):
    scripted_model.add_response(text("stuck"), hang=True)
    victim = services.jobs.submit(project.id, "first")
    await wait_until(lambda: len(scripted_model.requests) == 1, what="first request")
    process = services.jobs.live[victim.id].client._transport._process
    os.kill(process.pid, signal.SIGKILL)
    await wait_status(services.jobs, victim.id, "failed", timeout=20)
    victim = services.jobs.get(victim.id)
    assert "exit code -9" in victim.error
    scripted_model.release()
    other = services.jobs.submit(project.id, "second")
    await wait_status(services.jobs, other.id, "idle")
    # Killed in its first turn: the CLI saves the transcript ~60 ms after sending the request, so a
    # resume is offered exactly when there is something on disk to resume.
    saved = services.jobs.conversations.has_conversation(victim)
    assert victim.resumable == saved
    services.jobs.follow_up(victim.id, "try again")
    await wait_status(services.jobs, victim.id, "idle")
    assert scripted_model.user_texts(scripted_model.requests[-1])[-1] == "try again"
    warned = any(e["kind"] == "warning" for e in services.jobs.events(victim.id))
    assert warned == (not saved), "a fresh start (nothing saved) is announced; a resume is not"


async def test_a_cli_dying_mid_sentence_leaves_the_streamed_text(services, project, scripted_model):
    """Spec C12: the CLI never hands over a message it dies in; what had streamed is kept, marked."""
    seen = "I found the cause: the tax is added as a number"
    job = await submit_and_stall(services, project.id, scripted_model, "why is the total wrong?", seen)
    os.kill(services.jobs.live[job.id].client._transport._process.pid, signal.SIGKILL)
    await wait_status(services.jobs, job.id, "failed", timeout=20)
    scripted_model.release()
    kept = [e for e in services.jobs.events(job.id) if e["kind"] == "assistant"]
    assert [(e["block"], e.get("interrupted")) for e in kept] == [({"type": "text", "text": seen}, True)]
    assert not services.logs._partial_path(job.id).exists()


async def test_dead_cli_after_a_turn_leaves_a_resumable_job(services, project, scripted_model):
    scripted_model.add_response(text("The code word is lantern."))
    scripted_model.add_response(text("stuck"), hang=True)
    job = services.jobs.submit(project.id, "remember lantern")
    await wait_status(services.jobs, job.id, "idle")
    services.jobs.follow_up(job.id, "now think hard")
    await wait_until(lambda: len(scripted_model.requests) == 2, what="second request")
    os.kill(services.jobs.live[job.id].client._transport._process.pid, signal.SIGKILL)
    await wait_status(services.jobs, job.id, "failed", timeout=20)
    scripted_model.release()
    assert services.jobs.get(job.id).resumable
    services.jobs.follow_up(job.id, "what was the code word?")
    await wait_status(services.jobs, job.id, "idle")
    assert "The code word is lantern." in assistant_texts(scripted_model.requests[-1])


async def test_missing_api_key_fails_with_instructions(services_factory, project_factory, scripted_model,
                                                       monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    services = services_factory(anthropic_api_key=None)
    job = services.jobs.submit(project_factory(services).id, "hello")
    job = services.jobs.get(job.id)
    assert job.status == "failed" and job.error == NO_CREDENTIALS
    assert "ANTHROPIC_API_KEY" in NO_CREDENTIALS and ".env" in NO_CREDENTIALS
    assert scripted_model.requests == [], "no CLI was started"


async def test_rejected_api_key_fails_with_a_clear_message(services, project, scripted_model):
    scripted_model.add_error(401, "invalid x-api-key")
    job = services.jobs.submit(project.id, "hello")
    await wait_status(services.jobs, job.id, "failed", timeout=20)
    assert "authentication failed" in services.jobs.get(job.id).error
    assert not services.jobs.is_live(job.id)


async def test_bad_images_are_refused_with_clear_errors(services, project, scripted_model):
    cases = [
        ([Image("image/png", PNG_1PX + b"\0" * MAX_IMAGE_BYTES, "huge.png")], "5 MB"),
        ([Image("image/png", PNG_1PX, f"{i}.png") for i in range(11)], "At most 10"),
        ([Image("image/bmp", b"BM....", "old.bmp")], "not supported"),
        ([Image("image/jpeg", PNG_1PX, "liar.jpg")], "not a valid JPEG"),
        ([Image("image/png", PNG_1PX + b"\0" * (4 * 1024 * 1024), f"{i}.png") for i in range(5)], "20 MB"),
    ]
    for images, message in cases:
        with pytest.raises(UserError, match=message):
            services.jobs.submit(project.id, "look", images)
    assert services.jobs.list() == [], "a refused submission creates no job"
    job = services.jobs.submit(project.id, "hello")
    await wait_status(services.jobs, job.id, "idle")
    with pytest.raises(UserError):
        services.jobs.follow_up(job.id, "look", cases[0][0])
    errors = [e for e in services.jobs.events(job.id) if e["kind"] == "error"]
    assert errors and "5 MB" in errors[-1]["message"]
    assert services.jobs.get(job.id).status == "idle", "the job is untouched"


async def test_oversized_and_empty_prompts_are_refused(services, project):
    with pytest.raises(UserError, match="limit"):
        services.jobs.submit(project.id, "x" * 600_000)
    with pytest.raises(UserError, match="empty"):
        services.jobs.submit(project.id, "   ")
    with pytest.raises(UserError):
        services.jobs.submit(project.id, "hi", mode="forever")
    with pytest.raises(UserError):
        services.jobs.submit(project.id, "hi", permission_mode="yolo")
    assert services.jobs.list() == []
