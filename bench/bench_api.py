"""API latency: python bench/bench_api.py [--jobs 100] [--events 5000]

Measures, over HTTP through uvicorn, what a script pays per call:

* job create (POST /api/jobs): the real path with credentials (the API behind the same
  security gate as under `python main.py`, the client sending the server's own token as
  a bearer, as a script does). One job holds the only
  running slot (its model reply never comes), so the measured jobs wait as `queued` and
  no Claude Code process is started per job. Target: median <= 50 ms.
* transcript reads of a job with 5,000 stored events of realistic sizes (text,
  tool calls, tool output): the recent part backwards (what a page opens with), a
  forward page from the middle, and the whole transcript in one read. Target: median <= 100 ms.

The server runs in a thread with its own event loop (as under `python main.py`); the client
is httpx with keep-alive in the main thread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from bench._common import machine, offline_env, stats, verdict  # noqa: E402
from tests.support.scripted_model import text  # noqa: E402

CREATE_TARGET_MS = 50.0
READ_TARGET_MS = 100.0


class ApiServer:
    """Services and their API on 127.0.0.1:<free port>, in a thread running its own loop."""

    def __init__(self, tmp: Path, base_url: str) -> None:
        from core.api import create_api
        from core.security.auth import Authenticator
        from core.security.stack import secured
        from core.services import Services
        from core.settings import Settings

        self.loop = asyncio.new_event_loop()
        # Every created job waits as `queued`, and queued jobs count against the live-session cap.
        settings = Settings(projects_root=tmp / "projects", anthropic_api_key="bench-key",
                            anthropic_base_url=base_url, max_running_jobs=1, max_live_sessions=10_000)
        self.services = Services.create(settings)
        host = FastAPI()
        host.mount("/api", create_api(self.services))
        # Gated as tests/support/api_server.py's api_server (and `python main.py`): the login is part of each call.
        auth = Authenticator.from_settings(settings)
        self.token = auth.token
        gated = secured(host, settings, auth)
        # proto IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else ~40 ms per keep-alive reply).
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api"
        self.server = uvicorn.Server(uvicorn.Config(gated, lifespan="off", log_level="warning",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self.services.start()
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            await self.services.shutdown()

    def __enter__(self) -> ApiServer:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run fn on the server's loop (the services are not thread-safe)."""
        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(60)


def timed(fn: Callable[[], httpx.Response], n: int) -> list[float]:
    fn()  # warm-up
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = fn()
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def timed_calls(server: ApiServer, fn: Callable[[], Any], n: int) -> list[float]:
    """Time fn on the server's loop, without HTTP: what the services themselves cost."""
    def one() -> float:
        started = time.perf_counter()
        fn()
        return (time.perf_counter() - started) * 1000
    return [server.call(one) for _ in range(n)]


def history(n: int) -> list[dict[str, Any]]:
    """A transcript's worth of events: turns of prompt, tool calls with output, and answers."""
    sentence = "the quick brown fox jumps over the lazy dog while the benchmark counts every byte "
    prose = (sentence * 5)[:360]
    events: list[dict[str, Any]] = []
    ts = time.time() - n
    while len(events) < n:
        turn = len(events)
        events.append({"kind": "user", "ts": ts, "text": f"request {turn}: {prose[:120]}", "uuid": f"u{turn}",
                       "images": []})
        for call in range(3):
            tool_id = f"toolu_{turn}_{call}"
            events.append({"kind": "assistant", "ts": ts, "message_id": f"m{turn}", "uuid": f"a{turn}{call}",
                           "parent_tool_use_id": None, "model": "claude-sonnet-4-5", "error": None,
                           "block": {"type": "tool_use", "id": tool_id, "name": "Bash",
                                     "input": {"command": f"grep -rn pattern src/ | head -n {call + 20}"}}})
            events.append({"kind": "tool_result", "ts": ts, "tool_use_id": tool_id, "is_error": False,
                           "parent_tool_use_id": None, "uuid": f"r{turn}{call}",
                           "content": "\n".join(f"src/module_{i}.py:{i * 7}: {prose[:70]}" for i in range(12))})
        events.append({"kind": "assistant", "ts": ts, "message_id": f"m{turn}", "uuid": f"t{turn}",
                       "parent_tool_use_id": None, "model": "claude-sonnet-4-5", "error": None,
                       "block": {"type": "text", "text": prose * 3}})
        events.append({"kind": "result", "ts": ts, "is_error": False, "subtype": "success",
                       "total_cost_usd": 0.01, "usage": {"input_tokens": 1000, "output_tokens": 300}})
    return events[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100, help="job creations to time")
    parser.add_argument("--events", type=int, default=5000, help="events in the long transcript")
    parser.add_argument("--reads", type=int, default=30, help="timed reads of each kind")
    args = parser.parse_args()
    print(f"bench_api: {machine()}")
    ok = True
    with offline_env() as (tmp, model), ApiServer(tmp, model.base_url) as server, \
            httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as client:
        model.add_response(text("holding the only running slot"), hang=True)
        project = client.post("/projects", json={"name": "bench"}).json()
        holder = client.post("/jobs", json={"project_id": project["id"], "prompt": "hold the slot"}).json()
        while client.get(f"/jobs/{holder['id']}").json()["status"] != "running":
            time.sleep(0.05)
        prompt = "Refactor the parser module and add tests for the edge cases. " * 3
        create = timed(lambda: client.post("/jobs", json={"project_id": project["id"], "prompt": prompt}), args.jobs)
        jobs = server.services.jobs
        direct = timed_calls(server, lambda: jobs.submit(project["id"], prompt), args.jobs)
        statuses = {j["status"] for j in client.get("/jobs").json() if j["id"] != holder["id"]}
        assert statuses == {"queued"}, statuses
        good = statistics.median(create) <= CREATE_TARGET_MS
        ok &= good
        print(f"job create (POST /api/jobs, {args.jobs} jobs)     : {stats(create)}  "
              f"target <= {CREATE_TARGET_MS:.0f} ms {verdict(good)}")
        print(f"  of which the services (jobs.submit direct)  : {stats(direct)}")
        share = statistics.median(create) - statistics.median(direct)
        print(f"  the API's own share (median difference)     : {share:.1f} ms")

        from core.models import Job, JobStatus, new_id

        events = history(args.events)
        long_job = Job(id=new_id(), project_id=project["id"], name="long", prompt="long",
                       status=JobStatus.COMPLETED)
        server.call(lambda: server.services.jobs.add_imported_job(long_job, events))
        size = len(json.dumps(events))
        print(f"long transcript: {args.events} events, {size / 2**20:.1f} MiB of JSON")
        url = f"/jobs/{long_job.id}/transcript"
        reads = {
            "recent 200, backwards (before_seq)": {"before_seq": args.events + 1, "limit": 200},
            "page of 1000 from the middle     ": {"after_seq": args.events // 2, "limit": 1000},
            f"whole transcript ({args.events}, one read)": {"after_seq": 0, "limit": args.events},
        }
        for label, params in reads.items():
            times = timed(lambda p=params: client.get(url, params=p), args.reads)
            good = statistics.median(times) <= READ_TARGET_MS
            ok &= good
            print(f"transcript: {label}: {stats(times)}  target <= {READ_TARGET_MS:.0f} ms {verdict(good)}")
        model.release()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
