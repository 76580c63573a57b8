"""A reply cut short keeps what had streamed (spec C12: nothing people saw is lost).

While a reply streams, its text and thinking are saved beside the job's log about once a
second, and at the latest a second after the last delta. The checkpoint is dropped once
the whole message is stored. When a turn or a session ends with text still streaming
(Stop, a dead CLI, a shutdown), or at the next start after a crash, what was saved is
stored as an assistant message marked `interrupted`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from core import events
from core.models import Job

if TYPE_CHECKING:
    from core.jobs.live_session import LiveSession
    from core.jobs.records import JobRecords

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0


def shown_blocks(partial: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The text and thinking blocks of a streaming reply that show something, in order."""
    return [{"type": block.get("type") or "text", "text": block["text"]} for _, block in sorted(partial.items())
            if block.get("type") in (None, "text", "thinking") and str(block.get("text") or "").strip()]


class PartialCheckpoints:
    def __init__(self, records: JobRecords) -> None:
        self.records = records
        self._saved: dict[str, float] = {}  # job id -> when its streaming reply was last saved
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def checkpoint(self, session: LiveSession) -> None:
        """Keep what is streaming on disk, at most about once a second and at the latest a second after
        the last delta, for the next start if this process dies."""
        job_id = session.job.id
        if job_id in self._timers:
            return  # a save is already due, and it will take what has arrived by then
        wait = CHECKPOINT_EVERY_S - (time.monotonic() - self._saved.get(job_id, -CHECKPOINT_EVERY_S))
        if wait <= 0:
            self._save(session)
        else:
            self._timers[job_id] = asyncio.get_running_loop().call_later(wait, self._save, session)

    def _save(self, session: LiveSession) -> None:
        job_id = session.job.id
        self._timers.pop(job_id, None)
        blocks = shown_blocks(session.partial)
        if not blocks:
            return
        self._saved[job_id] = time.monotonic()
        try:
            self.records.logs.save_partial(job_id, blocks)
        except OSError as exc:  # a full disk must not stop the stream
            log.warning("could not checkpoint the streaming reply of %s: %s", job_id, exc)

    def drop(self, job_id: str) -> None:
        """The message is stored whole: its checkpoint is stale."""
        timer = self._timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()
        if self._saved.pop(job_id, None) is not None:
            self.records.logs.drop_partial(job_id)

    def keep_what_streamed(self, session: LiveSession) -> None:
        """A turn or session ended with text still streaming: store it, marked as interrupted."""
        self.keep_interrupted(session.job, shown_blocks(session.partial))
        session.partial.clear()
        self.drop(session.job.id)

    def keep_interrupted(self, job: Job, blocks: list[dict[str, Any]]) -> None:
        for block in blocks:
            text = str(block.get("text") or "")
            shown = {"type": "thinking", "thinking": text} if block.get("type") == "thinking" else \
                {"type": "text", "text": text}
            self.records.emit(job, events.make(events.ASSISTANT, block=shown, message_id=None, uuid=None,
                                               parent_tool_use_id=None, model=None, error=None, interrupted=True))

    def recover(self) -> None:
        """After a crash: the replies that were streaming when the process died."""
        for job_id in self.records.logs.jobs_with_partial():
            blocks = self.records.logs.take_partial(job_id)
            if job_id in self.records.jobs:
                self.keep_interrupted(self.records.jobs[job_id], shown_blocks(dict(enumerate(blocks))))
