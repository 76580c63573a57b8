"""The SDK's transport to a CLI running in a Ray actor (spec O2).

`sdk.ClaudeSDKClient(options, transport=RayTransport(...))` works as with a local process:
the SDK's control protocol (approvals, hooks, interrupts, model and mode changes, MCP) runs
here on the server over this transport, which carries the CLI's stdin and stdout to and
from the actor (`core/cluster/agent.py`). Reads name the last item the server has and writes
are numbered, so a call that Ray reports "may or may not have run" is simply made again.
An actor that stays unreachable, or that Ray says has died, is a lost machine: the job
fails with those words and keeps what it streamed (spec C12).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from claude_agent_sdk._internal.transport import Transport

from core.cluster import workspace_sync
from core.cluster.agent import Sync
from core.jobs.runner import RunnerLost

POLL_S = 15.0  # how long one read waits on the node for output before it is asked again
UNREACHABLE_FOR_S = 8.0  # how long an actor may be unreachable before its machine counts as lost
STOP_WAIT_S = 20.0
LOST = "The machine running this job was lost"


class MachineLost(RunnerLost):
    """The node, or the actor on it, is gone: the CLI and the turn it was running with it."""


class RayTransport(Transport):
    def __init__(self, actor: Any, git_at: workspace_sync.GitAt, cwd: str, stderr: Callable[[str], None] | None,
                 warn: Callable[[str], None], where: str) -> None:
        self.actor = actor
        self.git_at = git_at
        self.cwd = cwd
        self.stderr = stderr
        self.warn = warn  # a problem bringing a turn's work back, said on the job
        self.where = where
        self.ready = True
        self.have = 0  # the last item read from the actor
        self.written = 0
        self.writes: set[asyncio.Future] = set()  # sent, not yet confirmed by the actor
        self.failure: MachineLost | None = None

    async def connect(self) -> None:
        return None  # the runner started the actor and its CLI before handing this over

    def is_ready(self) -> bool:
        return self.ready

    async def write(self, data: str) -> None:
        """Send a line to the CLI without waiting for the actor's answer (a round trip to another machine);
        lines are numbered, and the actor writes them in order. A failed write is the reader's to report."""
        if self.failure is not None:
            raise self.failure
        self.written += 1
        number = self.written
        sent = asyncio.ensure_future(self._confirm(number, data, self.actor.write.remote(number, data)))
        self.writes.add(sent)
        sent.add_done_callback(self.writes.discard)

    async def _confirm(self, number: int, data: str, first: Any) -> None:
        import ray

        try:
            await first
        except (ray.exceptions.ActorUnavailableError, ray.exceptions.RaySystemError):
            try:
                await self._call("write", number, data)  # the same number: written once whatever happened
            except MachineLost as exc:
                self.failure = exc
        except Exception as exc:
            self.failure = MachineLost(f"{LOST}: a message to {self.where} was not delivered "
                                       f"({first_line(exc, 200)}).")

    async def end_input(self) -> None:
        with contextlib.suppress(MachineLost):
            await self._call("end_input")

    def read_messages(self) -> AsyncIterator[dict[str, Any]]:
        return self._read()

    async def _read(self) -> AsyncIterator[dict[str, Any]]:
        while self.ready:
            if self.failure is not None:
                raise self.failure
            items = await self._call("read", self.have, POLL_S, timeout=POLL_S + 30)
            for number, kind, payload in items:
                if kind == "sync":  # taken in before it counts as had: a close after it does not send it again
                    await self.take(payload)
                self.have = number
                if kind == "message":
                    yield payload
                elif kind == "stderr" and self.stderr is not None:
                    self.stderr(payload)
                elif kind == "sync_failed":
                    self.warn(f"This turn's work could not be packed on {self.where}: {payload}")
                elif kind == "end":
                    self.ready = False
                    if payload:
                        raise MachineLost(f"The Claude Code process on {self.where} ended: {payload}")
                    return

    async def take(self, sync: Sync | None) -> None:
        if sync is None:
            return
        problem = await asyncio.to_thread(workspace_sync.apply, self.git_at, self.cwd, sync)
        if problem:
            self.warn(problem)

    async def close(self) -> None:
        if not self.ready and self.actor is None:
            return
        self.ready = False
        import ray

        actor, self.actor = self.actor, None
        try:
            final = await asyncio.wait_for(awaited(actor.stop.remote(self.have)), STOP_WAIT_S)
            await self.take(final)
        except Exception:  # lost, or too slow: what the last turn sent is what the server keeps
            pass
        with contextlib.suppress(Exception):
            await asyncio.to_thread(ray.kill, actor, no_restart=True)

    async def _call(self, method: str, *args: Any, timeout: float = 60.0) -> Any:
        """One call of an actor's method; again while the actor is unreachable, for a few seconds; MachineLost
        after that, or at once when Ray says the actor died."""
        import ray

        if self.actor is None:
            raise MachineLost(f"{LOST}.")
        first_failure = None
        while True:
            try:
                return await asyncio.wait_for(awaited(getattr(self.actor, method).remote(*args)), timeout)
            except ray.exceptions.ActorDiedError as exc:
                self.ready = False
                raise MachineLost(f"{LOST}: Ray reports that its agent on {self.where} died "
                                  f"({first_line(exc, 200).rstrip('.')}).") from exc
            except (ray.exceptions.ActorUnavailableError, ray.exceptions.RaySystemError, TimeoutError) as exc:
                first_failure = first_failure or time.monotonic()
                if time.monotonic() - first_failure > UNREACHABLE_FOR_S:
                    self.ready = False
                    raise MachineLost(f"{LOST}: {self.where} has not answered for "
                                      f"{UNREACHABLE_FOR_S:.0f} seconds.") from exc
                await asyncio.sleep(0.5)


async def awaited(ref: Any) -> Any:
    """A Ray object reference as a coroutine (for asyncio.wait_for and ensure_future)."""
    return await ref


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an error's words: Ray's run to many lines of stack."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]
