"""TodoWrite: the list as a checklist."""

from __future__ import annotations

from nicegui import ui

from components.chat.fmt import tag
from components.chat.tools.base import Input, ToolRenderer

_ICONS = {"completed": ("check_box", "text-positive"), "in_progress": ("indeterminate_check_box", "text-info"),
          "pending": ("check_box_outline_blank", "")}


def _todos(tool_input: Input) -> list[dict]:
    todos = tool_input.get("todos")
    return [t for t in todos if isinstance(t, dict)] if isinstance(todos, list) else []


def _summary(tool_input: Input) -> str:
    todos = _todos(tool_input)
    done = sum(1 for t in todos if t.get("status") == "completed")
    return f"{done}/{len(todos)} done"


def _body(tool_input: Input) -> None:
    with ui.column().classes("gap-0"):
        for todo in _todos(tool_input):
            status = str(todo.get("status", "pending"))
            icon, colour = _ICONS.get(status, _ICONS["pending"])
            text = todo.get("activeForm") if status == "in_progress" and todo.get("activeForm") else todo.get("content")
            with tag(ui.row().classes("items-center no-wrap gap-2"), "todo-item", status=status):
                ui.icon(icon, size="xs").classes(colour)
                ui.label(str(text or "")).classes("line-through opacity-60" if status == "completed" else "")


def _no_result(_input: Input, _text: str) -> None:
    return None  # the tool only acknowledges the list shown above


TODO = ToolRenderer(icon="checklist", summary=_summary, body=_body, result=_no_result)
