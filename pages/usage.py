"""`/usage`: what agents cost and used (spec N1)."""

from __future__ import annotations

from nicegui import ui

from components.usage.dashboard import UsageDashboard
from core.services import Services
from pages.layout import frame


def register(services: Services) -> None:
    @ui.page("/usage")
    async def usage_page() -> None:
        report = await UsageDashboard.first_report(services)
        with frame(services, title="Usage"):
            ui.label("Usage").classes("text-h5")
            UsageDashboard(services, report)
