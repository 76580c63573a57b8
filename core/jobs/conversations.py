"""What the CLI kept of each job's conversation, and what a restart finds (spec C5, C12).

"Resumable" is honest: the CLI saves its transcript a few ms after it sends a request,
so a session id whose transcript file does not exist is forgotten, and the next message
starts fresh with a warning. After a restart no CLI is alive: every job that thought it
had one is told so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from core import events, sdk
from core.jobs.checkpoints import PartialCheckpoints
from core.jobs.records import JobRecords
from core.models import Job, JobMode, JobStatus

log = logging.getLogger(__name__)

RESTART_MESSAGE = "Interrupted by a server restart."
LOST_PROMPT_WARNING = ("Your last message did not reach Claude's saved conversation before the restart; "
                       "send it again if you still need it.")


class Conversations:
    def __init__(self, records: JobRecords, directory_of: Callable[[Job], Path]) -> None:
        self.records = records
        self.directory_of = directory_of  # the CLI files a conversation under the folder it ran in

    def has_conversation(self, job: Job) -> bool:
        """Whether the CLI kept a transcript to resume: a process killed early never writes one."""
        if not job.session_id:
            return False
        try:
            return sdk.get_session_info(job.session_id, directory=str(self.directory_of(job))) is not None
        except Exception:  # an unreadable session file is as good as none
            log.exception("reading session %s failed", job.session_id)
            return False

    def forget_if_lost(self, job: Job) -> None:
        if job.session_id and not self.has_conversation(job):
            job.session_id = None
            self.records.save(job)

    def warn_if_last_prompt_lost(self, job: Job) -> None:
        """The CLI saves a prompt a few ms after sending it; a crash in between loses it silently."""
        if not job.session_id:
            return
        last = next((e for e in reversed(self.records.logs.log(job.id).read_before(10**12, 500))
                     if e["kind"] == events.USER and not e.get("echoed")), None)
        if last is None or not last.get("uuid"):
            return
        try:
            saved = {m.uuid for m in sdk.get_session_messages(job.session_id, directory=str(self.directory_of(job)))}
        except Exception:
            log.exception("reading session %s failed", job.session_id)
            return
        if last["uuid"] not in saved:
            self.records.emit(job, events.make(events.WARNING, message=LOST_PROMPT_WARNING,
                                               lost_prompt_uuid=last["uuid"]))

    def recover(self, checkpoints: PartialCheckpoints) -> None:
        """After a restart no CLI is alive: say so honestly on every job that thought it was."""
        checkpoints.recover()
        for job in self.records.jobs.values():
            if job.status in (JobStatus.RUNNING, JobStatus.QUEUED):
                self.forget_if_lost(job)
                self.records.set_status(job, JobStatus.FAILED, error=RESTART_MESSAGE, finished=True)
                self.warn_if_last_prompt_lost(job)
            elif job.status == JobStatus.IDLE:
                if job.mode == JobMode.SESSION and job.session_id:
                    job.hibernated = True
                    job.grace_deadline = None
                    self.records.save(job)
                else:
                    self.records.set_status(job, JobStatus.COMPLETED, finished=True, reason="server restarted")
