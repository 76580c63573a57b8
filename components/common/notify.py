"""The one way the UI pops up a message: at the top (never over the composer), briefly, and once.

Quasar's defaults put toasts at the bottom, where the composer is, for five seconds each, so a few
actions in a row stacked a column of them over what the user was typing. Here a toast shows at the
top for a few seconds (an error a little longer); the same message again while it shows replaces it
(Quasar counts the repeats on a badge) instead of stacking.
"""

from __future__ import annotations

from typing import Literal

from nicegui import ui

Kind = Literal["positive", "negative", "warning", "info", "ongoing"] | None

POSITION = "top"
TIMEOUT_MS = 2500
ERROR_TIMEOUT_MS = 5000  # an error is worth the time to read it


def toast(message: str, type: Kind = None, *, close_button: bool = False, multi_line: bool = False) -> None:  # noqa: A002
    ui.notify(message, type=type, position=POSITION, close_button=close_button, multi_line=multi_line,
              timeout=ERROR_TIMEOUT_MS if type in ("negative", "warning") else TIMEOUT_MS,
              group=f"{type}:{message}")
