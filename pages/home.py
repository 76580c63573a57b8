"""The start page: projects, their jobs, and a prompt box that starts a job."""

from __future__ import annotations

from nicegui import ui

from components.credentials_banner import credentials_banner
from core.errors import UserError
from core.services import Services


def register(services: Services) -> None:
    @ui.page("/")
    def index(project: str | None = None) -> None:
        ui.label("Claude Code Server").classes("text-h5")
        credentials_banner(services.jobs.has_credentials())
        with ui.row().classes("w-full no-wrap items-start gap-6"):
            with ui.column().classes("w-64"):
                ui.label("Projects").classes("text-subtitle1")
                for item in services.projects.list():
                    ui.link(item.name, f"/?project={item.id}").classes("text-lg")
                name = ui.input("New project name").props("dense outlined").classes("w-full")

                def create() -> None:
                    try:
                        created = services.projects.create(name.value)
                    except UserError as exc:
                        ui.notify(str(exc), type="negative")
                        return
                    ui.navigate.to(f"/?project={created.id}")

                ui.button("Create project", on_click=create).props("data-testid=create-project")
            if project:
                _project_panel(services, project)

    def _project_panel(services: Services, project_id: str) -> None:
        try:
            project = services.projects.get(project_id)
        except UserError as exc:
            ui.label(str(exc)).classes("text-negative")
            return
        with ui.column().classes("grow"):
            ui.label(project.name).classes("text-h6")
            ui.label(project.path).classes("text-caption")
            prompt = ui.textarea("Prompt").props("outlined autogrow").classes("w-full")

            def submit() -> None:
                try:
                    job = services.jobs.submit(project.id, prompt.value or "")
                except UserError as exc:
                    ui.notify(str(exc), type="negative")
                    return
                ui.navigate.to(f"/job/{job.id}")

            ui.button("Submit", on_click=submit).props("data-testid=submit")
            for job in services.jobs.list(project.id):
                with ui.row().classes("items-center gap-2"):
                    ui.badge(job.status.value)
                    ui.link(job.name, f"/job/{job.id}")
