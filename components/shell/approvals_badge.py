"""The header's pending-approvals count (spec E4), linking to the list across projects."""

from __future__ import annotations

from nicegui import ui

from core.services import Services


class ApprovalsBadge:
    def __init__(self, services: Services) -> None:
        self.services = services
        with ui.link(target="/approvals").classes("no-underline"):
            # Not a bell: the bell-like icon beside it asks for browser notifications.
            with ui.button(icon="pending_actions").props("flat round color=white aria-label=Approvals "
                                                         "data-testid=approvals-button"):
                self.badge = ui.badge("", color="negative").props("floating data-testid=approvals-badge")
                self.tooltip = ui.tooltip("")
        self._update()
        ui.context.client.on_delete(services.hub.subscribe_all(self._on_notice))

    def _on_notice(self, notice: dict) -> None:
        if notice.get("kind") == "approvals":
            self._update()

    def _update(self) -> None:
        count = len(self.services.jobs.approvals.pending())
        self.badge.set_text(str(count) if count else "")
        self.badge.set_visibility(count > 0)
        waiting = f"{count} waiting for you" if count else "none waiting"
        self.tooltip.set_text(f"Approvals: questions, plans and permissions ({waiting})")
