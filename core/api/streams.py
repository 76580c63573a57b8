"""Server-sent event streams (spec I2): one per job, and one for server-wide notices.

A job stream sends the stored events after the client's last seq, then follows
live ones. `JobManager.follow` reads the log and subscribes with no await in
between, so a reconnecting client gets every event exactly once. Stored events
carry `id: <seq>` (what EventSource sends back as Last-Event-ID); live-only text
deltas are `event: delta` without an id, since they are never replayed.

The responses are sse-starlette's: a plain StreamingResponse never ends by itself, and
uvicorn waits for every open response before it stops, so one connected client kept the
server from stopping on Ctrl-C or SIGTERM. sse-starlette ends its streams when uvicorn is
told to exit (it watches uvicorn's exit flag); our own heartbeats and framing are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from core.api.deps import ServicesDep
from core.errors import UserError
from core.hub import QueueListener
from core.services import Services

router = APIRouter(tags=["streams"])

# Seqs sent in one network write while replaying stored events.
_BACKLOG_BATCH = 200
_RETRY_MS = 2000
_COALESCE_S = 0.02  # a live stream writes at most this often; what arrives in between goes in the next write
_NO_LIBRARY_PINGS_S = 7 * 24 * 3600
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no buffering in nginx-like proxies
_SSE_DOC = {200: {"content": {"text/event-stream": {}}, "description": "A server-sent event stream."}}


def sse(data: dict[str, Any], *, event: str | None = None, seq: int | None = None) -> str:
    # json.dumps escapes newlines, so the payload is always one `data:` line.
    head = (f"id: {seq}\n" if seq is not None else "") + (f"event: {event}\n" if event else "")
    return f"{head}data: {json.dumps(data, default=str)}\n\n"


async def _next(listener: QueueListener, heartbeat_s: float) -> dict[str, Any] | None | str:
    """The next event, None when the listener was cut off, or "ping" after `heartbeat_s` of silence."""
    try:  # while a reply streams the next event is often there already: no timeout task and timer for it
        return listener.queue.get_nowait()
    except asyncio.QueueEmpty:
        pass
    try:
        return await asyncio.wait_for(listener.queue.get(), heartbeat_s)
    except TimeoutError:
        return "ping"


async def job_events(services: Services, job_id: str, after_seq: int, heartbeat_s: float) -> AsyncIterator[str]:
    listener = QueueListener()
    # Subscribing here rather than in the route means the generator's `finally` always unsubscribes.
    backlog, unsubscribe = services.jobs.follow(job_id, listener, after_seq)
    try:
        last = after_seq
        chunk = [f"retry: {_RETRY_MS}\n\n"]
        for event in backlog:
            last = event["seq"]
            chunk.append(sse(event, seq=last))
            if len(chunk) >= _BACKLOG_BATCH:
                yield "".join(chunk)
                chunk = []
        yield "".join(chunk) + ": live\n\n"
        loop = asyncio.get_running_loop()
        written = -_COALESCE_S
        while True:
            event = await _next(listener, heartbeat_s)
            if event == "ping":
                yield ": ping\n\n"
                continue
            # A write costs far more than formatting an event (it passes a dozen ASGI layers, then the socket):
            # events closer together than _COALESCE_S go out in one write, none later than that.
            wait = written + _COALESCE_S - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            chunk = []
            while event is not None:
                if event.get("live"):
                    chunk.append(sse(event, event="delta"))
                elif event["seq"] > last:
                    last = event["seq"]
                    chunk.append(sse(event, seq=last))
                try:
                    event = listener.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if chunk:
                yield "".join(chunk)
                written = loop.time()
            if event is None:
                return  # the client fell too far behind; it reconnects from its last id and loses nothing
    finally:
        unsubscribe()


async def global_events(services: Services, heartbeat_s: float) -> AsyncIterator[str]:
    listener = QueueListener()
    unsubscribe: Callable[[], None] = services.hub.subscribe_all(listener)
    try:
        yield f"retry: {_RETRY_MS}\n\n: live\n\n"
        while True:
            event = await _next(listener, heartbeat_s)
            if event is None:
                return
            yield ": ping\n\n" if event == "ping" else sse(event, event=str(event.get("kind", "message")))
    finally:
        unsubscribe()


async def _as_bytes(body: AsyncIterator[str]) -> AsyncIterator[bytes]:
    # EventSourceResponse frames str chunks as `data:` lines; ours are framed already, and bytes pass as they are.
    async with contextlib.aclosing(body):  # a cancelled stream runs the body's `finally` (unsubscribe) at once
        async for chunk in body:
            yield chunk.encode()


def _event_stream(body: AsyncIterator[str]) -> EventSourceResponse:
    # The bodies send their own heartbeats (`: ping` after heartbeat_s of silence), so sse-starlette's
    # are pushed out of reach; not ping=0, which busy-loops in older sse-starlette releases (its issue 206).
    return EventSourceResponse(_as_bytes(body), headers=_HEADERS, ping=_NO_LIBRARY_PINGS_S)


def _resume_point(after_seq: int, last_event_id: str | None) -> int:
    """EventSource reconnects to the same URL with Last-Event-ID: the later of the two wins."""
    if last_event_id is None or not last_event_id.strip():
        return after_seq
    try:
        seen = int(last_event_id.strip())
    except ValueError:
        raise UserError("Last-Event-ID must be the seq of an event (a non-negative integer).") from None
    if seen < 0:
        raise UserError("Last-Event-ID must be the seq of an event (a non-negative integer).")
    return max(after_seq, seen)


@router.get("/jobs/{job_id}/events", response_class=EventSourceResponse, responses=_SSE_DOC)
async def job_stream(job_id: str, request: Request, services: ServicesDep,
                     after_seq: int = Query(0, ge=0, description="Send stored events after this seq."),
                     last_event_id: str | None = Header(None, max_length=30)) -> EventSourceResponse:
    """Stored events after `after_seq` (or Last-Event-ID), then live ones, as server-sent events.

    Stored events: `id: <seq>`, data = the event JSON. Live text deltas: `event: delta`, no id.
    Comments (`: ping`) keep idle connections open. If the stream ends, reconnect with the last id seen.
    """
    services.jobs.get(job_id)  # a 404 now, before the stream starts
    start = _resume_point(after_seq, last_event_id)
    return _event_stream(job_events(services, job_id, start, request.app.state.heartbeat_s))


@router.get("/events", response_class=EventSourceResponse, responses=_SSE_DOC)
async def server_stream(request: Request, services: ServicesDep) -> EventSourceResponse:
    """Server-wide notices as server-sent events, named by kind: `job` (a job changed: its record and
    `live`), `project` (a project changed), `approvals` (the number pending changed, and for which job).
    Subscribe first, then fetch the lists, so no change falls in between."""
    return _event_stream(global_events(services, request.app.state.heartbeat_s))
