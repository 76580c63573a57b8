"""Assembles the API as its own FastAPI app, to be mounted at /api (or under an embedding prefix).

A sub-app rather than routes on NiceGUI's app: it keeps its own JSON error
handlers (NiceGUI answers unknown paths with an HTML page) and its own OpenAPI
document, which then lists only the API (served at <prefix>/api/docs).

It is always served behind `core.security.stack.secured` (the login, Host and
Origin checks, the body limits), as everything else the server answers is.
"""

from __future__ import annotations

from fastapi import FastAPI

from core.api import (
    approvals,
    cluster,
    conversation,
    files,
    git,
    jobs,
    mcp,
    memory,
    projects,
    push,
    review,
    streams,
    usage,
)
from core.api.errors import install_error_handlers
from core.security.redact import RedactMiddleware
from core.services import Services

DESCRIPTION = """Everything the web UI does with projects, jobs, approvals and project files, git and memory.

Errors are `{"detail": "message"}` with status 400 (bad request, a failed git command), 403 (a path
that leads out of the project), 404 (unknown id or file), 409 (not possible in the current state),
413 (body too large) or 422 (malformed body).
Live events: `GET /api/jobs/{id}/events` and `GET /api/events` (server-sent events).
See docs/api.md for examples.
"""


def create_api(services: Services, *, heartbeat_s: float = 15.0) -> FastAPI:
    """The API app; mount it with `app.mount("/api", create_api(services))`.

    It starts nothing itself: the host starts and stops `services` with its own lifespan.
    """
    api = FastAPI(title="Claude Code Server API", version="1", description=DESCRIPTION,
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    api.state.services = services
    api.state.heartbeat_s = heartbeat_s
    install_error_handlers(api)
    for module in (projects, jobs, conversation, approvals, streams, files, git, memory, review, push, usage,
                   mcp, cluster):
        api.include_router(module.router)
    # Also here, not only around NiceGUI's app: the API's bodies are masked however it is mounted.
    api.add_middleware(RedactMiddleware, redactor=services.redactor)
    return api
