"""Restore files to before a user message (spec L3), from the checkpoints Claude Code keeps.

Every session runs with file checkpointing on: before each user message the CLI backs up
the files its edit tools are about to change. Only a connected CLI can read them, so a job
without a live session gets one (its conversation resumed, no prompt sent); the backups sit
beside the CLI's transcript, so they outlive hibernation and server restarts. A dry run
says which files would change; a real rewind restores them and is recorded in the
transcript. The conversation itself is left as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core import events
from core.errors import Conflict, NotFound, UserError
from core.models import Job, JobStatus

if TYPE_CHECKING:
    from core.jobs.live_session import LiveSession
    from core.jobs.manager import JobManager

CONNECT_TIMEOUT_S = 120.0  # a CLI starts in 2-3 s; an isolated job's worktree may be made first
CLOSING_TIMEOUT_S = 30.0
QUOTED_CHARS = 80
# The CLI's reasons, said for people who do not know how checkpoints are kept.
EXPLAINED = {
    "No file checkpoint found for this message.":
        "Claude Code kept no file checkpoint for this message: the job may predate file checkpointing, "
        "or the message never reached Claude.",
    "File rewinding is not enabled.": "File checkpointing was off when this session started.",
}


@dataclass
class RewindResult:
    """What a rewind did, or would do with `dry_run`; `files` are relative to the job's folder."""

    user_seq: int
    dry_run: bool
    can_rewind: bool
    files: list[str] = field(default_factory=list)
    insertions: int = 0
    deletions: int = 0
    error: str | None = None


class Rewinds:
    def __init__(self, jobs: JobManager) -> None:
        self.jobs = jobs
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def rewind(self, job_id: str, user_seq: int, *, dry_run: bool) -> RewindResult:
        """Restore the files Claude changed since the user message at `user_seq` (or only list them)."""
        job = self.jobs.get(job_id)
        message = self._user_message(job_id, user_seq)
        async with self._locks[job_id]:
            self._refuse_if_busy(job)
            session = await self._live_session(job)
            self._refuse_if_busy(job)
            session.touch()
            answer = await session.rewind_files(message["uuid"], dry_run=True)
            result = self._result(user_seq, dry_run, answer, session.setup.cwd)
            if dry_run or not result.can_rewind:
                return result
            done = await session.rewind_files(message["uuid"], dry_run=False)
            session.touch()
            if not done.get("canRewind"):
                result.can_rewind = False
                result.error = self._reason(done)
                return result
            self.jobs.emit(job, events.make(events.REWIND, user_seq=user_seq, user_uuid=message["uuid"],
                                            user_text=_first_line(message.get("text") or ""),
                                            files=result.files, insertions=result.insertions,
                                            deletions=result.deletions))
            return result

    def _user_message(self, job_id: str, user_seq: int) -> dict[str, Any]:
        found = self.jobs.events(job_id, user_seq - 1, 1) if isinstance(user_seq, int) and user_seq > 0 else []
        if not found or found[0]["seq"] != user_seq:
            raise NotFound(f"There is no message #{user_seq} in this job.")
        event = found[0]
        if event["kind"] != events.USER or event.get("echoed") or event.get("parent_tool_use_id") \
                or not event.get("uuid"):
            raise UserError("Choose one of your own messages: files are restored to before one of those.")
        return event

    def available(self, job: Job) -> bool:
        """Whether the job's files can be restored here: not a job on the Ray cluster (spec O2), whose CLI keeps
        its checkpoints on the machine a session ran on."""
        return not (job.isolated and self.jobs.remote_runner is not None)

    def _refuse_if_busy(self, job: Job) -> None:
        if job.status == JobStatus.ARCHIVED:
            raise Conflict("This job is archived; restore the job before restoring its files.")
        if not self.available(job):
            raise Conflict("Restoring files is not available for jobs on the Ray cluster: their checkpoints stay "
                           "on the machine a session ran on. Its branch keeps one commit per turn to go back to.")
        session = self.jobs.live.get(job.id)
        if job.status in (JobStatus.RUNNING, JobStatus.QUEUED) or (
                session is not None and (session.turn_active or session.prompts)):
            raise Conflict("Claude is working on this job: wait for the turn to end (or stop it), "
                           "then restore the files.")

    async def _live_session(self, job: Job) -> LiveSession:
        """The job's connected session: the one it has, or its conversation resumed for this."""
        session = self.jobs.live.get(job.id)
        if session is not None and session.closing and session.task:
            with contextlib.suppress(BaseException):  # hibernating or closing now: start afresh after it
                await asyncio.wait_for(asyncio.shield(session.task), CLOSING_TIMEOUT_S)
            session = self.jobs.live.get(job.id)
        if session is None or session.closing:
            self.jobs.conversations.forget_if_lost(job)
            if not job.session_id:
                raise Conflict("This job has no resumable conversation, so Claude Code cannot reach its "
                               "file checkpoints.")
            self.jobs.liveness.make_room(job.id)
            # The manager's own way to re-attach a conversation with no prompt, as Resume as Session does.
            self.jobs.resume_with(job, None, warn=False)
            session = self.jobs.live.get(job.id)
            if session is None:
                raise Conflict(f"Claude Code could not be started to reach the file checkpoints: {job.error}")
        if not await session.wait_connected(CONNECT_TIMEOUT_S):
            reason = job.error if job.status == JobStatus.FAILED and job.error else "the session ended first"
            raise Conflict(f"Claude Code could not be started to reach the file checkpoints: {reason}")
        return session

    def _result(self, user_seq: int, dry_run: bool, answer: dict[str, Any], folder: str) -> RewindResult:
        if not answer.get("canRewind"):
            return RewindResult(user_seq, dry_run, False, error=self._reason(answer))
        files = sorted(_relative(path, folder) for path in answer.get("filesChanged") or [])
        return RewindResult(user_seq, dry_run, True, files, int(answer.get("insertions") or 0),
                            int(answer.get("deletions") or 0))

    @staticmethod
    def _reason(answer: dict[str, Any]) -> str:
        error = str(answer.get("error") or "Claude Code cannot restore the files to before this message.")
        return EXPLAINED.get(error, error)


def _relative(path: str, folder: str) -> str:
    """A path as the job's folder sees it: never the server's absolute path (outside it: `../...`)."""
    return os.path.relpath(os.path.realpath(path), os.path.realpath(folder)).replace(os.sep, "/")


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= QUOTED_CHARS else line[:QUOTED_CHARS - 1] + "…"
