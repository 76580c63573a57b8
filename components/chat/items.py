"""Renderers for the transcript's non-tool items: messages, thinking, notices and turn footers.

Each builds its elements in the current UI context (the lane slot the view
entered) and returns what the view may need to update later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from nicegui import ui

from components.chat import fmt
from components.chat.fmt import mini_button, tag
from components.chat.long_reply import reply_markdown
from components.chat.output import output
from components.common.markdown import Markdown

EditHandler = Callable[[int, str], Any]
ForkHandler = Callable[[int], Any]
RewindHandler = Callable[[int, str], Any]
SHOWN_RESTORED_FILES = 8

# Wrappers the CLI puts around echoed slash-command input and output.
_COMMAND_TAGS = re.compile(r"</?(?:local-command-stdout|local-command-stderr|command-name|command-message|"
                           r"command-args)>")
# A compaction's summary, as the CLI echoes it: a first line, reminders for the model, the summary, instructions.
_COMPACTED = "This session is being continued from a previous conversation"
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)
_SUMMARY_INSTRUCTIONS = ("If you need specific details from before compaction", "Continue the conversation from")
INTERRUPTED_SUBTYPES = {"error_during_execution"}
QUIET_STATUSES = {"running", "idle"}  # every turn passes through them; the indicator already says so


def user_message(event: dict[str, Any], on_edit: EditHandler | None,
                 on_rewind: RewindHandler | None = None) -> ui.element:
    text = event.get("text", "")
    with ui.column().classes("ccs-user self-end gap-1").style("max-width: 85%") as box:
        tag(box, "user-message", seq=str(event.get("seq", "")))
        if text:
            ui.label(text).classes("whitespace-pre-wrap break-words")
        images = event.get("images") or []
        if images:
            with ui.row().classes("gap-1"):
                for image in images:
                    tag(ui.chip(f"{image.get('name', 'image')} · {fmt.size(int(image.get('size') or 0))}",
                                icon="image").props("dense outline"), "user-image")
        if on_edit is not None or on_rewind is not None:
            seq = event["seq"]
            with ui.row().classes("self-end gap-1"):
                if on_rewind is not None:
                    tag(mini_button("history", lambda: on_rewind(seq, text), label="Restore files",
                                    title="Restore files to before this message"), "restore-files")
                if on_edit is not None:
                    tag(mini_button("edit", lambda: on_edit(seq, text), label="Edit & resend"), "edit")
    return box


def rewind_notice(event: dict[str, Any]) -> None:
    """Files restored to before a user message: which message, and which files."""
    quoted = event.get("user_text") or ""
    target = f"“{quoted}”" if quoted else f"message #{event.get('user_seq')}"
    files = [str(f) for f in event.get("files") or []]
    listed = ", ".join(files[:SHOWN_RESTORED_FILES])
    if len(files) > SHOWN_RESTORED_FILES:
        listed += f" and {len(files) - SHOWN_RESTORED_FILES} more"
    with ui.row().classes("items-start no-wrap gap-2 ccs-muted") as row:
        tag(row, "rewind-notice", seq=str(event.get("user_seq", "")))
        ui.icon("history", size="xs").classes("mt-0.5")
        ui.label(f"Files restored to before {target}: {listed or 'none needed restoring'}").classes(
            "whitespace-pre-wrap break-words")


def compaction_summary(text: str) -> str | None:
    """The summary a compaction left, without the CLI's instructions to the model around it (which name the
    transcript's absolute path); None for any other echoed text."""
    if not text.startswith(_COMPACTED):
        return None
    summary = _REMINDER.sub("", text.partition("\n")[2])
    kept = [line for line in summary.splitlines() if not line.startswith(_SUMMARY_INSTRUCTIONS)]
    return "\n".join(kept).strip()


