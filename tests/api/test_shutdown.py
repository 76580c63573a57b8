"""Ctrl-C and SIGTERM stop `python main.py` promptly even while event-stream clients are connected (issue 11).

uvicorn waits for every open response before it stops, and an event stream never ends by
itself: a server with one `/api/events` reader used to run on for minutes after SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.main_process import MainProcess, run_main
from tests.support.scripted_model import text

SHUTDOWN_LIMIT_S = 3.0


def _open_stream(stack: contextlib.ExitStack, client: httpx.Client, path: str) -> Iterator[bytes]:
    """Open an event stream and read its first chunk: the server is then subscribed and streaming.

    The caller keeps the returned iterator: once it is garbage, httpx closes the connection.
    """
    response = stack.enter_context(client.stream("GET", path, timeout=httpx.Timeout(30, read=30)))
    assert response.status_code == 200, response.read()
    chunks = response.iter_raw()
    assert b": live" in next(chunks)
    return chunks


def _idle_job(server: MainProcess, client: httpx.Client) -> str:
    """A job whose turn ended and whose CLI stays up for its grace period: shutdown has it to stop too."""
    project = client.post("/api/projects", json={"name": "shutdown"}).json()
    job = client.post("/api/jobs", json={"project_id": project["id"], "prompt": "hello"}).json()
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job['id']}").json()["status"] != "idle":
        assert time.monotonic() < deadline, server.log(3000)
        time.sleep(0.1)
    return job["id"]


def _seconds_to_exit(server: MainProcess, signum: int) -> float:
    start = time.monotonic()
    server.proc.send_signal(signum)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.proc.wait(SHUTDOWN_LIMIT_S * 5)  # enough to report the figure when it is too slow
    return time.monotonic() - start


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_server_stops_within_3_s_with_event_streams_open(claude_env, scripted_model, tmp_path: Path,
                                                            signum: int):
    scripted_model.add_response(text("Hello."))
    with run_main(tmp_path, claude_env.projects_root) as server, server.bearer() as client, \
            server.bearer() as streams, contextlib.ExitStack() as open_streams:
        job_id = _idle_job(server, client)
        readers = [_open_stream(open_streams, streams, "/api/events"),
                   _open_stream(open_streams, streams, f"/api/jobs/{job_id}/events")]
        elapsed = _seconds_to_exit(server, signum)
        stopped = server.proc.poll() is not None
        print(f"{signal.Signals(signum).name} with 2 open streams: "
              + (f"stopped in {elapsed:.2f} s" if stopped else f"still running after {elapsed:.0f} s"))
        assert stopped and elapsed < SHUTDOWN_LIMIT_S, f"{elapsed:.2f} s after the signal:\n{server.log(3000)}"
        for reader in readers:
            list(reader)  # each stream was ended properly: httpx raises on a connection cut mid-response
