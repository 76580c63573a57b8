"""`/approvals`: everything waiting for a person, across all projects (spec E4)."""

from __future__ import annotations

from nicegui import ui

from components.chat import ApprovalCard
from components.chat.view import working_folder
from components.common.format import age
from components.common.live_refresh import refresh_on_notices
from core.services import Services
from pages.layout import frame


def register(services: Services) -> None:
    @ui.page("/approvals")
    def approvals_page() -> None:
        with frame(services, title="Approvals"):
            ui.label("Waiting for you").classes("text-h5")
            body = ui.column().classes("w-full gap-2").props("data-testid=approvals-list")

            shown: list[str] = []

            def render() -> None:
                ids = [a.id for a in services.jobs.approvals.pending()]
                if ids == shown and body.default_slot.children:
                    return  # unchanged: keep what the user is typing into a card
                shown[:] = ids
                body.clear()
                with body:
                    pending = services.jobs.approvals.pending()
                    if not pending:
                        ui.label("Nothing is waiting for an answer.").classes("text-grey")
                    for approval in pending:
                        job = services.jobs.jobs.get(approval.job_id)
                        if job is None:
                            continue
                        project = services.projects.get(job.project_id)
                        with ui.column().classes("w-full gap-1").props("data-testid=approval-entry"):
                            ui.link(f"{project.name} · {job.name} · {age(approval.created_at)}",
                                    f"/job/{job.id}").classes("text-caption")
                            ApprovalCard(approval.to_dict(), services.jobs.approvals,
                                         root=working_folder(services.jobs, job))

            render()
            refresh_on_notices(services.hub, render, lambda n: n.get("kind") == "approvals")
