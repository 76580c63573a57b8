"""Says plainly, where the user looks first, that no credentials are configured (spec A3).

One line of fixed height under the header, so the panels below can take the rest of the window and the
composer stays in sight (the full explanation is one click away); it can be dismissed for the browser
user's page views (`app.storage.user`), and comes back after a restart still without credentials.
"""

import contextlib
import uuid

from nicegui import app, ui

from core.jobs.manager import NO_CREDENTIALS

BANNER_PX = 36
DISMISSED = "credentials-banner-dismissed"
_BOOT = uuid.uuid4().hex  # a dismissal holds until the server restarts

# While the banner shows, the panels (pages/layout.py: 100vh minus the 56 px header) and the job page's chat
# (pages/job.py) give it its height and the gap below it.
_CSS = f"""
<style>
  body.ccs-no-creds {{ --ccs-banner: calc({BANNER_PX}px + var(--nicegui-default-gap)); }}
  body.ccs-no-creds .ccs-panel, body.ccs-no-creds .ccs-splitter {{ height: calc(100vh - 56px - var(--ccs-banner)); }}
  body.ccs-no-creds .ccs-chat-box {{ height: calc(100vh - 230px - var(--ccs-banner)) !important; }}
</style>
"""


def credentials_banner(has_credentials: bool) -> None:
    if has_credentials or _dismissed():
        return
    ui.add_head_html(_CSS)
    body = ui.query("body")
    body.classes(add="ccs-no-creds")
    with ui.row().classes("w-full items-center no-wrap gap-2 q-px-md bg-warning text-black").style(
            f"height: {BANNER_PX}px; min-height: {BANNER_PX}px").props(
            "data-testid=no-credentials-banner role=alert") as banner:
        ui.icon("key_off", size="sm")
        with ui.row().classes("no-wrap items-center gap-0 ellipsis text-weight-medium").props(
                f'data-testid=no-credentials title="{NO_CREDENTIALS}"'):
            ui.label("No Anthropic credentials")
            ui.label(": jobs cannot run until they are set.").classes("ccs-hide-phone")
        ui.space()
        with ui.button("How to fix").classes("whitespace-nowrap").props(
                "flat dense no-caps color=black data-testid=no-credentials-how"):
            with ui.menu(), ui.card().style("max-width: 24rem"):
                ui.label(NO_CREDENTIALS).classes("text-body2").props("data-testid=no-credentials-details")

        def dismiss() -> None:
            banner.delete()
            body.classes(remove="ccs-no-creds")
            with contextlib.suppress(RuntimeError):  # no user storage (a page built without a storage secret)
                app.storage.user[DISMISSED] = _BOOT

        ui.button(icon="close", on_click=dismiss).props(
            "flat round dense color=black aria-label='Dismiss' data-testid=no-credentials-dismiss").tooltip(
            "Hide this warning (until the server restarts)")


def _dismissed() -> bool:
    try:
        return app.storage.user.get(DISMISSED) == _BOOT
    except RuntimeError:
        return False
