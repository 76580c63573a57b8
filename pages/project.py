"""`/project/{id}`: the project's jobs and the composer that starts a new one."""

from __future__ import annotations

from nicegui import ui

from components.job.composer import Composer
from components.usage.project_budget import ProjectBudget
from core.services import Services
from pages.layout import found, frame


def register(services: Services) -> None:
    @ui.page("/project/{project_id}")
    def project_page(project_id: str, new: str | None = None) -> None:
        project = found(services, lambda: services.projects.get(project_id))
        if project is None:
            return
        with frame(services, project_id=project.id, title=project.name, show_list_on_phone=not new):
            ui.label(project.name).classes("text-h5")
            ui.label(project.path).classes("text-caption text-grey")
            if project.archived:
                ui.label("This project is archived; restore it from the sidebar to start jobs.").classes(
                    "text-warning")
                return
            services.jobs.warm_up(project.id)  # the job about to be written finds its CLI started
            ProjectBudget(services, project.id)
            ui.label("Start a job").classes("text-subtitle1 q-mt-md")
            Composer(services, project.id, file_completer=services.file_completer(project.id),
                     on_sent=lambda job_id: ui.navigate.to(f"/job/{job_id}"))
