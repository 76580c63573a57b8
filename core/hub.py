"""Publish/subscribe for job events and server-wide notices.

Listeners are plain callables run synchronously in the event loop, so a
listener that reads the log and then subscribes (with no await in between)
can never miss or duplicate an event. A failing listener is dropped from the
call, never allowed to break the publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]


class Hub:
    def __init__(self) -> None:
        self._job_listeners: dict[str, list[Listener]] = defaultdict(list)
        self._global_listeners: list[Listener] = []
        self._firehose: list[Callable[[str, dict[str, Any]], None]] = []

    def subscribe(self, job_id: str, listener: Listener) -> Callable[[], None]:
        """Follow one job's events; returns the function that unsubscribes."""
        self._job_listeners[job_id].append(listener)

        def unsubscribe() -> None:
            listeners = self._job_listeners.get(job_id, [])
            if listener in listeners:
                listeners.remove(listener)
            if not listeners:
                self._job_listeners.pop(job_id, None)
        return unsubscribe

    def subscribe_all(self, listener: Listener) -> Callable[[], None]:
        """Follow server-wide notices: job status changes, approvals, job list changes."""
        self._global_listeners.append(listener)
        return lambda: self._global_listeners.remove(listener) if listener in self._global_listeners else None

    def subscribe_every_job(self, listener: Callable[[str, dict[str, Any]], None]) -> Callable[[], None]:
        """Every job's events as (job_id, event): for indexes that follow all transcripts."""
        self._firehose.append(listener)
        return lambda: self._firehose.remove(listener) if listener in self._firehose else None

    def listener_count(self, job_id: str) -> int:
        """How many listeners follow a job: streams that end must leave none behind."""
        return len(self._job_listeners.get(job_id, ()))

    def publish(self, job_id: str, event: dict[str, Any]) -> None:
        for listener in list(self._job_listeners.get(job_id, ())):
            self._call(listener, event)
        for tap in list(self._firehose):
            try:
                tap(job_id, event)
            except Exception:
                log.exception("event tap failed")

    def publish_global(self, event: dict[str, Any]) -> None:
        for listener in list(self._global_listeners):
            self._call(listener, event)

    @staticmethod
    def _call(listener: Listener, event: dict[str, Any]) -> None:
        try:
            listener(event)
        except Exception:  # a broken page must not stop a job
            log.exception("event listener failed")


class QueueListener:
    """Adapts the hub to an async iterator (API streams, tests).

    Bounded: a consumer that falls far behind is cut off rather than letting
    the server's memory grow; it reconnects from its last seq and loses nothing.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize)
        self.overflowed = False

    def __call__(self, event: dict[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self.queue._queue.clear()  # type: ignore[attr-defined]
            self.queue.put_nowait(None)

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            event = await self.queue.get()
            if event is None:
                return
            yield event
