"""One live channel to the Claude Code CLI for one job.

A `LiveSession` owns a single long-lived asyncio task that connects a
`ClaudeSDKClient`, keeps one reader draining it without pause (permission and
hook callbacks are answered from that same stream), sends queued prompts one
turn at a time, and disconnects from the same task it connected in, as the SDK
requires. Decisions about job state belong to the `SessionManager`; this class
reports what happened through the `SessionHost` callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    HookMatcher,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    ToolUseBlock,
)

from core import events
from core.jobs.approvals import PERMISSION, PLAN, QUESTION, ApprovalBroker, Decision
from core.jobs.prompts import Prompt
from core.models import Job

log = logging.getLogger(__name__)

FILE_TOOLS = "Write|Edit|MultiEdit|NotebookEdit"
STDERR_LINES_KEPT = 40


@dataclass
class ResumeSpec:
    """How to continue an earlier conversation when connecting."""

    session_id: str
    fork: bool = False
    at_message_uuid: str | None = None


class SessionHost(Protocol):
    """What a live session needs from its manager."""

    approvals: ApprovalBroker

    def build_options(self, session: LiveSession) -> ClaudeAgentOptions: ...
    async def acquire_slot(self, session: LiveSession) -> None: ...
    def on_connected(self, session: LiveSession) -> None: ...
    def on_turn_start(self, session: LiveSession, prompt: Prompt) -> None: ...
    def on_unasked_turn(self, session: LiveSession) -> None: ...
    def on_session_id(self, session: LiveSession, session_id: str) -> None: ...
    def on_event(self, session: LiveSession, event: dict[str, Any]) -> None: ...
    def on_live_event(self, session: LiveSession, event: dict[str, Any]) -> None: ...
    def on_turn_end(self, session: LiveSession, result: ResultMessage, cost: float) -> None: ...
    def on_tool_use(self, session: LiveSession, block: ToolUseBlock) -> None: ...
    def on_file_touched(self, session: LiveSession, path: str) -> None: ...
    def on_always_allow(self, session: LiveSession, tool_name: str) -> None: ...
    def on_session_end(self, session: LiveSession, error: str | None) -> None: ...


async def _single(message: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield message


class LiveSession:
    def __init__(self, host: SessionHost, job: Job, resume: ResumeSpec | None = None) -> None:
        self.host = host
        self.job = job
        self.resume = resume
        self.prompts: deque[Prompt] = deque()
        self.client: ClaudeSDKClient | None = None
        self.connected = False
        self.turn_active = False
        self.current_prompt: Prompt | None = None
        self.waiting_for_slot = False
        self.holds_slot = False
        self.closing = False
        self.close_status: str | None = None  # what the job becomes once this session ends
        self.close_reason = ""
        self.holds_session_crons = False
        self.needs_reconnect = False  # thinking or effort changed: reconnect before the next turn
        self.last_activity = time.monotonic()
        self.server_info: dict[str, Any] | None = None
        self.partial: dict[int, dict[str, Any]] = {}  # streaming blocks, for late subscribers
        self._tool_inputs: dict[str, dict[str, Any]] = {}
        self._tool_input_seen: dict[str, asyncio.Event] = {}
        self._special_decisions: dict[str, Decision] = {}
        self._connection_cost = 0.0
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES_KEPT)
        self._wakeup = asyncio.Event()
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
        self.host.approvals.cancel_job(self.job.id, reason or "The session was closed.")
        if self.task and (self.waiting_for_slot or not self.connected):
            self.task.cancel()
        self._wakeup.set()

    async def interrupt(self) -> bool:
        if self.client is None or not self.turn_active:
            return False
        self.host.approvals.cancel_job(self.job.id, "The user stopped this turn.")
        await self.client.interrupt()
        return True

    async def set_model(self, model: str | None) -> None:
        if self.client is not None:
            await self.client.set_model(model)

    async def set_permission_mode(self, mode: str) -> None:
        if self.client is not None:
            await self.client.set_permission_mode(mode)  # type: ignore[arg-type]

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def on_stderr(self, line: str) -> None:
        self._stderr.append(line.rstrip())

    # -- the task ------------------------------------------------------------------------

    async def _run(self) -> None:
        error: str | None = None
        try:
            if self.prompts:
                await self._acquire_slot()
            if self.closing:
                return
            options = self.host.build_options(self)
            async with ClaudeSDKClient(options) as client:
                self.client = client
                self.connected = True
                with contextlib.suppress(Exception):
                    self.server_info = await client.get_server_info()
                self.host.on_connected(self)
                error = await self._serve(client)
        except asyncio.CancelledError:
            if not self.closing:
                error = "The session task was cancelled."
        except Exception as exc:  # connection and process failures end up on the job
            error = self._describe(exc)
            log.info("job %s session failed: %s", self.job.id, error)
        finally:
            self.client = None
            self.connected = False
            self.host.on_session_end(self, error)

    async def _acquire_slot(self) -> None:
        if self.holds_slot:
            return
        self.waiting_for_slot = True
        try:
            await self.host.acquire_slot(self)
            self.holds_slot = True
        finally:
            self.waiting_for_slot = False

    async def _serve(self, client: ClaudeSDKClient) -> str | None:
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
                    self.last_activity = time.monotonic()
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
                    return self._describe(exc) if exc else self._process_exit_message()
            return None
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _read(self, client: ClaudeSDKClient) -> None:
        async for message in client.receive_messages():
            self.last_activity = time.monotonic()
            self._handle(message)

    def _handle(self, message: Any) -> None:
        if isinstance(message, SystemMessage) and message.subtype == "init":
            session_id = (message.data or {}).get("session_id")
            if session_id:
                self.host.on_session_id(self, session_id)
        if isinstance(message, AssistantMessage):
            for block in message.content:
                if isinstance(block, ToolUseBlock):
                    self._tool_inputs[block.id] = block.input
                    if block.id in self._tool_input_seen:
                        self._tool_input_seen[block.id].set()
                    self.host.on_tool_use(self, block)
        if not self.turn_active and isinstance(message, AssistantMessage | StreamEvent):
            # A cron task or background agent started a turn nobody sent.
            self.turn_active = True
            self.host.on_unasked_turn(self)
        for event in events.from_sdk(message):
            if event["kind"] == events.DELTA:
                self._track_partial(event)
                self.host.on_live_event(self, event)
            else:
                if event["kind"] == events.ASSISTANT:
                    self.partial.clear()
                self.host.on_event(self, event)
        if isinstance(message, ResultMessage) and self._ends_our_turn(message):
            cost = 0.0
            if message.total_cost_usd is not None:
                cost = max(0.0, message.total_cost_usd - self._connection_cost)
                self._connection_cost = message.total_cost_usd
            self.turn_active = False
            self.current_prompt = None
            self.host.on_partial_left(self)  # a stopped turn leaves the text it had streamed
            self.partial.clear()
            self.host.on_turn_end(self, message, cost)
            self._wakeup.set()

    def _ends_our_turn(self, result: ResultMessage) -> bool:
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
        text = str(exc) or type(exc).__name__
        tail = self.stderr_tail.strip()
        if tail and tail not in text:
            text = f"{text}\n{tail}"
        return f"{type(exc).__name__}: {text}"

    # -- approvals -----------------------------------------------------------------------

    async def can_use_tool(self, tool_name: str, tool_input: dict[str, Any], ctx: Any):
        if tool_name in ("AskUserQuestion", "ExitPlanMode"):
            decision = await self._ask_special(tool_name, tool_input, getattr(ctx, "tool_use_id", None))
        elif tool_name in self.job.always_allow:
            return PermissionResultAllow()
        else:
            decision = await self.host.approvals.request(
                self.job.id, PERMISSION, tool_name, tool_input,
                tool_use_id=getattr(ctx, "tool_use_id", None), title=getattr(ctx, "title", None))
        self.last_activity = time.monotonic()
        if not decision.allow:
            return PermissionResultDeny(message=decision.message)
        if decision.always:
            self.host.on_always_allow(self, tool_name)
            return PermissionResultAllow(updated_input=decision.updated_input,
                                         updated_permissions=list(getattr(ctx, "suggestions", None) or []))
        return PermissionResultAllow(updated_input=decision.updated_input)

    async def _ask_special(self, tool_name: str, tool_input: dict[str, Any],
                           tool_use_id: str | None) -> Decision:
        """Ask once per tool call: in modes that ask, the CLI consults both the hook and can_use_tool."""
        if tool_use_id and tool_use_id in self._special_decisions:
            return self._special_decisions.pop(tool_use_id)
        decision = await self._ask_person(tool_name, tool_input, tool_use_id)
        if tool_use_id:
            self._special_decisions[tool_use_id] = decision
        return decision

    async def _ask_person(self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str | None) -> Decision:
        if tool_name == "AskUserQuestion":
            return await self.host.approvals.request(self.job.id, QUESTION, tool_name, tool_input,
                                                     tool_use_id=tool_use_id)
        plan = tool_input.get("plan") or await self._streamed_input(tool_use_id, "plan")
        return await self.host.approvals.request(self.job.id, PLAN, tool_name, {**tool_input, "plan": plan or ""},
                                                 tool_use_id=tool_use_id)

    async def _streamed_input(self, tool_use_id: str | None, key: str) -> Any:
        """The plan text arrives with the streamed tool call, which may trail the permission request."""
        if not tool_use_id:
            return None
        if tool_use_id not in self._tool_inputs:
            seen = self._tool_input_seen.setdefault(tool_use_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.wait(), 5.0)
        return self._tool_inputs.get(tool_use_id, {}).get(key)

    async def pre_tool_use(self, hook_input: dict[str, Any], tool_use_id: str | None, _ctx: Any) -> dict:
        """Questions and plans reach the user in every permission mode, even those that never ask."""
        tool_name = hook_input.get("tool_name", "")
        if tool_name not in ("AskUserQuestion", "ExitPlanMode"):
            return {}
        tool_input = hook_input.get("tool_input") or {}
        decision = await self._ask_special(tool_name, tool_input, tool_use_id or hook_input.get("tool_use_id"))
        self.last_activity = time.monotonic()
        output: dict[str, Any] = {"hookEventName": "PreToolUse",
                                  "permissionDecision": "allow" if decision.allow else "deny",
                                  "permissionDecisionReason": decision.message or None}
        if decision.updated_input is not None:
            output["updatedInput"] = decision.updated_input
        return {"hookSpecificOutput": {k: v for k, v in output.items() if v is not None}}

    async def post_tool_use(self, hook_input: dict[str, Any], _tool_use_id: str | None, _ctx: Any) -> dict:
        path = (hook_input.get("tool_input") or {}).get("file_path") or \
            (hook_input.get("tool_input") or {}).get("notebook_path")
        if path:
            self.host.on_file_touched(self, str(path))
        return {}

    def hooks(self, approval_wait_s: float) -> dict[str, list[HookMatcher]]:
        return {
            "PreToolUse": [HookMatcher(matcher="AskUserQuestion|ExitPlanMode", hooks=[self.pre_tool_use],
                                       timeout=approval_wait_s)],
            "PostToolUse": [HookMatcher(matcher=FILE_TOOLS, hooks=[self.post_tool_use])],
        }
