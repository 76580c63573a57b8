"""`/job/{id}`: one job with its tabs; the chat is the centre."""

from __future__ import annotations

from nicegui import ui

from components.composer import Composer
from components.job_header import JobHeader
from components.transcript import Transcript
from components.workspace import PANELS
from core.errors import UserError
from core.services import Services
from pages.layout import frame

TABS = ("Chat", "Terminal", "Files", "Git", "Memories", "Cron")


def register(services: Services) -> None:
    @ui.page("/job/{job_id}")
    def job_page(job_id: str, tab: str = "Chat") -> None:
        try:
            job = services.jobs.get(job_id)
        except UserError as exc:
            with frame(services):
                ui.label(str(exc)).classes("text-negative")
            return
        with frame(services, project_id=job.project_id, job_id=job.id, title=job.name):
            JobHeader(services, job.id)
            with ui.tabs().props("dense align=left").classes("w-full") as tabs:
                for name in TABS:
                    ui.tab(name).props(f"data-testid=tab-{name.lower()}")
            with ui.tab_panels(tabs, value=tab if tab in TABS else "Chat").classes("w-full grow").props(
                    "keep-alive"):
                with ui.tab_panel("Chat").classes("q-pa-none"):
                    Transcript(services.jobs, job.id)
                    Composer(services, job.project_id, job.id,
                             file_completer=services.file_completer(job.project_id))
                for name in TABS[1:]:
                    with ui.tab_panel(name).classes("q-pa-none"):
                        panel = PANELS.get(name)
                        if panel:
                            panel(services, job.project_id, job.id)
