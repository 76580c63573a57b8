"""A project's jobs (H1): status, name, age, cost; filter; archived ones on request.

Job notices arrive several times per turn for every job of the project, in every
window that shows the list. Rebuilding the list each time made ten streaming
windows on a small machine fall a second behind (bench_ui_latency.py), so a
notice updates only the rows whose shown values changed; the list is rebuilt
only when which jobs it shows, or their order, changes.
"""

from __future__ import annotations

from nicegui import ui

from components.common.format import age, cost, status_color, status_label
from components.common.live_refresh import refresh_on_notices
from core.services import Services

MAX_ROWS = 300


class _Row:
    """One job's row; `update` changes its elements in place."""

    def __init__(self, job, live: bool, active: bool, waiting: bool = False) -> None:
        classes = "w-full cursor-pointer rounded-borders q-pa-xs gap-0 " + ("ccs-active" if active else "")
        with ui.link(target=f"/job/{job.id}").classes("w-full no-underline ccs-plain-link"):
            with ui.column().classes(classes).props(f"data-testid=job-row-{job.id}"):
                with ui.row().classes("w-full items-center no-wrap gap-2"):
                    self.badge = ui.badge().props("data-testid=job-row-status")
                    self.pin = ui.icon("push_pin", size="14px").tooltip("session")
                    self.name = ui.label().classes("ellipsis text-body2")
                with ui.row().classes("gap-3 text-caption text-grey"):
                    self.age = ui.label()
                    self.cost = ui.label()
                    self.fork = ui.label("fork")
        self._shown: tuple | None = None
        self.update(job, live, waiting)

    def update(self, job, live: bool, waiting: bool = False) -> None:
        label = status_label({"status": job.status, "mode": job.mode, "hibernated": job.hibernated}, live, waiting)
        shown = (label, status_color(job.status, waiting), job.mode, job.name, age(job.created_at),
                 cost(job.cost_usd), bool(job.parent_job_id))
        if shown == self._shown:
            return
        self._shown = shown
        self.badge.set_text(label)
        self.badge.props(f"color={shown[1]}")
        self.pin.set_visibility(job.mode == "session")
        self.name.set_text(job.name)
        self.age.set_text(shown[4])
        self.cost.set_text(shown[5])
        self.fork.set_visibility(bool(job.parent_job_id))


class JobList:
    def __init__(self, services: Services, project_id: str, active_job_id: str | None = None) -> None:
        self.services = services
        self.project_id = project_id
        self.active_job_id = active_job_id
        self.show_archived = False
        self._rows: dict[str, _Row] = {}
        self._order: list[str] | None = None
        # On a phone the sidebar is hidden: say whose jobs these are, and lead back to the projects.
        with ui.row().classes("w-full items-center no-wrap gap-2 ccs-phone-only").props(
                "data-testid=job-list-project"):
            with ui.link(target="/").classes("no-underline ccs-plain-link").props(
                    "data-testid=back-to-projects aria-label='Back to the projects'"):
                ui.icon("arrow_back", size="sm")
            ui.label(services.projects.get(project_id).name).classes("text-h6 ellipsis").props(
                "data-testid=job-list-project-name")
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
                           lambda n: (n.get("kind") == "job" and n["job"]["project_id"] == project_id)
                           or n.get("kind") == "approvals")

    def _toggle_archived(self, event) -> None:
        self.show_archived = bool(event.value)
        self.render()

    def _visible_jobs(self) -> list:
        # str(): the filter's value comes from the browser, which may send anything.
        query = str(self.filter.value or "").lower().strip()
        jobs = self.services.jobs.list(self.project_id, include_archived=self.show_archived)
        if query:
            jobs = [j for j in jobs if query in j.name.lower() or query in j.prompt.lower()]
        return jobs[:MAX_ROWS]

    def render(self) -> None:
        jobs = self._visible_jobs()
        waiting = {approval.job_id for approval in self.services.jobs.approvals.pending()}
        order = [job.id for job in jobs]
        if order and order == self._order:  # (an empty list is redrawn: its message depends on the filter)
            for job in jobs:
                self._rows[job.id].update(job, self.services.jobs.is_live(job.id), job.id in waiting)
            return
        self._order = order
        self._rows.clear()
        self.body.clear()
        with self.body:
            if not jobs:
                query = str(self.filter.value or "").strip()
                ui.label("No match." if query else "No jobs yet: write a prompt to start one.").classes("text-grey")
            for job in jobs:
                self._rows[job.id] = _Row(job, self.services.jobs.is_live(job.id), job.id == self.active_job_id,
                                          job.id in waiting)
