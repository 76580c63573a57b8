"""What a tool renderer is: a header summary, an input view and a result view.

Each function builds elements in the current UI context. Renderers stay
cheap: previews are cut to a few lines and the rest opens full screen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from components.chat import fmt
from components.chat.output import output
from components.chat.tools.paths import shown_path

Input = dict[str, Any]


def no_body(_input: Input) -> None:
    return None


def plain_result(tool_input: Input, text: str) -> None:
    if text.strip():
        output(text, title="Result")
    else:
        ui.label("(no output)").classes("ccs-muted")


def caption_result(_input: Input, text: str) -> None:
    """For tools whose result only confirms what the input already shows."""
    if text.strip():
        ui.label(fmt.one_line(text, 200)).classes("ccs-muted")


def first_value_summary(tool_input: Input) -> str:
    for key in ("description", "command", "file_path", "path", "pattern", "query", "url", "prompt", "cron"):
        if tool_input.get(key):
            value = tool_input[key]
            return fmt.one_line(shown_path(value) if key in ("file_path", "path") and isinstance(value, str)
                                else value)
    return fmt.one_line(json.dumps(tool_input, ensure_ascii=False), 100) if tool_input else ""


@dataclass(frozen=True)
class ToolRenderer:
    icon: str
    summary: Callable[[Input], str] = first_value_summary
    body: Callable[[Input], None] = no_body
    result: Callable[[Input, str], None] = plain_result