def echoed_user(event: dict[str, Any]) -> None:
    """Prompts the CLI echoed itself (slash-command input and output): context, not the user's words."""
    text = _COMMAND_TAGS.sub("", event.get("text", "")).strip()
    summary = compaction_summary(text)
    if summary is not None:  # spec N2: what the model keeps of the conversation from here on
        with tag(ui.expansion("Summary kept after compacting", icon="compress").props("dense").classes(
                "w-full ccs-echo"), "compaction-summary"):
            output(summary or "(empty)", title="Summary", max_lines=40)
        return
    if text:
        with tag(ui.column().classes("ccs-echo w-full gap-0"), "echoed-message"):
            output(text, title="Command output", max_lines=12)


def assistant_text(event: dict[str, Any]) -> str | None:
    """A reply block; one that carries an API error (the CLI words the error as a reply) is shown as that error,
    once, and its message returned so the error and status events that repeat it are left out."""
    text = (event.get("block") or {}).get("text", "")
    if event.get("error"):
        message = event.get("error_message") or text or f"The API returned an error ({event['error']})."
        notice(message, "error")
        return message
    if text:
        tag(reply_markdown(text), "assistant-text")
    if event.get("interrupted"):
        tag(ui.label("Interrupted: the rest of this reply never arrived.").classes("ccs-muted"), "interrupted")
    return None


class Thinking:
    """One collapsible block for a run of consecutive thinking blocks.

    Collapsed by default, so its text is only sent to the browser when opened:
    long reasoning costs nothing until someone wants to read it.
    """

    def __init__(self, text: str) -> None:
        self.text = text or "(redacted)"
        self._markdown: Markdown | None = None
        with ui.expansion("Thinking", icon="psychology", on_value_change=self._opened) \
                .classes("w-full ccs-thinking").props("dense") as self.element:
            tag(self.element, "thinking")

    def _opened(self) -> None:
        if self._markdown is None:
            with self.element:
                self._markdown = Markdown(self.text).classes("ccs-md")

    def append(self, text: str) -> None:
        if text:
            self.text += "\n\n" + text
            if self._markdown is not None:
                self._markdown.set_content(self.text)


def notice(text: str, level: str) -> None:
    """A one-line inline message: errors red, warnings amber, everything else muted."""
    colour = {"error": "text-negative", "warning": "text-warning"}.get(level, "ccs-muted")
    icon = {"error": "error", "warning": "warning"}.get(level, "info")
    with ui.row().classes(f"items-start no-wrap gap-2 {colour}") as row:
        tag(row, level if level in ("error", "warning") else "status-line")
        ui.icon(icon, size="xs").classes("mt-0.5")
        ui.label(text).classes("whitespace-pre-wrap break-words")


def describe_status(event: dict[str, Any], shown_error: str | None = None) -> tuple[str, str] | None:
    """(text, level) for a status change worth a line, or None for the routine ones.

    A failure's error is left out when an error line just said it (`shown_error`).
    """
    status, reason, error = event.get("status"), event.get("reason"), event.get("error")
    if status == "failed" and reason and reason == shown_error:
        reason = None  # said just above
    if status in QUIET_STATUSES and not reason:
        return None
    text = f"Job {status}" + (f" — {reason}" if reason else "")
    if status == "failed":
        return text + (f": {error}" if error and error not in (reason, shown_error) else ""), "error"
    return text, "info"


def fork_notice(parent_name: str | None, parent_id: str | None) -> None:
    """Where a forked job's copied conversation came from: the parent job by name, a link to it."""
    with ui.row().classes("items-center no-wrap gap-2 ccs-muted") as row:
        tag(row, "fork-notice")
        ui.icon("call_split", size="xs")
        if parent_id:
            ui.label("Forked from")
            tag(ui.link(parent_name or "its parent job", f"/job/{parent_id}"), "fork-parent")
            ui.label("— the conversation above is copied from it.")
        else:
            ui.label("Forked from a job that no longer exists — the conversation above is copied from it.")


