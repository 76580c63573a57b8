"""Edit and MultiEdit: a real unified diff of old_string → new_string."""

from __future__ import annotations

import difflib
from typing import Any

from nicegui import ui

from components.chat.output import output
from components.chat.tools.base import Input, ToolRenderer, caption_result
from components.common.diff_text import diff_stats

DIFF_PREVIEW_LINES = 40
MAX_DIFF_CHARS = 200_000  # difflib is quadratic in the worst case; huge edits get sizes, not a diff


def unified_diff(path: str, old: str, new: str) -> str:
    if len(old) + len(new) > MAX_DIFF_CHARS:
        return f"(too large to diff here: {len(old):,} characters replaced by {len(new):,})"
    name = path.lstrip("/")
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=f"a/{name}", tofile=f"b/{name}",
                                 lineterm="", n=3)
    return "\n".join(lines)




def _edits(tool_input: Input) -> list[dict[str, Any]]:
    if isinstance(tool_input.get("edits"), list):
        return [e for e in tool_input["edits"] if isinstance(e, dict)]
    return [tool_input]


def edit_diff(tool_input: Input) -> str:
    path = str(tool_input.get("file_path", "file"))
    return "\n".join(unified_diff(path, str(e.get("old_string", "")), str(e.get("new_string", "")))
                     for e in _edits(tool_input))


def _summary(tool_input: Input) -> str:
    path = str(tool_input.get("file_path", ""))
    added, removed = diff_stats(edit_diff(tool_input))
    count = len(_edits(tool_input))
    edits = f" · {count} edits" if count > 1 else ""
    everywhere = " · replace all" if tool_input.get("replace_all") else ""
    return f"{path}  +{added} −{removed}{edits}{everywhere}"


def _body(tool_input: Input) -> None:
    diff = edit_diff(tool_input)
    if diff:
        output(diff, title=str(tool_input.get("file_path", "Diff")), language="diff", max_lines=DIFF_PREVIEW_LINES)
    else:
        ui.label("(no change)").classes("ccs-muted")


EDIT = ToolRenderer(icon="edit_note", summary=_summary, body=_body, result=caption_result)
