"""Task/Agent: the subagent's brief; its own work is nested in the card by the view."""

from __future__ import annotations

from nicegui import ui

from components.chat import fmt
from components.chat.output import full_view_button, preview
from components.chat.tools.base import Input, ToolRenderer
from components.common.markdown import Markdown


def _summary(tool_input: Input) -> str:
    kind = tool_input.get("subagent_type")
    return fmt.one_line(tool_input.get("description") or tool_input.get("prompt")) + (f"  ({kind})" if kind else "")


def _body(tool_input: Input) -> None:
    if tool_input.get("prompt"):
        with ui.expansion("Prompt", icon="assignment").props("dense").classes("w-full text-sm"):
            ui.label(str(tool_input["prompt"])).classes("ccs-pre")


# The CLI's answer to a Task started in the background: instructions for the model (with an internal agent id it
# asks never to show), not a result.
BACKGROUND_LAUNCH = "Async agent launched"
BACKGROUND_NOTE = ("Running in the background: Claude carries on, and replies to the subagent's result "
                   "when it finishes (a reply of its own, further down).")


def _result(_input: Input, text: str) -> None:
    if text.lstrip().startswith(BACKGROUND_LAUNCH):
        fmt.tag(ui.label(BACKGROUND_NOTE).classes("ccs-muted"), "background-launch")
        return
    head, cut = preview(text, 30)
    Markdown(head).classes("ccs-md w-full")
    if cut:
        full_view_button(text, "Subagent result")


TASK = ToolRenderer(icon="smart_toy", summary=_summary, body=_body, result=_result)
