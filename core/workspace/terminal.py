"""Shells in a pseudo-terminal for the project's Terminal tab (spec G1).

Output is read in a thread with large reads and handed to the event loop in
batches (a flush window or a size cap, whichever comes first): a busy program
writes thousands of small chunks a second, and one message per chunk would
swamp the loop and the browser. A bounded scrollback replays the screen to a
page that subscribes later (a reload, a second tab).

A shell's children may leave its process group (job control puts every
background job in a group of its own) but stay in its session, so closing
signals the whole session: SIGHUP first, SIGKILL after a grace period.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import contextlib
import logging
import os
import queue
import select
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ptyprocess import PtyProcess

from core.errors import UserError

log = logging.getLogger(__name__)

READ_BYTES = 256 * 1024
POLL_S = 0.25  # how often a quiet reader checks that the shell still lives
MAX_PENDING_INPUT = 4 * 1024 * 1024
# Parts of variable names that mark a secret; the server's own credentials never reach a shell.
_SECRET_PARTS = {"KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS"}
_DROPPED_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_", "CLAUDECODE")


def shell_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment minus its secrets, for a terminal."""
    env = {}
    for name, value in (os.environ if base is None else base).items():
        parts = set(name.upper().split("_"))
        if name.upper().startswith(_DROPPED_PREFIXES) or parts & _SECRET_PARTS:
            continue
        env[name] = value
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env["TERM"] = "xterm-256color"
    env["COLORTERM"] = "truecolor"
    if not (env.get("LANG") or env.get("LC_ALL")):
        env["LANG"] = "C.UTF-8"
    return env


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of a terminal session, from /proc; empty where there is none."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            pids.append(int(entry.name))
    return pids


