"""The Terminal tab (spec G1): xterm in the page, a shell in the project directory on the server.

One shell per project (key = project id), shared by every job page of the
project and by every browser tab: switching jobs or reloading re-attaches to it
and the core replays its scrollback. The shell starts when the panel is first
shown with a real size (its resize observer fires), not when the page is built,
so opening a job does not spawn a shell nobody looks at (the panel itself is built on first view).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from nicegui import ui

from components.common.notify import toast
from components.workspace.common import ensure_style, when_shown
from core.errors import UserError
from core.services import Services
from core.workspace.terminal import Terminal

SCROLLBACK_LINES = 10_000
MIN_WIDTH_PX, MIN_HEIGHT_PX = 60, 40  # a hidden tab measures 0 x 0; fitting to it would make a 2-column shell
COALESCE_S = 0.03  # during a flood, at most one write message per this interval
JS_TIMEOUT_S = 5.0  # the browser answers fit/size queries; a busy machine needs more than NiceGUI's 1 s

OPTIONS = {
    "scrollback": SCROLLBACK_LINES,
    "cursorBlink": True,
    "fontSize": 13,
    "fontFamily": "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
    "theme": {"background": "#1b1b1f"},
}


# The key row (label, key, test id): a key is its text, or an arrow's letter, sent by xterm in the cursor mode
# the shell has set (ESC [ A, or ESC O A in application mode).
KEYS = (("Esc", "\x1b", "esc"), ("Tab", "\t", "tab"), ("Ctrl", "ctrl", "ctrl"), ("↑", "A", "up"),
        ("↓", "B", "down"), ("←", "D", "left"), ("→", "C", "right"), ("|", "|", "pipe"), ("~", "~", "tilde"),
        ("/", "/", "slash"), ("-", "-", "dash"))
_ARROWS = {"\x1b[A": "A", "\x1bOA": "A", "\x1b[B": "B", "\x1bOB": "B", "\x1b[C": "C", "\x1bOC": "C",
           "\x1b[D": "D", "\x1bOD": "D"}


def _key_js(key: str) -> str:
    if key in ("A", "B", "C", "D"):
        return f"(t.modes.applicationCursorKeysMode ? '\\x1bO' : '\\x1b[') + '{key}'"
    return json.dumps(key)


def with_ctrl(data: str) -> str:
    """What a terminal sends for Ctrl with a key: a letter (or @ [ \\ ] ^ _ space) becomes its control code
    (Ctrl+C is \\x03), ? becomes DEL, an arrow its Ctrl form (ESC [ 1 ; 5 A); anything else goes as it is."""
    if data in _ARROWS:
        return f"\x1b[1;5{_ARROWS[data]}"
    if len(data) == 1:
        if data.isascii() and (data.isalpha() or data in "@[\\]^_ "):
            return chr(ord(data.upper()) & 0x1F)
        if data == "?":
            return "\x7f"
    return data


def exit_text(code: int | None) -> str:
    if code is None:
        return "Shell exited"
    if code < 0:
        return f"Shell ended by signal {-code}"
    return f"Shell exited with code {code}"


class TerminalPanel:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None) -> None:
        ensure_style()
        self.manager = services.terminals
        directory = services.workspaces.directory(project_id, job_id)
        # One shell per folder: a project's, or an isolated job's worktree.
        self.key = project_id if directory == services.projects.directory(project_id) else f"job:{job_id}"
        self.cwd = str(directory)
        self.terminal: Terminal | None = None
        self.detached = False  # after Disconnect, a resize must not attach again
        self._unsubscribe = lambda: None
        self._forget_exit = lambda: None
        self._pending: list[str] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_write = 0.0
        self.ctrl = False  # the key row's Ctrl: applies to the next key
        self.root = ui.column().classes("w-full gap-1 q-pa-sm no-wrap")
        ui.context.client.on_delete(self._detach)
        when_shown(self._build)

    def _build(self) -> None:
        with self.root:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.dot = ui.icon("circle", size="12px").classes("text-grey").props("data-testid=terminal-dot")
                self.status = ui.label("Starting…").classes("text-caption whitespace-nowrap ellipsis").props(
                    "data-testid=terminal-status")
                ui.label(self.cwd).classes("text-caption text-grey ellipsis ws-mono ccs-hide-phone")
                ui.space()
                # Icons only on a phone (common.CSS): with their words the buttons ran off the screen.
                ui.button("Reconnect", icon="refresh", on_click=self.reconnect).props(
                    "flat dense size=sm aria-label=Reconnect data-testid=terminal-reconnect").classes(
                    "ws-icons-phone")
                ui.button("Disconnect", icon="link_off", on_click=self.disconnect).props(
                    "flat dense size=sm aria-label=Disconnect data-testid=terminal-disconnect").classes(
                    "ws-icons-phone").tooltip(
                    "Stop following the shell; it keeps running until nobody has watched it for a while")
                ui.button(icon="power_settings_new", on_click=self.end_shell).props(
                    "flat dense round size=sm color=negative aria-label='End shell' data-testid=terminal-kill"
                ).tooltip("End the shell and everything it started")
            with ui.element("div").classes("w-full").style(
                    "position: relative; height: calc(100vh - 320px); min-height: 240px"):
                self.xterm = ui.xterm(OPTIONS, on_data=self._typed).classes("w-full h-full").props(
                    "data-testid=terminal")
                ui.element("q-resize-observer").props("debounce=120").on("resize", self._on_box_resize)
            self._keys()

    def _keys(self) -> None:
        """The keys a phone's keyboard lacks (shown on a touch or narrow screen, common.CSS). A key goes through
        xterm's own input, as if typed: the shell gets the bytes its terminal mode expects (an arrow is ESC O A
        in application cursor mode), and a pending Ctrl applies to it. Pressing one keeps the terminal's focus,
        so the phone's keyboard stays open."""
        keep_focus = "(e) => e.preventDefault()"
        with ui.element("div").classes("w-full ws-keys").props("data-testid=terminal-keys"):
            for label, key, name in KEYS:
                if key == "ctrl":
                    self.ctrl_button = ui.button(label, on_click=self._toggle_ctrl).props(
                        "outline dense no-caps size=md aria-pressed=false data-testid=key-ctrl").tooltip(
                        "Ctrl for the next key (Ctrl, then c: interrupt)")
                    self.ctrl_button.on("mousedown", js_handler=keep_focus)
                    continue
                button = ui.button(label).props(f"outline dense no-caps size=md aria-label={name} "
                                                f"data-testid=key-{name}")
                button.on("mousedown", js_handler=keep_focus)
                button.on("click", js_handler=f"() => {{ const t = getElement({self.xterm.id}).terminal; "
                                              f"t.input({_key_js(key)}, true); }}")

    def _toggle_ctrl(self) -> None:
        self._set_ctrl(not self.ctrl)

    def _set_ctrl(self, armed: bool) -> None:
        self.ctrl = armed
        self.ctrl_button.props(f"aria-pressed={'true' if armed else 'false'}")
        self.ctrl_button.props("unelevated" if armed else "outline", remove="outline" if armed else "unelevated")

    # -- attaching -----------------------------------------------------------------------

    async def _size(self) -> tuple[int, int] | None:
        """Fit xterm to its box and read the grid it chose."""
        try:
            await self.xterm.run_method("fit", timeout=JS_TIMEOUT_S)
            cols = await self.xterm.run_method("getColumns", timeout=JS_TIMEOUT_S)
            rows = await self.xterm.run_method("getRows", timeout=JS_TIMEOUT_S)
        except TimeoutError:
            return None
        return (int(cols), int(rows)) if cols and rows else None

    async def _on_box_resize(self, event) -> None:
        size = event.args or {}
        if size.get("width", 0) < MIN_WIDTH_PX or size.get("height", 0) < MIN_HEIGHT_PX:
            return
        grid = await self._size()
        if grid is None:
            return
        if self.terminal is not None and self.terminal.alive:
            with contextlib.suppress(UserError):  # a box too small for a sane grid: the shell keeps its size
                self.terminal.resize(*grid)
        elif self.terminal is None and not self.detached:
            self._attach(*grid)

    def _attach(self, cols: int, rows: int) -> None:
        try:
            terminal = self.manager.open(self.key, self.cwd, max(2, cols), max(1, rows))
        except UserError as exc:
            self._show("negative", str(exc))
            return
        self._detach()
        self.detached = False
        self.terminal = terminal
        self.xterm.run_terminal_method("reset")  # the scrollback replay below redraws the screen from the start
        self._unsubscribe = terminal.subscribe(self._output)
        self._forget_exit = terminal.on_exit(self._exited)
        if terminal.alive:
            self._show("positive", f"Connected · shell {terminal.pid}")

    def _output(self, text: str) -> None:
        """Write a batch to xterm: at once after a quiet spell (typing echoes without delay), else gathered.

        Every write is one message that the browser evaluates; during a flood, fewer and larger
        messages give it more time for xterm's own parsing (measured: about 15% more throughput).
        """
        if self._pending:
            self._pending.append(text)
            return
        loop = asyncio.get_running_loop()
        wait = self._last_write + COALESCE_S - loop.time()
        if wait <= 0:
            self._write(text)
            return
        self._pending.append(text)
        self._flush_handle = loop.call_later(wait, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        text, self._pending = "".join(self._pending), []
        self._write(text)

    def _write(self, text: str) -> None:
        self._last_write = asyncio.get_running_loop().time()
        self.xterm.write(text)

    def _detach(self) -> None:
        if self._flush_handle:  # output of the old subscription must not land after the next replay
            self._flush_handle.cancel()
            self._flush_handle = None
        self._pending = []
        self._unsubscribe()
        self._forget_exit()
        self._unsubscribe = self._forget_exit = lambda: None
        self.terminal = None

    def _exited(self, code: int | None) -> None:
        self._show("negative", f"{exit_text(code)} · Reconnect starts a new one")

    def _show(self, color: str, text: str) -> None:
        self.dot.classes(replace=f"text-{color}")
        self.status.text = text

    # -- controls ------------------------------------------------------------------------

    def _typed(self, event) -> None:
        data = event.data
        if self.ctrl:
            self._set_ctrl(False)
            data = with_ctrl(data)
        terminal = self.terminal
        if terminal is None or not terminal.alive:
            return
        try:
            terminal.write(data)
        except UserError as exc:
            toast(str(exc), type="warning")

    async def reconnect(self) -> None:
        """Attach again: to the running shell (its scrollback replayed), or to a new one if it has ended."""
        grid = await self._size()
        cols, rows = grid or ((self.terminal.cols, self.terminal.rows) if self.terminal else (80, 24))
        self._detach()
        self._attach(cols, rows)

    def disconnect(self) -> None:
        self._detach()
        self.detached = True
        self._show("grey", "Disconnected · the shell keeps running; Reconnect to continue")

    def end_shell(self) -> None:
        """Close the project's shell for every page; the exit callback reports it."""
        if self.manager.get(self.key) is None:
            self._show("grey", "No shell running · Reconnect starts one")
            return
        self.manager.close(self.key)
