"""The projects sidebar (H1, B1, B2): projects with their live jobs, create, rename, archive, restore."""

from __future__ import annotations

from nicegui import ui

from components.common.format import NEEDS_YOU, status_color, status_label
from components.common.live_refresh import refresh_on_notices
from components.common.notify import toast
from components.common.rename_dialog import open_rename_dialog
from core.errors import UserError
from core.services import Services

LIVE_STATUSES = ("queued", "running", "idle")
MAX_LIVE_SHOWN = 8


class _ProjectSection:
    """A project's row and its live jobs. Status changes update the jobs' dots in place; the job rows are
    rebuilt only when which jobs are live changes."""

    def __init__(self, sidebar: ProjectSidebar, project) -> None:
        self.sidebar = sidebar
        self.jobs = sidebar.services.jobs
        active = project.id == sidebar.active_project_id
        with ui.row().classes("w-full items-center no-wrap gap-1"):
            link = ui.link(project.name, f"/project/{project.id}").classes(
                "ellipsis text-body1 no-underline " + ("text-weight-bold text-primary" if active else "ccs-plain-link"))
            link.props(f"data-testid=project-{project.name}")
            ui.space()
            with ui.badge(color="primary").props("rounded") as self.count:
                ui.tooltip("live jobs")
            with ui.button(icon="more_vert").props("flat round dense size=sm"), ui.menu():
                ui.menu_item("Rename", on_click=lambda: sidebar.open_rename(project))
                ui.menu_item("Archive", on_click=lambda: sidebar._archive(project.id))
        self.box = ui.column().classes("w-full gap-1")
        self._ids: list[str] | None = None
        self._dots: dict[str, tuple[ui.icon, ui.tooltip, ui.link, ui.label]] = {}
        self.update(sidebar._live_jobs(project.id))

    def update(self, live: list) -> None:
        ids = [job.id for job in live]
        if ids != self._ids:
            self._ids = ids
            self.count.set_text(str(len(live)))
            self.count.set_visibility(bool(live))
            self._dots.clear()
            self.box.clear()
            with self.box:
                for job in live[:MAX_LIVE_SHOWN]:
                    with ui.row().classes("w-full items-center no-wrap gap-1 pl-3"):
                        with ui.icon("circle", size="10px") as dot:
                            tip = ui.tooltip("")
                        weight = "text-weight-bold" if job.id == self.sidebar.active_job_id else ""
                        name = ui.link(job.name, f"/job/{job.id}").classes(
                            f"ellipsis text-caption no-underline {weight}")
                        needs = ui.label(NEEDS_YOU).classes(
                            "text-caption text-weight-bold text-orange-9 whitespace-nowrap").props(
                            f"data-testid=sidebar-needs-you-{job.id}")
                    self._dots[job.id] = (dot, tip, name, needs)
        waiting = {approval.job_id for approval in self.jobs.approvals.pending()}
        for job in live[:MAX_LIVE_SHOWN]:
            dot, tip, name, needs = self._dots[job.id]
            label = status_label({"status": job.status, "mode": job.mode, "hibernated": job.hibernated},
                                 self.jobs.is_live(job.id), job.id in waiting)
            color = status_color(job.status, job.id in waiting)
            if dot.props.get("color") != color:
                dot.props(f"color={color}")
            if tip.text != label:
                tip.set_text(label)
            if needs.visible != (label == NEEDS_YOU):
                needs.set_visibility(label == NEEDS_YOU)
            if name.text != job.name:
                name.set_text(job.name)


