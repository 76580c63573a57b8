"""The concurrency limit (spec C9): at most N turns run at once, the rest wait in order."""

from __future__ import annotations

import asyncio
from collections import OrderedDict


class Scheduler:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running: set[str] = set()
        self._waiting: OrderedDict[str, asyncio.Future] = OrderedDict()

    def try_acquire(self, job_id: str) -> bool:
        if job_id in self.running:
            return True
        if len(self.running) < self.limit and not self._waiting:
            self.running.add(job_id)
            return True
        return False

    def reserve(self, job_id: str) -> bool:
        """Take a slot now, or join the queue at once (so its place shows before anyone awaits)."""
        if self.try_acquire(job_id):
            return True
        if job_id not in self._waiting:
            self._waiting[job_id] = asyncio.get_running_loop().create_future()
        return False

    async def acquire(self, job_id: str) -> None:
        if job_id not in self._waiting and self.try_acquire(job_id):
            return
        self.reserve(job_id)
        future = self._waiting.get(job_id)
        if future is None:  # handed a slot during reserve
            return
        try:
            await future
        except asyncio.CancelledError:
            self._waiting.pop(job_id, None)
            if future.done() and not future.cancelled():
                self.release(job_id)  # handed a slot just as we gave up: pass it on
            raise

    def release(self, job_id: str) -> None:
        self._waiting.pop(job_id, None)
        self.running.discard(job_id)
        while self._waiting and len(self.running) < self.limit:
            next_id, future = self._waiting.popitem(last=False)
            if future.done():
                continue
            self.running.add(next_id)
            future.set_result(None)

    def position(self, job_id: str) -> int | None:
        """1-based place in the queue, for the UI."""
        for place, waiting_id in enumerate(self._waiting, start=1):
            if waiting_id == job_id:
                return place
        return None
