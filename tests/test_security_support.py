"""Helpers for the security tests (no tests here): `python main.py` with chosen flags, and small clients.

Servers that listen beyond loopback bind 0.0.0.0, but every test connects through
127.0.0.1 only: no traffic leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
EVIL = "http://evil.example"
# With any of these NiceGUI believes it runs under pytest (or a parent NiceGUI) and never listens.
_NICEGUI_TEST_ENV = ("PYTEST_CURRENT_TEST", "NICEGUI_SCREEN_TEST_PORT", "NICEGUI_USER_SIMULATION",
                     "NICEGUI_HOST", "NICEGUI_PORT", "NICEGUI_PROTOCOL")
_TOKEN_URL = re.compile(r"http://127\.0\.0\.1:\d+(/[^\s?]*)?/login\?token=([A-Za-z0-9_\-]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str  # always http://127.0.0.1:<port>
    port: int
    proc: subprocess.Popen
    log_path: Path
    projects_root: Path
    token: str | None = None  # the generated one, read from the start-up output
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=TIMEOUT, trust_env=False, **kwargs)

    def bearer(self, token: str | None = None) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {token or self.token}"})

    def logged_in(self, secret: str | None = None) -> contextlib.closing[httpx.Client]:
        """`with server.logged_in() as client`: a client holding a session cookie, got through the login form."""
        client = self.client()
        response = client.post("/login", data={"password": secret or self.token, "next": "/"})
        assert response.status_code == 303, response.text
        return contextlib.closing(client)

    def children(self) -> list[str]:
        """Names of the server's child processes (a shell would show up here)."""
        names = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                text = stat.read_text()
                name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
                if int(fields[1]) == self.proc.pid:
                    names.append(name)
        return names


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert server.proc.poll() is None, f"the server exited with {server.proc.returncode}:\n{server.log()}"
        with contextlib.suppress(httpx.HTTPError):
            # Any answer will do: with authentication on, the page is a redirect to /login.
            if httpx.get(server.url + path, timeout=2, trust_env=False).status_code < 500:
                return
        assert time.monotonic() < deadline, f"the server did not start:\n{server.log()}"
        time.sleep(0.05)


@contextlib.contextmanager
def run_server(tmp_path: Path, args: list[str] | None = None, env: dict[str, str] | None = None,
               script: Path | None = None, ready_path: str = "/api/projects",
               projects_root: Path | None = None) -> Iterator[Server]:
    """`python main.py --port N <args>` in its own process group; stopped (group and all) afterwards."""
    workdir = Path(tempfile_dir(tmp_path))
    port = free_port()
    root = projects_root or workdir / "projects"
    child_env = {k: v for k, v in os.environ.items() if k not in _NICEGUI_TEST_ENV}
    child_env.update(PROJECTS_ROOT=str(root), NICEGUI_STORAGE_PATH=str(workdir / ".nicegui"), PYTHONUNBUFFERED="1",
                     HOST="127.0.0.1", **(env or {}))
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(script or ROOT / "main.py"), "--port", str(port), *(args or [])],
                                cwd=workdir, env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", port, proc, log_path, root, env=child_env)
    try:
        _wait_ready(server, ready_path, START_TIMEOUT_S)
        found = _TOKEN_URL.search(server.log())
        server.token = found.group(2) if found else None
        yield server
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


_dirs = iter(range(10**6))


def tempfile_dir(tmp_path: Path) -> Path:
    path = tmp_path / f"server-{next(_dirs)}"
    path.mkdir()
    return path


def engineio_handshake(server: Server, client: httpx.Client | None = None, **headers: str) -> httpx.Response:
    """The first request of NiceGUI's socket (engine.io's polling handshake)."""
    client = client or server.client()
    return client.get("/_nicegui_ws/socket.io/", params={"EIO": "4", "transport": "polling"}, headers=headers)


WS_PATH = "/_nicegui_ws/socket.io/?EIO=4&transport=websocket"


def open_websocket(server: Server, *, cookie: str | None = None, origin: str | None = None, path: str = WS_PATH):
    """A websocket to NiceGUI's socket; raises websockets' InvalidStatus when the upgrade is refused."""
    from websockets.sync.client import connect

    headers = {"Cookie": cookie} if cookie else {}
    # No keepalive pings: a test that reads its frames only now and then would time them out itself.
    return connect(server.ws_url + path, origin=origin, additional_headers=headers, proxy=None, open_timeout=20,
                   ping_interval=None, max_queue=None)


def upgrade_status(server: Server, *, host: str | None = None, origin: str | None = None, cookie: str | None = None,
                   path: str = WS_PATH) -> int:
    """The HTTP status a websocket upgrade gets (101 when accepted), with any Host header one likes."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{server.port}'}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


class PageSocket:
    """A page opened like a browser does: its HTML, then NiceGUI's socket (engine.io over a websocket)."""

    def __init__(self, server: Server, path: str, cookie: str) -> None:
        with server.client(headers={"Cookie": cookie}) as client:
            page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200, (path, page.status_code)
        self.client_id = re.search(r"""["']client_id["']:\s*["']([^"']+)["']""", page.text).group(1)
        raw = re.search(r"parseElements\(String\.raw`(.*?)`\)", page.text, re.S).group(1)
        self.elements: dict = json.loads(raw)
        query = f"client_id={self.client_id}&next_message_id=0&implicit_handshake=true&tab_id={uuid.uuid4()}" \
                f"&document_id={uuid.uuid4()}&EIO=4&transport=websocket"
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(open_websocket(server, cookie=cookie,
                                                           path=f"/_nicegui_ws/socket.io/?{query}"))
        assert self.ws.recv(timeout=10).startswith("0{")
        self.ws.send("40")
        self.received: list[str] = []
        self.pump(until=lambda frame: frame.startswith("40"))

    def listeners(self) -> list[tuple[str, str, str]]:
        """(element id, listener id, event type) of everything on the page that listens."""
        return [(element_id, event["listener_id"], event["type"])
                for element_id, element in self.elements.items() for event in element.get("events", [])]

    def emit(self, payload) -> None:
        self.ws.send("42" + json.dumps(["event", payload]))

    def pump(self, seconds: float = 5.0, until=None) -> bool:
        """Read frames (answering engine.io pings) until `until` holds for one, or `seconds` pass."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                frame = self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return False
            if frame == "2":
                self.ws.send("3")
                continue
            self.received.append(frame)
            if until is not None and until(frame):
                return True
        return False

    def close(self) -> None:
        self._stack.close()
