"""Job names are the CLI's session names (spec N5): after a turn the CLI's own session list shows the job's
name, and renaming the job renames the session, as `claude --resume` in a terminal would show it."""

from __future__ import annotations

from claude_agent_sdk import get_session_info, list_sessions

from tests.support.helpers import wait_status, wait_until
from tests.support.scripted_model import text


async def test_the_cli_lists_the_session_under_the_job_name(services, project, scripted_model):
    scripted_model.add_response(text("Hello."))
    job = services.jobs.submit(project.id, "say hello", name="Greeting work")
    await wait_status(services.jobs, job.id, "idle", timeout=60)
    session_id = services.jobs.get(job.id).session_id

    def title() -> str | None:
        info = get_session_info(session_id, directory=project.path)
        return info.custom_title if info else None

    await wait_until(lambda: title() == "Greeting work", 10, "the session named after the job")
    services.jobs.rename(job.id, "Greetings, renamed")
    await wait_until(lambda: title() == "Greetings, renamed", 10, "the session renamed with the job")
    listed = {s.session_id: s.summary for s in list_sessions(directory=project.path)}
    assert listed[session_id] == "Greetings, renamed"
