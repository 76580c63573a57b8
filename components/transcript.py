"""A job's transcript: stored events first, then live ones, with streamed text shown as it arrives.

Live deltas go into a buffer that a timer flushes at a bounded rate, so a fast
stream costs the browser a few updates a second, not one per token.
"""

from __future__ import annotations

import json
from typing import Any

from nicegui import ui

from core import events
from core.session_manager import SessionManager

FLUSH_INTERVAL_S = 0.1


class Transcript:
    def __init__(self, jobs: SessionManager, job_id: str) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.last_seq = 0
        self.column = ui.column().classes("w-full gap-2").props("data-testid=transcript")
        self._live_text = ""
        self._live_dirty = False
        with ui.column().classes("w-full") as self._live_box:
            self._live = ui.markdown("").props("data-testid=live-text")
        backlog, unsubscribe = jobs.follow(job_id, self._on_event)
        for event in backlog:
            self._render(event)
        for block in jobs.live_info(job_id)["partial"]:
            if block.get("type") == "text":
                self._live_text += block.get("text", "")
                self._live_dirty = True
        ui.context.client.on_delete(unsubscribe)
        ui.timer(FLUSH_INTERVAL_S, self._flush)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event["kind"] == events.DELTA:
            if event.get("delta_type") == "text_delta" and not event.get("parent_tool_use_id"):
                self._live_text += event.get("text", "")
                self._live_dirty = True
            return
        self._render(event)

    def _flush(self) -> None:
        if self._live_dirty:
            self._live.set_content(self._live_text)
            self._live_dirty = False

    def _render(self, event: dict[str, Any]) -> None:
        seq = event.get("seq", 0)
        if seq <= self.last_seq:
            return  # already shown: reconnects and replays never duplicate
        self.last_seq = seq
        kind = event["kind"]
        with self.column:
            if kind == events.USER and not event.get("echoed"):
                with ui.card().classes("w-full bg-blue-grey-9").props("data-testid=user-message"):
                    ui.markdown(event.get("text", ""))
            elif kind == events.ASSISTANT:
                self._render_block(event)
            elif kind == events.TOOL_RESULT:
                text = str(event.get("content", ""))
                ui.code(text[:4000] + ("\n..." if len(text) > 4000 else "")).classes("w-full text-xs")
            elif kind in (events.ERROR, events.WARNING):
                color = "text-negative" if kind == events.ERROR else "text-warning"
                ui.label(event.get("message", "")).classes(color).props(f"data-testid={kind}")
            elif kind == events.STATUS:
                ui.label(f"status: {event.get('status')}").classes("text-caption text-grey")
            elif kind == events.RESULT and event.get("total_cost_usd") is not None:
                ui.label(f"turn done · ${event['total_cost_usd']:.4f}").classes("text-caption text-grey")

    def _render_block(self, event: dict[str, Any]) -> None:
        block = event.get("block") or {}
        if block.get("type") == "text":
            self._live_text = ""
            self._live_dirty = True
            ui.markdown(block.get("text", "") or event.get("error_message", "")).props(
                "data-testid=assistant-text")
        elif block.get("type") == "thinking":
            with ui.expansion("Thinking").classes("w-full text-grey"):
                ui.markdown(block.get("thinking", ""))
        elif block.get("type") in ("tool_use", "server_tool_use"):
            with ui.expansion(f"{block.get('name')}").classes("w-full").props("data-testid=tool-use"):
                ui.code(json.dumps(block.get("input"), indent=2)[:4000], language="json")
