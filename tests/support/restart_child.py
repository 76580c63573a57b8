"""The server half of tests/core/test_restart_e2e.py: puts jobs in every live state, then waits to be killed.

Run as ``python -m tests.support.restart_child PROJECTS_ROOT`` from the repository root, with the
environment of the ``claude_env`` fixture (HOME, ANTHROPIC_BASE_URL pointing at the test's
ScriptedModel, ...). The test process scripts the model: it answers the prompts below by
content, and holds the answer to ``RUNNING_PROMPT`` open (``hang=True``) so that job stays
mid-turn.

The child builds Services like the server does (with one running slot), creates a project and
five jobs:

* ``running``   - an isolated job (its own worktree and branch: the project is a git repository)
  whose turn is in flight (the model never answers), its prompt already in the CLI's own session
  transcript (the CLI writes it some 60 ms after sending the request; a process killed before
  that leaves a session id with nothing to resume);
* ``queued``    - a job waiting for the running slot, never started;
* ``session``   - a session (mode="session") idle after one finished turn, its CLI alive;
* ``idle_job``  - a one-shot job idle after its turn, inside its grace period, its CLI alive;
* ``completed`` - a job that finished a turn and was completed ("Complete Now").

When all four are in that state it prints one JSON line on stdout::

    {"ready": true, "project_id": ..., "jobs": {"running": id, ...}, "events": {id: [event, ...]}}

where ``events`` is every event it had stored for each job, and then sleeps until killed.
Anything unexpected is printed as ``{"error": ...}`` and the child exits with status 1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

RUNNING_PROMPT = "restart-test: a long task that is still running"
SESSION_PROMPT = "restart-test: remember that the session word is kestrel"
IDLE_JOB_PROMPT = "restart-test: an idle one-shot job"
COMPLETED_PROMPT = "restart-test: a job that gets completed"
QUEUED_PROMPT = "restart-test: a job still waiting for a slot"

REPLIES = {
    SESSION_PROMPT: "Noted: the session word is kestrel.",
    IDLE_JOB_PROMPT: "Idle job reply.",
    COMPLETED_PROMPT: "Completed job reply.",
}

READY_TIMEOUT_S = 120.0


async def _wait(what: str, predicate, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def main(projects_root: Path) -> int:
    from claude_agent_sdk import get_session_messages

    from core.services import Services
    from core.settings import Settings

    settings = Settings(projects_root=projects_root, anthropic_api_key=os.environ["ANTHROPIC_API_KEY"],
                        anthropic_base_url=os.environ["ANTHROPIC_BASE_URL"], max_running_jobs=1)
    services = Services.create(settings)
    services.start()
    jobs = services.jobs
    try:
        project = services.projects.create("restart")
        services.workspaces.git(project.id).init(first_commit=True)
        ids: dict[str, str] = {}

        def status(name: str) -> str:
            return jobs.get(ids[name]).status

        def settled(name: str, wanted: str):
            def check() -> bool:
                broken = [f"{n}: {jobs.get(i).error}" for n, i in ids.items() if jobs.get(i).status == "failed"]
                if broken:
                    raise RuntimeError(f"a job failed in the child: {'; '.join(broken)}")
                return status(name) == wanted
            return check

        def prompt_persisted(name: str):
            """The CLI's own transcript holds the job's prompt (the CLI keeps our message uuid)."""
            prompt_uuid = jobs.events(ids[name])[0]["uuid"]

            def check() -> bool:
                session_id = jobs.get(ids[name]).session_id
                directory = str(jobs.isolation.directory(jobs.get(ids[name])))
                return bool(session_id) and any(
                    m.uuid == prompt_uuid for m in get_session_messages(session_id, directory=directory))
            return check

        # One slot: these run one after the other, in this order.
        ids["completed"] = jobs.submit(project.id, COMPLETED_PROMPT).id
        ids["idle_job"] = jobs.submit(project.id, IDLE_JOB_PROMPT).id
        ids["session"] = jobs.submit(project.id, SESSION_PROMPT, mode="session").id
        ids["running"] = jobs.submit(project.id, RUNNING_PROMPT, isolated=True).id
        await _wait("the completed job's turn", settled("completed", "idle"))
        jobs.complete(ids["completed"])
        await _wait("the completed job to complete", settled("completed", "completed"))
        await _wait("the idle job's turn", settled("idle_job", "idle"))
        await _wait("the session's turn", settled("session", "idle"))
        await _wait("the running job's turn to start", settled("running", "running"))
        await _wait("the running job's prompt in the CLI transcript", prompt_persisted("running"))
        ids["queued"] = jobs.submit(project.id, QUEUED_PROMPT).id
        assert status("queued") == "queued", status("queued")
        for name in ("idle_job", "session", "running"):
            assert jobs.is_live(ids[name]), f"{name} should have a live CLI"
        snapshot = {job_id: jobs.events(job_id) for job_id in ids.values()}
        print(json.dumps({"ready": True, "pid": os.getpid(), "project_id": project.id, "jobs": ids,
                          "events": snapshot}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        await services.shutdown()
        return 1
    await asyncio.Event().wait()  # until kill -9
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s child %(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
