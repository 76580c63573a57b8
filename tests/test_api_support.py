"""Helpers for the API tests (no tests here): a real HTTP server in the test's loop, and an SSE reader.

httpx's ASGITransport buffers whole responses, so event streams need a real
server: uvicorn runs as a task in the test's own event loop, next to the
services it serves, and the test talks to it over a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from core.api import create_api

TIMEOUT = httpx.Timeout(60.0, connect=10.0)
ROOT = Path(__file__).resolve().parent.parent
# With any of these NiceGUI believes it runs under pytest (or a parent NiceGUI) and never listens.
_NICEGUI_TEST_ENV = ("PYTEST_CURRENT_TEST", "NICEGUI_SCREEN_TEST_PORT", "NICEGUI_USER_SIMULATION",
                     "NICEGUI_HOST", "NICEGUI_PORT", "NICEGUI_PROTOCOL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def server_process(args: list[str], workdir: Path, projects_root: Path, ready_path: str = "/",
                   start_timeout: float = 60.0) -> Iterator[ServerProcess]:
    """Run `python <args> --port N` (main.py or an app embedding it) in the current environment.

    It gets its own process group, so its Claude Code CLIs are stopped with it; cwd is
    `workdir`, so no stray .env is read and NiceGUI's storage stays there.
    """
    env = {k: v for k, v in os.environ.items() if k not in _NICEGUI_TEST_ENV}
    env.update(PROJECTS_ROOT=str(projects_root), NICEGUI_STORAGE_PATH=str(workdir / ".nicegui"),
               PYTHONUNBUFFERED="1", HOST="127.0.0.1")
    port = free_port()
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, *args, "--port", str(port)], cwd=workdir, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = ServerProcess(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            assert proc.poll() is None, f"{args[0]} exited:\n{server.log()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + ready_path, timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"{args[0]} did not start:\n{server.log()}"
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of its group (CLI children)
        proc.wait(5)


@contextlib.asynccontextmanager
async def api_server(services, heartbeat_s: float = 15.0, prefix: str = "/api") -> AsyncIterator[str]:
    """Serve `services`' API on 127.0.0.1:<free port>; yields the base URL (ending in the prefix)."""
    host = FastAPI()
    host.mount(prefix, create_api(services, heartbeat_s=heartbeat_s))
    # proto IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else ~40 ms per keep-alive reply).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(host, lifespan="off", log_level="warning",
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)
        sock.close()


@contextlib.asynccontextmanager
async def api_client(services, heartbeat_s: float = 15.0) -> AsyncIterator[httpx.AsyncClient]:
    async with api_server(services, heartbeat_s) as base, httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        yield client


@dataclass
class SseMessage:
    event: str  # "message" unless the server named it
    data: Any  # parsed JSON
    id: str | None


async def read_sse(response: httpx.Response, comments: bool = False) -> AsyncIterator[SseMessage]:
    """Parse a text/event-stream body as it arrives; with `comments`, comment lines come as event "comment"."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                yield SseMessage(fields.get("event", "message"), json.loads(fields["data"]), fields.get("id"))
            fields = {}
        elif line.startswith(":"):
            if comments:
                yield SseMessage("comment", line[1:].strip(), None)
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def poll(fetch: Callable[[], Awaitable[Any]], predicate: Callable[[Any], bool], timeout: float = 60.0,
               what: str = "condition") -> Any:
    """Call `fetch` until `predicate(result)` holds; returns that result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await fetch()
        if predicate(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {result!r:.500}")
        await asyncio.sleep(0.05)


async def job_status(client: httpx.AsyncClient, job_id: str, *statuses: str, timeout: float = 60.0) -> dict:
    async def fetch() -> dict:
        response = await client.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()
    return await poll(fetch, lambda job: job["status"] in statuses, timeout, f"job {job_id} to be {statuses}")


async def job_turns(client: httpx.AsyncClient, job_id: str, turns: int, timeout: float = 60.0) -> dict:
    async def fetch() -> dict:
        return (await client.get(f"/jobs/{job_id}")).json()
    return await poll(fetch, lambda job: job["turns"] >= turns and job["status"] in ("idle", "failed"), timeout,
                      f"job {job_id} to finish turn {turns}")


async def transcript(client: httpx.AsyncClient, job_id: str) -> list[dict]:
    """Every stored event of a job, read page by page."""
    events: list[dict] = []
    while True:
        response = await client.get(f"/jobs/{job_id}/transcript",
                                    params={"after_seq": events[-1]["seq"] if events else 0, "limit": 100})
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["events"]
        if not page["has_more"]:
            return events
