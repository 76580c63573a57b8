"""How full a live job's context window is (spec N2), above its composer: a bar, the tokens, a warning near the
limit, and Compact, which sends the CLI's own /compact.

Measuring asks the CLI (about a second of its time), so it is done when the page opens and after each turn,
never on a timer; a job without a running CLI shows nothing.
"""

from __future__ import annotations

from nicegui import ui

from components.common.notify import toast
from core.errors import UserError
from core.services import Services

WARN_AT = 80.0  # percent: Claude compacts by itself a little above this


def _tokens(count: int) -> str:
    return f"{count / 1000:.0f}k" if count >= 10_000 else f"{count:,}"


class ContextGauge:
    def __init__(self, services: Services, job_id: str) -> None:
        self.services = services
        self.job_id = job_id
        self._turns: int | None = None
        self._measuring = False
        with ui.row().classes("w-full items-center no-wrap gap-2 text-caption").props(
                "data-testid=context-gauge") as self.row:
            ui.icon("data_usage", size="xs").classes("ccs-muted")
            self.bar = ui.linear_progress(value=0, show_value=False, size="6px").classes("grow").props(
                "rounded data-testid=context-bar")
            self.label = ui.label().classes("ccs-muted whitespace-nowrap").props("data-testid=context-label")
            self.compact = ui.button(icon="compress", on_click=self._compact).props(
                "flat round dense size=sm aria-label=Compact data-testid=context-compact").tooltip(
                "Summarize the conversation so far to free the context window (/compact)")
        self.row.set_visibility(False)
        ui.timer(0.5, self._check)  # cheap: looks at the job's turn count, measures when it changed

    async def _check(self) -> None:
        job = self.services.jobs.jobs.get(self.job_id)
        if job is None or self._measuring:
            return
        live = self.job_id in self.services.jobs.live and job.status == "idle"
        if not live:
            self.row.set_visibility(False)
            self._turns = None
            return
        if job.turns != self._turns:
            self._turns = job.turns
            await self.measure()

    async def measure(self) -> None:
        self._measuring = True
        try:
            context = await self.services.jobs.inspect.context(self.job_id)
        except Exception:  # the CLI went away, or cannot say: the gauge is a nicety, never an error
            self.row.set_visibility(False)
            return
        finally:
            self._measuring = False
        if self.row.is_deleted:
            return
        percent = float(context["percent"])
        near = percent >= WARN_AT
        self.bar.value = min(1.0, percent / 100)
        self.bar.props(f"color={'warning' if near else 'primary'}")
        text = f"Context {percent:.0f}% · {_tokens(context['tokens'])} of {_tokens(context['max_tokens'])} tokens"
        self.label.text = text + (" · near the limit: compact soon" if near else "")
        self.label.classes(replace="whitespace-nowrap " + ("text-warning" if near else "ccs-muted"))
        self.row.set_visibility(True)

    async def _compact(self) -> None:
        try:
            self.services.jobs.follow_up(self.job_id, "/compact")
        except UserError as exc:
            toast(str(exc), type="negative")
            return
        toast("Compacting the conversation…")
