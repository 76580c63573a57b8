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
NEEDS_YOU = "needs you"  # a job whose turn waits for a person: a question, a plan or a permission
NEEDS_YOU_COLOR = "orange-9"


def status_color(status: str, waiting: bool = False) -> str:
    if waiting and status in ("running", "queued", "idle"):
        return NEEDS_YOU_COLOR
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
    """Every cost the UI shows: dollars with two to four decimals; a cost too small to show is `<$0.0001`."""
    usd = float(usd or 0)
    if usd <= 0:
        return "$0.00"
    if usd < 0.00005:
        return "<$0.0001"
    if usd >= 0.995:
        return f"${usd:.2f}"
    digits = f"{usd:.4f}".rstrip("0")
    whole, _, decimals = digits.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def countdown(deadline: float | None, now: float | None = None) -> str:
    if not deadline:
        return ""
    left = max(0, int(deadline - (now or time.time())))
    return f"{left // 60}:{left % 60:02d}"


def status_label(job: dict, live: bool, waiting: bool = False) -> str:
    """Honest liveness (spec C10): 'idle' only while a real channel to the CLI exists. `waiting`: an approval
    of the job is pending, so the job needs a person, whatever its runtime status says."""
    status = job["status"]
    if waiting and status in ("running", "queued", "idle"):
        return NEEDS_YOU
    if status == "idle" and not live:
        return "sleeping" if job.get("hibernated") else "idle"
    if status == "idle" and job.get("mode") == "session":
        return "session active"
    return status


def text_of_input(element) -> str:
    """An input's value as text. The browser sets it, and a forged message may send any JSON value."""
    value = element.value
    return value if isinstance(value, str) else ""
