"""Jobs and their live sessions: the state model of spec C2-C12.

The manager owns every job record, one `LiveSession` per job that has a live
channel, the grace timers, the concurrency scheduler and hibernation. Every
change to a job is persisted before it is published, so what a page or an API
client was told has already reached the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claude_agent_sdk import (
    ClaudeAgentOptions,
    ResultMessage,
    ToolUseBlock,
    get_session_info,
    get_session_messages,
)

from core import events
from core.claude_home import has_stored_login
from core.errors import Busy, Conflict, NotFound, UserError
from core.jobs.approvals import PERMISSION, PLAN, QUESTION, ApprovalBroker
from core.jobs.images import Image
from core.jobs.live_session import LiveSession, ResumeSpec
from core.jobs.prompts import Prompt
from core.jobs.scheduler import Scheduler
from core.models import EFFORT_LEVELS, FINISHED, PERMISSION_MODES, Job, JobMode, JobStatus, new_id, now
from core.projects import ProjectService
from core.settings import Settings

log = logging.getLogger(__name__)
# In modes that never ask, questions and plans still reach people through our PreToolUse hook.
warnings.filterwarnings("ignore", message="can_use_tool will not be invoked")

SHUTDOWN = "shutdown"  # a close that leaves the job's status for restart recovery
RESTART_MESSAGE = "Interrupted by a server restart."
PARTIAL_CHECKPOINT_S = 1.0  # how often a streaming reply is saved for the next start (spec C12)
NO_CREDENTIALS = ("No Anthropic credentials are configured. Set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN "
                  "for a subscription login) in the environment or in the .env file next to main.py, "
                  "then restart the server.")
FRESH_START_WARNING = ("This job has no resumable session, so this message starts a new conversation: "
                       "Claude will not see the earlier messages.")
AUTH_ERRORS = {"authentication_failed": "The API rejected the credentials (authentication failed). "
                                        "Check ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN.",
               "billing_error": "The API refused the request because of a billing problem on the account."}
MAX_BUFFER_BYTES = 64 * 1024 * 1024
CRON_TOOLS = {"CronCreate"}


def job_name(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "") or "Image prompt"
    return first if len(first) <= 60 else first[:57].rstrip() + "..."


def _shown_blocks(partial: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The text and thinking blocks of a streaming reply that show something, in order."""
    return [{"type": block.get("type") or "text", "text": block["text"]} for _, block in sorted(partial.items())
            if block.get("type") in (None, "text", "thinking") and str(block.get("text") or "").strip()]


