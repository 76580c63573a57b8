"""Helpers for the security tests (no tests here): `python main.py` with chosen flags, and small clients.

Servers that listen beyond loopback bind 0.0.0.0, but every test connects through
127.0.0.1 only: no traffic leaves the machine.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.main_process import ROOT, MainProcess, free_port, run_main

__all__ = ["ROOT", "free_port"]  # for the security tests that import them from here
EVIL = "http://evil.example"
Server = MainProcess  # what these tests call the `python main.py` they attack


@contextlib.contextmanager
def run_server(tmp_path: Path, args: list[str] | None = None, env: dict[str, str] | None = None,
               script: Path | None = None, ready_path: str = "/login",
               projects_root: Path | None = None, port: int | None = None) -> Iterator[Server]:
    """`python main.py --port N <args>` in its own process group; stopped (group and all) afterwards."""
    workdir = tempfile_dir(tmp_path)
    with run_main(workdir, projects_root or workdir / "projects", args, env, script=script,
                  ready_path=ready_path, port=port) as server:
        yield server


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def scrypt_hash(password: str, n: int = 2**14) -> str:
    """A password hash as the server made them before argon2id (and as CCS_PASSWORD_HASH may still hold)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, maxmem=2**30)
    return f"scrypt${n}$8$1${b64(salt)}${b64(digest)}"


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
