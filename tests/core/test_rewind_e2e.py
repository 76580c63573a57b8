"""Restore files to before a user message (spec L3), with the real CLI's file checkpoints and real files.

Two turns change files with Claude's own edit tools; restoring to before the second puts the
first turn's state back on disk, exactly. It works on a live session, after hibernation, after a
server restart and in an isolated job's worktree, and it says why when it cannot.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from core import events
from core.errors import Conflict, NotFound, UserError
from core.models import Job, JobStatus, new_id
from tests.support.helpers import wait_status, wait_until
from tests.support.scripted_model import text, tool_use

ORIGINAL = "first line\nsecond line\n"


def _script_two_turns(model, folder: dict[str, Path]) -> None:
    """Turn 1 writes a.txt; turn 2 edits a.txt and creates b.txt. `folder["path"]` is read when asked,
    so an isolated job's worktree can be named once it is known."""
    model.add_response(lambda _: [text("Writing a.txt."), tool_use("Write", {
        "file_path": str(folder["path"] / "a.txt"), "content": "turn one\nsecond line\n"})])
    model.add_response(text("Done with turn one."))
    model.add_response(lambda _: [text("Editing."), tool_use("Edit", {
        "file_path": str(folder["path"] / "a.txt"), "old_string": "turn one", "new_string": "turn two"}),
        tool_use("Write", {"file_path": str(folder["path"] / "b.txt"), "content": "made in turn two\n"})])
    model.add_response(text("Done with turn two."))


async def _two_turns(services, project, model, *, mode: str = "session", folder: Path | None = None, **options):
    where = {"path": folder or Path(project.path)}
    (where["path"] / "a.txt").write_text(ORIGINAL)
    _script_two_turns(model, where)
    job = services.jobs.submit(project.id, "change a.txt", mode=mode, permission_mode="acceptEdits", **options)
    if job.worktree:
        where["path"] = Path(job.worktree)
    await wait_until(lambda: services.jobs.get(job.id).turns >= 1 and services.jobs.get(job.id).status == "idle",
                     timeout=90, what="turn one")
    services.jobs.follow_up(job.id, "now edit it again and add b.txt")
    await wait_until(lambda: services.jobs.get(job.id).turns >= 2 and services.jobs.get(job.id).status == "idle",
                     timeout=60, what="turn two")
    assert (where["path"] / "a.txt").read_text() == "turn two\nsecond line\n"
    assert (where["path"] / "b.txt").read_text() == "made in turn two\n"
    return services.jobs.get(job.id), where["path"]


def _user_seqs(services, job_id: str) -> list[int]:
    return [e["seq"] for e in services.jobs.events(job_id) if e["kind"] == events.USER and not e.get("echoed")]


async def _restore_to_before_turn_two(services, job_id: str, folder: Path) -> None:
    second = _user_seqs(services, job_id)[1]
    plan = await services.jobs.rewinds.rewind(job_id, second, dry_run=True)
    assert plan.can_rewind and plan.error is None, plan
    assert plan.files == ["a.txt", "b.txt"] and plan.insertions >= 1 and plan.deletions >= 1
    assert (folder / "a.txt").read_text() == "turn two\nsecond line\n", "a dry run changes nothing"
    done = await services.jobs.rewinds.rewind(job_id, second, dry_run=False)
    assert done.can_rewind and done.files == ["a.txt", "b.txt"]
    assert (folder / "a.txt").read_text() == "turn one\nsecond line\n"
    assert not (folder / "b.txt").exists(), "a file made after the message is removed"
    recorded = [e for e in services.jobs.events(job_id) if e["kind"] == events.REWIND]
    assert len(recorded) == 1 and recorded[0]["user_seq"] == second
    assert recorded[0]["files"] == ["a.txt", "b.txt"] and recorded[0]["user_text"] == "now edit it again and add b.txt"


async def _conversation_goes_on(services, job_id: str, model) -> None:
    turns = services.jobs.get(job_id).turns
    model.add_response(text("Still here after the restore."))
    services.jobs.follow_up(job_id, "are you still there?")
    await wait_until(lambda: services.jobs.get(job_id).turns > turns and services.jobs.get(job_id).status == "idle",
                     timeout=60, what="the follow-up")
    history = " ".join(model.user_texts(model.requests[-1]))
    assert "change a.txt" in history and "are you still there?" in history, "the conversation was kept"


