"""Routes: each page composes components around the shared services."""

from pathlib import Path

from nicegui import ui

from core.services import Services
from pages import approvals, cluster, home, import_sessions, job, login, project, pwa, settings, usage

# The Tailwind utilities the UI uses, built ahead of time (see tailwind.input.css); NiceGUI's own Tailwind
# runtime is off (main.py), so every page gets this instead.
TAILWIND_CSS = Path(__file__).parent / "static" / "tailwind.css"


_styled = False


def register_pages(services: Services) -> None:
    global _styled
    if not _styled:  # shared head content: once per process, however many times pages are registered
        _styled = True
        ui.add_css(TAILWIND_CSS, shared=True)
    for module in (home, project, job, approvals, import_sessions, settings, usage, cluster, login, pwa):
        module.register(services)
