"""Human-in-the-loop approvals (spec E1-E5).

Tool permission prompts, AskUserQuestion and ExitPlanMode all become pending
`Approval`s that any page or API client can list and answer. The job's task
awaits the answer; an answer that arrives minutes later still works. Each kind
has its own timeout policy: questions and permissions are denied, plans are
approved (the seed's behaviour).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import Conflict, NotFound, UserError
from core.models import new_id

PERMISSION = "permission"
QUESTION = "question"
PLAN = "plan"


@dataclass
class Decision:
    allow: bool
    message: str = ""
    always: bool = False
    updated_input: dict[str, Any] | None = None
    timed_out: bool = False


@dataclass
class Approval:
    id: str
    job_id: str
    kind: str
    tool_name: str
    input: dict[str, Any]
    tool_use_id: str | None = None
    title: str | None = None
    created_at: float = field(default_factory=time.time)
    expires_at: float | None = None
    future: asyncio.Future | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "job_id": self.job_id, "kind": self.kind, "tool_name": self.tool_name,
                "input": self.input, "tool_use_id": self.tool_use_id, "title": self.title,
                "created_at": self.created_at, "expires_at": self.expires_at}


def _question_answers(approval: Approval, answers: Any) -> dict[str, str]:
    """Answers keyed by question text; multi-select labels arrive as lists and are joined."""
    if not isinstance(answers, dict) or not answers:
        raise UserError("Give an answer for each question.")
    questions = [q.get("question", "") for q in approval.input.get("questions", []) if isinstance(q, dict)]
    result: dict[str, str] = {}
    for question in questions:
        value = answers.get(question)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if str(v).strip())
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"No answer given for: {question}")
        result[question] = value.strip()
    return result


class ApprovalBroker:
    def __init__(self, timeouts: dict[str, float], emit: Callable[[str, dict[str, Any]], None]) -> None:
        """`timeouts` maps each kind to seconds; `emit(job_id, event)` records and publishes."""
        self._timeouts = timeouts
        self._emit = emit
        self._pending: dict[str, Approval] = {}

    def pending(self, job_id: str | None = None) -> list[Approval]:
        items = [a for a in self._pending.values() if job_id is None or a.job_id == job_id]
        return sorted(items, key=lambda a: a.created_at)

    def get(self, approval_id: str) -> Approval:
        try:
            return self._pending[approval_id]
        except KeyError:
            raise NotFound("That approval is no longer pending (answered, timed out or its job ended).") from None

    async def request(self, job_id: str, kind: str, tool_name: str, tool_input: dict[str, Any],
                      tool_use_id: str | None = None, title: str | None = None) -> Decision:
        timeout = self._timeouts.get(kind, 600.0)
        approval = Approval(id=new_id(), job_id=job_id, kind=kind, tool_name=tool_name, input=tool_input,
                            tool_use_id=tool_use_id, title=title, expires_at=time.time() + timeout,
                            future=asyncio.get_running_loop().create_future())
        self._pending[approval.id] = approval
        self._emit(job_id, {"kind": "approval", "approval": approval.to_dict()})
        try:
            decision = await asyncio.wait_for(asyncio.shield(approval.future), timeout)
        except TimeoutError:
            decision = self._timeout_decision(approval, timeout)
            self._resolve(approval, decision)
        finally:
            self._pending.pop(approval.id, None)
        return decision

    def _timeout_decision(self, approval: Approval, timeout: float) -> Decision:
        minutes = f"{timeout / 60:g} minutes" if timeout >= 60 else f"{timeout:g} seconds"
        if approval.kind == PLAN:
            return Decision(allow=True, message=f"Plan approved automatically after {minutes}.", timed_out=True)
        what = "question" if approval.kind == QUESTION else "permission request"
        return Decision(allow=False, timed_out=True,
                        message=f"The user did not answer this {what} within {minutes}; it was discarded.")

    def answer(self, approval_id: str, behavior: str, message: str = "",
               answers: dict[str, Any] | None = None) -> Decision:
        """behavior: 'allow', 'allow_always' or 'deny'; questions take `answers` instead."""
        approval = self.get(approval_id)
        if approval.future is None or approval.future.done():
            raise Conflict("That approval was already answered.")
        if behavior not in ("allow", "allow_always", "deny"):
            raise UserError("behavior must be 'allow', 'allow_always' or 'deny'.")
        if approval.kind == QUESTION and behavior != "deny":
            filled = _question_answers(approval, answers)
            decision = Decision(allow=True, updated_input={**approval.input, "answers": filled})
        elif behavior == "deny":
            reason = (message or "").strip() or "The user declined."
            decision = Decision(allow=False, message=reason)
        else:
            decision = Decision(allow=True, always=behavior == "allow_always" and approval.kind == PERMISSION,
                                message=message)
        self._resolve(approval, decision)
        return decision

    def cancel_job(self, job_id: str, reason: str) -> None:
        for approval in self.pending(job_id):
            self._resolve(approval, Decision(allow=False, message=reason))

    def _resolve(self, approval: Approval, decision: Decision) -> None:
        if approval.future is not None and not approval.future.done():
            approval.future.set_result(decision)
        self._pending.pop(approval.id, None)
        self._emit(approval.job_id, {"kind": "approval_resolved", "approval_id": approval.id,
                                     "approval_kind": approval.kind, "allow": decision.allow,
                                     "always": decision.always, "message": decision.message,
                                     "timed_out": decision.timed_out,
                                     "answers": (decision.updated_input or {}).get("answers")})
