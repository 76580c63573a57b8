"""AskUserQuestion and ExitPlanMode as they appear in the transcript (the approval card asks)."""

from __future__ import annotations

from nicegui import ui

from components.chat import fmt
from components.chat.tools.base import Input, ToolRenderer, caption_result, plain_result
from components.common.markdown import Markdown


def questions(tool_input: Input) -> list[dict]:
    items = tool_input.get("questions")
    return [q for q in items if isinstance(q, dict)] if isinstance(items, list) else []


def _question_summary(tool_input: Input) -> str:
    asked = questions(tool_input)
    first = fmt.one_line(asked[0].get("question")) if asked else ""
    return first + (f"  (+{len(asked) - 1} more)" if len(asked) > 1 else "")


def _question_body(tool_input: Input) -> None:
    for question in questions(tool_input):
        ui.label(str(question.get("question", ""))).classes("text-sm")
        labels = [str(o.get("label", "")) for o in question.get("options") or [] if isinstance(o, dict)]
        if labels:
            ui.label(" · ".join(labels)).classes("ccs-muted")


def _plan_body(tool_input: Input) -> None:
    if tool_input.get("plan"):
        with ui.expansion("Plan", icon="map").props("dense").classes("w-full"):
            Markdown(str(tool_input["plan"])).classes("ccs-md")


ASK = ToolRenderer(icon="help_outline", summary=_question_summary, body=_question_body, result=plain_result)
PLAN = ToolRenderer(icon="map", summary=lambda _i: "Plan ready for review", body=_plan_body, result=caption_result)