class SessionManager:
    def __init__(self, settings: Settings, store, logs, hub, projects: ProjectService) -> None:
        self.settings = settings
        self.store = store
        self.logs = logs
        self.hub = hub
        self.projects = projects
        self.scheduler = Scheduler(settings.max_running_jobs)
        self.approvals = ApprovalBroker(
            {QUESTION: settings.question_timeout_s, PLAN: settings.plan_timeout_s,
             PERMISSION: settings.permission_timeout_s}, self._emit_approval)
        self.jobs: dict[str, Job] = {j["id"]: Job.from_dict(j) for j in store.jobs()}
        self.live: dict[str, LiveSession] = {}
        self._grace_timers: dict[str, asyncio.TimerHandle] = {}
        self._partial_saved: dict[str, float] = {}  # job id -> when its streaming reply was last saved
        self._partial_timers: dict[str, asyncio.TimerHandle] = {}
        self._ending: dict[str, asyncio.Task] = {}
        self._sweeper: asyncio.Task | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def recover(self) -> None:
        """After a restart no CLI is alive: say so honestly on every job that thought it was."""
        for job_id in self.logs.jobs_with_partial():  # replies that were streaming when the process died
            blocks = self.logs.take_partial(job_id)
            if job_id in self.jobs:
                self._keep_interrupted(self.jobs[job_id], _shown_blocks(dict(enumerate(blocks))))
        for job in self.jobs.values():
            if job.status in (JobStatus.RUNNING, JobStatus.QUEUED):
                self._forget_lost_session(job)
                self._set_status(job, JobStatus.FAILED, error=RESTART_MESSAGE, finished=True)
                self._warn_if_last_prompt_lost(job)
            elif job.status == JobStatus.IDLE:
                if job.mode == JobMode.SESSION and job.session_id:
                    job.hibernated = True
                    job.grace_deadline = None
                    self._save(job)
                else:
                    self._set_status(job, JobStatus.COMPLETED, finished=True, reason="server restarted")

    def _warn_if_last_prompt_lost(self, job: Job) -> None:
        """The CLI saves a prompt a few ms after sending it; a crash in between loses it silently."""
        if not job.session_id:
            return
        last = next((e for e in reversed(self.logs.log(job.id).read_before(10**12, 500))
                     if e["kind"] == events.USER and not e.get("echoed")), None)
        if last is None or not last.get("uuid"):
            return
        try:
            saved = {m.uuid for m in get_session_messages(job.session_id,
                                                          directory=self.projects.get(job.project_id).path)}
        except Exception:
            log.exception("reading session %s failed", job.session_id)
            return
        if last["uuid"] not in saved:
            self._emit(job, events.make(events.WARNING, message=(
                "Your last message did not reach Claude's saved conversation before the restart; "
                "send it again if you still need it."), lost_prompt_uuid=last["uuid"]))

    def start_background(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def shutdown(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()
        for timer in self._grace_timers.values():
            timer.cancel()
        sessions = list(self.live.values())
        for session in sessions:
            session.close(SHUTDOWN, "server shutting down")
        await asyncio.gather(*(s.task for s in sessions if s.task), return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, max(1.0, self.settings.hibernate_after_s / 4)))
            self.hibernate_idle()

    def hibernate_idle(self, older_than_s: float | None = None) -> list[str]:
        """Release the CLI process of sessions idle a long time; the next message re-attaches."""
        limit = self.settings.hibernate_after_s if older_than_s is None else older_than_s
        cutoff = time.monotonic() - limit
        released = []
        for job_id, session in list(self.live.items()):
            if self._can_hibernate(job_id, session) and session.last_activity <= cutoff:
                session.close("hibernate", "hibernated after a long idle time")
                released.append(job_id)
        return released

    def _can_hibernate(self, job_id: str, session: LiveSession) -> bool:
        job = self.jobs[job_id]
        return (job.status == JobStatus.IDLE and session.connected and not session.closing
                and not session.turn_active and not session.prompts and bool(job.session_id)
                and not session.holds_session_crons and not self.approvals.pending(job_id))

    def make_room(self, job_id: str | None = None) -> None:
        """Spec J5: at most `max_live_sessions` live sessions (each a ~220 MB CLI process, or about to be).

        Beyond it the longest-idle session is hibernated (it re-attaches on its next message, C10);
        when none can be, the new work is refused now with a clear error rather than queued: a
        live-session slot frees only when someone closes a session, so a queue could wait unseen
        for hours. Jobs below the cap still queue for a running slot as C9 says.
        """
        others = [(s.last_activity, jid, s) for jid, s in self.live.items() if jid != job_id and not s.closing]
        if len(others) < self.settings.max_live_sessions:
            return
        idle = sorted((entry for entry in others if self._can_hibernate(entry[1], entry[2])),
                      key=lambda entry: entry[0])
        if idle:
            idle[0][2].close("hibernate", "released to make room for another session")
            return
        raise Busy(f"All {self.settings.max_live_sessions} live sessions are busy (running, queued or waiting "
                   "for an answer). Wait for one to finish, or close a session, then try again.")

    # -- queries -------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise NotFound(f"No job with id {job_id!r}.") from None

    def list(self, project_id: str | None = None, include_archived: bool = False,
             status: str | None = None) -> list[Job]:
        jobs = [j for j in list(self.jobs.values())  # a copy: worker threads list jobs too (cron, search)
                if (project_id is None or j.project_id == project_id)
                and (include_archived or j.status != JobStatus.ARCHIVED)
                and (status is None or j.status == status)]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def is_live(self, job_id: str) -> bool:
        session = self.live.get(job_id)
        return bool(session and session.connected and not session.closing)

    def live_info(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        session = self.live.get(job_id)
        return {"live": self.is_live(job_id), "turn_active": bool(session and session.turn_active),
                "queued_prompts": [p.text for p in session.prompts] if session else [],
                "queue_position": self.scheduler.position(job_id),
                "grace_deadline": job.grace_deadline, "hibernated": job.hibernated,
                "partial": [{"index": i, **b} for i, b in sorted(session.partial.items())] if session else [],
                "slash_commands": self.slash_commands(job_id)}

    def slash_commands(self, job_id: str) -> list[dict[str, Any]]:
        session = self.live.get(job_id)
        info = session.server_info if session else None
        return list((info or {}).get("commands") or [])

    def events(self, job_id: str, after_seq: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        self.get(job_id)
        return self.logs.log(job_id).read(after_seq, limit)

    def events_before(self, job_id: str, before_seq: int, limit: int) -> list[dict[str, Any]]:
        self.get(job_id)
        return self.logs.log(job_id).read_before(before_seq, limit)

    def follow(self, job_id: str, listener: Callable[[dict[str, Any]], None],
               after_seq: int = 0) -> tuple[list[dict[str, Any]], Callable[[], None]]:
        """The stored events after `after_seq`, then every new one through `listener`.

        Reading and subscribing happen with no await in between, so nothing is
        missed or delivered twice.
        """
        backlog = self.events(job_id, after_seq)
        return backlog, self.hub.subscribe(job_id, listener)

    # -- submitting ----------------------------------------------------------------------

    def submit(self, project_id: str, text: str, images: list[Image] | None = None, *,
               mode: str = JobMode.JOB, model: str | None = None, permission_mode: str | None = None,
               thinking_tokens: int | None = None, effort: str | None = None,
               name: str | None = None) -> Job:
        project = self.projects.get(project_id)
        if project.archived:
            raise Conflict(f"Project {project.name!r} is archived; restore it first.")
        prompt = Prompt(text, list(images or []))
        self.make_room()
        job = Job(id=new_id(), project_id=project_id, name=(name or "").strip()[:200] or job_name(text),
                  prompt=text, model=model or self.settings.default_model,
                  permission_mode=permission_mode or self.settings.default_permission_mode)
        self._apply_settings(job, mode=mode, thinking_tokens=thinking_tokens, effort=effort,
                             permission_mode=job.permission_mode)
        # The log first, then the record: a crash in between leaves an orphan log nobody sees,
        # never a job whose transcript lacks its first message (J4).
        self._emit(job, prompt.event())
        self.jobs[job.id] = job
        self._save(job)
        self._start_session(job, prompt)
        return job

    def follow_up(self, job_id: str, text: str, images: list[Image] | None = None) -> Job:
        job = self.get(job_id)
        try:
            prompt = Prompt(text, list(images or []))
        except UserError as exc:
            self._emit(job, events.make(events.ERROR, message=f"Follow-up refused: {exc}"))
            raise
        if job.status == JobStatus.ARCHIVED:
            raise Conflict("This job is archived; restore it before sending a follow-up.")
        session = self.live.get(job_id)
        if session and not session.closing and session.needs_reconnect and not session.turn_active:
            session.close("hibernate", "settings changed")
        if session and not session.closing:
            self._cancel_grace(job, save=False)  # saved with the turn's running status a moment later
            if session.turn_active or session.prompts or not session.connected:
                self._emit(job, events.make(events.PROMPT_QUEUED, text=prompt.text, uuid=prompt.uuid,
                                            images=[i.summary() for i in prompt.images]))
                prompt.queued = True
            else:
                self._emit(job, prompt.event())
            session.enqueue(prompt)
            return job
        if session and session.closing:
            # Its task is ending; continue once it has, from the session it leaves behind.
            asyncio.create_task(self._follow_up_after(session, prompt))
            self._emit(job, prompt.event())
            return job
        self.make_room(job_id)
        self._emit(job, prompt.event())
        self._resume_with(job, prompt)
        return job

    async def _follow_up_after(self, session: LiveSession, prompt: Prompt) -> None:
        if session.task:
            with contextlib.suppress(BaseException):
                await session.task
        job = self.jobs[session.job.id]
        current = self.live.get(job.id)
        if current:
            current.enqueue(prompt)
        else:
            self._resume_with(job, prompt)

    def has_conversation(self, job: Job) -> bool:
        """Whether the CLI kept a transcript to resume: a process killed early never writes one."""
        if not job.session_id:
            return False
        try:
            return get_session_info(job.session_id, directory=self.projects.get(job.project_id).path) is not None
        except Exception:  # an unreadable session file is as good as none
            log.exception("reading session %s failed", job.session_id)
            return False

    def _forget_lost_session(self, job: Job) -> None:
        if job.session_id and not self.has_conversation(job):
            job.session_id = None
            self._save(job)

    def _resume_with(self, job: Job, prompt: Prompt | None, warn: bool = True) -> None:
        """Start a live session on a job with none: resume its conversation when it has one."""
        self._forget_lost_session(job)
        if job.session_id:
            self._start_session(job, prompt, ResumeSpec(job.session_id))
        else:
            if warn:
                self._emit(job, events.make(events.WARNING, message=FRESH_START_WARNING))
            self._start_session(job, prompt)

    def retry(self, job_id: str) -> Job:
        """Send the original prompt again on the same record: for a job that failed before it began."""
        job = self.get(job_id)
        if job.status not in FINISHED or self.live.get(job_id):
            raise Conflict("Only a failed or completed job can be retried.")
        prompt = Prompt(job.prompt)
        self.make_room(job_id)
        self._emit(job, prompt.event())
        self._resume_with(job, prompt, warn=False)
        return job

    def _start_session(self, job: Job, prompt: Prompt | None, resume: ResumeSpec | None = None) -> None:
        error = self._preflight(job)
        if error:
            self._set_status(job, JobStatus.FAILED, error=error, finished=True)
            self._emit(job, events.make(events.ERROR, message=error))
            return
        self._cancel_grace(job)
        job.error = None
        job.hibernated = False
        session = LiveSession(self, job, resume)
        if prompt:
            session.enqueue(prompt)
            if not self.scheduler.reserve(job.id):
                self._set_status(job, JobStatus.QUEUED)
        self.live[job.id] = session
        session.start()

    def _preflight(self, job: Job) -> str | None:
        if not self.has_credentials():
            return NO_CREDENTIALS
        directory = Path(self.projects.get(job.project_id).path)
        if not directory.is_dir():
            return f"The project directory {directory} does not exist. Recreate it or point the project elsewhere."
        return None

    def has_credentials(self) -> bool:
        return self.settings.has_credentials or has_stored_login()

    # -- controls ------------------------------------------------------------------------

    async def stop(self, job_id: str) -> Job:
        """Interrupt the running turn; a job still waiting for a slot never starts."""
        job = self.get(job_id)
        session = self.live.get(job_id)
        if session is None or job.status not in (JobStatus.RUNNING, JobStatus.QUEUED):
            raise Conflict("Only a running or queued job can be stopped.")
        session.prompts.clear()
        if session.turn_active and await session.interrupt():
            return job
        session.close(JobStatus.FAILED if not job.session_id else JobStatus.COMPLETED,
                      "Stopped before it started.")
        return job

    def complete(self, job_id: str) -> Job:
        """Complete Now (jobs) and Close Session (sessions): end the live channel."""
        job = self.get(job_id)
        session = self.live.get(job_id)
        if job.status == JobStatus.IDLE and (session is None or job.hibernated):
            self._cancel_grace(job)
            self._set_status(job, JobStatus.COMPLETED, finished=True, reason="closed by the user")
            return job
        if session is None or job.status not in (JobStatus.IDLE, JobStatus.RUNNING, JobStatus.QUEUED):
            raise Conflict("This job has no live session to close.")
        session.prompts.clear()
        session.close(JobStatus.COMPLETED, "closed by the user")
        return job


    def pin(self, job_id: str) -> Job:
        """Pin as Session: the live job keeps its channel and stops counting down."""
        job = self.get(job_id)
        if job.mode == JobMode.SESSION:
            raise Conflict("This job is already a session.")
        if job.status not in (JobStatus.IDLE, JobStatus.RUNNING, JobStatus.QUEUED) or job_id not in self.live:
            raise Conflict("Only a live job can be pinned; use Resume as Session for a finished one.")
        self._cancel_grace(job)
        job.mode = JobMode.SESSION
        self._save(job)
        return job

    def resume_session(self, job_id: str) -> Job:
        """Resume as Session: re-attach a finished job's conversation as a live idle session."""
        job = self.get(job_id)
        if job.status not in FINISHED:
            raise Conflict("Only a completed or failed job can be resumed as a session.")
        self._forget_lost_session(job)
        if not job.session_id:
            raise Conflict("This job has no resumable conversation; send a follow-up to start a new one.")
        self.make_room(job_id)
        job.mode = JobMode.SESSION
        self._save(job)
        self._start_session(job, None, ResumeSpec(job.session_id))
        return job

    def rename(self, job_id: str, name: str) -> Job:
        job = self.get(job_id)
        name = (name or "").strip() if isinstance(name, str | None) else ""
        if not name or len(name) > 200 or "\x00" in name:
            raise UserError("A job name must be 1 to 200 characters.")
        job.name = name
        self._save(job)
        return job

    async def archive(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status == JobStatus.ARCHIVED:
            return job
        await self.end_live(job_id)
        job = self.get(job_id)
        self._cancel_grace(job)
        job.archived_from = job.status if job.status in FINISHED else JobStatus.COMPLETED
        self._set_status(job, JobStatus.ARCHIVED)
        return job

    def restore(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status != JobStatus.ARCHIVED:
            raise Conflict("Only an archived job can be restored.")
        self._set_status(job, job.archived_from or JobStatus.COMPLETED)
        job.archived_from = None
        self._save(job)
        return job

    async def end_live(self, job_id: str) -> None:
        session = self.live.get(job_id)
        if session is None:
            return
        session.prompts.clear()
        session.close(JobStatus.COMPLETED, "archived")
        if session.task:
            with contextlib.suppress(BaseException):
                await session.task

    async def update_settings(self, job_id: str, *, model: str | None = None,
                              permission_mode: str | None = None, thinking_tokens: int | None = None,
                              effort: str | None = None, clear: tuple[str, ...] = ()) -> Job:
        """Change model, permission mode, thinking or effort; live sessions pick them up between turns."""
        job = self.get(job_id)
        if model is not None and not isinstance(model, str):  # the API checks types; a UI event may not
            raise UserError("The model must be given by name.")
        before = (job.thinking_tokens, job.effort)
        if model is not None or "model" in clear:
            job.model = (model or "").strip() or None
        self._apply_settings(job, permission_mode=permission_mode,
                             thinking_tokens=thinking_tokens, effort=effort, clear=clear)
        self._save(job)
        session = self.live.get(job_id)
        if session and session.connected and not session.closing:
            if model is not None or "model" in clear:
                await session.set_model(job.model)
            if permission_mode:
                await session.set_permission_mode(job.permission_mode)
            if (job.thinking_tokens, job.effort) != before:
                session.needs_reconnect = True
        return job

    def _apply_settings(self, job: Job, *, mode: str | None = None, permission_mode: str | None = None,
                        thinking_tokens: int | None = None, effort: str | None = None,
                        clear: tuple[str, ...] = ()) -> None:
        if mode is not None:
            if mode not in (JobMode.JOB, JobMode.SESSION):
                raise UserError("mode must be 'job' or 'session'.")
            job.mode = JobMode(mode)
        if permission_mode is not None:
            if permission_mode not in PERMISSION_MODES:
                raise UserError(f"permission_mode must be one of {', '.join(PERMISSION_MODES)}.")
            job.permission_mode = permission_mode
        if thinking_tokens is not None:
            if not isinstance(thinking_tokens, int) or thinking_tokens < 0 or \
                    0 < thinking_tokens < 1024 or thinking_tokens > 128_000:
                raise UserError("thinking_tokens must be 0 (off) or between 1024 and 128000.")
            job.thinking_tokens = thinking_tokens
        if effort is not None:
            if effort not in EFFORT_LEVELS:
                raise UserError(f"effort must be one of {', '.join(EFFORT_LEVELS)}.")
            job.effort = effort
        if "thinking_tokens" in clear:
            job.thinking_tokens = None
        if "effort" in clear:
            job.effort = None

    def add_imported_job(self, job: Job, history: list[dict[str, Any]]) -> Job:
        """Record a finished job built elsewhere (a CLI session imported from disk) with its transcript."""
        if job.id in self.jobs:
            raise Conflict(f"A job with id {job.id!r} already exists.")
        self.projects.get(job.project_id)
        self.jobs[job.id] = job
        log_ = self.logs.log(job.id)
        log_.append_many([{**event, "seq": log_.last_seq() + i} for i, event in enumerate(history, start=1)])
        self._save(job)
        return job

    # -- fork and edit -------------------------------------------------------------------

    def fork(self, job_id: str, at_seq: int, text: str, images: list[Image] | None = None) -> Job:
        """A new job whose conversation is the parent's up to the turn ending at or after `at_seq`."""
        parent = self.get(job_id)
        history = self.events(job_id)
        cut = self._turn_end_at(history, at_seq)
        if cut is None:
            raise UserError("Fork from a finished assistant turn.")
        return self._branch(parent, history, cut, text, images)

    def edit_resend(self, job_id: str, user_seq: int, text: str, images: list[Image] | None = None) -> Job:
        """A new job whose conversation is the parent's before that user message, then the new text."""
        parent = self.get(job_id)
        history = self.events(job_id)
        target = next((e for e in history if e["seq"] == user_seq and e["kind"] == events.USER), None)
        if target is None:
            raise UserError("Choose one of your own messages to edit.")
        earlier = [e for e in history if e["seq"] < user_seq and e["kind"] == events.RESULT]
        cut = earlier[-1]["seq"] if earlier else None
        return self._branch(parent, history, cut, text, images)

    @staticmethod
    def _turn_end_at(history: list[dict[str, Any]], at_seq: int) -> int | None:
        for event in history:
            if event["seq"] >= at_seq and event["kind"] == events.RESULT and not event.get("is_error"):
                return event["seq"]
        return None

    @staticmethod
    def _last_assistant_uuid(history: list[dict[str, Any]], up_to_seq: int) -> str | None:
        for event in reversed(history):
            if event["seq"] <= up_to_seq and event["kind"] == events.ASSISTANT and event.get("uuid") \
                    and not event.get("parent_tool_use_id"):
                return event["uuid"]
        return None

    def _branch(self, parent: Job, history: list[dict[str, Any]], cut_seq: int | None, text: str,
                images: list[Image] | None) -> Job:
        prompt = Prompt(text, list(images or []))
        self.make_room()
        resume = None
        if cut_seq is not None:
            uuid = self._last_assistant_uuid(history, cut_seq)
            if not parent.session_id or not uuid:
                raise Conflict("The parent job has no resumable session to branch from.")
            resume = ResumeSpec(parent.session_id, fork=True, at_message_uuid=uuid)
        job = Job(id=new_id(), project_id=parent.project_id, name=job_name(text), prompt=text,
                  mode=parent.mode, model=parent.model, permission_mode=parent.permission_mode,
                  thinking_tokens=parent.thinking_tokens, effort=parent.effort,
                  parent_job_id=parent.id, fork_seq=cut_seq or 0)
        if cut_seq:  # the log first, as in submit
            self.logs.copy(parent.id, job.id, cut_seq)
        self._emit(job, events.make(events.SYSTEM, subtype="forked", parent_job_id=parent.id,
                                    parent_seq=cut_seq or 0))
        self._emit(job, prompt.event())
        self.jobs[job.id] = job
        self._save(job)
        self._start_session(job, prompt, resume)
        return job

    # -- SessionHost callbacks -----------------------------------------------------------

    def build_options(self, session: LiveSession) -> ClaudeAgentOptions:
        job = session.job
        env = self.settings.cli_env()
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env["IS_SANDBOX"] = "1"  # the CLI refuses bypassPermissions as root without it
        waits = (self.settings.question_timeout_s, self.settings.plan_timeout_s)
        options = ClaudeAgentOptions(
            cwd=self.projects.get(job.project_id).path,
            include_partial_messages=True,
            forward_subagent_text=True,  # subagents' own text, nested under their Task call
            permission_mode=job.permission_mode,  # type: ignore[arg-type]
            model=job.model,
            can_use_tool=session.can_use_tool,
            hooks=session.hooks(max(waits) + 60),  # type: ignore[arg-type]
            env=env,
            max_buffer_size=MAX_BUFFER_BYTES,
            stderr=session.on_stderr,
        )
        if job.thinking_tokens == 0:
            options.thinking = {"type": "disabled"}
        elif job.thinking_tokens:
            options.thinking = {"type": "enabled", "budget_tokens": job.thinking_tokens}
        if job.effort:
            options.effort = job.effort  # type: ignore[assignment]
        if session.resume:
            options.resume = session.resume.session_id
            options.fork_session = session.resume.fork
            options.resume_session_at = session.resume.at_message_uuid
        return options

    async def acquire_slot(self, session: LiveSession) -> None:
        job = session.job
        if not self.scheduler.reserve(job.id):
            self._set_status(job, JobStatus.QUEUED)
            await self.scheduler.acquire(job.id)

    def on_connected(self, session: LiveSession) -> None:
        job = session.job
        if session.resume and session.resume.fork:
            session.resume = ResumeSpec(job.session_id) if job.session_id else None
        if not session.prompts and not session.turn_active:
            self._become_idle(job)

    def on_turn_start(self, session: LiveSession, prompt: Prompt) -> None:
        job = session.job
        if prompt.queued:
            self._emit(job, prompt.event(was_queued=True))
        self._cancel_grace(job, save=False)  # the status save below records it
        if job.started_at is None:
            job.started_at = now()
        job.finished_at = None
        self._set_status(job, JobStatus.RUNNING)

    def on_unasked_turn(self, session: LiveSession) -> None:
        self._cancel_grace(session.job)
        self._set_status(session.job, JobStatus.RUNNING)

    def on_session_id(self, session: LiveSession, session_id: str) -> None:
        job = session.job
        if job.session_id != session_id:
            job.session_id = session_id
            self._save(job)

    def on_event(self, session: LiveSession, event: dict[str, Any]) -> None:
        job = session.job
        if event["kind"] == events.ASSISTANT and event.get("error") in AUTH_ERRORS:
            event = {**event, "error_message": AUTH_ERRORS[event["error"]]}
        self._emit(job, event)
        if event["kind"] == events.ASSISTANT and not event.get("parent_tool_use_id"):
            self._drop_partial_checkpoint(job.id)  # the message is stored whole: the checkpoint is stale

    def on_live_event(self, session: LiveSession, event: dict[str, Any]) -> None:
        event["seq"] = self.logs.log(session.job.id).last_seq()
        self.hub.publish(session.job.id, event)
        self._checkpoint_partial(session)

    # -- streamed text that never completes (spec C12: nothing people saw is lost) --------------

    def _checkpoint_partial(self, session: LiveSession) -> None:
        """Keep what is streaming on disk, at most about once a second and at the latest a second after
        the last delta, for the next start if this process dies."""
        job_id = session.job.id
        if job_id in self._partial_timers:
            return  # a save is already due, and it will take what has arrived by then
        wait = PARTIAL_CHECKPOINT_S - (time.monotonic() - self._partial_saved.get(job_id, -PARTIAL_CHECKPOINT_S))
        if wait <= 0:
            self._save_partial(session)
        else:
            self._partial_timers[job_id] = asyncio.get_running_loop().call_later(wait, self._save_partial, session)

    def _save_partial(self, session: LiveSession) -> None:
        job_id = session.job.id
        self._partial_timers.pop(job_id, None)
        blocks = _shown_blocks(session.partial)
        if not blocks:
            return
        self._partial_saved[job_id] = time.monotonic()
        try:
            self.logs.save_partial(job_id, blocks)
        except OSError as exc:  # a full disk must not stop the stream
            log.warning("could not checkpoint the streaming reply of %s: %s", job_id, exc)

    def _drop_partial_checkpoint(self, job_id: str) -> None:
        timer = self._partial_timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()
        if self._partial_saved.pop(job_id, None) is not None:
            self.logs.drop_partial(job_id)

    def on_partial_left(self, session: LiveSession) -> None:
        """A turn or session ended with text still streaming (Stop, a dead CLI, a shutdown): keep it."""
        self._keep_interrupted(session.job, _shown_blocks(session.partial))
        session.partial.clear()
        self._drop_partial_checkpoint(session.job.id)

    def _keep_interrupted(self, job: Job, blocks: list[dict[str, Any]]) -> None:
        for block in blocks:
            text = str(block.get("text") or "")
            shown = {"type": "thinking", "thinking": text} if block.get("type") == "thinking" else \
                {"type": "text", "text": text}
            self._emit(job, events.make(events.ASSISTANT, block=shown, message_id=None, uuid=None,
                                        parent_tool_use_id=None, model=None, error=None, interrupted=True))

    def on_tool_use(self, session: LiveSession, block: ToolUseBlock) -> None:
        job = session.job
        if block.name in CRON_TOOLS and not (block.input or {}).get("durable"):
            session.holds_session_crons = True  # they live only in this CLI process: never hibernate it
        if block.name in CRON_TOOLS and job.mode != JobMode.SESSION:
            job.mode = JobMode.SESSION  # spec G5: a job that schedules work must stay alive to run it
            self._cancel_grace(job)
            self._save(job)

    def on_file_touched(self, session: LiveSession, path: str) -> None:
        job = session.job
        if path not in job.files_touched and len(job.files_touched) < 10_000:
            job.files_touched.append(path)
            self._save(job)

    def on_always_allow(self, session: LiveSession, tool_name: str) -> None:
        job = session.job
        if tool_name not in job.always_allow:
            job.always_allow.append(tool_name)
            self._save(job)

    def on_turn_end(self, session: LiveSession, result: ResultMessage, cost: float) -> None:
        job = session.job
        self.scheduler.release(job.id)
        session.holds_slot = False
        job.cost_usd = round(job.cost_usd + cost, 6)
        usage = result.usage or {}
        job.input_tokens += int(usage.get("input_tokens") or 0)
        job.output_tokens += int(usage.get("output_tokens") or 0)
        job.turns += 1
        if session.closing:
            self._save(job)
            return
        interrupted = result.subtype == "error_during_execution" or \
            getattr(result, "terminal_reason", None) in ("aborted_streaming", "aborted_tools")
        if result.is_error and not interrupted:
            message = self._result_error(session, result)
            self._emit(job, events.make(events.ERROR, message=message))
            session.close(JobStatus.FAILED, message)
            job.error = message
            self._save(job)
            return
        if session.prompts:
            self._save(job)
            return  # the next queued prompt goes out at once; the job stays running
        if session.needs_reconnect:
            session.close("hibernate", "settings changed")
        self._become_idle(job, reason="stopped by the user" if interrupted else None)

    def _result_error(self, session: LiveSession, result: ResultMessage) -> str:
        detail = "; ".join(result.errors or []) or (result.result or "")
        recent = self.logs.log(session.job.id).read_before(10**12, 20)
        for event in reversed(recent):
            if event.get("kind") == events.ASSISTANT and event.get("error"):
                known = AUTH_ERRORS.get(event["error"])
                text = (event.get("block") or {}).get("text") or ""
                return known or text or f"The API returned an error ({event['error']})."
        return detail or f"The turn failed ({result.subtype})."

    def on_session_end(self, session: LiveSession, error: str | None) -> None:
        job = session.job
        self.on_partial_left(session)
        if self.live.get(job.id) is session:
            del self.live[job.id]
        if session.holds_slot or self.scheduler.position(job.id) is not None:
            self.scheduler.release(job.id)
        session.holds_slot = False
        self.approvals.cancel_job(job.id, "The session ended.")
        if session.close_status == SHUTDOWN:
            # Leave the status as it was: the next start's recovery says honestly what became of it.
            self._save(job)
            return
        if session.close_status == "hibernate" and not error:
            job.hibernated = True
            if session.needs_reconnect and session.prompts:
                self._restart(job, session)
                return
            self._save(job)
            self.hub.publish_global({"kind": "job", "job": job.to_dict(), "live": False})
            return
        if error and not session.closing:
            self._forget_lost_session(job)
            self._emit(job, events.make(events.ERROR, message=error))
            self._set_status(job, JobStatus.FAILED, error=error, finished=True)
            return
        target = session.close_status or (JobStatus.FAILED if error else JobStatus.COMPLETED)
        if job.status != JobStatus.ARCHIVED:
            failure = (job.error or session.close_reason or error) if target == JobStatus.FAILED else None
            self._set_status(job, target, finished=True, reason=session.close_reason or None, error=failure)

    def _restart(self, job: Job, old: LiveSession) -> None:
        session = LiveSession(self, job, ResumeSpec(job.session_id) if job.session_id else None)
        session.prompts.extend(old.prompts)
        self.live[job.id] = session
        session.start()

    # -- state changes -------------------------------------------------------------------

    def _become_idle(self, job: Job, reason: str | None = None) -> None:
        """Idle, with a one-shot job's grace countdown armed: one save records both (it is a hot path)."""
        self._cancel_grace(job, save=False)
        if job.mode == JobMode.JOB:
            delay = self.settings.grace_period_s
            job.grace_deadline = time.time() + delay
            self._grace_timers[job.id] = asyncio.get_running_loop().call_later(delay, self._grace_expired, job.id)
        self._set_status(job, JobStatus.IDLE, reason=reason)

    def _grace_expired(self, job_id: str) -> None:
        self._grace_timers.pop(job_id, None)
        job = self.jobs.get(job_id)
        if job and job.status == JobStatus.IDLE and job.mode == JobMode.JOB:
            session = self.live.get(job_id)
            if session:
                session.close(JobStatus.COMPLETED, "grace period ended")
            else:
                self._set_status(job, JobStatus.COMPLETED, finished=True, reason="grace period ended")

    def _cancel_grace(self, job: Job, save: bool = True) -> None:
        timer = self._grace_timers.pop(job.id, None)
        if timer:
            timer.cancel()
        if job.grace_deadline is not None:
            job.grace_deadline = None
            if save:
                self._save(job)

    def _set_status(self, job: Job, status: str, *, error: str | None = None, finished: bool = False,
                    reason: str | None = None) -> None:
        previous = job.status
        job.status = JobStatus(status)
        if error is not None or status != JobStatus.FAILED:
            job.error = error
        if finished:
            job.finished_at = now()
            job.grace_deadline = None
        self._save(job)
        if previous != job.status or reason:
            self._emit(job, events.make(events.STATUS, status=job.status.value, previous=str(previous),
                                        reason=reason, error=job.error))

    def _save(self, job: Job) -> None:
        job.updated_at = now()
        # Running and idle are rewritten by restart recovery whatever the disk says, so their
        # saves need atomicity (a kill -9 is survived) but not an fsync (a power cut).
        transient = job.status in (JobStatus.RUNNING, JobStatus.IDLE, JobStatus.QUEUED)
        self.store.save_job(job.to_dict(), durable=not transient)
        self.hub.publish_global({"kind": "job", "job": job.to_dict(), "live": self.is_live(job.id)})

    def _emit(self, job: Job, event: dict[str, Any]) -> dict[str, Any]:
        log_ = self.logs.log(job.id)
        event["seq"] = log_.last_seq() + 1
        log_.append(event)
        self.hub.publish(job.id, event)
        return event

    def _emit_approval(self, job_id: str, event: dict[str, Any]) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        self._emit(job, events.make(event.pop("kind"), **event))
        self.hub.publish_global({"kind": "approvals", "job_id": job_id,
                                 "pending": len(self.approvals.pending())})
