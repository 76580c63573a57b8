"""How long live sessions stay (spec C3, C10, J5).

An idle one-shot job keeps its live session for a grace period, then completes. A
session idle for a long time releases its CLI process (hibernates) and re-attaches on
its next message. At most `max_live_sessions` CLIs are live at once, the warm pool's
spare ones included (spec O1): beyond it a spare one goes first, then the longest-idle
session hibernates, and when none can, new work is refused.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from core.errors import Busy
from core.jobs.approvals import ApprovalBroker
from core.jobs.runner import Runner
from core.models import Job, JobMode, JobStatus
from core.settings import Settings

if TYPE_CHECKING:
    from core.jobs.live_session import LiveSession
    from core.jobs.records import JobRecords

HIBERNATE = "hibernate"  # a close that releases the CLI process and keeps the job idle


class Liveness:
    def __init__(self, records: JobRecords, settings: Settings, approvals: ApprovalBroker, runner: Runner) -> None:
        self.records = records
        self.settings = settings
        self.approvals = approvals
        self.runner = runner  # its spare CLIs count against the cap and go first
        self._grace_timers: dict[str, asyncio.TimerHandle] = {}
        self._sweeper: asyncio.Task | None = None

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    def stop(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()
        for timer in self._grace_timers.values():
            timer.cancel()

    # -- the grace period of one-shot jobs -------------------------------------------------

    def become_idle(self, job: Job, reason: str | None = None) -> None:
        """Idle, with a one-shot job's grace countdown armed: one save records both (it is a hot path)."""
        self.cancel_grace(job, save=False)
        if job.mode == JobMode.JOB:
            delay = self.settings.grace_period_s
            job.grace_deadline = time.time() + delay
            self._grace_timers[job.id] = asyncio.get_running_loop().call_later(delay, self._grace_expired, job.id)
        self.records.set_status(job, JobStatus.IDLE, reason=reason)

    def _grace_expired(self, job_id: str) -> None:
        self._grace_timers.pop(job_id, None)
        job = self.records.jobs.get(job_id)
        if job and job.status == JobStatus.IDLE and job.mode == JobMode.JOB:
            session = self.records.live.get(job_id)
            if session:
                session.close(JobStatus.COMPLETED, "grace period ended")
            else:
                self.records.set_status(job, JobStatus.COMPLETED, finished=True, reason="grace period ended")

    def cancel_grace(self, job: Job, save: bool = True) -> None:
        timer = self._grace_timers.pop(job.id, None)
        if timer:
            timer.cancel()
        if job.grace_deadline is not None:
            job.grace_deadline = None
            if save:
                self.records.save(job)

    # -- hibernation and the cap ---------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, max(1.0, self.settings.hibernate_after_s / 4)))
            self.hibernate_idle()

    def hibernate_idle(self, older_than_s: float | None = None) -> list[str]:
        """Release the CLI process of sessions idle a long time; the next message re-attaches."""
        limit = self.settings.hibernate_after_s if older_than_s is None else older_than_s
        cutoff = time.monotonic() - limit
        released = []
        for job_id, session in list(self.records.live.items()):
            if self.can_hibernate(session) and session.last_activity <= cutoff:
                session.close(HIBERNATE, "hibernated after a long idle time")
                released.append(job_id)
        return released

    def can_hibernate(self, session: LiveSession) -> bool:
        job = session.job
        return (job.status == JobStatus.IDLE and session.at_rest and bool(job.session_id)
                and not session.holds_session_crons and not self.approvals.pending(job.id))

    def live_count(self) -> int:
        return sum(1 for s in self.records.live.values() if not s.closing)

    def spare_room(self) -> int:
        """How many CLIs the cap allows besides the live sessions: what the runner may keep ready."""
        return self.settings.max_live_sessions - self.live_count()

    def make_room(self, job_id: str | None = None, directory: str | None = None) -> None:
        """Spec J5: at most `max_live_sessions` CLIs (each a ~220 MB process, or about to be), the live
        sessions' and the runner's spare ones (spec O1), beyond the one a new session in `directory` would take.

        Beyond it a spare CLI is released first, then the longest-idle session is hibernated (it
        re-attaches on its next message, C10); when none can be, the new work is refused now with a
        clear error rather than queued: a live-session slot frees only when someone closes a session,
        so a queue could wait unseen for hours. Jobs below the cap still queue for a running slot (spec C9).
        """
        others = [s for jid, s in self.records.live.items() if jid != job_id and not s.closing]

        def full() -> bool:
            return len(others) + self.runner.spare(directory) >= self.settings.max_live_sessions

        while full() and self.runner.release_spare(directory):
            pass
        if not full():
            return
        idle = sorted((s for s in others if self.can_hibernate(s)), key=lambda s: s.last_activity)
        if idle:
            idle[0].close(HIBERNATE, "released to make room for another session")
            return
        raise Busy(f"All {self.settings.max_live_sessions} live sessions are busy (running, queued or waiting "
                   "for an answer). Wait for one to finish, or close a session, then try again.")
