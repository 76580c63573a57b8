"""Write and Read: path, size and a preview of the content."""

from __future__ import annotations

from nicegui import ui

from components.chat import fmt
from components.chat.output import output
from components.chat.tools.base import Input, ToolRenderer, caption_result
from components.chat.tools.paths import shown_path
from core.workspace.files.languages import guess_language

READ_PREVIEW_LINES = 6  # the model read it; people rarely need more than a glimpse inline


def _path(tool_input: Input) -> str:
    return shown_path(str(tool_input.get("file_path") or tool_input.get("notebook_path") or ""))


def _size_line(text: str) -> str:
    lines = len(text.splitlines())
    return f"{lines:,} line{'s' * (lines != 1)} · {fmt.size(len(text.encode('utf-8', 'replace')))}"


def _write_summary(tool_input: Input) -> str:
    return f"{_path(tool_input)}  ({_size_line(str(tool_input.get('content', '')))})"


def _write_body(tool_input: Input) -> None:
    content = str(tool_input.get("content", ""))
    if content:
        output(content, title=_path(tool_input), language=guess_language(_path(tool_input).rsplit("/", 1)[-1]))
    else:
        ui.label("(empty file)").classes("ccs-muted")


def _read_summary(tool_input: Input) -> str:
    window = ""
    if tool_input.get("offset") or tool_input.get("limit"):
        start = int(tool_input.get("offset") or 1)
        window = f"  lines {start}–{start + int(tool_input['limit']) - 1}" if tool_input.get("limit") \
            else f"  from line {start}"
    return _path(tool_input) + window


def _read_result(tool_input: Input, text: str) -> None:
    ui.label(_size_line(text)).classes("ccs-muted")
    if text.strip():
        output(text, title=_path(tool_input), max_lines=READ_PREVIEW_LINES)


WRITE = ToolRenderer(icon="save", summary=_write_summary, body=_write_body, result=caption_result)
READ = ToolRenderer(icon="description", summary=_read_summary, result=_read_result)
