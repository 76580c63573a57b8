"""A column of transcript items, split into segments of bounded size.

An element update resends the element's whole list of children, so one
column with thousands of items would make every append cost kilobytes. Items
go into segments (a new one per user turn, or when the current one is full)
and only the segment that changes is resent.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

SEGMENT_ITEMS = 40


class Lane:
    def __init__(self, classes: str = "") -> None:
        self.root = ui.column().classes(f"w-full gap-2 {classes}")
        self._segment: ui.column | None = None
        self._count = 0
        self.thinking: Any = None  # the thinking item a next thinking block merges into
        self.last_init: tuple[Any, Any] | None = None
        self.last_error: str | None = None  # a job failure is reported twice (status and error events)
        # Whether the turn that ended last was followed by no prompt yet (None: not known in this lane), and the
        # background agent that finished last: a turn that starts with no prompt is its result (or a cron task).
        self.after_turn: bool | None = None
        self.finished_agent: str | None = None

    def slot(self, *, new_turn: bool = False) -> ui.column:
        """The container for one new item; entering it breaks any run of thinking blocks."""
        if self._segment is None or self._count >= SEGMENT_ITEMS or (new_turn and self._count):
            with self.root:
                self._segment = ui.column().classes("w-full gap-2")
            self._count = 0
        self._count += 1
        self.thinking = None
        return self._segment

    def adopt(self, other: Lane) -> None:
        """Move another lane's items to the end of this one (work that was shown before its parent)."""
        segments = list(other.root.default_slot.children)
        for segment in segments:
            segment.move(target_container=self.root)
        if segments:
            self._segment = segments[-1]  # type: ignore[assignment]
            self._count = SEGMENT_ITEMS  # the next item starts a fresh segment; cheaper than counting
            self.thinking = None