class ProjectSidebar:
    def __init__(self, services: Services, active_project_id: str | None = None,
                 active_job_id: str | None = None) -> None:
        self.services = services
        self.active_project_id = active_project_id
        self.active_job_id = active_job_id
        # In a narrow sidebar (1000 px windows) the title gives way, never the buttons: they stay inside it.
        with ui.row().classes("w-full items-center no-wrap gap-1"):
            ui.label("Projects").classes("text-subtitle1 text-weight-medium ellipsis").style(
                "flex: 1 1 auto; min-width: 0")
            ui.button(icon="add", on_click=self.open_create).props(
                "flat round dense aria-label='New project' data-testid=new-project").style("flex: none").tooltip(
                "New project")
            ui.button(icon="download", on_click=lambda: ui.navigate.to("/import")).props(
                "flat round dense aria-label='Import CLI sessions' data-testid=import-sessions").style(
                "flex: none").tooltip("Import sessions from the claude command line")
            # On a phone the header has no room for it: usage is reached from here (spec N1).
            ui.button(icon="bar_chart", on_click=lambda: ui.navigate.to("/usage")).props(
                "flat round dense aria-label='Usage' data-testid=usage-link-phone").classes("ccs-phone-only").style(
                "flex: none")
            if services.settings.runner == "ray":  # the machines agents run on (spec O2)
                ui.button(icon="hub", on_click=lambda: ui.navigate.to("/cluster")).props(
                    "flat round dense aria-label='Cluster' data-testid=cluster-link-phone").classes(
                    "ccs-phone-only").style("flex: none")
        self.body = ui.column().classes("w-full gap-1")
        self._shown: tuple | None = None
        self._sections: dict[str, _ProjectSection] = {}
        self.render()
        refresh_on_notices(services.hub, self.render, lambda n: n.get("kind") in ("project", "job", "approvals"))

    def _live_jobs(self, project_id: str) -> list:
        return [j for j in self.services.jobs.list(project_id) if j.status in LIVE_STATUSES]

    def render(self) -> None:
        # Redraw only what changed: a redraw closes a project's menu under the user's hands, and a job's
        # status change would otherwise rebuild every project in every open window.
        projects = self.services.projects.list(include_archived=True)
        shown = tuple((p.id, p.name, p.archived) for p in projects)
        if shown != self._shown:
            self._shown = shown
            self._rebuild(projects)
            return
        for project in projects:
            if project.id in self._sections:
                self._sections[project.id].update(self._live_jobs(project.id))

    def _rebuild(self, projects: list) -> None:
        self._sections.clear()
        self.body.clear()
        with self.body:
            active = [p for p in projects if not p.archived]
            if not active:
                ui.label("No projects yet.").classes("text-grey")
            for project in active:
                self._sections[project.id] = _ProjectSection(self, project)
            archived = [p for p in projects if p.archived]
            if archived:
                with ui.expansion(f"Archived ({len(archived)})").classes("w-full text-grey").props("dense"):
                    for project in archived:
                        with ui.row().classes("items-center no-wrap w-full"):
                            ui.label(project.name).classes("ellipsis")
                            ui.space()
                            ui.button("Restore", on_click=lambda p=project: self._restore(p.id)).props(
                                f"flat dense size=sm data-testid=restore-project-{project.name}")

    def open_create(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-96"):
            ui.label("New project").classes("text-h6")
            name = ui.input("Name").props("autofocus data-testid=project-name").classes("w-full")
            path = ui.input("Existing directory (optional, absolute path)").classes("w-full").props(
                "data-testid=project-path")
            error = ui.label("").classes("text-negative")

            def create() -> None:
                try:
                    project = self.services.projects.create(name.value or "", (path.value or "").strip() or None)
                except UserError as exc:
                    error.set_text(str(exc))
                    return
                dialog.close()
                ui.navigate.to(f"/project/{project.id}")

            name.on("keydown.enter", create)
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create", on_click=create).props("data-testid=create-project")
        dialog.open()

    def open_rename(self, project) -> None:
        open_rename_dialog("Project name", project.name,
                           lambda name: self.services.projects.rename(project.id, name), self.render)

    async def _archive(self, project_id: str) -> None:
        await self.services.archive_project(project_id)
        toast("Project archived; its live jobs were stopped.")
        if project_id == self.active_project_id:
            ui.navigate.to("/")
        else:
            self.render()

    def _restore(self, project_id: str) -> None:
        self.services.restore_project(project_id)
        self.render()