def _signal_session(sid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(sid, sig)
    for pid in session_pids(sid):
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def _check_size(cols: int, rows: int) -> tuple[int, int]:
    if not (isinstance(cols, int) and isinstance(rows, int) and 2 <= cols <= 1000 and 1 <= rows <= 500):
        raise UserError("A terminal is 2 to 1000 columns wide and 1 to 500 rows high.")
    return cols, rows


class Terminal:
    def __init__(self, key: str, proc: PtyProcess, cwd: str, cols: int, rows: int, loop: asyncio.AbstractEventLoop,
                 *, scrollback_bytes: int, flush_s: float, batch_bytes: int) -> None:
        self.key = key
        self.cwd = cwd
        self.cols, self.rows = cols, rows
        self.pid = proc.pid  # also its session id: the shell leads a new session
        self.exit_code: int | None = None
        self.closed = False
        self.batches = 0
        self.chars_out = 0
        self.unused_since: float | None = time.monotonic()
        self._proc = proc
        self._proc.delayafterclose = 0
        self._loop = loop
        self._flush_s, self._batch_bytes = flush_s, batch_bytes
        self._scrollback: collections.deque[str] = collections.deque()
        self._scrollback_chars = 0
        self._scrollback_limit = scrollback_bytes
        self._subscribers: list[Callable[[str], None]] = []
        self._exit_callbacks: list[Callable[[int | None], None]] = []
        self._input: queue.Queue[bytes | None] = queue.Queue()
        self._pending_input = 0
        self._input_lock = threading.Lock()
        self._exited = threading.Event()
        self._exit_reported = False
        self._orphans = True  # whether processes of the session may outlive the shell
        self._reader = threading.Thread(target=self._read_loop, name=f"pty-read:{key}", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name=f"pty-write:{key}", daemon=True)
        self._reader.start()
        self._writer.start()

    @property
    def alive(self) -> bool:
        return self.exit_code is None and not self._exited.is_set()

    # -- input ---------------------------------------------------------------------------

    def write(self, data: str) -> None:
        """Keystrokes or a paste; written by a thread, since a shell that reads nothing blocks a writer."""
        if not self.alive or self.closed:
            return
        payload = data.encode("utf-8", errors="replace")
        with self._input_lock:
            if self._pending_input + len(payload) > MAX_PENDING_INPUT:
                raise UserError("The terminal is not reading its input; wait until it catches up.")
            self._pending_input += len(payload)
        self._input.put(payload)

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = _check_size(cols, rows)
        if (cols, rows) == (self.cols, self.rows) or not self.alive:
            return
        self.cols, self.rows = cols, rows
        with contextlib.suppress(OSError):
            self._proc.setwinsize(rows, cols)  # the kernel tells the foreground program with SIGWINCH

    def _write_loop(self) -> None:
        while (payload := self._input.get()) is not None:
            view = memoryview(payload)
            try:
                while view and not self._exited.is_set():
                    written = os.write(self._proc.fd, view)
                    view = view[written:]
            except OSError:
                return
            finally:
                with self._input_lock:
                    self._pending_input -= len(payload)

    # -- output --------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Replay the scrollback to `callback`, then send it every batch; call on the event loop."""
        if self._scrollback:
            callback("".join(self._scrollback))
        self._subscribers.append(callback)
        self.unused_since = None

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)
            if not self._subscribers:
                self.unused_since = time.monotonic()

        return unsubscribe

    def on_exit(self, callback: Callable[[int | None], None]) -> Callable[[], None]:
        """Called once with the shell's exit code (negative: killed by that signal)."""
        if self._exit_reported:
            self._loop.call_soon(callback, self.exit_code)
            return lambda: None
        self._exit_callbacks.append(callback)
        return lambda: self._exit_callbacks.remove(callback) if callback in self._exit_callbacks else None

    def scrollback(self) -> str:
        return "".join(self._scrollback)

    def _read_loop(self) -> None:
        fd = self._proc.fd
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending: list[bytes] = []
        size, started, checked = 0, 0.0, time.monotonic()
        while True:
            timeout = POLL_S if not pending else max(0.0, started + self._flush_s - time.monotonic())
            try:
                ready, _, _ = select.select([fd], [], [], timeout)
                data = os.read(fd, READ_BYTES) if ready else None
            except OSError:  # EIO: every holder of the terminal's other side is gone
                data = b""
            if data == b"":
                break
            if data:
                if not pending:
                    started = time.monotonic()
                pending.append(data)
                size += len(data)
            now = time.monotonic()
            if pending and (size >= self._batch_bytes or now - started >= self._flush_s):
                self._send(decoder.decode(b"".join(pending)))
                pending, size = [], 0
            if now - checked >= POLL_S:
                checked = now
                # A background child can hold the terminal open after the shell has gone.
                if not self._proc.isalive():
                    break
        self._send(decoder.decode(b"".join(pending), final=True))
        self._finish()

    def _finish(self) -> None:
        with contextlib.suppress(Exception):
            self._proc.wait()
        status, sig = self._proc.exitstatus, self._proc.signalstatus
        code = status if status is not None else (-sig if sig is not None else None)
        # Linux keeps a session's id from reuse only while a member lives: with none left, never signal it again.
        self._orphans = bool(session_pids(self.pid))
        # The writer must be done before the descriptor is closed: its number could be reused at once.
        self._exited.set()
        self._input.put(None)
        self._writer.join(timeout=2.0)
        with contextlib.suppress(Exception):
            self._proc.close(force=True)
        with contextlib.suppress(RuntimeError):  # the loop is gone at interpreter shutdown
            self._loop.call_soon_threadsafe(self._report_exit, code)

    def _send(self, text: str) -> None:
        if text:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._deliver, text)

    def _deliver(self, text: str) -> None:
        self.batches += 1
        self.chars_out += len(text)
        self._scrollback.append(text)
        self._scrollback_chars += len(text)
        while self._scrollback_chars > self._scrollback_limit and len(self._scrollback) > 1:
            self._scrollback_chars -= len(self._scrollback.popleft())
        if self._scrollback_chars > self._scrollback_limit:  # one batch larger than the whole buffer
            keep = self._scrollback.pop()[-self._scrollback_limit:]
            self._scrollback.append(keep)
            self._scrollback_chars = len(keep)
        for callback in list(self._subscribers):
            try:
                callback(text)
            except Exception:  # one broken page must not stop the others
                log.exception("terminal subscriber failed")

    def _report_exit(self, code: int | None) -> None:
        self.exit_code = code
        self._exit_reported = True
        callbacks, self._exit_callbacks = self._exit_callbacks, []
        for callback in callbacks:
            try:
                callback(code)
            except Exception:
                log.exception("terminal exit callback failed")

    # -- ending --------------------------------------------------------------------------

    def close(self, grace_s: float = 2.0) -> None:
        """End the shell and everything it started: SIGHUP now, SIGKILL to what is left after `grace_s`."""
        if self.closed:
            return
        self.closed = True
        self._subscribers.clear()
        if self._exited.is_set() and not self._orphans:
            return
        _signal_session(self.pid, signal.SIGHUP)
        _signal_session(self.pid, signal.SIGCONT)  # a stopped job only sees the hangup once it runs

        def finish_off() -> None:
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and session_pids(self.pid):
                time.sleep(0.05)
            _signal_session(self.pid, signal.SIGKILL)

        threading.Thread(target=finish_off, name=f"pty-kill:{self.key}", daemon=True).start()

    async def wait_closed(self, timeout: float = 10.0) -> bool:
        """True once the shell is reaped and no process of its session is left."""
        deadline = time.monotonic() + timeout
        await asyncio.to_thread(self._reader.join, timeout)
        while session_pids(self.pid):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return not self._reader.is_alive()


