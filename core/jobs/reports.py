"""What becomes of a job when its live session reports: the `SessionHost` of every `LiveSession`.

A session says what happened (connected, a turn started or ended, an event, the session
ended); the job's status, cost, grace period, checkpoints and queue follow from it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import events, sdk
from core.jobs.live_session import CRON_TOOLS, LiveSession, ResumeSpec
from core.jobs.liveness import HIBERNATE
from core.jobs.prompts import Prompt
from core.models import Job, JobMode, JobStatus, now
from core.usage import TurnUsage

if TYPE_CHECKING:
    from core.jobs.manager import JobManager

SHUTDOWN = "shutdown"  # a close that leaves the job's status for restart recovery
AUTH_ERRORS = {"authentication_failed": "The API rejected the credentials (authentication failed). "
                                        "Check ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN.",
               "billing_error": "The API refused the request because of a billing problem on the account."}


class SessionReports:
    def __init__(self, jobs: JobManager) -> None:
        self.jobs = jobs

    async def prepare(self, session: LiveSession) -> None:
        await self.jobs.isolation.prepare(session.job)

    async def wait_for_slot(self, session: LiveSession) -> None:
        job = session.job
        if not self.jobs.scheduler.reserve(job.id):
            self.jobs.set_status(job, JobStatus.QUEUED)
            await self.jobs.scheduler.acquire(job.id)

    def on_connected(self, session: LiveSession) -> None:
        job = session.job
        if session.resume and session.resume.fork:
            session.resume = ResumeSpec(job.session_id) if job.session_id else None
        if not session.prompts and not session.turn_active:
            self.jobs.liveness.become_idle(job)

    def on_placement(self, session: LiveSession, waiting: str | None, where: str | None) -> None:
        """Spec O2: the cluster has no room for the job's CLI yet (`waiting`), or it runs on `where` now."""
        job = session.job
        if waiting is not None:
            if job.waiting_for is None:
                self.jobs.emit(job, events.make(events.SYSTEM, subtype="cluster_wait", message=waiting))
            job.waiting_for = waiting
            if job.status != JobStatus.QUEUED:
                self.jobs.set_status(job, JobStatus.QUEUED)
            else:
                self.jobs.save(job)
            return
        job.waiting_for = None
        if where:
            job.runs_on = where
            self.jobs.emit(job, events.make(events.SYSTEM, subtype="placed", where=where,
                                            message=f"Claude Code runs on {where}."))
        self.jobs.save(job)

    def on_turn_start(self, session: LiveSession, prompt: Prompt | None) -> None:
        job = session.job
        self.jobs.liveness.cancel_grace(job, save=prompt is None)  # a prompt's turn: the status save records it
        if prompt is None:  # a cron task or background agent started a turn nobody sent
            self.jobs.set_status(job, JobStatus.RUNNING)
            return
        if prompt.queued:
            self.jobs.emit(job, prompt.event(was_queued=True))
        if job.started_at is None:
            job.started_at = now()
        job.finished_at = None
        self.jobs.set_status(job, JobStatus.RUNNING)

    def on_event(self, session: LiveSession, event: dict[str, Any]) -> None:
        job = session.job
        if event["kind"] == events.SYSTEM and event.get("subtype") == "init" and event.get("session_id") \
                and job.session_id != event["session_id"]:
            job.session_id = event["session_id"]  # the CLI's resumable handle, kept as soon as it is known
            self.jobs.save(job)
        if event["kind"] == events.ASSISTANT and event.get("error") in AUTH_ERRORS:
            event = {**event, "error_message": AUTH_ERRORS[event["error"]]}
        self.jobs.emit(job, event)
        if event["kind"] == events.ASSISTANT:
            block = event.get("block") or {}
            if block.get("type") == "tool_use" and block.get("name") in CRON_TOOLS and job.mode != JobMode.SESSION:
                job.mode = JobMode.SESSION  # spec G5: a job that schedules work must stay alive to run it
                self.jobs.liveness.cancel_grace(job)
                self.jobs.save(job)
            if not event.get("parent_tool_use_id"):
                self.jobs.checkpoints.drop(job.id)  # the message is stored whole: the checkpoint is stale

    def on_live_event(self, session: LiveSession, event: dict[str, Any]) -> None:
        event["seq"] = self.jobs.logs.log(session.job.id).last_seq()
        self.jobs.hub.publish(session.job.id, event)
        self.jobs.checkpoints.checkpoint(session)

    def on_always_allow(self, session: LiveSession, tool_name: str) -> None:
        job = session.job
        if tool_name not in job.always_allow:
            job.always_allow.append(tool_name)
            self.jobs.save(job)

    def on_file_touched(self, session: LiveSession, path: str) -> None:
        job = session.job
        if path not in job.files_touched and len(job.files_touched) < 10_000:
            job.files_touched.append(path)
            self.jobs.save(job)

    def on_turn_end(self, session: LiveSession, result: sdk.ResultMessage, cost: float) -> None:
        job = session.job
        self.jobs.checkpoints.keep_what_streamed(session)  # a stopped turn leaves the text it had streamed
        self.jobs.scheduler.release(job.id)
        session.holds_slot = False
        job.cost_usd = round(job.cost_usd + cost, 6)
        usage = result.usage or {}
        job.input_tokens += int(usage.get("input_tokens") or 0)
        job.output_tokens += int(usage.get("output_tokens") or 0)
        job.turns += 1
        self.jobs.usage.record(TurnUsage.from_result(job.id, job.project_id, cost, result.usage,
                                                     getattr(result, "model_usage", None), job.model))
        self.jobs.session_names.sync(job)  # the CLI's transcript exists now: it takes the job's name
        if session.closing:
            self.jobs.save(job)
            return
        if result.subtype == "error_max_budget_usd":  # the CLI stopped at the budget it was given (spec N3)
            message = self.jobs.budgets.stopped(job)
            self.jobs.emit(job, events.make(events.ERROR, message=message, budget=True))
            session.close(HIBERNATE, "budget reached")  # the next turn's CLI starts with what is left, or none
            self.jobs.liveness.become_idle(job, reason=None)
            return
        interrupted = result.subtype == "error_during_execution" or \
            getattr(result, "terminal_reason", None) in ("aborted_streaming", "aborted_tools")
        if result.is_error and not interrupted:
            message = self._result_error(session, result)
            self.jobs.emit(job, events.make(events.ERROR, message=message))
            session.close(JobStatus.FAILED, message)
            job.error = message
            self.jobs.save(job)
            return
        if session.prompts:
            self.jobs.save(job)
            return  # the next queued prompt goes out at once; the job stays running
        if session.needs_reconnect:
            session.close(HIBERNATE, "settings changed")
        self.jobs.liveness.become_idle(job, reason="stopped by the user" if interrupted else None)

    def _result_error(self, session: LiveSession, result: sdk.ResultMessage) -> str:
        detail = "; ".join(result.errors or []) or (result.result or "")
        recent = self.jobs.logs.log(session.job.id).read_before(10**12, 20)
        for event in reversed(recent):
            if event.get("kind") == events.ASSISTANT and event.get("error"):
                known = AUTH_ERRORS.get(event["error"])
                text = (event.get("block") or {}).get("text") or ""
                return known or text or f"The API returned an error ({event['error']})."
        return detail or f"The turn failed ({result.subtype})."

    def on_session_end(self, session: LiveSession, error: str | None) -> None:
        job = session.job
        job.waiting_for = None
        self.jobs.checkpoints.keep_what_streamed(session)
        if self.jobs.live.get(job.id) is session:
            del self.jobs.live[job.id]
        if session.holds_slot or self.jobs.scheduler.position(job.id) is not None:
            self.jobs.scheduler.release(job.id)
        session.holds_slot = False
        self.jobs.approvals.cancel_job(job.id, "The session ended.")
        if session.close_status == SHUTDOWN:
            # Leave the status as it was: the next start's recovery says honestly what became of it.
            self.jobs.save(job)
            return
        if session.close_status == HIBERNATE and not error:
            job.hibernated = True
            if session.needs_reconnect and session.prompts:
                self._restart(job, session)
                return
            self.jobs.save(job)
            self.jobs.hub.publish_global({"kind": "job", "job": job.to_dict(), "live": False})
            return
        if error and session.lost_at_rest and job.status == JobStatus.IDLE:
            # Spec O2: the machine went between turns. The work and the conversation are here: the job rests as
            # after hibernation, and its next message resumes it on another machine.
            self.jobs.emit(job, events.make(events.WARNING, message=(
                f"{error} No turn was running: the work and the conversation are safe, and the next message "
                "resumes them on another machine.")))
            job.hibernated = True
            self.jobs.save(job)
            self.jobs.hub.publish_global({"kind": "job", "job": job.to_dict(), "live": False})
            return
        if error and not session.closing:
            self.jobs.conversations.forget_if_lost(job)
            self.jobs.emit(job, events.make(events.ERROR, message=error))
            self.jobs.set_status(job, JobStatus.FAILED, error=error, finished=True)
            return
        target = session.close_status or (JobStatus.FAILED if error else JobStatus.COMPLETED)
        if job.status != JobStatus.ARCHIVED:
            failure = (job.error or session.close_reason or error) if target == JobStatus.FAILED else None
            self.jobs.set_status(job, target, finished=True, reason=session.close_reason or None, error=failure)

    def _restart(self, job: Job, old: LiveSession) -> None:
        session = self.jobs.new_session(job, ResumeSpec(job.session_id) if job.session_id else None)
        session.prompts.extend(old.prompts)
        self.jobs.live[job.id] = session
        session.start()

