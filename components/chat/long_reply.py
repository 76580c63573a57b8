"""A reply too long to show at once (spec D3, D6): its beginning, then the rest on demand, part by part.

Shown whole, a reply of 0.7 MB (5,000 lines) cost the server 1.8 s of conversion on its loop and the
browser a 2.9 MB page of 63,000 elements to lay out, about five seconds before the job could be read
(bench/bench_big_reply.py). A person reads such a reply from its top: the page shows its first screens,
and below them how much is left and two buttons, the next part or all of it. The rest is converted and
sent only when asked for, in parts cut where markdown renders alone as it does in the whole
(`components.chat.cuts`), so nothing of it is lost or rendered differently, and each part goes through
the same `Markdown` (placeholders for images, spec J6).
"""

from __future__ import annotations

import asyncio

from nicegui import ui

from components.chat.cuts import link_definitions, parts
from components.chat.fmt import mini_button, tag
from components.common.markdown import Markdown

FIRST_CHARS = 12_000  # shown at once: a few screens, and a small share of the time a page takes to open
PART_CHARS = 12_000  # converted and sent in parts of about this size (about 40 ms of conversion each)
MORE_CHARS = 120_000  # what "show more" adds: a few hundred lines


def reply_markdown(text: str) -> ui.element:
    """The reply's markdown: one element when it is short, a `LongReply` when it is long."""
    if len(text) <= FIRST_CHARS:
        return Markdown(text).classes("ccs-md w-full")
    return LongReply(text).element


class LongReply:
    def __init__(self, text: str) -> None:
        self.parts = parts(text, PART_CHARS)
        self._definitions = link_definitions(text)
        self._lines = [part.count("\n") for part in self.parts]
        self._lines[-1] += 1  # the last line has no newline of its own
        self.total_lines = sum(self._lines)
        self.shown = 0  # parts shown so far, from the first
        self._showing_all = False
        with ui.column().classes("w-full gap-0") as self.element:
            self._box = ui.column().classes("w-full gap-0")
            self._rest = tag(ui.row().classes("w-full items-center gap-2 ccs-muted"), "reply-rest")
        self._show(self._next_stop(FIRST_CHARS))

    def show_more(self) -> None:
        self._show(self._next_stop(MORE_CHARS))

    async def show_all(self) -> None:
        """Every part left, one at a time: the loop serves other pages between them."""
        if self._showing_all:
            return
        self._showing_all = True
        while self.shown < len(self.parts) and not self.element.is_deleted:
            self._show(self.shown + 1)
            await asyncio.sleep(0)

    def _next_stop(self, chars: int) -> int:
        """Where showing about `chars` more characters ends: after at least one more part."""
        stop, added = self.shown, 0
        while stop < len(self.parts) and (added == 0 or added < chars):
            added += len(self.parts[stop])
            stop += 1
        return stop

    def _show(self, stop: int) -> None:
        """The parts up to `stop`, and what is left below them."""
        with self._box:
            for part in self.parts[self.shown:stop]:
                # A reference link may point at a definition in another part; a definition renders as nothing.
                Markdown(f"{part}\n\n{self._definitions}" if self._definitions else part).classes("ccs-md w-full")
        self.shown = stop
        self._rest.clear()
        if stop == len(self.parts):
            self._rest.set_visibility(False)
            return
        shown_lines = sum(self._lines[:stop])
        more = sum(self._lines[stop:self._next_stop(MORE_CHARS)])
        with self._rest:
            ui.label(f"Lines 1–{shown_lines:,} of {self.total_lines:,}")
            tag(mini_button("expand_more", self.show_more, label=f"Show {more:,} more lines"), "show-more")
            tag(mini_button("unfold_more", self.show_all, label=f"Show all {self.total_lines:,} lines"), "show-all")
