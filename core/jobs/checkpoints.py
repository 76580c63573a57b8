"""A reply cut short keeps what had streamed (spec C12: nothing people saw is lost).

While a reply streams, its text and thinking go to a file beside the job's log as they are
published: what is new is written at most CHECKPOINT_EVERY_S after it arrived (small
appends, no fsync: a kill -9 does not lose the OS page cache). The file is dropped once the
whole message is stored. When a turn or a session ends with text still streaming (Stop, a
dead CLI, a shutdown), or at the next start after a crash, what was kept is stored as an
assistant message marked `interrupted`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from core import events
from core.models import Job
from storage.partial_reply import PartialReply

if TYPE_CHECKING:
    from core.jobs.live_session import LiveSession
    from core.jobs.records import JobRecords

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 0.05
KEPT_TYPES = (None, "text", "thinking")  # the blocks a reader sees as they stream


def shown_blocks(partial: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The text and thinking blocks of a streaming reply that show something, in order."""
    return [{"type": block.get("type") or "text", "text": block["text"]} for _, block in sorted(partial.items())
            if block.get("type") in KEPT_TYPES and str(block.get("text") or "").strip()]


class _Kept:
    """What of one job's streaming reply is on disk: per block index, the block and how much of its text."""

    def __init__(self, writer: PartialReply) -> None:
        self.writer = writer
        self.blocks: dict[int, tuple[dict[str, Any], int]] = {}


class PartialCheckpoints:
    def __init__(self, records: JobRecords) -> None:
        self.records = records
        self._kept: dict[str, _Kept] = {}
        self._saved: dict[str, float] = {}  # job id -> when its streaming reply was last written
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def checkpoint(self, session: LiveSession) -> None:
        """A delta was published: have it on disk within CHECKPOINT_EVERY_S (at once after a quiet spell).
        Called for every delta, so it does no more than look up a timer while one is due."""
        job_id = session.job.id
        if job_id in self._timers:
            return  # a write is already due, and it will take what has arrived by then
        wait = CHECKPOINT_EVERY_S - (time.monotonic() - self._saved.get(job_id, -CHECKPOINT_EVERY_S))
        if wait <= 0:
            self._save(session)
        else:
            self._timers[job_id] = asyncio.get_running_loop().call_later(wait, self._save, session)

    def _save(self, session: LiveSession) -> None:
        """Write what the session's streaming blocks (`session.partial`) gained since the last write."""
        job_id = session.job.id
        self._timers.pop(job_id, None)
        self._saved[job_id] = time.monotonic()
        kept = self._kept.get(job_id)
        if kept is None:
            kept = self._kept[job_id] = _Kept(self.records.logs.partial_writer(job_id))
        partial = session.partial
        if any(partial.get(index) is not block for index, (block, _) in kept.blocks.items()):
            kept.writer.reset()  # a new message (the session cleared its blocks): the file starts again
            kept.blocks.clear()
        pieces = []
        for index, block in sorted(partial.items()):
            if block.get("type") not in KEPT_TYPES:
                continue
            text = block.get("text") or ""
            done = kept.blocks[index][1] if index in kept.blocks else 0
            if len(text) > done:
                pieces.append((index, block.get("type") or "text", done, text[done:]))
                kept.blocks[index] = (block, len(text))
        try:
            kept.writer.write(pieces)
        except OSError as exc:  # a full disk must not stop the stream; the next write starts the file again
            kept.blocks.clear()
            log.warning("could not keep the streaming reply of %s: %s", job_id, exc)

    def drop(self, job_id: str) -> None:
        """The message is stored whole: what was kept of it is stale."""
        timer = self._timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()
        self._saved.pop(job_id, None)
        if self._kept.pop(job_id, None) is not None:
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
