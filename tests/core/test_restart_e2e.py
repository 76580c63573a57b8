"""A real kill -9 restart: a server process dies mid-turn and a new one picks up honestly (spec C10, C12, J4).

tests/support/restart_child.py builds Services in its own process (and process group), with the real
CLI talking to this test's ScriptedModel, and puts jobs in every state a server can die in:
running mid-turn, queued, idle session, idle one-shot job, completed. The test kills the whole
group with SIGKILL - the child and its CLI processes, no shutdown code runs - then builds
Services on the same PROJECTS_ROOT here and checks what the next server start sees.

The model is served from this process and answers by prompt (``_answer``), so the order in
which the child's jobs reach it does not matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.jobs.checkpoints import CHECKPOINT_EVERY_S
from core.jobs.conversations import RESTART_MESSAGE
from tests.support.helpers import assistant_texts, descendants, wait_status, wait_until
from tests.support.main_process import run_main
from tests.support.restart_child import (
    COMPLETED_PROMPT,
    IDLE_JOB_PROMPT,
    QUEUED_PROMPT,
    REPLIES,
    RUNNING_PROMPT,
    SESSION_PROMPT,
)
from tests.support.scripted_model import Response, text, user_texts
from tests.support.stream_follower import ShownText, kill_group

ROOT = Path(__file__).resolve().parents[2]
FOLLOW_UP_RUNNING = "restart-test: are you still there after the restart?"
FOLLOW_UP_SESSION = "restart-test: what was the session word?"
RESUMED_REPLIES = {
    FOLLOW_UP_RUNNING: "Back after the restart.",
    FOLLOW_UP_SESSION: "The session word was kestrel.",
}
PARTIAL_SEEN = "Half of the running job's reply had streamed when"
NEVER_SENT = "this reply is held back until the process is killed"
STEADY_PROMPT = "restart-test: a long reply, streamed steadily"
STEADY_REPLY = " ".join(f"word{i:04d}" for i in range(1500))  # 13,499 characters: some 17 s at the pace below
SHOWN_BEFORE_KILL = 1200  # characters on screen when the kill comes (some 1.5 s into the reply)
MAX_LOST_S = 0.1  # what may be lost: the reply's last 100 ms before the kill


def _answer(body: dict):
    """Answer by the prompt, whatever order the child's jobs reach the model in."""
    texts = user_texts(body)
    last = texts[-1] if texts else ""
    if RUNNING_PROMPT in last:  # streams half a sentence, then stalls until the process is killed
        return Response([text(PARTIAL_SEEN, stall=True), text(NEVER_SENT)])
    for prompt, reply in {**REPLIES, **RESUMED_REPLIES}.items():
        if prompt in last:
            return reply
    return f"unexpected request: {last[:200]!r}"