class TerminalManager:
    def __init__(self, max_terminals: int = 8, idle_timeout_s: float = 900.0, *, shell: list[str] | None = None,
                 scrollback_bytes: int = 1024 * 1024, flush_s: float = 0.015, batch_bytes: int = 64 * 1024,
                 close_grace_s: float = 2.0) -> None:
        self.max_terminals = max_terminals
        self.idle_timeout_s = idle_timeout_s
        self.terminals: dict[str, Terminal] = {}
        self._shell = shell
        self._options = {"scrollback_bytes": scrollback_bytes, "flush_s": flush_s, "batch_bytes": batch_bytes}
        self._grace_s = close_grace_s
        self._sweeper: asyncio.Task | None = None

    def get(self, key: str) -> Terminal | None:
        return self.terminals.get(key)

    def open(self, key: str, cwd: str | os.PathLike[str], cols: int = 80, rows: int = 24) -> Terminal:
        """The live terminal for `key` (reconnecting), or a new shell in `cwd`; call on the event loop."""
        cols, rows = _check_size(cols, rows)
        if not isinstance(key, str) or not 0 < len(key) <= 200:
            raise UserError("A terminal needs a key of 1 to 200 characters.")
        current = self.terminals.get(key)
        if current and current.alive and not current.closed:
            current.resize(cols, rows)
            return current
        if current:
            self.close(key)
        directory = Path(cwd)
        if not directory.is_dir():
            raise UserError(f"{directory} is not a directory; a terminal cannot start there.")
        if sum(1 for t in self.terminals.values() if t.alive) >= self.max_terminals:
            raise UserError(f"{self.max_terminals} terminals are open already; close one first.")
        loop = asyncio.get_running_loop()
        try:
            proc = PtyProcess.spawn(self._argv(), cwd=str(directory), env=shell_env(), dimensions=(rows, cols))
        except OSError as exc:
            raise UserError(f"The shell could not start: {exc}") from None
        terminal = Terminal(key, proc, str(directory), cols, rows, loop, **self._options)
        self.terminals[key] = terminal
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = loop.create_task(self._sweep_forever())
        return terminal

    def _argv(self) -> list[str]:
        if self._shell:
            return list(self._shell)
        for candidate in (os.environ.get("SHELL"), "bash", "/bin/sh"):
            if candidate and shutil.which(candidate):
                return [candidate]
        return ["/bin/sh"]

    def close(self, key: str) -> None:
        terminal = self.terminals.pop(key, None)
        if terminal:
            terminal.close(self._grace_s)

    def sweep(self) -> list[str]:
        """Close the terminals nobody has watched for idle_timeout_s."""
        cutoff = time.monotonic() - self.idle_timeout_s
        idle = [key for key, t in self.terminals.items() if t.unused_since is not None and t.unused_since <= cutoff]
        for key in idle:
            self.close(key)
        return idle

    async def _sweep_forever(self) -> None:
        while self.terminals:
            await asyncio.sleep(max(0.05, min(30.0, self.idle_timeout_s / 4)))
            self.sweep()

    async def close_all(self) -> None:
        """On shutdown: end every shell and wait (a grace period at most) until their processes are gone."""
        if self._sweeper:
            self._sweeper.cancel()
        terminals = list(self.terminals.values())
        for key in list(self.terminals):
            self.close(key)
        await asyncio.gather(*(t.wait_closed(self._grace_s + 3.0) for t in terminals))
