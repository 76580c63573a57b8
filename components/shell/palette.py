"""Command palette (H2): Ctrl/Cmd+K from anywhere, even inside a text box; fuzzy search across jobs."""

from __future__ import annotations

from nicegui import ui

from components.common.format import age, status_color, text_of_input
from core.services import Services

# Capture phase, so a focused textarea or the composer cannot swallow the shortcut.
_SHORTCUT_JS = """
<script>
document.addEventListener('keydown', function (e) {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'k' || e.key === 'K')) {
    e.preventDefault();
    e.stopPropagation();
    emitEvent('ccs-palette');
  }
}, true);
</script>
"""
HIGHLIGHT = "bg-blue-9 text-white"  # the chosen row (the composer's chosen suggestion looks the same)


class Palette:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.results: list[str] = []
        self.selected = 0
        ui.add_body_html(_SHORTCUT_JS)
        ui.on("ccs-palette", self.open)
        with ui.dialog().props("position=top") as self.dialog, ui.card().classes("w-[40rem] max-w-full"):
            self.query = ui.input(placeholder="Search jobs by name, prompt, project or conversation").props(
                "autofocus outlined dense clearable data-testid=palette-input").classes("w-full")
            self.query.on_value_change(lambda _: self._search())
            self.query.on("keydown.down.prevent", lambda: self._move(1))
            self.query.on("keydown.up.prevent", lambda: self._move(-1))
            self.query.on("keydown.enter.prevent", self._choose)
            self.list = ui.column().classes("w-full gap-0").props("data-testid=palette-results")

    def button(self) -> None:
        ui.button(icon="search", on_click=self.open).props(
            "flat round color=white aria-label='Search (Ctrl+K)' data-testid=palette-button").tooltip("Ctrl+K")

    def open(self) -> None:
        self.query.value = ""
        self._search()
        self.dialog.open()
        self.query.run_method("focus")

    def _search(self) -> None:
        text = text_of_input(self.query).strip()
        if text:
            hits = self.services.search.search(text, limit=15)
            self.results = [h.job_id for h in hits]
            fields = {h.job_id: h.field for h in hits}
        else:
            self.results = self.services.search.recent(10)
            fields = {}
        self.selected = 0
        self._render(fields, recent=not text)

    def _render(self, fields: dict[str, str], recent: bool) -> None:
        self.list.clear()
        with self.list:
            if recent and self.results:
                ui.label("Recent jobs").classes("text-caption text-grey q-mt-sm")
            if not self.results:
                ui.label("No jobs match." if not recent else "No jobs yet.").classes("text-grey q-pa-sm")
            waiting = {approval.job_id for approval in self.services.jobs.approvals.pending()}
            for index, job_id in enumerate(self.results):
                job = self.services.jobs.jobs.get(job_id)
                if job is None:
                    continue
                project = self.services.projects.get(job.project_id).name
                # The highlighted row: white on a dark blue (the theme's primary is too light for white text),
                # its captions white too (grey on blue could hardly be read).
                chosen = index == self.selected
                highlight = HIGHLIGHT if chosen else ""
                muted = "" if chosen else " text-grey"
                with ui.row().classes(f"w-full items-center no-wrap gap-2 q-pa-sm rounded-borders cursor-pointer "
                                      f"{highlight}").props(
                        f"data-testid=palette-item aria-selected={'true' if chosen else 'false'}") as row:
                    dot = "white" if chosen else status_color(job.status, job_id in waiting)  # orange: needs you
                    ui.icon("circle", size="10px", color=dot)
                    ui.label(job.name).classes("ellipsis")
                    ui.space()
                    ui.label(project).classes("text-caption")
                    if job_id in fields:
                        ui.label(fields[job_id]).classes("text-caption" + muted)
                    ui.label(age(job.updated_at)).classes("text-caption" + muted)
                row.on("click", lambda j=job_id: self._go(j))

    def _move(self, step: int) -> None:
        if self.results:
            self.selected = (self.selected + step) % len(self.results)
            self._render({}, recent=not text_of_input(self.query).strip())

    def _choose(self) -> None:
        if self.results:
            self._go(self.results[self.selected])

    def _go(self, job_id: str) -> None:
        self.dialog.close()
        ui.navigate.to(f"/job/{job_id}")
