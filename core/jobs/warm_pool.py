"""A warm pool of started, connected CLIs: a new job skips the CLI's start (spec O1).

`WarmPool` is a `Runner` wrapped around another one (the local runner today). When a
session connects, the pool hands it a member already started with the same spawn-time
options (`warm_match.spawn_shape`: folder, environment, thinking, effort, hooks, ...) and
the same files on disk (`warm_match.disk_stamp`); the session's model and permission mode
are set on it live before its first prompt. Anything else is started as before, and a
conversation that resumes or forks never takes a member. Each use asks for a replacement
for that shape: at most one member per shape, at most `size` in all, the least recently
used shape giving way.

Members belong to the pool's own tasks: the task that connected a member's client is the
one that disconnects it, when the session that took it lets go, as the SDK asks. Members
count against the live-session cap (`room()` says how many more CLIs it allows), are
given back first under pressure (`release_spare`), end after `ttl_s` unused, and one whose
process died is dropped and replaced (a shape whose CLIs keep failing is left alone until
a job uses it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from core import sdk
from core.jobs.runner import Runner, RunTicket, cli_pid
from core.jobs.warm_match import Forward, blank, disk_stamp, spawn_shape, starts_fresh

log = logging.getLogger(__name__)

# The job that took a member gets its first answer before a new CLI's start competes for the CPU.
REFILL_DELAY_S = 1.0
CHECK_EVERY_S = 1.0  # how often an unclaimed member's process is looked at
CAP_RETRY_S = 5.0  # the cap left no room for a wanted member: look again, a session may have ended
MAX_FAILURES = 3  # CLIs of one shape that died or failed to start in a row before the pool stops trying


@dataclass(eq=False)
class _Want:
    """A spawn shape some session used, and options to start more like it (callbacks blanked)."""

    shape: tuple
    template: sdk.ClaudeAgentOptions
    failures: int = 0


@dataclass(eq=False)
class _Member:
    shape: tuple
    options: sdk.ClaudeAgentOptions  # as started: the template with forwarding callbacks
    forward: Forward
    stamp: tuple  # the files it read at start
    started: float = field(default_factory=time.monotonic)
    client: sdk.ClaudeSDKClient | None = None
    ready_at: float | None = None
    claimed: bool = False  # a session took it: no longer the pool's to count or release
    failed: bool = False  # its CLI died or never started
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # connected, or failed to
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # claimed or released: stop waiting idle
    done: asyncio.Event = field(default_factory=asyncio.Event)  # disconnect now
    task: asyncio.Task | None = None


class WarmPool:
    def __init__(self, base: Runner, size: int, ttl_s: float, room: Callable[[], int],
                 refill_delay_s: float = REFILL_DELAY_S) -> None:
        self.base = base
        self.size = size
        self.ttl_s = ttl_s
        self.room = room  # how many more CLI processes the live-session cap allows besides the live sessions
        self.refill_delay_s = refill_delay_s
        self._members: list[_Member] = []  # unclaimed: the ones that count as the pool
        self._wants: list[_Want] = []  # most recently used first, at most `size`
        self._tasks: set[asyncio.Task] = set()
        self._fill_handle: asyncio.TimerHandle | None = None
        self._closed = False

    # -- the Runner seam -----------------------------------------------------------------

    @asynccontextmanager
    async def connect(self, options: sdk.ClaudeAgentOptions,
                      ticket: RunTicket | None = None) -> AsyncIterator[sdk.ClaudeSDKClient]:
        member = self._take(options)
        self._want(options)  # after the take: its replacement is wanted
        client = await self._adopt(member, options) if member else None
        if client is None or member is None:
            self._keep_cap()  # this session's own CLI is about to start
            async with self.base.connect(options, ticket) as client:
                yield client
            return
        try:
            yield client
        finally:
            await self._let_go(member)

    def alive(self, client: sdk.ClaudeSDKClient) -> bool:
        return self.base.alive(client)

    def expect(self, options: sdk.ClaudeAgentOptions) -> None:
        if starts_fresh(options):
            self._want(options)  # the project's first job finds a CLI ready, not only its second

    def spare(self, directory: str | None = None) -> int:
        return len(self._members) - (1 if self._protected(directory) else 0)

    def release_spare(self, directory: str | None = None) -> bool:
        protected = self._protected(directory)
        victim = self._least_wanted([m for m in self._members if m is not protected])
        if victim is None:
            return False
        self._release(victim)
        return True

    async def close(self) -> None:
        self._closed = True
        if self._fill_handle:
            self._fill_handle.cancel()
        for member in list(self._members):
            self._release(member)
        tasks = list(self._tasks)
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- what tests, benches and pages may look at ---------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        """The members waiting to be taken: folder, process, model and mode, how long they have waited."""
        now = time.monotonic()
        return [{"cwd": str(m.options.cwd), "pid": cli_pid(m.client),
                 "ready": m.client is not None and self.base.alive(m.client),
                 "model": m.options.model, "permission_mode": m.options.permission_mode,
                 "idle_s": round(now - (m.ready_at or m.started), 3)} for m in self._members]

    # -- taking and giving back ----------------------------------------------------------

    def _take(self, options: sdk.ClaudeAgentOptions) -> _Member | None:
        if not starts_fresh(options) or not self._members:
            return None  # a conversation that resumes or forks is started for itself
        shape = spawn_shape(options)
        matching = [m for m in self._members if m.shape == shape
                    and not (m.client is not None and not self.base.alive(m.client))]
        if not matching:
            return None
        member = min(matching, key=lambda m: (m.client is None, m.started))  # a ready one before a starting one
        self._members.remove(member)
        member.claimed = True
        member.wake.set()
        return member

    async def _adopt(self, member: _Member, options: sdk.ClaudeAgentOptions) -> sdk.ClaudeSDKClient | None:
        """The member's client, pointed at this session and set to its model and mode; None: start afresh."""
        try:
            await member.settled.wait()  # a member still starting is sooner than a new start
            client = member.client
            if client is None or not self.base.alive(client):
                member.failed = True
            elif member.stamp != disk_stamp(options):
                log.info("warm CLI for %s is stale (memory or settings changed): not used", options.cwd)
            else:
                member.forward.adopt(options)
                if options.model != member.options.model:
                    await client.set_model(options.model)
                if options.permission_mode != member.options.permission_mode:
                    await client.set_permission_mode(options.permission_mode or "default")
                self._succeeded(member.shape)
                return client
        except asyncio.CancelledError:
            member.done.set()
            raise
        except Exception as exc:  # the member's CLI went away while being taken: start afresh
            log.info("warm CLI for %s could not be taken: %s", options.cwd, exc)
        member.done.set()
        return None

    async def _let_go(self, member: _Member) -> None:
        """The session is done with the member: its owner disconnects it; wait until the CLI is gone."""
        member.done.set()
        if member.task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(member.task)

    def _release(self, member: _Member) -> None:
        if member in self._members:
            self._members.remove(member)
        member.wake.set()
        member.done.set()

    def _keep_cap(self) -> None:
        """A session starts a CLI of its own: give back members until live sessions and the pool fit the cap."""
        while len(self._members) > max(0, self.room()):
            victim = self._least_wanted(self._members)
            if victim is None:
                return
            self._release(victim)

    def _protected(self, directory: str | None) -> _Member | None:
        """The member a new session in `directory` would most likely take (it does not add a process)."""
        if directory is None:
            return None
        mine = [m for m in self._members if str(m.options.cwd) == str(directory)]
        return min(mine, key=self._rank) if mine else None

    def _rank(self, member: _Member) -> int:
        shapes = [want.shape for want in self._wants]
        return shapes.index(member.shape) if member.shape in shapes else len(shapes)

    def _least_wanted(self, members: list[_Member]) -> _Member | None:
        """The member of the least recently used shape, the one that waited longest among equals."""
        return max(members, key=lambda m: (self._rank(m), -m.started), default=None)

    # -- filling -------------------------------------------------------------------------

    def _want(self, options: sdk.ClaudeAgentOptions) -> None:
        if self._closed or self.size <= 0:
            return
        template = blank(options)
        shape = spawn_shape(template)
        want = next((w for w in self._wants if w.shape == shape), None) or _Want(shape, template)
        if want in self._wants:
            self._wants.remove(want)
        want.template = template
        want.failures = 0  # a job used it: worth trying again
        self._wants.insert(0, want)
        del self._wants[self.size:]
        self._fill_soon()

    def _fill_soon(self, delay: float | None = None) -> None:
        if self._fill_handle is None and not self._closed:
            delay = self.refill_delay_s if delay is None else delay
            self._fill_handle = asyncio.get_running_loop().call_later(delay, self._fill)

    def _fill(self) -> None:
        """One member for each of the most recently used shapes, within the pool's size and the cap."""
        self._fill_handle = None
        for want in list(self._wants):
            if self._closed:
                return
            if want.failures >= MAX_FAILURES or any(m.shape == want.shape for m in self._members):
                continue
            if len(self._members) >= self.size:
                victim = self._least_wanted(self._members)
                if victim is None or self._rank(victim) <= self._wants.index(want):
                    return
                self._release(victim)
            if len(self._members) + 1 > self.room():
                self._fill_soon(CAP_RETRY_S)
                return
            self._spawn(want)

    def _spawn(self, want: _Want) -> None:
        forward = Forward()
        options = forward.options_for(want.template)
        member = _Member(shape=want.shape, options=options, forward=forward, stamp=disk_stamp(options))
        self._members.append(member)
        member.task = asyncio.create_task(self._own(member), name=f"warm-cli:{options.cwd}")
        self._tasks.add(member.task)
        member.task.add_done_callback(self._tasks.discard)

    async def _own(self, member: _Member) -> None:
        """A member's whole life, in one task: connect, wait to be taken, disconnect."""
        try:
            async with self.base.connect(member.options) as client:
                member.client = client
                member.ready_at = time.monotonic()
                member.settled.set()
                if await self._idle(member):
                    await member.done.wait()  # taken: the session lets go when it ends
        except Exception as exc:
            if member.client is None:  # it never started: a session waiting for it starts its own
                member.failed = True
            log.info("warm CLI for %s failed: %s", member.options.cwd, exc)
        finally:
            member.client = None
            member.settled.set()
            if member in self._members:
                self._members.remove(member)
            if member.failed and not member.claimed and not self._closed:
                self._failed(member.shape)

    async def _idle(self, member: _Member) -> bool:
        """Wait until a session takes the member (True), or it is released, expires or dies (False)."""
        deadline = (member.ready_at or time.monotonic()) + self.ttl_s
        while not member.wake.is_set():
            if member.client is None or not self.base.alive(member.client):
                member.failed = True
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(member.wake.wait(), min(CHECK_EVERY_S, left))
        if member.claimed:
            return True
        if member in self._members:
            self._members.remove(member)
        return False

    def _failed(self, shape: tuple) -> None:
        want = next((w for w in self._wants if w.shape == shape), None)
        if want is not None:
            want.failures += 1
            self._fill_soon()

    def _succeeded(self, shape: tuple) -> None:
        want = next((w for w in self._wants if w.shape == shape), None)
        if want is not None:
            want.failures = 0
