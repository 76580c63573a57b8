"""`/settings/notifications`: push notifications for this device and which events are pushed (spec M2)."""

from __future__ import annotations

from nicegui import ui

from components.settings.notifications import NotificationSettings
from core.notify.push import OWNER
from core.security.gate import USER_SCOPE_KEY
from core.services import Services
from pages.layout import frame


def register(services: Services) -> None:
    @ui.page("/settings/notifications")
    def notification_settings_page() -> None:
        user = ui.context.client.request.scope.get(USER_SCOPE_KEY) or OWNER  # the gate's: who logged in
        with frame(services, title="Notifications"):
            NotificationSettings(services, user)
