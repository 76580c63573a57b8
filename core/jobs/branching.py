"""Fork and edit & resend (spec C7): where a branch of a conversation is cut, and the job it becomes.

A branch is a new job whose transcript is the parent's up to a finished turn (its log
prefix is copied) and whose CLI conversation resumes the parent's, forked at the last
assistant message of that turn. Editing the first message cuts before any turn: a fresh
conversation.
"""

from __future__ import annotations

from typing import Any

from core import events
from core.errors import Conflict, UserError
from core.jobs.live_session import ResumeSpec
from core.jobs.prompts import job_name
from core.models import Job, new_id

History = list[dict[str, Any]]


def fork_cut(history: History, at_seq: int) -> int:
    """The end of the finished turn at or after `at_seq`: a fork keeps everything up to it."""
    for event in history:
        if event["seq"] >= at_seq and event["kind"] == events.RESULT and not event.get("is_error"):
            return event["seq"]
    raise UserError("Fork from a finished assistant turn.")


def edit_cut(history: History, user_seq: int) -> int | None:
    """Where an edited message goes: after the turn before it (None: before everything)."""
    if not any(e["seq"] == user_seq and e["kind"] == events.USER for e in history):
        raise UserError("Choose one of your own messages to edit.")
    earlier = [e for e in history if e["seq"] < user_seq and e["kind"] == events.RESULT]
    return earlier[-1]["seq"] if earlier else None


def branch_resume(parent: Job, history: History, cut_seq: int | None) -> ResumeSpec | None:
    """How the branch's CLI continues the parent's conversation: forked at the cut's last assistant message."""
    if cut_seq is None:
        return None
    uuid = next((e["uuid"] for e in reversed(history)
                 if e["seq"] <= cut_seq and e["kind"] == events.ASSISTANT and e.get("uuid")
                 and not e.get("parent_tool_use_id")), None)
    if not parent.session_id or not uuid:
        raise Conflict("The parent job has no resumable session to branch from.")
    return ResumeSpec(parent.session_id, fork=True, at_message_uuid=uuid)


def branch_job(parent: Job, cut_seq: int | None, text: str) -> Job:
    """The new job: the parent's project and settings, its name from the new text."""
    return Job(id=new_id(), project_id=parent.project_id, name=job_name(text), prompt=text,
               mode=parent.mode, model=parent.model, permission_mode=parent.permission_mode,
               thinking_tokens=parent.thinking_tokens, effort=parent.effort,
               parent_job_id=parent.id, fork_seq=cut_seq or 0)


def forked_event(parent: Job, cut_seq: int | None) -> dict[str, Any]:
    return events.make(events.SYSTEM, subtype="forked", parent_job_id=parent.id, parent_seq=cut_seq or 0)
