"""Bash: the command, highlighted, and its output."""

from __future__ import annotations

from nicegui import ui

from components.chat import fmt
from components.chat.output import output, text_block
from components.chat.tools.base import Input, ToolRenderer


def _summary(tool_input: Input) -> str:
    return fmt.one_line(tool_input.get("description") or tool_input.get("command"))


def _body(tool_input: Input) -> None:
    # Plain text: highlighting a one-line command buys little and costs a markdown element per call.
    text_block("$ " + str(tool_input.get("command", "")))
    flags = []
    if tool_input.get("run_in_background"):
        flags.append("in background")
    if tool_input.get("timeout"):
        flags.append(f"timeout {int(tool_input['timeout']) / 1000:g}s")
    if flags:
        ui.label(" · ".join(flags)).classes("ccs-muted")


def _result(tool_input: Input, text: str) -> None:
    if text.strip():
        output(text, title=fmt.one_line(tool_input.get("command"), 80) or "Output")
    else:
        ui.label("(no output)").classes("ccs-muted")


BASH = ToolRenderer(icon="terminal", summary=_summary, body=_body, result=_result)
