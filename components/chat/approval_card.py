"""A pending approval (spec E1-E3) as a card: permission, question or plan, and its outcome.

Used inline in the chat view and, by the pages, in the approvals list across
projects; it needs only the approval's dict and the broker that answers it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from nicegui import ui

from components.chat.fmt import tag
from components.chat.style import ensure_style
from components.chat.tools import renderer_for
from components.chat.tools.ask import questions
from components.chat.tools.paths import shown_against
from components.common.markdown import Markdown
from components.common.notify import toast
from core.errors import NotFound, UserError
from core.jobs.approvals import PERMISSION, PLAN, QUESTION, ApprovalBroker

log = logging.getLogger(__name__)
_TITLES = {QUESTION: ("help", "Claude has a question"), PLAN: ("map", "Review the plan")}


def outcome_text(kind: str, outcome: dict[str, Any]) -> tuple[str, str]:
    """(text, colour class) for an `approval_resolved` event or a fresh decision."""
    message = outcome.get("message") or ""
    if outcome.get("timed_out"):
        return f"Timed out — {message}", "text-warning"
    if not outcome.get("allow"):
        return "Denied" + (f" — {message}" if message else ""), "text-negative"
    if kind == QUESTION:
        answers = outcome.get("answers") or {}
        return "Answered — " + "; ".join(f"{q} → {a}" for q, a in answers.items()), "text-positive"
    if kind == PLAN:
        return "Plan approved" + (f" — {message}" if message else ""), "text-positive"
    return ("Always allowed for this job" if outcome.get("always") else "Allowed"), "text-positive"


class ApprovalCard:
    def __init__(self, approval: dict[str, Any], broker: ApprovalBroker, *, pending: bool = True,
                 context: str | None = None, root: str | None = None) -> None:
        """`context` is an optional line above the title (the approvals list names the project and job);
        `root` the job's working folder, which paths are shown relative to (as in the tool card above)."""
        ensure_style()
        self.approval = approval
        self.id: str = approval["id"]
        self.kind: str = approval.get("kind", PERMISSION)
        self.broker = broker
        self.resolved = False
        tool_input = approval.get("input") or {}
        icon, title = _TITLES.get(self.kind, ("lock", approval.get("title") or f"Allow {approval.get('tool_name')}?"))
        with ui.column().classes("ccs-approval w-full gap-2") as self.element:
            tag(self.element, "approval-card", kind=self.kind, approval=self.id)
            if context:
                ui.label(context).classes("ccs-muted")
            with ui.row().classes("items-center no-wrap gap-2"):
                ui.icon(icon).classes("text-warning")
                ui.label(title).classes("text-subtitle2")
            if self.kind == PLAN:
                Markdown(str(tool_input.get("plan") or "(empty plan)")).classes("ccs-md w-full")
            elif self.kind == PERMISSION:
                with shown_against(root):
                    self._describe_tool(str(approval.get("tool_name", "")), tool_input)
            with ui.column().classes("w-full gap-2") as self._actions:
                if pending:
                    self._build_actions(tool_input)
                else:
                    ui.label("No longer pending.").classes("ccs-muted")

    @staticmethod
    def _describe_tool(tool_name: str, tool_input: dict[str, Any]) -> None:
        """What the tool is about to do, drawn by its transcript renderer (a diff for an Edit)."""
        renderer = renderer_for(tool_name)
        try:
            ui.label(f"{tool_name}: {renderer.summary(tool_input)}").classes("ccs-summary")
            renderer.body(tool_input)
        except Exception:  # odd input must not hide the question; the raw input still says it
            log.exception("rendering the %s approval failed", tool_name)
            ui.label(json.dumps(tool_input, ensure_ascii=False, default=str)[:2000]).classes("ccs-pre")

    # -- actions --------------------------------------------------------------------------

    def _build_actions(self, tool_input: dict[str, Any]) -> None:
        if self.kind == QUESTION:
            self._build_questions(tool_input)
            return
        expires = self.approval.get("expires_at")
        with ui.row().classes("w-full items-center gap-2"):
            approve = "Approve" if self.kind == PLAN else "Allow"
            tag(ui.button(approve, icon="check", on_click=lambda: self._answer("allow")).props("color=positive"),
                "approve")
            if self.kind == PERMISSION:
                tag(ui.button("Always allow", icon="done_all", on_click=lambda: self._answer("allow_always"))
                    .props("outline color=positive"), "always-allow")
            reason = tag(ui.input(placeholder="Reason (optional)").props("dense outlined").classes("grow"),
                         "deny-reason")
            tag(ui.button("Reject" if self.kind == PLAN else "Deny", icon="block",
                          on_click=lambda: self._answer("deny", message=reason.value or ""))
                .props("outline color=negative"), "deny")
        if expires:
            ui.label(f"Waits until {time.strftime('%H:%M', time.localtime(expires))}").classes("ccs-muted")

    def _build_questions(self, tool_input: dict[str, Any]) -> None:
        fields: list[tuple[str, Any, ui.input]] = []
        for number, question in enumerate(questions(tool_input)):
            text = str(question.get("question", ""))
            options = [o for o in question.get("options") or [] if isinstance(o, dict)]
            with tag(ui.column().classes("w-full gap-1"), "question", index=str(number)):
                if question.get("header"):
                    ui.badge(str(question["header"])).props("outline")
                ui.label(text).classes("text-body2")
                if question.get("multiSelect"):
                    choice: Any = [tag(ui.checkbox(self._option_label(o)), "question-option")
                                   for o in options]
                else:
                    choice = tag(ui.radio({str(o.get("label", "")): self._option_label(o) for o in options}),
                                 "question-option")
                other = tag(ui.input(placeholder="Other (free text)").props("dense outlined").classes("w-full"),
                            "question-other")
            fields.append((text, (choice, options), other))

        def submit() -> None:
            answers: dict[str, Any] = {}
            for text, (choice, options), other in fields:
                extra = (other.value or "").strip()
                if isinstance(choice, list):
                    picked = [str(o.get("label", "")) for box, o in zip(choice, options, strict=True) if box.value]
                    answers[text] = picked + ([extra] if extra else [])
                else:
                    answers[text] = extra or choice.value or ""
            self._answer("allow", answers=answers)

        with ui.row().classes("gap-2"):
            tag(ui.button("Send answers", icon="send", on_click=submit).props("color=positive"), "approve")
            tag(ui.button("Skip", icon="block", on_click=lambda: self._answer("deny", message="The user skipped "
                                                                               "the question."))
                .props("outline color=negative"), "deny")

    @staticmethod
    def _option_label(option: dict[str, Any]) -> str:
        label = str(option.get("label", ""))
        return f"{label} — {option['description']}" if option.get("description") else label

    def _answer(self, behavior: str, message: str = "", answers: dict[str, Any] | None = None) -> None:
        try:
            decision = self.broker.answer(self.id, behavior, message=message, answers=answers)
        except NotFound as exc:
            toast(str(exc), type="warning")
            self.resolve({"allow": False, "message": "no longer pending (answered elsewhere, timed out or the "
                                                     "job ended)"})
            return
        except UserError as exc:
            toast(str(exc), type="negative")
            return
        self.resolve({"allow": decision.allow, "always": decision.always, "message": decision.message,
                      "answers": (decision.updated_input or {}).get("answers")})

    # -- outcome --------------------------------------------------------------------------

    def resolve(self, outcome: dict[str, Any]) -> None:
        """Show how it ended; the first report wins (the event and the click handler both report)."""
        if self.resolved:
            return
        self.resolved = True
        text, colour = outcome_text(self.kind, outcome)
        self._actions.clear()
        with self._actions:
            tag(ui.label(text).classes(f"{colour} whitespace-pre-wrap"), "approval-outcome")
        self.element.classes("ccs-approval-done")



