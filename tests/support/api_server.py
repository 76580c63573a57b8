"""Helpers for the API tests (no tests here): a real HTTP server in the test's loop, and an SSE reader.

httpx's ASGITransport buffers whole responses, so event streams need a real
server: uvicorn runs as a task in the test's own event loop, next to the
services it serves, and the test talks to it over a socket. The API sits behind
the same security gate as under `python main.py`, and the client sends the
server's token as a bearer, as a script does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from core.api import create_api
from core.security.auth import Authenticator
from core.security.stack import secured

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass
class ApiServer:
    base: str  # ends in the API's prefix
    token: str  # the server's own login token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextlib.asynccontextmanager
async def api_server(services, heartbeat_s: float = 15.0, prefix: str = "/api") -> AsyncIterator[ApiServer]:
    """Serve `services`' API on 127.0.0.1:<free port>, behind the security gate."""
    host = FastAPI()
    host.mount(prefix, create_api(services, heartbeat_s=heartbeat_s))
    auth = Authenticator.from_settings(services.settings)
    gated = secured(host, services.settings, auth)
    # proto IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else ~40 ms per keep-alive reply).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(gated, lifespan="off", log_level="warning",
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield ApiServer(f"http://127.0.0.1:{port}{prefix}", auth.token)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)
        sock.close()


@contextlib.asynccontextmanager
async def api_client(services, heartbeat_s: float = 15.0) -> AsyncIterator[httpx.AsyncClient]:
    async with api_server(services, heartbeat_s) as server, \
            httpx.AsyncClient(base_url=server.base, headers=server.headers, timeout=TIMEOUT) as client:
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
