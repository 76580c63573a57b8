"""Small waiting helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path


async def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_status(jobs, job_id: str, *statuses: str, timeout: float = 30.0) -> None:
    await wait_until(lambda: jobs.get(job_id).status in statuses, timeout,
                     f"job {job_id} to be {'/'.join(statuses)} (is {jobs.get(job_id).status})")


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


def assistant_texts(request: dict) -> list[str]:
    """The assistant turns the model is shown as history in a request."""
    found = []
    for message in request.get("messages", []):
        if message.get("role") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            found.append(content)
        else:
            found.extend(b.get("text", "") for b in content or [] if b.get("type") == "text")
    return found


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5f4d7d20000000049454e44ae426082")


async def submit_and_stall(services, project_id: str, model, prompt: str, seen: str):
    """Submit a job whose reply streams `seen` and then stalls mid-sentence; returns once all of it has
    streamed (the job is running, its CLI waiting for the rest)."""
    from tests.support.scripted_model import text

    model.add_response(text(seen, chunk=8, delay=0.02, stall=True))
    job = services.jobs.submit(project_id, prompt)
    streamed: list[str] = []
    services.hub.subscribe(job.id, lambda e: e.get("delta_type") == "text_delta" and streamed.append(e["text"]))
    await wait_until(lambda: "".join(streamed) == seen, what="the reply's first part streamed")
    return job


def descendants(pid: int) -> set[int]:
    """Every process below pid (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = {int(p) for p in children.read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def cli_processes(pid: int | None = None) -> dict[int, str]:
    """The Claude Code processes below pid (default: this process), each with its working directory."""
    found = {}
    for child in descendants(os.getpid() if pid is None else pid):
        try:
            program = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0]
            if "claude" in Path(os.fsdecode(program)).name:
                found[child] = os.readlink(f"/proc/{child}/cwd")
        except OSError:  # it ended meanwhile
            continue
    return found
