"""Jobs and their live sessions: the state model of spec C2-C12 (`services.jobs`).

The manager is what pages and the API call: submit, follow up, stop, close, fork, change
settings. It owns one `LiveSession` per job that has a live channel. The rest is kept
by concern:
records and logs (`records`), what session reports do to a job (`reports`), how long
sessions stay (`liveness`), what the CLI kept of a conversation and what a restart finds
(`conversations`), replies cut short (`checkpoints`), branches (`branching`), a job's own
settings (`job_settings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from core import events
from core.claude_home import has_stored_login
from core.errors import Conflict, UserError
from core.jobs import branching
from core.jobs.approvals import PERMISSION, PLAN, QUESTION, ApprovalBroker
from core.jobs.budgets import Budgets, checked_budget
from core.jobs.checkpoints import PartialCheckpoints
from core.jobs.conversations import Conversations
from core.jobs.images import Image
from core.jobs.isolation import JobIsolation
from core.jobs.job_settings import apply_settings
from core.jobs.live_inspection import LiveInspection
from core.jobs.live_session import LiveSession, ResumeSpec, SessionSetup
from core.jobs.liveness import HIBERNATE, Liveness
from core.jobs.prompts import Prompt, job_name
from core.jobs.records import JobRecords
from core.jobs.reports import SHUTDOWN, SessionReports
from core.jobs.rewind import Rewinds
from core.jobs.runner import LocalRunner, Runner
from core.jobs.scheduler import Scheduler
from core.jobs.session_names import SessionNames
from core.jobs.warm_pool import WarmPool
from core.models import FINISHED, Job, JobMode, JobStatus, new_id
from core.projects import ProjectService
from core.settings import Settings
from core.usage import UsageLedger
from core.workspace.worktrees import Worktrees

log = logging.getLogger(__name__)
# In modes that never ask, questions and plans still reach people through our PreToolUse hook.
warnings.filterwarnings("ignore", message="can_use_tool will not be invoked")

USAGE_LOAD_AFTER_S = 2.0  # seconds after start: the first pages come first

NO_CREDENTIALS = ("No Anthropic credentials are configured. Set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN "
                  "for a subscription login) in the environment or in the .env file next to main.py, "
                  "then restart the server.")
FRESH_START_WARNING = ("This job has no resumable session, so this message starts a new conversation: "
                       "Claude will not see the earlier messages.")


class JobManager(JobRecords):
    def __init__(self, settings: Settings, store, logs, hub, projects: ProjectService) -> None:
        super().__init__(store, logs, hub)
        self.settings = settings
        self.projects = projects
        self.scheduler = Scheduler(settings.max_running_jobs)
        self.approvals = ApprovalBroker(
            {QUESTION: settings.question_timeout_s, PLAN: settings.plan_timeout_s,
             PERMISSION: settings.permission_timeout_s}, self._emit_approval)
        self.local_runner = LocalRunner()
        # Spec O1: where sessions' CLIs come from. Isolated jobs (a fresh worktree each) start their own.
        self.runner: Runner = self.local_runner
        # Spec O2: RUNNER=ray puts every new job on its own branch, in a clone on a machine of the cluster.
        self.remote_runner: Runner | None = None
        if settings.runner == "ray":
            from core.cluster.runner import RayRunner  # Ray only when configured

            self.remote_runner = RayRunner(settings.ray_address, settings.ray_agent_cpus, settings.ray_agent_memory_mb,
                                           git_at=lambda path: self.isolation.git_at(path))
        elif settings.warm_pool_size > 0:
            self.runner = WarmPool(self.local_runner, settings.warm_pool_size, settings.warm_pool_ttl_s,
                                   room=lambda: self.liveness.spare_room())
        self.liveness = Liveness(self, settings, self.approvals, self.runner)
        self.checkpoints = PartialCheckpoints(self)
        self.usage = UsageLedger(settings.state_dir / "usage", self)  # spec N1: each turn's cost and tokens
        self.budgets = Budgets(self)  # spec N3
        self.inspect = LiveInspection(self)  # a live job's context window and MCP servers (spec N2, N4)
        self.isolation = JobIsolation(self, Worktrees(settings.state_dir))
        self.conversations = Conversations(self, self.isolation.directory)
        self.session_names = SessionNames(self.isolation.directory)  # spec N5: job names in `claude --resume`
        self.reports = SessionReports(self)
        self.rewinds = Rewinds(self)

    # -- lifecycle -----------------------------------------------------------------------

    def recover(self) -> None:
        self.conversations.recover(self.checkpoints)
        self.isolation.report_missing()

    def start_background(self) -> None:
        self.liveness.start()
        if self.remote_runner is not None:
            self._reclaiming = asyncio.get_running_loop().create_task(self.reclaim_remote())
        # The usage summary is read before anyone asks for it, after the first pages, off the loop.
        loading = threading.Timer(USAGE_LOAD_AFTER_S, self.usage.load)
        loading.daemon = True
        loading.start()

    async def reclaim_remote(self) -> None:
        """Spec O2: agents still running on the cluster from before a restart hand their work back and end;
        their jobs say so (recovery has already told them the restart interrupted them)."""
        def worktree(job_id: str) -> str | None:
            job = self.jobs.get(job_id)
            return job.worktree if job is not None and job.isolated and job.worktree else None

        def report(job_id: str, state: dict[str, Any], problem: str | None) -> None:
            job = self.jobs[job_id]
            if state.get("session_id") and not job.session_id:
                job.session_id = state["session_id"]
                self.save(job)
            where = state.get("where") or "the cluster"
            self.emit(job, events.make(events.SYSTEM, subtype="reclaimed", message=(
                f"After the server restarted, this job's Claude Code was still running on {where}. It was stopped "
                f"and what it had done is back on the branch {job.branch} and in its conversation: send a message "
                "to continue.")))
            if problem:
                self.emit(job, events.make(events.WARNING, message=problem))

        try:
            await self.remote_runner.reclaim(worktree, report)  # type: ignore[union-attr]
        except Exception as exc:  # the cluster is unreachable: jobs stay as recovery left them
            log.warning("Agents left on the Ray cluster could not be reclaimed: %s", exc)

    async def shutdown(self) -> None:
        self.liveness.stop()
        sessions = list(self.live.values())
        for session in sessions:
            session.close(SHUTDOWN, "server shutting down")
        await asyncio.gather(*(s.task for s in sessions if s.task), return_exceptions=True)
        await self.runner.close()
        await self.session_names.settle()

    # -- queries -------------------------------------------------------------------------

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

    def has_credentials(self) -> bool:
        return self.settings.has_credentials or has_stored_login()

    # -- submitting ----------------------------------------------------------------------

    def submit(self, project_id: str, text: str, images: list[Image] | None = None, *,
               mode: str = JobMode.JOB, model: str | None = None, permission_mode: str | None = None,
               thinking_tokens: int | None = None, effort: str | None = None,
               name: str | None = None, isolated: bool | None = None, base: str | None = None,
               budget_usd: float | None = None, over_budget: bool = False) -> Job:
        """A new job. `isolated`: in a worktree and branch of its own (default: the project's choice), started
        from `base` (default: the project's current branch). `budget_usd`: its cost cap; `over_budget`: start
        even though the project's monthly budget is used up (spec N3)."""
        project = self.projects.get(project_id)
        if project.archived:
            raise Conflict(f"Project {project.name!r} is archived; restore it first.")
        prompt = Prompt(text, list(images or []))
        budget_usd = checked_budget(budget_usd, "A job's budget")
        isolate = project.isolate_jobs if isolated is None else isolated
        isolate = isolate or self.remote_runner is not None
        self.liveness.make_room(directory=None if isolate else str(self.projects.directory(project_id)))
        job = Job(id=new_id(), project_id=project_id, name=(name or "").strip()[:200] or job_name(text),
                  prompt=text, model=model or self.settings.default_model,
                  permission_mode=permission_mode or self.settings.default_permission_mode)
        apply_settings(job, mode=mode, thinking_tokens=thinking_tokens, effort=effort,
                       permission_mode=job.permission_mode)
        job.budget_usd = budget_usd
        self.budgets.guard(job, over_budget)
        if isolate:
            self.isolation.set_up(job, base, remote=self.remote_runner is not None)
        self.add(job, prompt.event())
        self._start_session(job, prompt)
        return job

    def follow_up(self, job_id: str, text: str, images: list[Image] | None = None, *,
                  over_budget: bool = False) -> Job:
        """A message to the job; `over_budget`: send it even though a budget is used up (spec N3)."""
        job = self.get(job_id)
        try:
            prompt = Prompt(text, list(images or []))
        except UserError as exc:
            self.emit(job, events.make(events.ERROR, message=f"Follow-up refused: {exc}"))
            raise
        if job.status == JobStatus.ARCHIVED:
            raise Conflict("This job is archived; restore it before sending a follow-up.")
        self.budgets.guard(job, over_budget)
        session = self.live.get(job_id)
        if session and not session.closing and session.needs_reconnect and not session.turn_active:
            session.close(HIBERNATE, "settings changed")
        if session and not session.closing:
            self.liveness.cancel_grace(job, save=False)  # saved with the turn's running status a moment later
            if session.at_rest:
                self.emit(job, prompt.event())
            else:
                self.emit(job, events.make(events.PROMPT_QUEUED, text=prompt.text, uuid=prompt.uuid,
                                           images=[i.summary() for i in prompt.images]))
                prompt.queued = True
            session.enqueue(prompt)
            return job
        if session and session.closing:
            # Its task is ending; continue once it has, from the session it leaves behind.
            asyncio.create_task(self._follow_up_after(session, prompt))
            self.emit(job, prompt.event())
            return job
        self.liveness.make_room(job_id)
        self.emit(job, prompt.event())
        self.resume_with(job, prompt)
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
            self.resume_with(job, prompt)

    def resume_with(self, job: Job, prompt: Prompt | None, warn: bool = True) -> None:
        """Start a live session on a job with none: resume its conversation when it has one."""
        self.conversations.forget_if_lost(job)
        if job.session_id:
            self._start_session(job, prompt, ResumeSpec(job.session_id))
        else:
            if warn:
                self.emit(job, events.make(events.WARNING, message=FRESH_START_WARNING))
            self._start_session(job, prompt)

    def retry(self, job_id: str) -> Job:
        """Send the original prompt again on the same record: for a job that failed before it began."""
        job = self.get(job_id)
        if job.status not in FINISHED or self.live.get(job_id):
            raise Conflict("Only a failed or completed job can be retried.")
        prompt = Prompt(job.prompt)
        self.budgets.guard(job)
        self.liveness.make_room(job_id)
        self.emit(job, prompt.event())
        self.resume_with(job, prompt, warn=False)
        return job

    def warm_up(self, project_id: str) -> None:
        """Someone is about to start a job in the project (its page is open): a CLI for a job with the default
        settings is made ready (spec O1), when the pool is on and a job could start there now."""
        if self.runner is self.local_runner:
            return  # no pool: nothing is started ahead
        project = self.projects.get(project_id)
        if project.archived or project.isolate_jobs or self._preflight(project_id) is not None:
            return
        job = Job(id="warm-up", project_id=project_id, name="", prompt="", model=self.settings.default_model,
                  permission_mode=self.settings.default_permission_mode)
        self.runner.expect(self.new_session(job).options())

    def new_session(self, job: Job, resume: ResumeSpec | None = None) -> LiveSession:
        """A live session for `job`, not started: the CLI runs in the project's folder with the server's
        Anthropic credentials, and may wait for a person's answer a minute longer than the longest wait."""
        env = self.settings.cli_env()
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env["IS_SANDBOX"] = "1"  # the CLI refuses bypassPermissions as root without it
        wait = max(self.settings.question_timeout_s, self.settings.plan_timeout_s) + 60
        runner = self.local_runner if job.isolated else self.runner  # a worktree of its own: nothing to share
        if job.isolated and self.remote_runner is not None:
            runner = self.remote_runner
        directory = self.isolation.directory(job)
        setup = SessionSetup(cwd=str(directory), env=env, approval_wait_s=wait, runner=runner,
                             max_budget_usd=self.budgets.cli_cap(job),
                             mcp_servers=self.inspect.mcp_servers(job, directory))
        return LiveSession(self.reports, job, setup, self.approvals, resume)

    def _start_session(self, job: Job, prompt: Prompt | None, resume: ResumeSpec | None = None) -> None:
        error = self._preflight(job.project_id)
        if error:
            self.set_status(job, JobStatus.FAILED, error=error, finished=True)
            self.emit(job, events.make(events.ERROR, message=error))
            return
        self.liveness.cancel_grace(job)
        job.error = None
        job.hibernated = False
        session = self.new_session(job, resume)
        if prompt:
            session.enqueue(prompt)
            if not self.scheduler.reserve(job.id):
                self.set_status(job, JobStatus.QUEUED)
        self.live[job.id] = session
        session.start()

    def _preflight(self, project_id: str) -> str | None:
        if not self.has_credentials():
            return NO_CREDENTIALS
        directory = Path(self.projects.get(project_id).path)
        if not directory.is_dir():
            return f"The project directory {directory} does not exist. Recreate it or point the project elsewhere."
        return None

    # -- controls ------------------------------------------------------------------------

    async def stop(self, job_id: str) -> Job:
        """Interrupt the running turn; a job still waiting for a slot never starts."""
        job = self.get(job_id)
        session = self.live.get(job_id)
        if session is None or job.status not in (JobStatus.RUNNING, JobStatus.QUEUED):
            raise Conflict("Only a running or queued job can be stopped.")
        session.drop_queued()
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
            self.liveness.cancel_grace(job)
            self.set_status(job, JobStatus.COMPLETED, finished=True, reason="closed by the user")
            return job
        if session is None or job.status not in (JobStatus.IDLE, JobStatus.RUNNING, JobStatus.QUEUED):
            raise Conflict("This job has no live session to close.")
        session.drop_queued()
        session.close(JobStatus.COMPLETED, "closed by the user")
        return job

    def pin(self, job_id: str) -> Job:
        """Pin as Session: the live job keeps its channel and stops counting down."""
        job = self.get(job_id)
        if job.mode == JobMode.SESSION:
            raise Conflict("This job is already a session.")
        if job.status not in (JobStatus.IDLE, JobStatus.RUNNING, JobStatus.QUEUED) or job_id not in self.live:
            raise Conflict("Only a live job can be pinned; use Resume as Session for a finished one.")
        self.liveness.cancel_grace(job)
        job.mode = JobMode.SESSION
        self.save(job)
        return job

    def resume_session(self, job_id: str) -> Job:
        """Resume as Session: re-attach a finished job's conversation as a live idle session."""
        job = self.get(job_id)
        if job.status not in FINISHED:
            raise Conflict("Only a completed or failed job can be resumed as a session.")
        self.conversations.forget_if_lost(job)
        if not job.session_id:
            raise Conflict("This job has no resumable conversation; send a follow-up to start a new one.")
        self.liveness.make_room(job_id)
        job.mode = JobMode.SESSION
        self.save(job)
        self._start_session(job, None, ResumeSpec(job.session_id))
        return job

    def rename(self, job_id: str, name: str) -> Job:
        job = self.get(job_id)
        name = (name or "").strip() if isinstance(name, str | None) else ""
        if not name or len(name) > 200 or "\x00" in name:
            raise UserError("A job name must be 1 to 200 characters.")
        job.name = name
        self.save(job)
        self.session_names.sync(job)
        return job

    async def archive(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status == JobStatus.ARCHIVED:
            return job
        await self.end_live(job_id)
        job = self.get(job_id)
        self.liveness.cancel_grace(job)
        job.archived_from = job.status if job.status in FINISHED else JobStatus.COMPLETED
        self.set_status(job, JobStatus.ARCHIVED)
        await self.isolation.remove_worktree(job)
        return job

    def restore(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.status != JobStatus.ARCHIVED:
            raise Conflict("Only an archived job can be restored.")
        self.set_status(job, job.archived_from or JobStatus.COMPLETED)
        job.archived_from = None
        self.save(job)
        return job

    async def end_live(self, job_id: str) -> None:
        session = self.live.get(job_id)
        if session is None:
            return
        session.drop_queued()
        session.close(JobStatus.COMPLETED, "archived")
        if session.task:
            with contextlib.suppress(BaseException):
                await session.task

    async def update_settings(self, job_id: str, *, model: str | None = None,
                              permission_mode: str | None = None, thinking_tokens: int | None = None,
                              effort: str | None = None, budget_usd: float | None = None,
                              clear: tuple[str, ...] = ()) -> Job:
        """Change model, permission mode, thinking, effort or the budget; live sessions pick them up between
        turns (a new budget when their CLI next starts)."""
        job = self.get(job_id)
        if model is not None and not isinstance(model, str):  # the API checks types; a UI event may not
            raise UserError("The model must be given by name.")
        budget_usd = checked_budget(budget_usd, "A job's budget")
        before = (job.thinking_tokens, job.effort, job.budget_usd)
        if budget_usd is not None or "budget_usd" in clear:
            job.budget_usd = budget_usd
        if model is not None or "model" in clear:
            job.model = (model or "").strip() or None
        apply_settings(job, permission_mode=permission_mode, thinking_tokens=thinking_tokens, effort=effort,
                       clear=clear)
        self.save(job)
        session = self.live.get(job_id)
        if session and session.connected and not session.closing:
            if model is not None or "model" in clear:
                await session.set_model(job.model)
            if permission_mode:
                await session.set_permission_mode(job.permission_mode)
            if (job.thinking_tokens, job.effort, job.budget_usd) != before:
                session.needs_reconnect = True  # given to the CLI when it starts
        return job

    def add_imported_job(self, job: Job, history: list[dict[str, Any]]) -> Job:
        self.projects.get(job.project_id)
        return super().add_imported_job(job, history)

    # -- fork and edit -------------------------------------------------------------------

    def fork(self, job_id: str, at_seq: int, text: str, images: list[Image] | None = None) -> Job:
        """A new job whose conversation is the parent's up to the turn ending at or after `at_seq`."""
        history = self.events(job_id)
        return self._branch(self.get(job_id), history, branching.fork_cut(history, at_seq), text, images)

    def edit_resend(self, job_id: str, user_seq: int, text: str, images: list[Image] | None = None) -> Job:
        """A new job whose conversation is the parent's before that user message, then the new text."""
        history = self.events(job_id)
        return self._branch(self.get(job_id), history, branching.edit_cut(history, user_seq), text, images)

    def _branch(self, parent: Job, history: list[dict[str, Any]], cut_seq: int | None, text: str,
                images: list[Image] | None) -> Job:
        prompt = Prompt(text, list(images or []))
        self.liveness.make_room()
        resume = branching.branch_resume(parent, history, cut_seq)
        job = branching.branch_job(parent, cut_seq, text)
        if parent.isolated:  # its own worktree, from the parent's branch
            self.isolation.set_up(job, parent=parent)
        if cut_seq:  # the log first, as in submit
            self.logs.copy(parent.id, job.id, cut_seq)
        self.add(job, branching.forked_event(parent, cut_seq), prompt.event())
        self._start_session(job, prompt, resume)
        return job

    def _emit_approval(self, job_id: str, event: dict[str, Any]) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        self.emit(job, events.make(event.pop("kind"), **event))
        self.hub.publish_global({"kind": "approvals", "job_id": job_id,
                                 "pending": len(self.approvals.pending())})
