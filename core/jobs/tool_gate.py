"""How a live session answers the CLI about tools (spec E1-E5).

Permission requests (`can_use_tool`), questions and plans go to a person through the
approvals broker. A `PreToolUse` hook routes AskUserQuestion and ExitPlanMode in every
permission mode, even those that never ask; in modes that ask, the CLI consults both the
hook and `can_use_tool`, so each decision is remembered per tool call and the person is
asked once. A `PostToolUse` hook reports which files the tools wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from core import sdk
from core.jobs.approvals import PERMISSION, PLAN, QUESTION, Decision

if TYPE_CHECKING:
    from core.jobs.live_session import LiveSession

FILE_TOOLS = "Write|Edit|MultiEdit|NotebookEdit"
PERSON_TOOLS = ("AskUserQuestion", "ExitPlanMode")  # they ask a person whatever the permission mode


class ToolGate:
    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self._tool_inputs: dict[str, dict[str, Any]] = {}
        self._tool_input_seen: dict[str, asyncio.Event] = {}
        self._special_decisions: dict[str, Decision] = {}

    def saw_tool_use(self, block: sdk.ToolUseBlock) -> None:
        """A streamed tool call: its input (a plan's text) may be needed by a request already waiting."""
        self._tool_inputs[block.id] = block.input
        if block.id in self._tool_input_seen:
            self._tool_input_seen[block.id].set()

    async def can_use_tool(self, tool_name: str, tool_input: dict[str, Any], ctx: Any):
        if tool_name in PERSON_TOOLS:
            decision = await self._ask_special(tool_name, tool_input, getattr(ctx, "tool_use_id", None))
        elif tool_name in self.session.job.always_allow:
            return sdk.PermissionResultAllow()
        else:
            decision = await self.session.approvals.request(
                self.session.job.id, PERMISSION, tool_name, tool_input,
                tool_use_id=getattr(ctx, "tool_use_id", None), title=getattr(ctx, "title", None))
        self.session.touch()
        if not decision.allow:
            return sdk.PermissionResultDeny(message=decision.message)
        if decision.always:
            self.session.host.on_always_allow(self.session, tool_name)
            return sdk.PermissionResultAllow(updated_input=decision.updated_input,
                                         updated_permissions=list(getattr(ctx, "suggestions", None) or []))
        return sdk.PermissionResultAllow(updated_input=decision.updated_input)

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
        approvals, job_id = self.session.approvals, self.session.job.id
        if tool_name == "AskUserQuestion":
            return await approvals.request(job_id, QUESTION, tool_name, tool_input, tool_use_id=tool_use_id)
        plan = tool_input.get("plan") or await self._streamed_input(tool_use_id, "plan")
        return await approvals.request(job_id, PLAN, tool_name, {**tool_input, "plan": plan or ""},
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
        if tool_name not in PERSON_TOOLS:
            return {}
        tool_input = hook_input.get("tool_input") or {}
        decision = await self._ask_special(tool_name, tool_input, tool_use_id or hook_input.get("tool_use_id"))
        self.session.touch()
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
            self.session.host.on_file_touched(self.session, str(path))
        return {}

    def hooks(self, approval_wait_s: float) -> dict[str, list[sdk.HookMatcher]]:
        return {
            "PreToolUse": [sdk.HookMatcher(matcher="AskUserQuestion|ExitPlanMode", hooks=[self.pre_tool_use],
                                       timeout=approval_wait_s)],
            "PostToolUse": [sdk.HookMatcher(matcher=FILE_TOOLS, hooks=[self.post_tool_use])],
        }
