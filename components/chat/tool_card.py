"""One tool call: header, the tool's own input view, nested subagent work, its result, raw JSON.

The renderer comes from `tools.renderer_for(name)`. Containers for the nested
work and the result exist from the start (empty) so they keep their place
whatever order the events arrive in.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nicegui import ui

from components.chat.fmt import fenced, mini_button, tag
from components.chat.lane import Lane
from components.chat.output import output
from components.chat.tools import renderer_for
from components.chat.tools.base import plain_result
from components.chat.tools.paths import shown_against
from components.common.markdown import Markdown

log = logging.getLogger(__name__)
RAW_JSON_CHARS = 200_000


class ToolCard:
    def __init__(self, block: dict[str, Any], *, expand_nested: bool = False, root: str | None = None) -> None:
        """`root`: the job's working folder, which paths are shown relative to."""
        self.root = root
        self.id: str = block.get("id", "")
        self.name: str = block.get("name", "tool")
        self.input: dict[str, Any] = block.get("input") if isinstance(block.get("input"), dict) else {}
        self.renderer = renderer_for(self.name)
        self.has_result = False
        self._result_event: dict[str, Any] | None = None
        self._expand_nested = expand_nested
        self._nested: Lane | None = None
        self._nested_box: ui.expansion | None = None
        self._steps = 0
        with ui.column().classes("ccs-tool w-full") as self.element:
            tag(self.element, "tool-card", tool=self.name, id=self.id)
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.icon(self.renderer.icon, size="xs")
                ui.label(self.name).classes("text-sm text-weight-medium whitespace-nowrap")
                ui.label(self._safe(self.renderer.summary, "")).classes("ccs-summary ellipsis grow")
                self._state = tag(ui.icon("hourglass_empty", size="xs").classes("opacity-50"), "tool-state")
                tag(mini_button("data_object", self._toggle_raw, title="Raw JSON"), "raw-json-toggle")
            self._safe(self.renderer.body, None)
            self._nest_slot = ui.element("div").classes("w-full")
            self._result_slot = ui.element("div").classes("w-full")
        self._task_line: ui.label | None = None
        self._raw: ui.element | None = None  # built on first use, at the end of the card

    def _safe(self, render: Any, default: Any) -> Any:
        """A renderer that trips over odd input must not take the transcript down with it."""
        try:
            with shown_against(self.root):
                return render(self.input)
        except Exception:
            log.exception("rendering %s input failed", self.name)
            return default

    # -- what the view feeds in -----------------------------------------------------------

    def set_result(self, event: dict[str, Any]) -> None:
        if self.has_result:
            return
        self.has_result = True
        self._result_event = event
        text = str(event.get("content") or "")
        error = bool(event.get("is_error"))
        self._state.props(f"name={'error' if error else 'check_circle'}")
        self._state.classes(replace="text-negative" if error else "text-positive")
        if error:
            self.element.classes("ccs-tool-error")
        with self._result_slot, ui.column().classes("w-full gap-1") as box:
            tag(box, "tool-result", error=str(error).lower())
            if error:
                output(text, title=f"{self.name} error", classes="ccs-result-error")
                return
            try:
                with shown_against(self.root):
                    self.renderer.result(self.input, text)
            except Exception:
                log.exception("rendering %s result failed", self.name)
                plain_result(self.input, text)

    def nested_lane(self) -> Lane:
        """Where the subagent's own events go; created on the first one."""
        if self._nested is None:
            with self._nest_slot:
                self._nested_box = ui.expansion("Subagent work", icon="account_tree", value=self._expand_nested) \
                    .props("dense").classes("w-full")
                tag(self._nested_box, "subagent")
                with self._nested_box:
                    self._nested = Lane("ccs-nested")
        return self._nested

    def add_steps(self, count: int = 1) -> None:
        self._steps += count
        self.nested_lane()
        assert self._nested_box is not None
        self._nested_box.set_text(f"Subagent work · {self._steps} step{'s' if self._steps != 1 else ''}")

    @property
    def steps(self) -> int:
        return self._steps

    def note_task(self, event: dict[str, Any]) -> None:
        """Background-task progress for Task/Agent calls (task_started / _progress / _notification)."""
        status = event.get("status") or (event.get("patch") or {}).get("status")
        if event.get("subtype") == "task_started":
            status = "running"
        text = str(status or "running")
        if event.get("last_tool_name"):
            text += f" · last tool {event['last_tool_name']}"
        usage = event.get("usage") or {}
        if usage.get("duration_ms"):
            text += f" · {usage['duration_ms'] / 1000:.1f}s"
        if self._task_line is None:
            with self._nest_slot:
                self._task_line = ui.label("").classes("ccs-muted")
        self._task_line.set_text(f"Subagent {text}")

    # -- raw JSON -------------------------------------------------------------------------

    def _toggle_raw(self) -> None:
        if self._raw is None:
            with self.element:
                self._raw = ui.element("div").classes("w-full")
            self._raw.set_visibility(False)
        showing = not self._raw.visible
        if showing:  # rebuilt on each opening: the result may have arrived since
            self._raw.clear()
            raw = {"id": self.id, "name": self.name, "input": self.input}
            if self._result_event is not None:
                raw["result"] = {k: self._result_event.get(k) for k in ("content", "is_error")}
            text = json.dumps(raw, indent=2, ensure_ascii=False)
            if len(text) > RAW_JSON_CHARS:
                text = text[:RAW_JSON_CHARS] + "\n… (cut)"
            with self._raw:
                tag(Markdown(fenced(text, "json")).classes("ccs-code w-full"), "raw-json")
        self._raw.set_visibility(showing)
