"""Names, archiving, subagents and scheduled work (B2, C11, D2's data, G5's promotion rule)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import Conflict, UserError
from core.settings import SettingsError, load_settings
from tests.support.helpers import wait_status, wait_until
from tests.support.scripted_model import text, tool_results, tool_use, user_texts


async def test_rename_archive_and_restore_a_job(services, project, scripted_model):
    job = services.jobs.submit(project.id, "hello")
    await wait_status(services.jobs, job.id, "idle")
    services.jobs.rename(job.id, "  Greeting  ")
    assert services.jobs.get(job.id).name == "Greeting"
    with pytest.raises(UserError):
        services.jobs.rename(job.id, "")
    await services.jobs.archive(job.id)
    assert services.jobs.get(job.id).status == "archived" and not services.jobs.is_live(job.id)
    assert job.id not in [j.id for j in services.jobs.list(project.id)]
    assert job.id in [j.id for j in services.jobs.list(project.id, include_archived=True)]
    with pytest.raises(Conflict):
        services.jobs.follow_up(job.id, "still there?")
    services.jobs.restore(job.id)
    restored = services.jobs.get(job.id)
    assert restored.status == "completed" and restored.resumable
    assert len(services.jobs.events(job.id)) > 3, "archiving deletes nothing"


async def test_archiving_a_project_stops_its_live_jobs(services, project, scripted_model):
    scripted_model.add_response(text("working"), hang=True)
    running = services.jobs.submit(project.id, "long", mode="session")
    await wait_until(lambda: len(scripted_model.requests) == 1, what="request")
    await services.archive_project(project.id)
    scripted_model.release()
    assert services.projects.get(project.id).archived
    assert services.jobs.get(running.id).status == "completed"
    assert not services.jobs.is_live(running.id)
    assert Path(project.path).is_dir(), "nothing is deleted"
    with pytest.raises(Conflict):
        services.jobs.submit(project.id, "more")
    services.restore_project(project.id)
    assert project.id in [p.id for p in services.projects.list()]


async def test_rename_project_keeps_its_directory(services, project):
    services.projects.rename(project.id, "Renamed")
    assert services.projects.get(project.id).name == "Renamed"
    assert Path(services.projects.get(project.id).path).name == "project-0"


async def test_edit_tool_changes_the_file_and_is_recorded(services, project, scripted_model):
    target = Path(project.path) / "app.py"
    target.write_text("print('hello')\n")
    scripted_model.add_response(tool_use("Read", {"file_path": str(target)}))
    scripted_model.add_response(tool_use("Edit", {"file_path": str(target), "old_string": "hello",
                                                  "new_string": "world"}))
    scripted_model.add_response(text("Edited."))
    job = services.jobs.submit(project.id, "edit app.py", permission_mode="acceptEdits")
    await wait_status(services.jobs, job.id, "idle")
    assert target.read_text() == "print('world')\n"
    assert services.jobs.get(job.id).files_touched == [str(target)]


async def test_subagent_work_is_tied_to_its_task_call(services, project, scripted_model):
    task = tool_use("Task", {"description": "Count files", "prompt": "Count the files here.",
                             "subagent_type": "general-purpose"})

    def route(body):  # the subagent and the main agent ask the model concurrently
        if "Count the files here." in user_texts(body):
            return [text("There are no files.")]
        return [text("Main agent done.")] if tool_results(body) else [task]

    for _ in range(5):
        scripted_model.add_response(route)
    job = services.jobs.submit(project.id, "delegate", permission_mode="bypassPermissions")
    await wait_until(lambda: any(e["kind"] == "task" and e.get("subtype") == "task_notification"
                                 for e in services.jobs.events(job.id)), what="subagent to finish")
    await wait_status(services.jobs, job.id, "idle")
    stored = services.jobs.events(job.id)
    nested = [e for e in stored if e.get("parent_tool_use_id") == task.id]
    assert any(e["kind"] == "assistant" and e["block"].get("text") == "There are no files." for e in nested)
    notice = next(e for e in stored if e["kind"] == "task" and e.get("subtype") == "task_notification")
    assert notice["tool_use_id"] == task.id and notice["status"] == "completed"
    assert "There are no files." in notice["summary"]


async def test_a_job_that_schedules_work_becomes_a_session(services, project, scripted_model):
    scripted_model.add_response(tool_use("CronCreate", {"cron": "*/5 * * * *", "prompt": "check the build",
                                                        "recurring": True, "durable": True}))
    scripted_model.add_response(text("Scheduled."))
    job = services.jobs.submit(project.id, "check the build every 5 minutes", permission_mode="bypassPermissions")
    await wait_status(services.jobs, job.id, "idle")
    job = services.jobs.get(job.id)
    assert job.mode == "session" and job.grace_deadline is None
    tasks_file = Path(project.path) / ".claude" / "scheduled_tasks.json"
    # Durable tasks land on disk, where the cron panel reads them.
    assert "check the build" in json.dumps(json.loads(tasks_file.read_text()))


def test_settings_come_from_flags_environment_and_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=4000\nANTHROPIC_API_KEY=from-file\nMAX_RUNNING_JOBS=2\n")
    settings = load_settings(["--max-running-jobs", "7"], env={"PORT": "4100"}, dotenv_path=dotenv)
    assert settings.port == 4100 and settings.anthropic_api_key == "from-file"
    assert settings.max_running_jobs == 7 and settings.host == "127.0.0.1"
    assert settings.projects_root.is_absolute()
    with pytest.raises(SettingsError, match="PORT"):
        load_settings([], env={"PORT": "eighty"}, dotenv_path=None)
    with pytest.raises(SettingsError):
        load_settings([], env={"MAX_RUNNING_JOBS": "0"}, dotenv_path=None)


async def test_a_session_holding_session_only_cron_tasks_is_never_hibernated(services, project, scripted_model):
    scripted_model.add_response(tool_use("CronCreate", {"cron": "*/5 * * * *", "prompt": "ping", "recurring": True}))
    scripted_model.add_response(text("Scheduled for this session."))
    job = services.jobs.submit(project.id, "ping every 5 minutes", permission_mode="bypassPermissions")
    await wait_status(services.jobs, job.id, "idle")
    assert services.jobs.liveness.hibernate_idle(older_than_s=0) == []
    assert services.jobs.is_live(job.id)
