"""Grep and Glob: the pattern, where it looked, and what it found."""

from __future__ import annotations

from nicegui import ui

from components.chat.output import output
from components.chat.tools.base import Input, ToolRenderer
from components.chat.tools.paths import shown_path

_GREP_FLAGS = (("-i", "case-insensitive"), ("-n", "line numbers"), ("multiline", "multiline"))


def _where(tool_input: Input) -> str:
    parts = []
    if tool_input.get("path"):
        parts.append(f"in {shown_path(str(tool_input['path']))}")
    if tool_input.get("glob"):
        parts.append(f"files {tool_input['glob']}")
    if tool_input.get("type"):
        parts.append(f"type {tool_input['type']}")
    return "  " + " ".join(parts) if parts else ""


def _grep_summary(tool_input: Input) -> str:
    return f"/{tool_input.get('pattern', '')}/{_where(tool_input)}"


def _glob_summary(tool_input: Input) -> str:
    return f"{tool_input.get('pattern', '')}{_where(tool_input)}"


def _grep_body(tool_input: Input) -> None:
    flags = [label for key, label in _GREP_FLAGS if tool_input.get(key)]
    if tool_input.get("output_mode"):
        flags.insert(0, f"mode {tool_input['output_mode']}")
    if flags:
        ui.label(" · ".join(flags)).classes("ccs-muted")


def _found(_input: Input, text: str) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or text.strip().startswith("No files found") or text.strip().startswith("No matches"):
        ui.label(text.strip() or "No matches").classes("ccs-muted")
        return
    ui.label(f"{len(lines):,} result lines").classes("ccs-muted")
    output(text, title="Results")


GREP = ToolRenderer(icon="manage_search", summary=_grep_summary, body=_grep_body, result=_found)
GLOB = ToolRenderer(icon="folder_open", summary=_glob_summary, result=_found)
