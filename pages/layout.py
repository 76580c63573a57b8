"""The shared frame: header, three resizable panels (H1), theme (H4), palette (H2), notifications (E4)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from nicegui import app, ui

from components.job.job_list import JobList
from components.shell.approvals_badge import ApprovalsBadge
from components.shell.credentials_banner import credentials_banner
from components.shell.notifier import Notifier
from components.shell.palette import Palette
from components.shell.pwa import install_app_shell
from components.shell.sidebar import ProjectSidebar
from core.errors import UserError
from core.services import Services

T = TypeVar("T")

_CSS = """
<style>
  .ccs-panel { height: calc(100vh - 56px); overflow-y: auto; }
  .ccs-splitter { height: calc(100vh - 56px); }
  .ccs-phone-only { display: none !important; }
  .ccs-plain-link { color: inherit !important; }  /* readable in both themes */
  .ccs-active { background: rgba(100, 149, 237, .22); }
  @media (max-width: 700px) {
    .ccs-phone-only { display: inline-flex !important; }
    .ccs-title { font-size: 1.1rem !important; }
    .ccs-controls { flex-wrap: nowrap !important; overflow-x: auto; }
    .ccs-controls > * { flex-shrink: 0; }
    .ccs-splitter > .q-splitter__before, .ccs-splitter > .q-splitter__separator { display: none; }
    .ccs-splitter > .q-splitter__after { width: 100% !important; }
    .ccs-splitter.ccs-phone-list > .q-splitter__before { display: block; width: 100% !important; }
    .ccs-splitter.ccs-phone-list > .q-splitter__after { display: none; }
    .ccs-hide-phone { display: none !important; }
    /* Every pixel of width counts: thin margins; a job's tabs in words of their own case, so they fit */
    .nicegui-content { padding: 4px !important; }
    .ccs-panel.p-3 { padding: 6px !important; }
    .ccs-panel .q-tab-panel { padding: 4px 0 !important; }
    .ccs-panel > .q-tabs .q-tab { padding: 0 6px; min-width: 0; flex: none; text-transform: none; }
    .ccs-panel > .q-tabs .q-tab__content { min-width: 0; }
    .ccs-panel > .q-tabs .q-tab__label { font-size: 13px; letter-spacing: 0; }
    .ccs-panel > .q-tabs .q-tabs__content { overflow-x: auto; scrollbar-width: none; }  /* more: swipe */
  }
</style>
"""


# Set by main.py when a login is required: where the header's Log out button goes (path prefix included).
LOGOUT_URL: str | None = None
# Set by main.py under --no-auth: every page's header says that nobody has to log in.
NO_LOGIN_WARNING = False
_NO_LOGIN_TEXT = ("Started with --no-auth: there is no login, so anyone with an account on this machine can use "
                  "this server and run commands through it as its user.")


def _stored_split(name: str, default: float) -> float:
    try:
        return float(app.storage.user.get(f"split-{name}", default))
    except (TypeError, ValueError):
        return default


def _remember_split(name: str):
    def save(event) -> None:
        app.storage.user[f"split-{name}"] = event.value
    return save


def found(services: Services, lookup: Callable[[], T]) -> T | None:
    """What `lookup` finds (a project, a job), or None after showing why not in the shared frame."""
    try:
        return lookup()
    except UserError as exc:
        with frame(services):
            ui.label(str(exc)).classes("text-negative").props("data-testid=not-found")
        return None


@contextmanager
def frame(services: Services, *, project_id: str | None = None, job_id: str | None = None,
          title: str = "Claude Code Server", show_list_on_phone: bool = False) -> Iterator[None]:
    """Yields inside the detail panel; the sidebar and (with a project) the job list surround it."""
    ui.add_head_html(_CSS)
    install_app_shell()
    dark = ui.dark_mode(app.storage.user.get("dark", True))
    ui.page_title(title)
    with ui.header().classes("items-center no-wrap gap-3 py-2 px-4"):  # one row, also on a phone
        ui.link("Claude Code Server", "/").classes("text-h6 text-white no-underline ellipsis ccs-title")
        if NO_LOGIN_WARNING:
            with ui.element("div").classes("row no-wrap items-center gap-1 q-px-sm rounded-borders bg-negative "
                                           "text-white text-weight-medium").props(
                                               "data-testid=no-login-warning role=alert"):
                ui.icon("lock_open", size="sm")
                ui.label("No login").classes("ccs-hide-phone")
                ui.tooltip(_NO_LOGIN_TEXT)
        ui.space()
        ApprovalsBadge(services)
        ui.button(icon="bar_chart", on_click=lambda: ui.navigate.to("/usage")).props(
            "flat round color=white aria-label='Usage' data-testid=usage-link").classes("ccs-hide-phone").tooltip(
            "Usage: what agents cost")
        if services.settings.runner == "ray":  # spec O2: the machines agents run on
            ui.button(icon="hub", on_click=lambda: ui.navigate.to("/cluster")).props(
                "flat round color=white aria-label='Cluster' data-testid=cluster-link").classes(
                "ccs-hide-phone").tooltip("Cluster: the machines agents run on")
        Palette(services).button()
        Notifier(services).button()
        ui.button(icon="settings", on_click=lambda: ui.navigate.to("/settings/notifications")).props(
            "flat round color=white aria-label='Notification settings' data-testid=settings").tooltip(
            "Notification settings")

        def toggle_theme() -> None:
            dark.value = not dark.value
            app.storage.user["dark"] = dark.value

        ui.button(icon="contrast", on_click=toggle_theme).props("flat round color=white "
                                                                "aria-label='Toggle theme' data-testid=theme")
        if LOGOUT_URL:
            logout = ui.button(icon="logout").props("flat round color=white aria-label='Log out' data-testid=logout")
            logout.props["href"] = LOGOUT_URL  # set as is: a prefix is not parsed as props
            logout.tooltip("Log out")
    credentials_banner(services.jobs.has_credentials())
    # On a phone one panel shows at a time: the detail, or the list when that is what the page is for
    # (the projects sidebar on a page without a project, else the job list).
    phone_list = "ccs-phone-list" if show_list_on_phone else ""
    outer_phone_list = phone_list if project_id is None else ""
    with ui.splitter(value=_stored_split("sidebar", 18), limits=(10, 40),
                     on_change=_remember_split("sidebar")).classes(f"w-full ccs-splitter {outer_phone_list}") as outer:
        with outer.before, ui.column().classes("ccs-panel w-full p-2"):
            ProjectSidebar(services, active_project_id=project_id, active_job_id=job_id)
        with outer.after:
            if project_id is None:
                with ui.column().classes("ccs-panel w-full p-4"):
                    yield
            else:
                with ui.splitter(value=_stored_split("list", 30), limits=(15, 60),
                                 on_change=_remember_split("list")).classes(
                                     f"w-full ccs-splitter {phone_list}") as inner:
                    with inner.before, ui.column().classes("ccs-panel w-full p-2"):
                        JobList(services, project_id, active_job_id=job_id)
                    with inner.after, ui.column().classes("ccs-panel w-full p-3 gap-2"):
                        yield
