"""Refresh a small part of a page when server-wide notices arrive, at most a few times a second."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from core.hub import Hub


def refresh_on_notices(hub: Hub, refresh: Callable[[], None], wants: Callable[[dict[str, Any]], bool],
                       interval: float = 0.3) -> None:
    """Mark dirty on matching notices; a timer redraws, so a burst of notices costs one redraw."""
    dirty = {"value": False}

    def on_notice(notice: dict[str, Any]) -> None:
        if wants(notice):
            dirty["value"] = True

    def tick() -> None:
        if dirty["value"]:
            dirty["value"] = False
            refresh()

    ui.context.client.on_delete(hub.subscribe_all(on_notice))
    ui.timer(interval, tick)
