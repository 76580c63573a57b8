"""What the workspace panels share: blocking calls off the event loop, clear errors, building on first view."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from nicegui import app, background_tasks, run, ui

from components.common.notify import toast
from core.errors import UserError, describe_os_error

log = logging.getLogger(__name__)

CSS = """
.ws-mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.ws-pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; line-height: 1.45;
          white-space: pre-wrap; word-break: break-word; margin: 0; }
.ws-box { border: 1px solid rgba(127, 127, 127, .28); border-radius: 6px; }
.ws-row { border-radius: 4px; cursor: pointer; }
.ws-row:hover { background: rgba(127, 127, 127, .12); }
.ws-row-active { background: rgba(100, 149, 237, .22); }
.ws-error { color: var(--q-negative); white-space: pre-wrap; }
.ws-diff { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; line-height: 1.4;
           overflow: auto; white-space: pre; }
.ws-diff .add { background: rgba(46, 160, 67, .22); }
.ws-diff .del { background: rgba(248, 81, 73, .22); }
.ws-diff .hunk { color: #6ea8fe; }
.ws-diff .meta { opacity: .6; }
.ws-hit { background: rgba(255, 200, 0, .35); }
.ws-hit-line { display: flex; align-items: flex-start; gap: 1ch; }
.ws-hit-no { flex: none; width: 5ch; text-align: right; opacity: .7; user-select: none; }
.ws-hit-text { flex: 1 1 auto; min-width: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.ws-hunk { overflow: hidden; }
.ws-hunk-head { background: rgba(127, 127, 127, .10); min-height: 28px; flex-wrap: wrap; }
.ws-hunk-done { opacity: .75; }
.ws-hunk-button { font-size: 13px; min-height: 26px; }
.ws-hunk-button .q-icon { font-size: 18px; }
.ws-changes .ws-row { display: flex; align-items: center; gap: 6px; padding: 1px 4px; }
.ws-changes .ws-row::before { content: attr(data-c); font: 600 11px ui-monospace, monospace; width: 1.4em;
                              text-align: center; border-radius: 3px; border: 1px solid currentColor; flex: none;
                              color: var(--q-warning); }
.ws-changes .ws-row[data-c=A]::before { color: var(--q-positive); }
.ws-changes .ws-row[data-c=D]::before { color: var(--q-negative); }
.ws-changes .ws-path { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
                       font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.ws-changes .ws-row b { color: var(--q-positive); flex: none; font-weight: normal; }
.ws-changes .ws-row i { font: normal 12px ui-monospace, monospace; flex: none; }
.ws-changes .ws-row i::before { content: attr(data-a); color: var(--q-positive); }
.ws-changes .ws-row i::after { content: " " attr(data-d); color: var(--q-negative); }
.ws-changes .ws-row i[data-a=bin]::before { color: grey; }
.ws-keys { display: none; flex-wrap: wrap; gap: 4px; }
.ws-keys .q-btn { min-width: 38px; font: 500 14px ui-monospace, monospace; }
@media (max-width: 700px), (pointer: coarse) { .ws-keys { display: flex; } }  /* no Esc, Tab, Ctrl, arrows */
/* A phone (the app's breakpoint, pages/layout.py): one column, nothing cut, buttons as icons. */
@media (max-width: 700px) {
  .ws-files { flex-direction: column !important; height: auto !important; }
  .ws-files > .q-splitter__panel { width: 100% !important; height: auto !important; }
  .ws-files > .q-splitter__separator { display: none; }
  .ws-files > .q-splitter__before { max-height: 28vh; overflow-y: auto;
                                     border-bottom: 1px solid rgba(127, 127, 127, .28); }
  .ws-files .ws-preview { height: 36vh !important; min-height: 180px !important; }
  /* (Quasar's .block is display: block !important in a layer that wins: the words are made 0 wide instead) */
  .ws-icons-phone .q-btn__content { flex-wrap: nowrap; }
  .ws-icons-phone .q-btn__content > .block { font-size: 0; width: 0; overflow: hidden; }
  .ws-icons-phone .q-btn__content > .q-icon.on-left { margin-right: 0; }
  .ws-wrap-phone { white-space: normal !important; overflow-wrap: anywhere; text-overflow: clip !important; }
}
"""

_styled: set[tuple[str, str]] = set()


def ensure_style(name: str = "panels", css: str = CSS) -> None:
    """The panels' few CSS rules (or a panel's own, by name), once per browser tab."""
    client = ui.context.client
    key = (client.id, name)
    if key not in _styled:
        ui.add_css(css)
        _styled.add(key)
        client.on_delete(lambda: _styled.discard(key))


def is_dark() -> bool:
    try:
        return bool(app.storage.user.get("dark", True))
    except RuntimeError:  # no storage secret (some tests): the app's default theme is dark
        return True


def editor_theme() -> str:
    return "oneDark" if is_dark() else "basicLight"


async def blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Disk and git calls run in a worker thread: a slow repository must not freeze every page."""
    return await run.io_bound(fn, *args, **kwargs)


def message_of(exc: BaseException) -> str:
    """A sentence for the user: core's own words for its errors, a short line for anything else."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    log.exception("workspace panel failed", exc_info=exc)
    return f"Unexpected error: {exc.__class__.__name__}: {exc}"


def notify_error(exc: BaseException) -> str:
    text = message_of(exc)
    toast(text, type="negative", multi_line=True, close_button=True)
    return text


def _enclosing_tab() -> tuple[ui.tab_panels | None, str | None]:
    """The tab panels holding the panel being built, and the name of its tab."""
    element = ui.context.slot.parent
    name = None
    while element is not None:
        if isinstance(element, ui.tab_panel):
            name = element.props.get("name")
        if isinstance(element, ui.tab_panels):
            return element, name
        slot = element.parent_slot
        element = slot.parent if slot else None
    return None, None


def when_shown(build: Callable[[], Any]) -> None:
    """Run `build` once, the first time the panel's tab is shown (at once when it is shown or not in tabs).

    A job page builds every tab; the panels' elements, git status, directory
    listings and cron scans are only worth their cost for the tabs someone opens.
    `build` must enter its own container: a tab change arrives in the tab panels'
    context. What it returns to await runs in the context of the panel's place.
    """
    panels, name = _enclosing_tab()
    slot = ui.context.slot
    done = False

    async def in_place(awaitable) -> None:
        with slot:  # a task starts with no UI context: ui.notify and friends need one
            await awaitable

    def start() -> None:
        nonlocal done
        if done:
            return
        done = True
        result = build()
        if inspect.isawaitable(result):
            background_tasks.create(in_place(result), name=f"build panel {name}")

    def current(value: Any) -> str | None:
        return value.props.get("name") if isinstance(value, ui.tab_panel | ui.tab) else value

    async def start_after_the_switch() -> None:
        # The tab change goes to the browser first, in an update of its own: built in the same handler, the
        # panel's elements (and the JS of xterm or CodeMirror, loaded on first use) would hold it back, and a
        # click on another tab meanwhile would be undone by the late echo.
        outbox = panels.client.outbox
        for _ in range(50):
            if panels.id not in getattr(outbox, "updates", {}):
                break
            await asyncio.sleep(0.01)
        start()

    if panels is None or name is None or current(panels.value) == name:
        start()
        return
    panels.on_value_change(lambda e: current(e.value) == name and not done and start_after_the_switch())


async def confirm_destructive(title: str, subject: str, explanation: str, *, action: str, testid: str,
                              irreversible: bool = True) -> bool:
    """Ask before a change that throws work away (discard a file or hunk, reject a job's hunk): what, what
    happens, and whether it can be undone. The buttons are `<testid>-cancel` and `<testid>-confirm`."""
    with ui.dialog() as dialog, ui.card().classes("w-[32rem] max-w-full"):
        ui.label(title).classes("text-h6")
        ui.label(subject).classes("ws-mono").style("overflow-wrap: anywhere")
        ui.label(explanation).classes("text-caption")
        if irreversible:
            ui.label("This cannot be undone.").classes("text-negative text-caption")
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props(f"flat data-testid={testid}-cancel")
            ui.button(action, color="negative", on_click=lambda: dialog.submit(True)).props(
                f"data-testid={testid}-confirm")
    confirmed = await dialog
    dialog.delete()
    return bool(confirmed)