async def test_restore_files_to_before_a_message_in_a_live_session(services, project, scripted_model):
    job, folder = await _two_turns(services, project, scripted_model)
    first = _user_seqs(services, job.id)[0]
    earlier = await services.jobs.rewinds.rewind(job.id, first, dry_run=True)
    assert earlier.can_rewind and earlier.files == ["a.txt", "b.txt"]
    await _restore_to_before_turn_two(services, job.id, folder)
    await _conversation_goes_on(services, job.id, scripted_model)
    await services.jobs.rewinds.rewind(job.id, first, dry_run=False)
    assert (folder / "a.txt").read_text() == ORIGINAL, "back to before the first message too"


async def test_restore_after_hibernation_resumes_the_session(services, project, scripted_model):
    job, folder = await _two_turns(services, project, scripted_model)
    assert services.jobs.liveness.hibernate_idle(older_than_s=0) == [job.id]
    await wait_until(lambda: job.id not in services.jobs.live, what="the CLI released")
    requests = len(scripted_model.requests)
    await _restore_to_before_turn_two(services, job.id, folder)
    assert services.jobs.is_live(job.id) and not services.jobs.get(job.id).hibernated
    assert len(scripted_model.requests) == requests, "re-attaching to restore asks the model nothing"
    await _conversation_goes_on(services, job.id, scripted_model)


async def test_restore_after_a_server_restart(services_factory, project_factory, scripted_model):
    services = services_factory()
    project = project_factory(services)
    job, folder = await _two_turns(services, project, scripted_model, mode="job")
    await services.shutdown()
    restarted = services_factory()
    assert restarted.jobs.get(job.id).status == "completed"
    await _restore_to_before_turn_two(restarted, job.id, folder)
    assert restarted.jobs.get(job.id).status == "idle", "the job's session was re-attached to restore"
    await _conversation_goes_on(restarted, job.id, scripted_model)


async def test_restore_in_an_isolated_job_works_in_its_worktree(services, project, scripted_model, monkeypatch):
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Rewind Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "rewind@example.com")
    main = Path(project.path)
    (main / "a.txt").write_text(ORIGINAL)
    services.workspaces.git(project.id).init(first_commit=True)
    job, folder = await _two_turns(services, project, scripted_model, folder=main, isolated=True)
    assert folder != main and folder == Path(job.worktree)
    await _restore_to_before_turn_two(services, job.id, folder)
    assert (main / "a.txt").read_text() == ORIGINAL and not (main / "b.txt").exists(), "the main checkout is untouched"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True).stdout
    assert "a.txt" in status and "b.txt" not in status


async def test_restore_is_refused_clearly(services, project, scripted_model):
    job, _ = await _two_turns(services, project, scripted_model)
    assistant = next(e["seq"] for e in services.jobs.events(job.id) if e["kind"] == events.ASSISTANT)
    with pytest.raises(NotFound, match="no message #9999"):
        await services.jobs.rewinds.rewind(job.id, 9999, dry_run=True)
    with pytest.raises(UserError, match="your own messages"):
        await services.jobs.rewinds.rewind(job.id, assistant, dry_run=True)
    # A message Claude Code never received has no checkpoint: the answer says so, and nothing is recorded.
    stray = services.jobs.emit(job, events.make(events.USER, text="never sent", uuid=str(uuid.uuid4())))
    answer = await services.jobs.rewinds.rewind(job.id, stray["seq"], dry_run=False)
    assert not answer.can_rewind and "no file checkpoint" in answer.error
    assert not any(e["kind"] == events.REWIND for e in services.jobs.events(job.id))

    scripted_model.add_response(text("Thinking for a long while", chunk=4, delay=0.05, stall=True))
    services.jobs.follow_up(job.id, "take your time")
    await wait_status(services.jobs, job.id, "running")
    with pytest.raises(Conflict, match="wait for the turn to end"):
        await services.jobs.rewinds.rewind(job.id, _user_seqs(services, job.id)[0], dry_run=True)
    await services.jobs.stop(job.id)
    await wait_status(services.jobs, job.id, "idle")

    await services.jobs.archive(job.id)
    with pytest.raises(Conflict, match="archived"):
        await services.jobs.rewinds.rewind(job.id, _user_seqs(services, job.id)[0], dry_run=True)


async def test_a_job_without_a_conversation_cannot_reach_checkpoints(services, project):
    legacy = Job(id=new_id(), project_id=project.id, name="legacy", prompt="an old request",
                 status=JobStatus.COMPLETED)
    services.jobs.add_imported_job(legacy, [events.make(events.USER, text="an old request", uuid=str(uuid.uuid4()))])
    with pytest.raises(Conflict, match="no resumable conversation"):
        await services.jobs.rewinds.rewind(legacy.id, 1, dry_run=True)
    assert legacy.id not in services.jobs.live, "nothing was started"
