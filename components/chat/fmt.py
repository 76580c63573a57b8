"""Small formatting helpers shared by the chat view's modules."""

from __future__ import annotations

import re
from typing import Any

from nicegui import ui

_BACKTICK_RUN = re.compile(r"`{3,}")


def tag(element: ui.element, testid: str, **attrs: str) -> ui.element:
    """A `data-testid` for browser tests and the same word as a marker for NiceGUI's `user` tests."""
    element.props["data-testid"] = testid
    for key, value in attrs.items():
        element.props[f"data-{key}"] = value
    element.mark(testid)
    return element


def mini_button(icon: str, on_click: Any, label: str = "", title: str = "") -> ui.element:
    """A small native button for the transcript's per-card and per-turn actions.

    A Quasar button is a Vue component of about six DOM nodes; a transcript has one or two per tool call
    and per turn, and mounting them was a good part of opening a long job.
    """
    button = ui.element("button").classes("ccs-mini-btn").props("type=button")
    if title or label:
        button.props["title"] = title or label
    with button:
        ui.icon(icon, size="16px")
        if label:
            ui.label(label)
    button.on("click", lambda _: on_click())
    return button


def fenced(text: str, language: str = "") -> str:
    """A markdown code fence longer than any backtick run inside, so content can never close it early."""
    longest = max((len(m.group(0)) for m in _BACKTICK_RUN.finditer(text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def tokens(count: Any) -> str:
    count = int(count or 0)
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 10_000:
        return f"{count / 1000:.0f}k"
    if count >= 1000:
        return f"{count / 1000:.1f}k"
    return str(count)


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1048576:.1f} MB"


def one_line(text: Any, limit: int = 120) -> str:
    first = next((line.strip() for line in str(text or "").splitlines() if line.strip()), "")
    return first if len(first) <= limit else first[: limit - 1] + "…"
