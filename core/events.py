"""The normalized event model: every SDK message becomes one or more events.

An event is a plain dict so it can be logged, sent over the API and rendered
without conversion: {"seq", "kind", "ts", ...payload}. `seq` is assigned by the
job's log when the event is stored; live-only events (text deltas) carry the
seq of the last stored event and `"live": True`, and are never stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from core import sdk

# Kinds that are stored in the job log.
USER = "user"
SYSTEM = "system"
ASSISTANT = "assistant"
TOOL_RESULT = "tool_result"
RESULT = "result"
TASK = "task"
STATUS = "status"
APPROVAL = "approval"
APPROVAL_RESOLVED = "approval_resolved"
ERROR = "error"
WARNING = "warning"
PROMPT_QUEUED = "prompt_queued"
SESSION_RESET = "session_reset"
REWIND = "rewind"  # files restored to before a user message (spec L3)
# Live only.
DELTA = "delta"
# System notices that only matter while they happen ("requesting", hook progress).
LIVE_SYSTEM_SUBTYPES = {"status", "hook_started", "hook_progress", "hook_response"}


def make(kind: str, **payload: Any) -> dict[str, Any]:
    return {"kind": kind, "ts": time.time(), **payload}


def _block_dict(block: Any) -> dict[str, Any] | None:
    if isinstance(block, sdk.TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, sdk.ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking}
    if isinstance(block, sdk.ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if hasattr(block, "id") and hasattr(block, "name") and hasattr(block, "input"):
        return {"type": "server_tool_use", "id": block.id, "name": block.name, "input": block.input}
    return None


def _result_content(content: Any) -> Any:
    """Tool results are strings or lists of blocks; keep text, describe images."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for item in content:
        if isinstance(item, dict) and item.get("type") == "text":
            parts.append(item.get("text", ""))
        elif isinstance(item, dict) and item.get("type") == "image":
            parts.append("[image]")
        else:
            parts.append(str(item))
    return "\n".join(parts)


_Handler = Callable[[Any], list[dict[str, Any]]]
_handlers: dict[type, _Handler | None] = {}  # by a message's exact type: one lookup per message


def from_sdk(message: Any) -> list[dict[str, Any]]:
    """Normalize one SDK message into stored (and live) events."""
    try:
        handler = _handlers[type(message)]
    except KeyError:
        handler = _handlers[type(message)] = _handler_for(message)
    return handler(message) if handler is not None else []


def _handler_for(message: Any) -> _Handler | None:
    """The first of these the message is an instance of (subclasses of SystemMessage included)."""
    reset = getattr(sdk, "ConversationResetMessage", None)  # in current SDKs; an older one has none
    for cls, handler in ((sdk.StreamEvent, _from_stream_event), (sdk.AssistantMessage, _from_assistant_message),
                         (sdk.UserMessage, _from_user_message), (sdk.ResultMessage, _from_result_message),
                         (reset, _from_conversation_reset), (sdk.SystemMessage, _from_system_message)):
        if cls is not None and isinstance(message, cls):
            return handler
    return None


def _from_assistant_message(message: Any) -> list[dict[str, Any]]:
    events = []
    for block in message.content:
        data = _block_dict(block)
        if data is None:
            continue
        events.append(make(ASSISTANT, block=data, message_id=message.message_id,
                           uuid=message.uuid, parent_tool_use_id=message.parent_tool_use_id,
                           model=message.model, error=message.error))
    if message.error and not events:
        events.append(make(ASSISTANT, block={"type": "text", "text": ""}, message_id=message.message_id,
                           uuid=message.uuid, parent_tool_use_id=message.parent_tool_use_id,
                           model=message.model, error=message.error))
    return events


def _from_result_message(message: Any) -> list[dict[str, Any]]:
    return [make(RESULT, subtype=message.subtype, is_error=message.is_error,
                 total_cost_usd=message.total_cost_usd, usage=message.usage,
                 duration_ms=message.duration_ms, num_turns=message.num_turns,
                 result=message.result, session_id=message.session_id,
                 errors=message.errors, stop_reason=message.stop_reason,
                 terminal_reason=getattr(message, "terminal_reason", None),
                 user_message_uuids=getattr(message, "user_message_uuids", None))]


def _from_conversation_reset(message: Any) -> list[dict[str, Any]]:
    return [make(SESSION_RESET, previous_session_id=message.session_id)]


def _from_user_message(message: Any) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        # The CLI echoes some prompts (slash command output, replays); keep them as context.
        return [make(USER, text=message.content, uuid=message.uuid, echoed=True,
                     parent_tool_use_id=message.parent_tool_use_id)]
    events = []
    for block in message.content:
        if isinstance(block, sdk.ToolResultBlock):
            events.append(make(TOOL_RESULT, tool_use_id=block.tool_use_id,
                               content=_result_content(block.content), is_error=bool(block.is_error),
                               parent_tool_use_id=message.parent_tool_use_id, uuid=message.uuid))
        elif isinstance(block, sdk.TextBlock) and message.parent_tool_use_id is None:
            events.append(make(USER, text=block.text, uuid=message.uuid, echoed=True))
    return events


def _from_system_message(message: Any) -> list[dict[str, Any]]:
    data = message.data or {}
    if message.subtype == "init":
        return [make(SYSTEM, subtype="init", session_id=data.get("session_id"), model=data.get("model"),
                     cwd=data.get("cwd"), tools=data.get("tools", []),
                     slash_commands=data.get("slash_commands", []),
                     permission_mode=data.get("permissionMode"),
                     memory_paths=data.get("memory_paths"))]
    if message.subtype.startswith("task_"):
        keep = ("task_id", "description", "tool_use_id", "status", "summary", "last_tool_name",
                "usage", "task_type", "patch")
        return [make(TASK, subtype=message.subtype, **{k: data.get(k) for k in keep if k in data})]
    if message.subtype in LIVE_SYSTEM_SUBTYPES:
        return [make(DELTA, live=True, delta_type=message.subtype, text="", data=_jsonable(data))]
    return [make(SYSTEM, subtype=message.subtype, data=_jsonable(data))]


def _from_stream_event(message: Any) -> list[dict[str, Any]]:
    event = message.event or {}
    kind = event.get("type")
    if kind == "content_block_delta":
        delta = event.get("delta", {})
        text = delta.get("text") or delta.get("thinking") or delta.get("partial_json")
        if text is None:
            return []
        return [make(DELTA, live=True, index=event.get("index"), delta_type=delta.get("type"),
                     text=text, parent_tool_use_id=message.parent_tool_use_id)]
    if kind == "content_block_start":
        block = event.get("content_block", {})
        return [make(DELTA, live=True, index=event.get("index"), delta_type="block_start",
                     block_type=block.get("type"), name=block.get("name"), text="",
                     parent_tool_use_id=message.parent_tool_use_id)]
    if kind == "message_start":
        return [make(DELTA, live=True, delta_type="message_start", text="",
                     message_id=(event.get("message") or {}).get("id"),
                     parent_tool_use_id=message.parent_tool_use_id)]
    return []


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
