"""The reply being generated, shown as it streams (spec D1).

Deltas only touch a buffer; the view's timer calls `flush()` about ten times a
second, so a fast stream costs the browser a few small updates per second, not
one per token. Only the blocks of the message in progress are live elements;
the complete `assistant` event replaces them with the frozen rendering.

Markdown is converted on the server, and converting the whole reply at every
flush costs time that grows with the reply (about 8 ms a flush at 10 KB, 30 ms
at 40 KB, per window). So a streaming block is split where later text cannot
change what came before: the finished part is converted once, in chunks, and
only the tail is converted again at each flush.
"""

from __future__ import annotations

import time
from typing import Any

from nicegui import ui

from components.chat.cuts import open_fence, stable_prefix
from components.chat.fmt import tag
from components.chat.live_html import LiveHtml
from components.common.markdown import Markdown

MAX_RENDER_SHARE = 0.1  # of the server's time, for one page's stream
_DELTA_BLOCK_TYPES = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "tool_use"}


class _Block:
    def __init__(self, kind: str, name: str | None) -> None:
        self.kind = kind
        self.name = name or "tool"
        self.text = ""
        self._arrived: list[str] = []  # deltas since the last render: `text += delta` would copy all of it each time
        self.element: ui.element | None = None
        self._chunks: ui.element | None = None
        self._tail: Any = None
        self._frozen = 0  # how much of the text is in the chunks, converted once
        self._shown = -1  # how much of the text is shown (it only grows)

    def add(self, text: str) -> None:
        self._arrived.append(text)

    @property
    def empty(self) -> bool:
        return not self.text and not any(self._arrived)

    def render(self) -> None:
        if self._arrived:
            self.text += "".join(self._arrived)
            self._arrived.clear()
        if self.element is None:
            self._build()
        if self._shown == len(self.text):
            return
        if self.kind == "thinking" and not self.element.value:
            return  # folded: nothing of it is seen, so nothing is converted or sent until it is opened
        self._shown = len(self.text)
        if self.kind == "tool_use":
            self._tail.show_text(f"Preparing {self.name}… {len(self.text):,} characters of input")
            return
        split = stable_prefix(self.text, self._frozen)
        if split > self._frozen:
            with self._chunks:
                Markdown(self.text[self._frozen:split]).classes("ccs-md w-full")
            self._frozen = split
        fence = open_fence(self.text, self._frozen)
        self._tail.show_markdown(self.text[self._frozen:], None if fence is None else fence - self._frozen)

    def _opened(self, event: Any) -> None:
        if event.value:
            self.render()

    def _build(self) -> None:
        if self.kind == "tool_use":
            with ui.row().classes("items-center gap-2 ccs-muted") as self.element:
                tag(self.element, "tool-streaming", tool=self.name)
                ui.spinner(size="xs")
                self._tail = LiveHtml()
            return
        if self.kind == "thinking":
            with ui.expansion("Thinking…", icon="psychology", on_value_change=self._opened).props("dense") \
                    .classes("w-full ccs-thinking") as self.element:
                tag(self.element, "thinking-streaming")
                self._chunks = ui.column().classes("w-full gap-0")
                self._tail = LiveHtml().classes("nicegui-markdown ccs-md w-full")
        else:
            with tag(ui.column().classes("w-full gap-0"), "assistant-streaming") as self.element:
                self._chunks = ui.column().classes("w-full gap-0")
                self._tail = LiveHtml().classes("nicegui-markdown ccs-md w-full")


def _stream_order(item: tuple[int, _Block]) -> float:
    """Parked (seeded) blocks came first, in their seeded order; the rest by index."""
    index = item[0]
    return index if index >= 0 else -1e9 - index


class LiveStream:
    def __init__(self) -> None:
        self.root = tag(ui.column().classes("w-full gap-2"), "live-stream")
        with self.root:  # puts LiveHtml's script into the page now, not in the middle of the first stream
            LiveHtml().set_visibility(False)
        self._blocks: dict[int, _Block] = {}
        self._dirty = False
        self._resume_at = 0.0

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
            self._block_for(index, _DELTA_BLOCK_TYPES[delta_type]).add(event.get("text") or "")
            self._dirty = True

    def _block_for(self, index: int, kind: str) -> _Block:
        if index not in self._blocks:
            parked = [key for key, block in self._blocks.items() if key < 0 and block.kind == kind]
            self._blocks[index] = self._blocks.pop(parked[-1]) if parked else _Block(kind, None)
        return self._blocks[index]

    def flush(self) -> None:
        if not self._dirty or time.perf_counter() < self._resume_at:
            return
        self._dirty = False
        started = time.perf_counter()
        with self.root:
            for _, block in sorted(self._blocks.items(), key=_stream_order):
                if not block.empty or block.kind == "tool_use":
                    block.render()
        # A tail that cannot be cut (a long table, a list of hundreds of items) costs more at every flush:
        # past a point it is shown less often rather than taking more of the server's time.
        self._resume_at = started + (time.perf_counter() - started) / MAX_RENDER_SHARE

    def clear(self) -> None:
        """The message completed (or the turn ended): its blocks are frozen elsewhere or gone."""
        if self._blocks:
            self._blocks.clear()
            self.root.clear()
        self._dirty = False

    @property
    def active(self) -> bool:
        return bool(self._blocks)
