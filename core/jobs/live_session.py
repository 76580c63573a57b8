"""One live channel to the Claude Code CLI for one job.

A `LiveSession` owns a single long-lived asyncio task that takes a connected
`sdk.ClaudeSDKClient` from its runner (`core/jobs/runner.py`: a CLI started here, one
kept warm, or one elsewhere), keeps one reader draining it without pause (permission
and hook callbacks are answered from that same stream), sends queued prompts one
turn at a time, and gives the client back when it ends; the runner disconnects it
from the task that connected it, as the SDK requires. It builds the CLI's options
itself, from the job and a `SessionSetup`.
Decisions about job state belong to the manager (`core/jobs/manager.py`); this
class reports what happened through the few `SessionHost` callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from core import events, sdk
from core.errors import UserError
from core.jobs.approvals import ApprovalBroker
from core.jobs.prompts import Prompt
from core.jobs.runner import LocalRunner, Runner, RunnerLost, RunTicket
from core.jobs.tool_gate import ToolGate
from core.models import Job

log = logging.getLogger(__name__)

CRON_TOOLS = {"CronCreate"}
STDERR_LINES_KEPT = 40
MAX_BUFFER_BYTES = 64 * 1024 * 1024  # one stream-json line may carry a whole file or an image


@dataclass
class ResumeSpec:
    """How to continue an earlier conversation when connecting."""

    session_id: str
    fork: bool = False
    at_message_uuid: str | None = None


@dataclass(frozen=True)
class SessionSetup:
    """What a CLI process starts with besides the job's own settings; it changes only with a new process."""

    cwd: str
    env: dict[str, str]
    approval_wait_s: float  # how long a hook may wait for a person's answer to a question or plan
    runner: Runner = field(default_factory=LocalRunner)  # where the CLI runs (spec O1)
    max_budget_usd: float | None = None  # what the CLI may spend before it stops a turn (spec N3)
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)  # the project's, checked (spec N4)


class SessionHost(Protocol):
    """What a live session tells its manager, which decides what becomes of the job."""

    async def prepare(self, session: LiveSession) -> None: ...  # first: the job's folder (an isolated job's worktree)
    async def wait_for_slot(self, session: LiveSession) -> None: ...  # before a turn: a running slot
    def on_connected(self, session: LiveSession) -> None: ...
    def on_turn_start(self, session: LiveSession, prompt: Prompt | None) -> None: ...  # None: nobody's (a cron)
    def on_event(self, session: LiveSession, event: dict[str, Any]) -> None: ...  # stored, then published
    def on_live_event(self, session: LiveSession, event: dict[str, Any]) -> None: ...  # a delta: published only
    def on_placement(self, session: LiveSession, waiting: str | None, where: str | None) -> None: ...  # spec O2
    def on_always_allow(self, session: LiveSession, tool_name: str) -> None: ...
    def on_file_touched(self, session: LiveSession, path: str) -> None: ...
    def on_turn_end(self, session: LiveSession, result: sdk.ResultMessage, cost: float) -> None: ...
    def on_session_end(self, session: LiveSession, error: str | None) -> None: ...


