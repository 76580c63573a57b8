"""One job: its transcript, live, and a box for follow-ups."""

from __future__ import annotations

from nicegui import ui

from components.transcript import Transcript
from core.errors import UserError
from core.services import Services


def register(services: Services) -> None:
    @ui.page("/job/{job_id}")
    def job_page(job_id: str) -> None:
        try:
            job = services.jobs.get(job_id)
        except UserError as exc:
            ui.label(str(exc)).classes("text-negative")
            return
        with ui.row().classes("items-center gap-3"):
            ui.link("← projects", f"/?project={job.project_id}")
            ui.label(job.name).classes("text-h6")
            status = ui.badge(job.status.value).props("data-testid=job-status")

        def on_job(notice: dict) -> None:
            if notice.get("kind") == "job" and notice["job"]["id"] == job_id:
                status.set_text(notice["job"]["status"])

        ui.context.client.on_delete(services.hub.subscribe_all(on_job))
        Transcript(services.jobs, job_id)
        box = ui.textarea("Follow-up").props("outlined autogrow").classes("w-full")

        def send() -> None:
            try:
                services.jobs.follow_up(job_id, box.value or "")
            except UserError as exc:
                ui.notify(str(exc), type="negative")
                return
            box.value = ""

        ui.button("Send", on_click=send).props("data-testid=send")
