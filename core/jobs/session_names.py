"""A job's name is its conversation's name in the CLI too (spec N5): `claude --resume` in a terminal lists it.

The SDK's `rename_session` appends a custom-title entry to the CLI's own transcript of the session; the
newest one wins, so naming again is harmless. It is done after a turn has ended (the transcript exists by
then) for a session not yet given the job's current name, and when a job is renamed. The file work runs in
a worker thread; a conversation the CLI no longer has is not an error anyone needs to see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from core import sdk
from core.models import Job

log = logging.getLogger(__name__)


class SessionNames:
    def __init__(self, directory_of: Callable[[Job], Path]) -> None:
        self._directory_of = directory_of
        self._given: dict[str, str] = {}  # session id -> the name it was given (this process)
        self._tasks: set[asyncio.Task] = set()

    def sync(self, job: Job) -> None:
        """Give the job's conversation the job's name, if it does not have it yet."""
        session_id, name = job.session_id, job.name.strip()
        if not session_id or not name or self._given.get(session_id) == name:
            return
        self._given[session_id] = name
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._rename, session_id, name, str(self._directory_of(job))))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _rename(self, session_id: str, name: str, directory: str) -> None:
        try:
            sdk.rename_session(session_id, name, directory=directory)
        except FileNotFoundError:  # an isolated job's worktree moved, or the CLI keeps it elsewhere: look everywhere
            try:
                sdk.rename_session(session_id, name)
            except (FileNotFoundError, ValueError, OSError) as exc:
                self._forget(session_id, name)
                log.info("could not name the CLI's session %s: %s", session_id, exc)
        except (ValueError, OSError) as exc:
            self._forget(session_id, name)
            log.info("could not name the CLI's session %s: %s", session_id, exc)

    def _forget(self, session_id: str, name: str) -> None:
        if self._given.get(session_id) == name:
            del self._given[session_id]  # try again after the next turn

    async def settle(self) -> None:
        """Wait for the renames under way (tests; shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
