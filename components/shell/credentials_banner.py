"""Says plainly, where the user looks first, that no credentials are configured (spec A3)."""

from nicegui import ui

from core.jobs.manager import NO_CREDENTIALS


def credentials_banner(has_credentials: bool) -> None:
    if has_credentials:
        return
    with ui.card().classes("w-full bg-warning text-black"):
        ui.label(NO_CREDENTIALS).props("data-testid=no-credentials")
