"""`/job/{id}`: one job with its tabs; the chat is the centre."""

from __future__ import annotations

from nicegui import ui

from components.chat import ChatView
from components.common.notify import toast
from components.job.composer import Composer
from components.job.context_gauge import ContextGauge
from components.job.header import JobHeader
from components.workspace import PANELS
from core.errors import UserError
from core.services import Services
from pages.layout import found, frame

# Changes: isolated jobs only (spec L2)
TABS = ("Chat", "Changes", "Terminal", "Files", "Git", "Memories", "Cron", "MCP")


def _branch_dialog(title: str, text: str, start) -> None:
    """Ask for the prompt of a fork or an edited message, then open the new job."""
    with ui.dialog() as dialog, ui.card().classes("w-[36rem] max-w-full"):
        ui.label(title).classes("text-h6")
        prompt = ui.textarea(value=text).props("autofocus outlined autogrow data-testid=branch-prompt").classes(
            "w-full")

        def go() -> None:
            try:
                job = start(prompt.value or "")
            except UserError as exc:
                toast(str(exc), type="negative")
                return
            dialog.close()
            ui.navigate.to(f"/job/{job.id}")

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Start new job", on_click=go).props("data-testid=branch-start")
    dialog.open()


def register(services: Services) -> None:
    @ui.page("/job/{job_id}")
    def job_page(job_id: str, tab: str = "Chat") -> None:
        job = found(services, lambda: services.jobs.get(job_id))
        if job is None:
            return

        def fork(seq: int) -> None:
            _branch_dialog("Fork from here: the new job keeps the conversation up to this turn", "",
                           lambda text: services.jobs.fork(job.id, seq, text))

        def edit(seq: int, text: str) -> None:
            _branch_dialog("Edit & resend: a new job with the conversation before this message", text,
                           lambda new_text: services.jobs.edit_resend(job.id, seq, new_text))

        shown = [name for name in TABS if name != "Changes" or job.isolated]
        with frame(services, project_id=job.project_id, job_id=job.id, title=job.name):
            JobHeader(services, job.id)
            with ui.tabs().props("dense align=left").classes("w-full") as tabs:
                for name in shown:
                    ui.tab(name).props(f"data-testid=tab-{name.lower()}")
            with ui.tab_panels(tabs, value=tab if tab in shown else "Chat").classes("w-full").props("keep-alive"):
                with ui.tab_panel("Chat").classes("q-pa-none"):
                    with ui.column().classes("w-full no-wrap gap-2 ccs-chat-box").style(
                            "height: calc(100vh - 230px)"):
                        # The chat scrolls inside this box; the composer stays in view below it.
                        with ui.element("div").classes("w-full grow overflow-y-auto").props(
                                "data-testid=transcript"):
                            ChatView(services, job.id, on_fork=fork, on_edit=edit,
                                     offer_rewind=services.jobs.rewinds.available(job))
                        ContextGauge(services, job.id)
                        Composer(services, job.project_id, job.id,
                                 file_completer=services.file_completer(job.project_id))
                for name in shown[1:]:
                    with ui.tab_panel(name).classes("q-pa-none"):
                        panel = PANELS.get(name)
                        if panel:
                            panel(services, job.project_id, job.id)