def _alive(pid: int) -> bool:
    """Running, sleeping or stopped; a zombie (killed, not yet reaped by its new parent) is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class Child:
    """tests/support/restart_child.py in its own session (so its process group is its own)."""

    def __init__(self, projects_root: Path, log_path: Path) -> None:
        env = dict(os.environ)  # the claude_env fixture has applied its variables here
        env.pop("PYTEST_CURRENT_TEST", None)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.restart_child", str(projects_root)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.decode(errors="replace"))
        self._lines.put(None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:]

    def ready(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the child was not ready within {timeout}s:\n{self.log()}") from None
            if line is None:
                raise AssertionError(f"the child exited ({self.proc.wait()}) before it was ready:\n{self.log()}")
            if line.startswith("{"):
                message = json.loads(line)
                assert "error" not in message, f"{message['error']}\n{self.log()}"
                return message

    def kill(self) -> None:
        """kill -9 the whole process group: the child and the CLIs it started."""
        with contextlib.suppress(ProcessLookupError):  # the group outlives a child that exited early
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()


async def test_kill_9_mid_turn_then_restart(claude_env, services_factory, scripted_model, tmp_path):
    for _ in range(12):  # more than the child and the test will ask; every request goes through _answer
        scripted_model.add_response(_answer)

    started = time.monotonic()
    child = Child(claude_env.projects_root, tmp_path / "child.log")
    try:
        ready = child.ready(timeout=150)
        ids: dict[str, str] = ready["jobs"]
        stored: dict[str, list[dict]] = ready["events"]
        # The running job's request is at the model, held open: the turn really is in flight.
        await wait_until(lambda: any(RUNNING_PROMPT in " ".join(user_texts(r)) for r in scripted_model.requests),
                         timeout=30, what="the running job's request at the model")
        # What streamed is kept for a crash as it streams (spec C12).
        def checkpointed() -> bool:
            return any(PARTIAL_SEEN in path.read_text(errors="replace")
                       for path in claude_env.projects_root.rglob(f"{ids['running']}.partial"))
        await wait_until(checkpointed, timeout=30, what="the running job's streamed text checkpointed")
        cli_pids = descendants(child.proc.pid)
        assert len(cli_pids) >= 3, f"expected the CLIs of 3 live jobs, found {cli_pids}"
        ready_s = time.monotonic() - started
    finally:
        child.kill()
    assert child.proc.returncode == -signal.SIGKILL
    await wait_until(lambda: not any(_alive(pid) for pid in cli_pids), timeout=10,
                     what=f"the CLI processes {sorted(p for p in cli_pids if _alive(p))} to die")
    requests_before_restart = len(scripted_model.requests)
    assert requests_before_restart == 4, [user_texts(r)[-1:] for r in scripted_model.requests]

    # The state files are intact JSON after the kill.
    state_dir = claude_env.projects_root / ".server" / "state"
    projects = json.loads((state_dir / "projects.json").read_text())["projects"]
    assert [p["id"] for p in projects.values()] == [ready["project_id"]]
    stored_jobs = {}
    for path in sorted((state_dir / "jobs").glob("shard-*.json")):
        stored_jobs.update({doc["id"]: doc for doc in json.loads(path.read_text()).get("jobs", {}).values()})
    assert set(stored_jobs) == set(ids.values())
    assert stored_jobs[ids["running"]]["status"] == "running", "the killed process had no chance to say otherwise"
    assert stored_jobs[ids["queued"]]["status"] == "queued"

    # --- the next server start
    services = services_factory()
    jobs = services.jobs
    project = services.projects.get(ready["project_id"])
    assert [p.id for p in services.projects.list()] == [project.id]
    assert {j.id for j in jobs.list(project.id)} == set(ids.values()), "every job is listed"

    running = jobs.get(ids["running"])
    assert running.status == "failed" and running.error == RESTART_MESSAGE
    assert running.session_id and running.resumable
    # The running job was isolated: its worktree and branch are intact and still its own.
    assert running.isolated and running.branch and Path(running.worktree, ".git").is_file()
    repo = services.workspaces.git(project.id)
    assert repo.git("show-ref", "--verify", f"refs/heads/{running.branch}")[0] == 0
    assert running.worktree in repo.git("worktree", "list", "--porcelain")[1]
    assert services.workspaces.directory(project.id, running.id) == Path(running.worktree)
    assert jobs.conversations.has_conversation(running), \
        "the CLI had written the prompt to its transcript before the kill"
    queued = jobs.get(ids["queued"])
    assert queued.status == "failed" and queued.error == RESTART_MESSAGE
    assert queued.session_id is None and not queued.resumable, "it never started: nothing to resume"
    session = jobs.get(ids["session"])
    assert session.status == "idle" and session.hibernated and session.session_id
    idle_job = jobs.get(ids["idle_job"])
    assert idle_job.status == "completed" and idle_job.resumable and idle_job.grace_deadline is None
    completed = jobs.get(ids["completed"])
    assert completed.status == "completed" and completed.resumable
    assert not any(jobs.is_live(i) for i in ids.values())

    # --- transcripts: everything the child stored is there, unchanged, seqs contiguous
    prompts = {"running": RUNNING_PROMPT, "queued": QUEUED_PROMPT, "session": SESSION_PROMPT,
               "idle_job": IDLE_JOB_PROMPT, "completed": COMPLETED_PROMPT}
    unanswered = ("running", "queued")
    for name, job_id in ids.items():
        recovered = jobs.events(job_id)
        assert [e["seq"] for e in recovered] == list(range(1, len(recovered) + 1)), name
        before = stored[job_id]
        assert recovered[:len(before)] == before, f"{name}: events the child stored changed or went missing"
        user = [e["text"] for e in recovered if e["kind"] == "user" and not e.get("echoed")]
        assert user == [prompts[name]], name
        replies = [e["block"]["text"] for e in recovered if e["kind"] == "assistant" and e["block"]["type"] == "text"]
        expected = {"running": [PARTIAL_SEEN], "queued": []}[name] if name in unanswered else [REPLIES[prompts[name]]]
        assert replies == expected, name
        if name == "running":  # what people saw before the kill, kept and marked as cut short
            assert [e.get("interrupted") for e in recovered if e["kind"] == "assistant"] == [True]
        assert NEVER_SENT not in json.dumps(recovered)
    for name in unanswered:
        last = jobs.events(ids[name])[-1]
        assert last["kind"] == "status" and last["status"] == "failed" and last["error"] == RESTART_MESSAGE
    last = jobs.events(ids["idle_job"])[-1]
    assert last["kind"] == "status" and last["status"] == "completed" and last["reason"] == "server restarted"
    assert jobs.events(ids["session"]) == stored[ids["session"]], "a hibernated session's log is left alone"
    assert jobs.events(ids["completed"]) == stored[ids["completed"]]

    # --- follow-ups resume with the conversation the killed process left behind
    jobs.follow_up(ids["running"], FOLLOW_UP_RUNNING)
    jobs.follow_up(ids["session"], FOLLOW_UP_SESSION)
    # The session is idle already (hibernated): wait for the turns, not for a status.
    await wait_until(lambda: jobs.get(ids["running"]).turns == 1 and jobs.get(ids["session"]).turns == 2,
                     timeout=60, what="the follow-up turns")
    await wait_status(jobs, ids["running"], "idle")
    await wait_status(jobs, ids["session"], "idle")
    assert jobs.get(ids["running"]).session_id == running.session_id
    assert jobs.get(ids["session"]).session_id == session.session_id
    after = scripted_model.requests[requests_before_restart:]
    assert len(after) == 2
    resumed_running = next(r for r in after if FOLLOW_UP_RUNNING in user_texts(r)[-1])
    resumed_session = next(r for r in after if FOLLOW_UP_SESSION in user_texts(r)[-1])
    assert any(RUNNING_PROMPT in t for t in user_texts(resumed_running)), user_texts(resumed_running)
    assert any(SESSION_PROMPT in t for t in user_texts(resumed_session)), user_texts(resumed_session)
    assert REPLIES[SESSION_PROMPT] in assistant_texts(resumed_session)
    for name, follow_up in (("running", FOLLOW_UP_RUNNING), ("session", FOLLOW_UP_SESSION)):
        history = jobs.events(ids[name])
        assert [e["seq"] for e in history] == list(range(1, len(history) + 1)), name
        assert history[:len(stored[ids[name]])] == stored[ids[name]]
        assert [e for e in history if e["kind"] == "warning"] == [], "resumed, not started afresh"
        replies = [e["block"]["text"] for e in history if e["kind"] == "assistant" and e["block"]["type"] == "text"]
        assert replies[-1] == RESUMED_REPLIES[follow_up]
    print(f"child ready after {ready_s:.1f}s")


async def test_kill_9_mid_reply_keeps_what_was_shown_until_100_ms_before(claude_env, services_factory,
                                                                        scripted_model, tmp_path):
    """Spec C12, strictly: `python main.py` streams a reply steadily (8 characters every 10 ms) to a client
    following the job's event stream; the server and its CLI are killed with SIGKILL at a moment between two
    writes. The next start stores the reply as interrupted, and it holds everything the client was shown
    up to 100 ms before the kill."""
    scripted_model.add_response(text(STEADY_REPLY, chunk=8, delay=0.01))
    with run_main(tmp_path / "server", claude_env.projects_root) as server:
        with server.bearer() as client:
            project = client.post("/api/projects", json={"name": "steady"}).json()
            job_id = client.post("/api/jobs", json={"project_id": project["id"], "prompt": STEADY_PROMPT}).json()["id"]
        shown = ShownText(server, job_id)
        try:
            shown.wait_for(SHOWN_BEFORE_KILL)
            await asyncio.sleep(random.uniform(0, CHECKPOINT_EVERY_S))  # anywhere between two writes
            killed_at = kill_group(server)
        finally:
            shown.close()
    must_keep = shown.shown_by(killed_at - MAX_LOST_S)
    assert must_keep >= SHOWN_BEFORE_KILL - 200 and STEADY_REPLY.startswith(shown.text)

    services = services_factory()  # the next start
    kept = [e for e in services.jobs.events(job_id) if e["kind"] == "assistant"]
    assert [e.get("interrupted") for e in kept] == [True], kept
    stored = kept[0]["block"]["text"]
    assert STEADY_REPLY.startswith(stored), "what was kept is the reply's beginning, unchanged"
    lost_s = killed_at - (shown.shown_when(len(stored) + 1) or killed_at)
    assert len(stored) >= must_keep, (f"{must_keep} characters were shown 100 ms before the kill, {len(stored)} kept "
                                      f"({len(shown.text)} shown at the kill; the last {lost_s * 1000:.0f} ms lost)")
