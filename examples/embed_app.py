"""Embedding Claude Code Server in your own FastAPI app (spec A4).

    python examples/embed_app.py --port 8000

then open http://127.0.0.1:8000/ (this app's own page), http://127.0.0.1:8000/claude/
(the Claude Code Server UI) and http://127.0.0.1:8000/claude/api/docs (its API).
Configuration comes from the environment and `.env` as for `python main.py`
(PROJECTS_ROOT, ANTHROPIC_API_KEY, ...).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import main as claude_code_server  # noqa: E402


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # The host's own start-up and shut-down work; the embedded services start and stop around it.
    print("host app starting", flush=True)
    yield
    print("host app stopped", flush=True)


app = FastAPI(title="My app", lifespan=lifespan)


@app.get("/", response_class=HTMLResponse)
def home() -> str:
    return '<h1>My app</h1><p><a href="/claude/">Claude Code Server</a> · <a href="/claude/api/docs">API</a></p>'


@app.get("/health")
def health() -> dict:
    # The host's routes can use the same services the embedded UI and API use.
    return {"ok": True, "projects": len(services.projects.list()), "jobs": len(services.jobs.list())}


services = claude_code_server.mount(app, mount_path="/claude")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port)
