"""The reply being generated, shown as it streams (spec D1).

Deltas only touch a buffer; the view's timer calls `flush()` about ten times a
second, so a fast stream costs the browser a few small updates per second, not
one per token. Only the blocks of the message in progress are live elements;
the complete `assistant` event replaces them with the frozen rendering.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components.chat.fmt import tag

_DELTA_BLOCK_TYPES = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "tool_use"}


class _Block:
    def __init__(self, kind: str, name: str | None) -> None:
        self.kind = kind
        self.name = name or "tool"
        self.text = ""
        self.element: ui.element | None = None
        self._content: Any = None
        self._shown = None

    def render(self) -> None:
        if self.element is None:
            self._build()
        if self._shown == self.text:
            return
        self._shown = self.text
        if self.kind == "tool_use":
            self._content.set_text(f"Preparing {self.name}… {len(self.text):,} characters of input")
        else:
            self._content.set_content(self.text)

    def _build(self) -> None:
        if self.kind == "thinking":
            with ui.expansion("Thinking…", icon="psychology").props("dense").classes("w-full ccs-thinking") \
                    as self.element:
                tag(self.element, "thinking-streaming")
                self._content = ui.markdown("").classes("ccs-md")
        elif self.kind == "tool_use":
            with ui.row().classes("items-center gap-2 ccs-muted") as self.element:
                tag(self.element, "tool-streaming", tool=self.name)
                ui.spinner(size="xs")
                self._content = ui.label("")
        else:
            self.element = self._content = tag(ui.markdown("").classes("ccs-md w-full"), "assistant-streaming")


def _stream_order(item: tuple[int, _Block]) -> float:
    """Parked (seeded) blocks came first, in their seeded order; the rest by index."""
    index = item[0]
    return index if index >= 0 else -1e9 - index


class LiveStream:
    def __init__(self) -> None:
        self.root = tag(ui.column().classes("w-full gap-2"), "live-stream")
        self._blocks: dict[int, _Block] = {}
        self._dirty = False

    def seed(self, partial: list[dict[str, Any]]) -> None:
        """Start a late subscriber from `live_info()["partial"]`: what streamed before it arrived."""
        for position, data in enumerate(partial):
            # Blocks from an older core carry no index: park them on negative keys until a delta claims one.
            index = data.get("index", -1 - position)
            block = _Block(data.get("type") or "text", data.get("name"))
            block.text = data.get("text") or ""
            self._blocks[index] = block
        self._dirty = bool(partial)

    def on_delta(self, event: dict[str, Any]) -> None:
        if event.get("parent_tool_use_id"):
            return  # subagent streams appear when their messages complete
        delta_type = event.get("delta_type")
        index = event.get("index")
        if delta_type == "message_start":
            self.clear()
        elif delta_type == "block_start" and index is not None:
            self._blocks[index] = _Block(event.get("block_type") or "text", event.get("name"))
            self._dirty = True
        elif delta_type in _DELTA_BLOCK_TYPES and index is not None:
            self._block_for(index, _DELTA_BLOCK_TYPES[delta_type]).text += event.get("text") or ""
            self._dirty = True

    def _block_for(self, index: int, kind: str) -> _Block:
        if index not in self._blocks:
            parked = [key for key, block in self._blocks.items() if key < 0 and block.kind == kind]
            self._blocks[index] = self._blocks.pop(parked[-1]) if parked else _Block(kind, None)
        return self._blocks[index]

    def flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        with self.root:
            for _, block in sorted(self._blocks.items(), key=_stream_order):
                if block.text or block.kind == "tool_use":
                    block.render()

    def clear(self) -> None:
        """The message completed (or the turn ended): its blocks are frozen elsewhere or gone."""
        if self._blocks:
            self._blocks.clear()
            self.root.clear()
        self._dirty = False

    @property
    def active(self) -> bool:
        return bool(self._blocks)
