"""Edit and MultiEdit: a real unified diff of old_string → new_string."""

from __future__ import annotations

import difflib
import re
from typing import Any

from nicegui import ui

from components.chat.output import output
from components.chat.tools.base import Input, ToolRenderer, caption_result
from components.chat.tools.paths import first_line_of, shown_path
from components.common.diff_text import diff_stats

DIFF_PREVIEW_LINES = 40
MAX_DIFF_CHARS = 200_000  # difflib is quadratic in the worst case; huge edits get sizes, not a diff


_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def unified_diff(path: str, old: str, new: str, first_line: int = 0) -> str:
    """`first_line`: the 0-based line of the file where the snippet starts, so hunk headers give the file's
    line numbers rather than the snippet's."""
    if len(old) + len(new) > MAX_DIFF_CHARS:
        return f"(too large to diff here: {len(old):,} characters replaced by {len(new):,})"
    name = shown_path(path).lstrip("/")
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=f"a/{name}", tofile=f"b/{name}",
                                 lineterm="", n=3)
    if first_line:
        lines = (_shift(line, first_line) for line in lines)
    return "\n".join(lines)


def _shift(line: str, by: int) -> str:
    match = _HUNK.match(line)
    if not match:
        return line
    old_start, old_count, new_start, new_count = match.groups()
    # An empty side starts at the line before (difflib: `-0,0`): it moves by as much.
    return (f"@@ -{int(old_start) + by}{old_count or ''} +{int(new_start) + by}{new_count or ''} @@"
            + line[match.end():])


def _edits(tool_input: Input) -> list[dict[str, Any]]:
    if isinstance(tool_input.get("edits"), list):
        return [e for e in tool_input["edits"] if isinstance(e, dict)]
    return [tool_input]


def edit_diff(tool_input: Input) -> str:
    """The edit as a diff; its hunks at the file's line numbers when the file can be read and holds the
    snippet (before the edit its old text, after it the new), else at the snippet's own."""
    path = str(tool_input.get("file_path", "file"))
    diffs = []
    for edit in _edits(tool_input):
        old, new = str(edit.get("old_string", "")), str(edit.get("new_string", ""))
        diffs.append(unified_diff(path, old, new, first_line_of(path, old, new) or 0))
    return "\n".join(diffs)


def _summary(tool_input: Input) -> str:
    path = shown_path(str(tool_input.get("file_path", "")))
    added, removed = diff_stats(edit_diff(tool_input))
    count = len(_edits(tool_input))
    edits = f" · {count} edits" if count > 1 else ""
    everywhere = " · replace all" if tool_input.get("replace_all") else ""
    return f"{path}  +{added} −{removed}{edits}{everywhere}"


def _body(tool_input: Input) -> None:
    diff = edit_diff(tool_input)
    if diff:
        output(diff, title=shown_path(str(tool_input.get("file_path", "Diff"))), language="diff",
               max_lines=DIFF_PREVIEW_LINES)
    else:
        ui.label("(no change)").classes("ccs-muted")


EDIT = ToolRenderer(icon="edit_note", summary=_summary, body=_body, result=caption_result)