CLUSTER_NOTICES = ("placed", "cluster_wait", "reclaimed")  # where a job on a Ray cluster runs (spec O2)


def describe_system(event: dict[str, Any]) -> str | None:
    subtype = event.get("subtype")
    data = event.get("data") or {}
    if subtype == "init":
        return f"Session {str(event.get('session_id') or '')[:8]} · model {event.get('model') or 'default'}"
    if subtype == "forked":
        return "Forked from another job"
    if subtype == "compact_boundary":
        return "Conversation compacted"
    if subtype == "api_retry":
        return f"API retry {data.get('attempt', '')}".rstrip()
    if subtype in ("model_fallback", "model_refusal_fallback"):
        return f"Model fallback: {data.get('message') or data.get('to') or subtype}"
    if subtype in CLUSTER_NOTICES:
        return str(event.get("message") or "") or None
    if subtype in ("informational", "notification") and (data.get("message") or data.get("content")):
        return str(data.get("message") or data.get("content"))
    return None


# Why a turn failed, from its result's terminal reason or subtype (a failed turn's subtype may say "success").
FAILURE_REASONS = {
    "api_error": "the API answered with an error",
    "error_max_turns": "the turn limit was reached",
    "error_max_budget_usd": "the budget was exceeded",
    "error_max_structured_output_retries": "no valid structured output",
    "error_during_execution": "an error during execution",
}


def failed_turn(event: dict[str, Any]) -> str:
    """The footer of a failed turn: what failed, never the bare subtype `success`."""
    errors = [str(e) for e in event.get("errors") or [] if str(e).strip()]
    detail = (fmt.one_line("; ".join(errors), 160) if errors else None) \
        or FAILURE_REASONS.get(str(event.get("terminal_reason") or "")) \
        or FAILURE_REASONS.get(str(event.get("subtype") or ""))
    if not detail and event.get("subtype") not in (None, "", "success"):
        detail = str(event["subtype"]).removeprefix("error_").replace("_", " ")
    return f"Turn failed: {detail}" if detail else "Turn failed (see the error above)"


def result_footer(event: dict[str, Any], on_fork: ForkHandler | None) -> None:
    usage = event.get("usage") or {}
    spent = (int(usage.get("input_tokens") or 0) + int(usage.get("cache_creation_input_tokens") or 0)
             + int(usage.get("cache_read_input_tokens") or 0))
    parts = [fmt.duration((event.get("duration_ms") or 0) / 1000),
             f"{fmt.tokens(spent)} in", f"{fmt.tokens(usage.get('output_tokens'))} out"]
    subtype = event.get("subtype")
    if subtype in INTERRUPTED_SUBTYPES:
        head, colour = "Stopped", "text-warning"
    elif event.get("is_error"):
        head, colour = failed_turn(event), "text-negative"
    else:
        head, colour = "Turn done", ""
    with ui.row().classes("w-full items-center gap-2 ccs-muted") as row:
        tag(row, "turn-footer")
        ui.label(head).classes(colour)
        tag(ui.label(" · ".join(parts)), "turn-usage")
        if on_fork is not None and not event.get("is_error"):
            seq = event["seq"]
            tag(mini_button("call_split", lambda: on_fork(seq), label="Fork"), "fork")


class QueuedPrompt:
    """A follow-up accepted mid-turn, shown until the CLI takes it (its `user` event carries the same uuid)."""

    def __init__(self, event: dict[str, Any]) -> None:
        with ui.column().classes("ccs-user self-end gap-1 opacity-70").style("max-width: 85%") as self.element:
            tag(self.element, "queued-prompt")
            ui.label(event.get("text", "")).classes("whitespace-pre-wrap break-words")
            self._state = ui.label("queued — will be sent after the current turn").classes("ccs-muted")

    def mark_dropped(self) -> None:
        self._state.set_text("not sent — the turn ended without it")
