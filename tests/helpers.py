"""Small waiting helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_status(jobs, job_id: str, *statuses: str, timeout: float = 30.0) -> None:
    await wait_until(lambda: jobs.get(job_id).status in statuses, timeout,
                     f"job {job_id} to be {'/'.join(statuses)} (is {jobs.get(job_id).status})")


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]
