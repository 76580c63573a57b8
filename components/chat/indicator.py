"""The working indicator (spec D4): spinner and elapsed time while the job runs, and the job's totals."""

from __future__ import annotations

import time
from typing import Any

from nicegui import ui

from components.chat import fmt
from components.chat.fmt import tag
from components.chat.live_html import LiveHtml
from components.common.format import cost

ACTIVE = {"running", "queued"}


class WorkingIndicator:
    def __init__(self, job: dict[str, Any]) -> None:
        self.status = ""
        self._turn_started: float | None = None
        with ui.row().classes("w-full items-center gap-2 min-h-[28px]"):
            with ui.row().classes("items-center gap-2") as self._working:
                tag(self._working, "working-indicator")
                # An opacity pulse runs on the compositor; Quasar's SVG spinners restyle the page every frame.
                ui.icon("more_horiz", size="md").classes("ccs-pulse")
                self._label = LiveHtml()  # changes every second: sent without re-rendering the page
            ui.space()
            self._totals = tag(ui.label("").classes("ccs-muted"), "job-usage")
        self._working.set_visibility(False)
        self._job_started = job.get("started_at")
        self.update_job(job)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def turn_started(self, ts: float | None) -> None:
        if ts:
            self._turn_started = ts

    def update_job(self, job: dict[str, Any]) -> None:
        self.status = str(job.get("status", ""))
        self._job_started = job.get("started_at") or self._job_started
        self._working.set_visibility(self.active)
        turns = int(job.get("turns") or 0)
        if turns or job.get("cost_usd"):
            self._totals.set_text(f"Job total {cost(job.get('cost_usd'))} · "
                                  f"{fmt.tokens(job.get('input_tokens'))} in · "
                                  f"{fmt.tokens(job.get('output_tokens'))} out · {turns} turn{'s' * (turns != 1)}")
        self.tick()

    def tick(self) -> None:
        """Called by the view's timer; sends an update only when the shown second changes."""
        if not self.active:
            return
        started = self._turn_started or self._job_started or time.time()
        text = f"{'Queued' if self.status == 'queued' else 'Working'} · {fmt.duration(time.time() - started)}"
        self._label.show_text(text)
