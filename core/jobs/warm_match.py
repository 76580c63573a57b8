"""When a started CLI can serve a session that asks for other options (spec O1), for the warm pool.

A CLI takes most of its options as flags when it starts and keeps them: its folder, its
environment (the Anthropic credentials), thinking, effort, checkpointing, a conversation
to resume, and whether it may ever enter bypassPermissions (the CLI refuses to switch to it
later unless it started in it). Those make a request's spawn shape: equal shapes can share
a CLI. The model and the permission mode can be set on a live CLI, so they are not part of
it. The callbacks (`can_use_tool`, hooks, stderr) are registered when the client connects,
before any session owns it: a pooled CLI gets forwarding ones (`Forward`) whose target is
set when a session takes it. Files a CLI reads at start (its memory, its settings) are
compared by `disk_stamp`: a CLAUDE.md edited after a CLI started never reaches it.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from core import sdk
from core.claude_home import claude_config_dir
from core.workspace.memory import MemoryService

STDERR_LINES_KEPT = 40
# What makes a CLI continue a conversation; a pooled CLI starts a new one.
_RESUME_FIELDS: dict[str, Any] = {"resume": None, "continue_conversation": False, "session_id": None,
                                  "fork_session": False, "resume_session_at": None, "resume_drops_turn": None}
_SETTINGS_FILES = (".claude/settings.json", ".claude/settings.local.json", ".mcp.json")


def starts_fresh(options: sdk.ClaudeAgentOptions) -> bool:
    return all(getattr(options, name) == empty for name, empty in _RESUME_FIELDS.items())


def spawn_shape(options: sdk.ClaudeAgentOptions) -> tuple:
    """What only a new CLI can change: requests with equal shapes can share a pooled CLI."""
    fixed = replace(options, model=None, permission_mode=None, can_use_tool=None, hooks=None, stderr=None)
    hooks = tuple(sorted((event, tuple((replace(m, hooks=[]), len(m.hooks)) for m in matchers))
                         for event, matchers in (options.hooks or {}).items()))
    return (fixed, hooks, options.can_use_tool is not None, options.stderr is not None,
            options.permission_mode == "bypassPermissions")


def _unset(*_args: Any) -> Any:
    raise RuntimeError("a blanked callback stands for a forwarding one and is never called")


def blank(options: sdk.ClaudeAgentOptions) -> sdk.ClaudeAgentOptions:
    """The request as a fresh start, its callbacks blanked: the same shape, holding nothing of the session."""
    hooks = {event: [replace(m, hooks=[_unset] * len(m.hooks)) for m in matchers]
             for event, matchers in (options.hooks or {}).items()} or None
    return replace(options, **_RESUME_FIELDS, hooks=hooks,
                   can_use_tool=_unset if options.can_use_tool else None,
                   stderr=_unset if options.stderr else None)


def disk_stamp(options: sdk.ClaudeAgentOptions) -> tuple:
    """The memory files (core/workspace/memory.py lists them) and settings files a CLI started with
    these options reads when it starts, as (path, mtime, size)."""
    cwd = Path(options.cwd or ".")
    env = options.env or {}
    config = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else claude_config_dir()
    try:
        paths = [Path(f.path) for f in MemoryService(cwd, env.get("HOME") or Path.home(), config_dir=config).list()]
    except OSError:
        return ("unreadable", time.monotonic())  # never equal: a member is not trusted blind
    paths += [cwd / name for name in _SETTINGS_FILES] + [config / "settings.json"]
    stamp = []
    for path in paths:
        try:
            info = os.stat(path)
            stamp.append((str(path), info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append((str(path), None, None))
    return tuple(stamp)


class Forward:
    """The callbacks a pooled CLI connects with, reaching whichever session takes it."""

    def __init__(self) -> None:
        self.target: sdk.ClaudeAgentOptions | None = None
        self._early: deque[str] = deque(maxlen=STDERR_LINES_KEPT)  # what the CLI said before it was taken

    def adopt(self, target: sdk.ClaudeAgentOptions) -> None:
        self.target = target
        while self._early and target.stderr is not None:
            target.stderr(self._early.popleft())

    def options_for(self, template: sdk.ClaudeAgentOptions) -> sdk.ClaudeAgentOptions:
        """`template` (a blanked request) with forwarding callbacks where it had callbacks."""
        hooks = {event: [replace(m, hooks=[self._hook(event, i, j) for j in range(len(m.hooks))])
                         for i, m in enumerate(matchers)]
                 for event, matchers in (template.hooks or {}).items()} or None
        return replace(template, hooks=hooks, can_use_tool=self.can_use_tool if template.can_use_tool else None,
                       stderr=self.stderr if template.stderr else None)

    async def can_use_tool(self, tool_name: str, tool_input: dict[str, Any], ctx: Any) -> Any:
        target = self.target
        if target is None or target.can_use_tool is None:
            return sdk.PermissionResultDeny(message="No session has taken this Claude Code process yet.")
        return await target.can_use_tool(tool_name, tool_input, ctx)

    def _hook(self, event: str, matcher: int, index: int) -> Any:
        async def forward(hook_input: Any, tool_use_id: str | None, ctx: Any) -> Any:
            target = self.target
            if target is None or not target.hooks:
                return {}
            return await target.hooks[event][matcher].hooks[index](hook_input, tool_use_id, ctx)  # type: ignore[index]
        return forward

    def stderr(self, line: str) -> None:
        target = self.target
        if target is not None and target.stderr is not None:
            target.stderr(line)
        else:
            self._early.append(line)