async def _single(message: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield message


class LiveSession:
    def __init__(self, host: SessionHost, job: Job, setup: SessionSetup, approvals: ApprovalBroker,
                 resume: ResumeSpec | None = None) -> None:
        self.host = host
        self.job = job
        self.setup = setup
        self.approvals = approvals
        self.resume = resume
        self.prompts: deque[Prompt] = deque()
        self.client: sdk.ClaudeSDKClient | None = None
        self.connected = False
        self.turn_active = False
        self.current_prompt: Prompt | None = None
        self.waiting_for_slot = False
        self.holds_slot = False
        self.closing = False
        self.close_status: str | None = None  # what the job becomes once this session ends
        self.close_reason = ""
        self.holds_session_crons = False
        self.lost_at_rest = False  # its machine went while no turn ran: nothing was lost but the process
        self.needs_reconnect = False  # thinking or effort changed: reconnect before the next turn
        self.last_activity = time.monotonic()
        self.server_info: dict[str, Any] | None = None
        self.partial: dict[int, dict[str, Any]] = {}  # streaming blocks, for late subscribers
        self.gate = ToolGate(self)
        self._connection_cost = 0.0
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES_KEPT)
        self._wakeup = asyncio.Event()
        self._connected = asyncio.Event()
        self.task: asyncio.Task | None = None

    # -- control, called by the manager -------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"job-{self.job.id}")

    def enqueue(self, prompt: Prompt) -> None:
        self.prompts.append(prompt)
        self._wakeup.set()

    def close(self, status: str | None, reason: str) -> None:
        """Ask the task to disconnect; the job then takes `status` (None: the manager decides)."""
        if self.closing:
            return
        self.closing = True
        self.close_status = status
        self.close_reason = reason
        self.approvals.cancel_job(self.job.id, reason or "The session was closed.")
        if self.task and (self.waiting_for_slot or not self.connected):
            self.task.cancel()
        self._wakeup.set()

    async def interrupt(self) -> bool:
        if self.client is None or not self.turn_active:
            return False
        self.approvals.cancel_job(self.job.id, "The user stopped this turn.")
        await self.client.interrupt()
        return True

    async def set_model(self, model: str | None) -> None:
        if self.client is not None:
            await self.client.set_model(model)

    async def set_permission_mode(self, mode: str) -> None:
        if self.client is not None:
            await self.client.set_permission_mode(mode)  # type: ignore[arg-type]

    async def context_usage(self) -> dict[str, Any] | None:
        """How full the conversation's context window is, as the CLI's /context counts it (spec N2); None when
        no CLI is connected."""
        if self.client is None or not self.connected:
            return None
        return dict(await self.client.get_context_usage())

    async def mcp_status(self) -> list[dict[str, Any]] | None:
        """The MCP servers the CLI knows and how they are (spec N4); None when no CLI is connected."""
        if self.client is None or not self.connected:
            return None
        return list((await self.client.get_mcp_status()).get("mcpServers") or [])

    async def toggle_mcp_server(self, name: str, enabled: bool) -> None:
        if self.client is not None and self.connected:
            await self.client.toggle_mcp_server(name, enabled)

    async def wait_connected(self, timeout: float) -> bool:
        """Wait until the CLI is connected (True), or the session ended or the time ran out (False)."""
        if self.connected:
            return True
        if self.task is None or self.task.done():
            return False
        waiter = asyncio.ensure_future(self._connected.wait())
        try:
            await asyncio.wait({waiter, self.task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        return self.connected and not self.closing

    async def rewind_files(self, user_message_uuid: str, *, dry_run: bool) -> dict[str, Any]:
        """The CLI's answer to restoring the files it checkpointed to their state before a user message:
        `canRewind`, and `error` when it cannot; a dry run adds `filesChanged`, `insertions`, `deletions`."""
        if self.client is None or self.client._query is None:
            return {"canRewind": False, "error": "The Claude Code process is not connected."}
        request: dict[str, Any] = {"subtype": "rewind_files", "user_message_id": user_message_uuid}
        if dry_run:
            request["dry_run"] = True
        try:
            # Private on purpose: the SDK's public rewind_files() offers no dry run and drops the CLI's
            # answer (which files, why not). This is the one place that knows; an SDK change touches it only.
            return await self.client._query._send_control_request(request)
        except Exception as exc:  # the CLI answers "cannot" to a real rewind with an error
            return {"canRewind": False, "error": str(exc) or type(exc).__name__}

    def touch(self) -> None:
        """Something happened: the session is not idle (hibernation counts from the last touch)."""
        self.last_activity = time.monotonic()

    def drop_queued(self) -> None:
        """Forget the prompts waiting for their turn (Stop, Close, Archive)."""
        self.prompts.clear()

    @property
    def at_rest(self) -> bool:
        """Connected, with nothing running, queued or closing: free to hibernate or to take a prompt at once."""
        return self.connected and not self.closing and not self.turn_active and not self.prompts

    def options(self) -> sdk.ClaudeAgentOptions:
        """The CLI's options: the setup's, the job's model, modes, thinking and effort, and where to resume."""
        job = self.job
        options = sdk.ClaudeAgentOptions(
            cwd=self.setup.cwd,
            include_partial_messages=True,
            forward_subagent_text=True,  # subagents' own text, nested under their Task call
            permission_mode=job.permission_mode,  # type: ignore[arg-type]
            model=job.model,
            can_use_tool=self.gate.can_use_tool,
            hooks=self.gate.hooks(self.setup.approval_wait_s),  # type: ignore[arg-type]
            env=dict(self.setup.env),
            max_buffer_size=MAX_BUFFER_BYTES,
            stderr=self.on_stderr,
            enable_file_checkpointing=True,  # spec L3: files can be restored to before any user message
        )
        if job.thinking_tokens == 0:
            options.thinking = {"type": "disabled"}
        elif job.thinking_tokens:
            options.thinking = {"type": "enabled", "budget_tokens": job.thinking_tokens}
        if job.effort:
            options.effort = job.effort  # type: ignore[assignment]
        if self.setup.max_budget_usd is not None:
            options.max_budget_usd = self.setup.max_budget_usd
        if self.setup.mcp_servers:
            options.mcp_servers = {name: dict(config) for name, config in self.setup.mcp_servers.items()}
        if self.resume:
            options.resume = self.resume.session_id
            options.fork_session = self.resume.fork
            options.resume_session_at = self.resume.at_message_uuid
        return options

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def on_stderr(self, line: str) -> None:
        self._stderr.append(line.rstrip())

    # -- the task ------------------------------------------------------------------------

    async def _run(self) -> None:
        error: str | None = None
        try:
            await self.host.prepare(self)
            if self.prompts:
                await self._acquire_slot()
            if self.closing:
                return
            async with self.setup.runner.connect(self.options(), self._ticket()) as client:
                self.client = client
                self.connected = True
                self._connected.set()
                with contextlib.suppress(Exception):
                    self.server_info = await client.get_server_info()
                self.host.on_connected(self)
                error = await self._serve(client)
        except asyncio.CancelledError:
            if not self.closing:
                error = "The session task was cancelled."
        except UserError as exc:  # the job's folder could not be made ready: its own words
            error = str(exc)
        except Exception as exc:  # connection and process failures end up on the job
            error = self._describe(exc)
            log.info("job %s session failed: %s", self.job.id, error)
        finally:
            self.client = None
            self.connected = False
            self.host.on_session_end(self, error)

    def _ticket(self) -> RunTicket:
        def warn(message: str) -> None:
            self.host.on_event(self, events.make(events.WARNING, message=message))

        return RunTicket(self.job.id, self.job.name, lambda waiting, where: self.host.on_placement(
            self, waiting, where), warn)

    async def _acquire_slot(self) -> None:
        if self.holds_slot:
            return
        self.waiting_for_slot = True
        try:
            await self.host.wait_for_slot(self)
            self.holds_slot = True
        finally:
            self.waiting_for_slot = False

    async def _serve(self, client: sdk.ClaudeSDKClient) -> str | None:
        reader = asyncio.create_task(self._read(client))
        try:
            while not self.closing:
                if not self.turn_active and self.prompts:
                    await self._acquire_slot()
                    if self.closing:
                        break
                    prompt = self.prompts.popleft()
                    self.turn_active = True
                    self.current_prompt = prompt
                    self.touch()
                    self.host.on_turn_start(self, prompt)
                    await client.query(_single(prompt.message()))
                    continue
                self._wakeup.clear()
                waiter = asyncio.create_task(self._wakeup.wait())
                done, _ = await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if reader in done:
                    if self.closing:
                        return None
                    exc = reader.exception()
                    self.lost_at_rest = isinstance(exc, RunnerLost) and not self.turn_active and not self.prompts
                    return self._describe(exc) if exc else self._process_exit_message()
            return None
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _read(self, client: sdk.ClaudeSDKClient) -> None:
        async for message in client.receive_messages():
            self.touch()
            self._handle(message)

    def _handle(self, message: Any) -> None:
        if isinstance(message, sdk.AssistantMessage):
            for block in message.content:
                if isinstance(block, sdk.ToolUseBlock):
                    self.gate.saw_tool_use(block)
                    if block.name in CRON_TOOLS and not (block.input or {}).get("durable"):
                        self.holds_session_crons = True  # they live only in this CLI process: never hibernate it
        if not self.turn_active and isinstance(message, sdk.AssistantMessage | sdk.StreamEvent):
            # A cron task or background agent started a turn nobody sent.
            self.turn_active = True
            self.host.on_turn_start(self, None)
        for event in events.from_sdk(message):
            if event["kind"] == events.DELTA:
                self._track_partial(event)
                self.host.on_live_event(self, event)
            else:
                if event["kind"] == events.ASSISTANT:
                    self.partial.clear()
                self.host.on_event(self, event)
        if isinstance(message, sdk.ResultMessage) and self._ends_our_turn(message):
            cost = 0.0
            if message.total_cost_usd is not None:
                cost = max(0.0, message.total_cost_usd - self._connection_cost)
                self._connection_cost = message.total_cost_usd
            self.turn_active = False
            self.current_prompt = None
            self.host.on_turn_end(self, message, cost)
            self._wakeup.set()

    def _ends_our_turn(self, result: sdk.ResultMessage) -> bool:
        if self.current_prompt is None:
            return True
        taken = getattr(result, "user_message_uuids", None) or []
        single = getattr(result, "user_message_uuid", None)
        if not taken and not single:
            return True  # an older CLI or an interrupted turn: nothing else can be pending
        return self.current_prompt.uuid in taken or self.current_prompt.uuid == single

    def _track_partial(self, event: dict[str, Any]) -> None:
        if event.get("parent_tool_use_id"):
            return
        index = event.get("index")
        if event.get("delta_type") == "message_start":
            self.partial.clear()
        elif event.get("delta_type") == "block_start" and index is not None:
            self.partial[index] = {"type": event.get("block_type"), "name": event.get("name"), "text": ""}
        elif index is not None:
            block = self.partial.setdefault(index, {"type": "text", "text": ""})
            block["text"] += event.get("text", "")

    def _process_exit_message(self) -> str:
        tail = self.stderr_tail.strip()
        message = "The Claude Code process ended unexpectedly."
        return f"{message}\n{tail}" if tail else message

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, UserError):  # already said for people (a lost machine, spec O2)
            return str(exc)
        text = str(exc) or type(exc).__name__
        tail = self.stderr_tail.strip()
        if tail and tail not in text:
            text = f"{text}\n{tail}"
        return f"{type(exc).__name__}: {text}"
