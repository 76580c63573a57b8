"""A project's jobs (H1): status, name, age, cost; filter; archived ones on request."""

from __future__ import annotations

from nicegui import ui

from components.format import age, cost, status_color, status_label
from components.live_refresh import refresh_on_notices
from core.services import Services


class JobList:
    def __init__(self, services: Services, project_id: str, active_job_id: str | None = None) -> None:
        self.services = services
        self.project_id = project_id
        self.active_job_id = active_job_id
        self.show_archived = False
        with ui.row().classes("w-full items-center no-wrap"):
            ui.label("Jobs").classes("text-subtitle1 text-weight-medium")
            ui.space()
            ui.button("New job", icon="add", on_click=lambda: ui.navigate.to(f"/project/{project_id}?new=1")).props(
                "flat dense data-testid=new-job")
        self.filter = ui.input(placeholder="Filter jobs").props("dense clearable outlined").classes("w-full")
        self.filter.on_value_change(lambda _: self.render())
        ui.switch("Show archived", on_change=self._toggle_archived).props("dense data-testid=show-archived")
        self.body = ui.column().classes("w-full gap-1")
        self.render()
        refresh_on_notices(services.hub, self.render,
                           lambda n: n.get("kind") == "job" and n["job"]["project_id"] == project_id)

    def _toggle_archived(self, event) -> None:
        self.show_archived = event.value
        self.render()

    def render(self) -> None:
        query = (self.filter.value or "").lower().strip()
        jobs = self.services.jobs.list(self.project_id, include_archived=self.show_archived)
        if query:
            jobs = [j for j in jobs if query in j.name.lower() or query in j.prompt.lower()]
        self.body.clear()
        with self.body:
            if not jobs:
                ui.label("No jobs yet: write a prompt to start one." if not query else "No match.").classes(
                    "text-grey")
            for job in jobs[:300]:
                self._row(job)

    def _row(self, job) -> None:
        active = job.id == self.active_job_id
        live = self.services.jobs.is_live(job.id)
        label = status_label({"status": job.status, "mode": job.mode, "hibernated": job.hibernated}, live)
        classes = "w-full cursor-pointer rounded-borders q-pa-xs " + ("ccs-active" if active else "")
        with ui.link(target=f"/job/{job.id}").classes("w-full no-underline ccs-plain-link"):
            with ui.column().classes(classes + " gap-0").props(f"data-testid=job-row-{job.id}"):
                with ui.row().classes("w-full items-center no-wrap gap-2"):
                    ui.badge(label, color=status_color(job.status)).props("data-testid=job-row-status")
                    if job.mode == "session":
                        ui.icon("push_pin", size="14px").tooltip("session")
                    ui.label(job.name).classes("ellipsis text-body2")
                with ui.row().classes("gap-3 text-caption text-grey"):
                    ui.label(age(job.created_at))
                    ui.label(cost(job.cost_usd))
                    if job.parent_job_id:
                        ui.label("fork")
