"""`/`: the projects overview; on a phone it is also how one gets to the projects."""

from __future__ import annotations

from nicegui import ui

from components.common.format import age
from core.services import Services
from pages.layout import frame


def register(services: Services) -> None:
    @ui.page("/")
    def index() -> None:
        with frame(services, show_list_on_phone=True):  # on a phone: the sidebar, which can create projects
            ui.label("Projects").classes("text-h5")
            projects = services.projects.list()
            if not projects:
                ui.label("Create a project with the + next to Projects: a folder where Claude works.").classes(
                    "text-grey")
            with ui.row().classes("gap-3"):
                for project in projects:
                    jobs = services.jobs.list(project.id)
                    with ui.link(target=f"/project/{project.id}").classes("no-underline"):
                        with ui.card().classes("w-64 cursor-pointer").props(f"data-testid=card-{project.name}"):
                            ui.label(project.name).classes("text-subtitle1")
                            ui.label(project.path).classes("text-caption text-grey ellipsis w-full")
                            latest = jobs[0].created_at if jobs else None
                            ui.label(f"{len(jobs)} jobs" + (f" · last {age(latest)}" if latest else "")).classes(
                                "text-caption")
