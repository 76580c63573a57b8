"""Small display helpers shared by the UI components."""

from __future__ import annotations

import time

STATUS_COLORS = {
    "queued": "grey-6",
    "running": "primary",
    "idle": "positive",
    "completed": "blue-grey-5",
    "failed": "negative",
    "archived": "grey-8",
}


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, "grey")


def age(timestamp: float | None, now: float | None = None) -> str:
    if not timestamp:
        return ""
    seconds = max(0, int((now or time.time()) - timestamp))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def cost(usd: float | None) -> str:
    if not usd:
        return "$0"
    return f"${usd:.2f}" if usd >= 0.995 else f"${usd:.4f}".rstrip("0")


def countdown(deadline: float | None, now: float | None = None) -> str:
    if not deadline:
        return ""
    left = max(0, int(deadline - (now or time.time())))
    return f"{left // 60}:{left % 60:02d}"


def status_label(job: dict, live: bool) -> str:
    """Honest liveness (spec C10): 'idle' only while a real channel to the CLI exists."""
    status = job["status"]
    if status == "idle" and not live:
        return "sleeping" if job.get("hibernated") else "idle"
    if status == "idle" and job.get("mode") == "session":
        return "session active"
    return status


def text_of_input(element) -> str:
    """An input's value as text. The browser sets it, and a forged message may send any JSON value."""
    value = element.value
    return value if isinstance(value, str) else ""
