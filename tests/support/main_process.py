"""`python main.py` as a subprocess, logged in to the way a person does: with the login URL it prints.

Every test, bench and example that talks to a real server starts it here (the browser
fixtures, the API's embedding and docs tests, the security tests, the benches), so there
is one place that knows how a server starts, how its token is read off its output, and
how it stops with everything it started.

    with run_main(tmp_path, projects_root=root) as server:
        with server.bearer() as client:          # a script: Authorization: Bearer <printed token>
            client.get("/api/projects")
        server.log_in(context)                   # a browser context: opens the printed login URL

It gets its own process group, so its Claude Code CLIs stop with it, and a working
directory of its own, so no stray .env is read and NiceGUI's storage stays there.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "main.py"
START_TIMEOUT_S = 60.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# With any of these NiceGUI believes it runs under pytest (or a parent NiceGUI) and never listens.
NICEGUI_TEST_ENV = ("PYTEST_CURRENT_TEST", "NICEGUI_SCREEN_TEST_PORT", "NICEGUI_USER_SIMULATION",
                    "NICEGUI_HOST", "NICEGUI_PORT", "NICEGUI_PROTOCOL")
# The login URL the server prints: http://127.0.0.1:<port>[/prefix]/login?token=<token>
PRINTED_LOGIN = re.compile(r"(?:https?://[^/\s]+|<the proxy's address>)((?:/[^\s/?]+)*)/login\?token=([A-Za-z0-9_\-]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MainProcess:
    url: str  # http://127.0.0.1:<port>, whatever address it binds
    port: int
    proc: subprocess.Popen
    log_path: Path
    projects_root: Path
    env: dict[str, str] = field(repr=False)
    token: str | None = field(default=None, repr=False)  # read off the start-up output
    prefix: str = ""  # where the app is mounted in its host (examples/embed_app.py: /claude)

    def log(self, tail: int | None = None) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-tail:] if tail else text

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    @property
    def login_url(self) -> str:
        """The URL a person clicks in the start-up output."""
        assert self.token, f"the server printed no login URL with a token:\n{self.log()}"
        return f"{self.url}{self.prefix}/login?token={self.token}"

    @property
    def auth_header(self) -> dict[str, str]:
        assert self.token, f"the server printed no login URL with a token:\n{self.log()}"
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs) -> httpx.Client:
        """A client with no credentials."""
        return httpx.Client(base_url=self.url, timeout=TIMEOUT, trust_env=False, **kwargs)

    def bearer(self, token: str | None = None) -> httpx.Client:
        """A client sending a bearer token (the printed one by default), as scripts do."""
        return self.client(headers={"Authorization": f"Bearer {token or self.token}"})

    def logged_in(self, secret: str | None = None) -> contextlib.closing[httpx.Client]:
        """`with server.logged_in() as client`: a client holding a session cookie, got through the login form."""
        client = self.client()
        response = client.post(f"{self.prefix}/login", data={"password": secret or self.token,
                                                             "next": f"{self.prefix}/"})
        assert response.status_code == 303, response.text
        return contextlib.closing(client)

    def log_in(self, context) -> None:
        """Log a Playwright browser context in by opening the printed login URL (its cookie lands in the context)."""
        response = context.request.get(self.login_url, max_redirects=0)
        assert response.status == 303, f"login URL answered {response.status}:\n{self.log(5000)}"

    def children(self) -> list[str]:
        """Names of the server's child processes (a shell would show up here)."""
        names = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError):
                text = stat.read_text()
                name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
                if int(fields[1]) == self.proc.pid:
                    names.append(name)
        return names

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (NiceGUI shuts the services down), then SIGKILL whatever is left of the group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of its group (CLI children)
        self.proc.wait(10)

    def wait_until_answering(self, path: str = "/login", timeout: float = START_TIMEOUT_S) -> None:
        """Until `path` answers anything below 500; then the token is read off the output."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"python main.py exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2, trust_env=False).status_code < 500:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"python main.py did not answer on {self.url} within {timeout}s:\n{self.log()}")
            time.sleep(0.05)
        found = PRINTED_LOGIN.search(self.log())
        self.prefix, self.token = (found.group(1), found.group(2)) if found else ("", None)


def child_environment(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment a server gets: `base` (default ours) without NiceGUI's test markers, plus `extra`."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in NICEGUI_TEST_ENV}
    env.update(PYTHONUNBUFFERED="1", HOST="127.0.0.1")
    env.setdefault("WARM_POOL_SIZE", "0")  # as in services_factory: on where a test or bench asks for it
    env.update(extra)
    return env


def start_main(workdir: Path, projects_root: Path, args: list[str] | None = None,
               env: Mapping[str, str] | None = None, *, base_env: Mapping[str, str] | None = None,
               script: Path | None = None, ready_path: str = "/login", port: int | None = None,
               start_timeout: float = START_TIMEOUT_S, program: list[str] | None = None) -> MainProcess:
    """Start `python <script> --port N <args>` (main.py or an app embedding it) and wait until it answers.

    `program`: the command to run instead of `python <script>` (the installed console script, say).

    The server's environment is `base_env` (default: ours) as `child_environment` adjusts it, plus `env`.
    `port`: a given one (a restart where the last server was), else a free one.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    child_env = child_environment(base_env, **{"PROJECTS_ROOT": str(projects_root),
                                               "NICEGUI_STORAGE_PATH": str(workdir / ".nicegui"), **(env or {})})
    log_path = workdir / "server.log"
    command = [*(program or [sys.executable, str(script or MAIN)]), "--port", str(port), *(args or [])]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=workdir, env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = MainProcess(f"http://127.0.0.1:{port}", port, proc, log_path, projects_root, child_env)
    try:
        server.wait_until_answering(ready_path, start_timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def run_main(workdir: Path, projects_root: Path, args: list[str] | None = None,
             env: Mapping[str, str] | None = None, **kwargs) -> Iterator[MainProcess]:
    """`start_main` as a context manager: the server (group and all) is stopped afterwards."""
    server = start_main(workdir, projects_root, args, env, **kwargs)
    try:
        yield server
    finally:
        server.stop()
