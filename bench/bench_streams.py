"""Ten streaming jobs at once, server side: python bench/bench_streams.py [--jobs 10] [--chars 3000]

--jobs CLIs run one streaming turn each, all at once: the scripted model (in this process) holds every request
until all have arrived, then streams each a --chars answer in --chunk-character deltas, one every --delay
seconds (the pace of a fast model). Each CLI has answered a short warm-up turn first, so it is started and
connected. The turn runs

- with bare SDK consumers: a ClaudeSDKClient per CLI in this process, doing nothing but read (the CLIs' own
  turn time: what they allow on this machine, sharing it as they do with the server);
- through ``python main.py`` (tests.support.main_process; MAX_RUNNING_JOBS = --jobs), once per count in
  --subscribers: that many clients follow each job's event stream (GET /api/jobs/{id}/events, as a script or
  a second browser does).

Per run it prints the wall time from the model's release to the last result (read by the SDK consumer, or
reaching the job's subscribers), and for the server its CPU: user + system time of the server process
(/proc/<pid>/stat, its own threads, not the CLIs) per delta published, and per delta and further subscriber.

Target (issue 13): through the server, wall time <= 1.05x the bare CLIs' (median over --rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, offline_env, raw_options, verdict  # noqa: E402
from tests.support.main_process import MainProcess, run_main  # noqa: E402
from tests.support.scripted_model import text  # noqa: E402

TARGET = 1.05
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process's own threads (children not included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Subscriber(threading.Thread):
    """Follows one job's event stream and counts what it is sent; notes when the turn's result arrives.
    It reads raw bytes and only counts markers, so this process spends little CPU per delta."""

    def __init__(self, server: MainProcess, job_id: str, after_seq: int) -> None:
        super().__init__(daemon=True)
        self.deltas = 0
        self.result_at: float | None = None
        self.connected = threading.Event()
        self.done = threading.Event()
        self._client = server.bearer()
        self._path = f"/api/jobs/{job_id}/events?after_seq={after_seq}"

    def run(self) -> None:
        carry = b""
        try:
            with self._client.stream("GET", self._path, timeout=httpx.Timeout(300.0, connect=10.0)) as response:
                for chunk in response.iter_raw():
                    data = carry + chunk
                    if not self.connected.is_set() and b": live" in data:
                        self.connected.set()
                    self.deltas += data.count(b"event: delta\n") - carry.count(b"event: delta\n")
                    if self.result_at is None and (b'"kind": "result"' in data or b'"kind":"result"' in data):
                        self.result_at = time.monotonic()
                        self.done.set()
                    carry = data[-64:]
        except httpx.HTTPError:
            pass
        finally:
            self.connected.set()
            self.done.set()

    def close(self) -> None:
        self._client.close()


class Release:
    """Holds each request at the model until all `n` have arrived, then lets them all stream at once: the CLIs
    prepare their requests at different speeds, which is not what is measured."""

    def __init__(self, n: int, answer) -> None:
        self.n = n
        self.answer = answer
        self.arrived = 0
        self.at: float | None = None
        self._cond = threading.Condition()

    def __call__(self, body: dict[str, Any]):
        with self._cond:
            self.arrived += 1
            if self.arrived >= self.n:
                self.at = time.monotonic()
                self._cond.notify_all()
            elif not self._cond.wait_for(lambda: self.at is not None, 120):
                raise TimeoutError(f"only {self.arrived} of {self.n} requests reached the model")
        return self.answer


async def bare_turns(model, cwd: Path, n: int, answer, rounds: int) -> list[dict[str, Any]]:
    """The turns with a bare ClaudeSDKClient reading each CLI: (wall, deltas) per round."""
    from claude_agent_sdk import ClaudeSDKClient, ResultMessage, StreamEvent

    clients = [ClaudeSDKClient(raw_options(cwd)) for _ in range(n)]
    await asyncio.gather(*(client.connect() for client in clients))

    async def turn(client, prompt: str) -> tuple[float, int]:
        await client.query(prompt)
        deltas = 0
        async for message in client.receive_response():
            if isinstance(message, StreamEvent):
                deltas += 1
            elif isinstance(message, ResultMessage):
                return time.monotonic(), deltas
        raise RuntimeError("no result")

    try:
        for _ in range(n):
            model.add_response(text("Ready."))
        await asyncio.gather(*(turn(client, f"warm up {i}") for i, client in enumerate(clients)))
        rows = []
        for _ in range(rounds):
            release = Release(n, answer)
            for _ in range(n):
                model.add_response(release)
            ends = await asyncio.gather(*(turn(client, f"stream j{i}") for i, client in enumerate(clients)))
            rows.append({"wall": max(t for t, _ in ends) - release.at, "deltas": sum(d for _, d in ends)})
        return rows
    finally:
        await asyncio.gather(*(client.disconnect() for client in clients), return_exceptions=True)


def timed_turn(server: MainProcess, model, jobs: dict[str, str], subscribers: int, answer,
               profile: str | None = None) -> dict[str, Any]:
    """All jobs get a follow-up at once; returns CPU, deltas and times of that turn."""
    release = Release(len(jobs), answer)
    for _ in jobs:
        model.add_response(release)
    with server.bearer() as client:
        after = {job_id: client.get(f"/api/jobs/{job_id}/transcript", params={"limit": 1}).json()["last_seq"]
                 for job_id in jobs.values()}
        followers = {job_id: [Subscriber(server, job_id, after[job_id]) for _ in range(subscribers)]
                     for job_id in jobs.values()}
        for subs in followers.values():
            for sub in subs:
                sub.start()
        for subs in followers.values():
            for sub in subs:
                sub.connected.wait(30)
        profiler = None
        if profile:  # py-spy samples the server's own threads (for finding where the time goes)
            profiler = subprocess.Popen(["py-spy", "record", "--pid", str(server.proc.pid), "--format", "raw",
                                         "--rate", "200", "--output", profile],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        cpu_before = cpu_s(server.proc.pid)
        sent = time.monotonic()

        def send(name: str, job_id: str) -> None:
            with server.bearer() as own:  # one connection each: the follow-ups go out together
                response = own.post(f"/api/jobs/{job_id}/messages", json={"prompt": f"stream {name}"})
                assert response.status_code == 202, response.text

        senders = [threading.Thread(target=send, args=item) for item in jobs.items()]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    for subs in followers.values():
        for sub in subs:
            if not sub.done.wait(120):
                raise TimeoutError("a turn did not end within 120 s")
    cpu = cpu_s(server.proc.pid) - cpu_before
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)
    for subs in followers.values():
        for sub in subs:
            sub.close()
    results = [max(s.result_at or float("inf") for s in subs) for subs in followers.values()]
    deltas = sum(subs[0].deltas for subs in followers.values())
    return {"cpu": cpu, "deltas": deltas, "wall": max(results) - release.at, "waited": release.at - sent}


def main(n_jobs: int, chars: int, chunk: int, delay: float, subscriber_counts: list[int], rounds: int,
         profile: str | None = None) -> int:
    print(machine())
    stream_s = -(-chars // chunk) * delay
    answer = [text(("the quick brown fox jumps over the lazy dog " * (chars // 44 + 1))[:chars], chunk=chunk,
                   delay=delay)]
    print(f"{n_jobs} CLIs, each turn streams {chars} characters in {chunk}-character deltas every "
          f"{delay * 1000:.0f} ms: {stream_s:.2f} s of model time; {rounds} round(s) of each", flush=True)
    runs: dict[int, list[dict[str, Any]]] = {}
    with offline_env() as (tmp, model):
        cwd = tmp / "bare"
        cwd.mkdir()
        bare = asyncio.run(bare_turns(model, cwd, n_jobs, answer, rounds))
        for row in bare:
            print(f"bare SDK consumers: wall {row['wall']:.2f} s, {row['deltas']} deltas", flush=True)
        env = {"MAX_RUNNING_JOBS": str(n_jobs), "MAX_LIVE_SESSIONS": str(max(16, n_jobs))}
        with run_main(tmp / "server", tmp / "projects", env=env) as server, server.bearer() as client:
            project = client.post("/api/projects", json={"name": "streams"}).json()
            for _ in range(n_jobs):
                model.add_response(text("Ready."))
            jobs = {f"j{i}": client.post("/api/jobs", json={"project_id": project["id"], "prompt": f"warm up {i}",
                                                            "mode": "session"}).json()["id"] for i in range(n_jobs)}
            deadline = time.monotonic() + 120
            while any(client.get(f"/api/jobs/{j}").json()["status"] != "idle" for j in jobs.values()):
                if time.monotonic() > deadline:
                    raise TimeoutError("the warm-up turns did not end")
                time.sleep(0.2)
            for n in range(rounds):
                for subscribers in subscriber_counts:
                    out = f"{profile}.{subscribers}.txt" if profile and n == 0 else None
                    row = timed_turn(server, model, jobs, subscribers, answer, out)
                    runs.setdefault(subscribers, []).append(row)
                    print(f"server, {subscribers} subscriber(s) per job: wall {row['wall']:.2f} s, {row['deltas']} "
                          f"deltas, server CPU {row['cpu']:.2f} s = {row['cpu'] / row['deltas'] * 1e6:.0f} us per "
                          f"delta", flush=True)
    bare_wall = statistics.median(r["wall"] for r in bare)
    print(f"\nmedians: bare CLIs' wall {bare_wall:.2f} s ({bare_wall / stream_s:.2f}x the model's own time)")
    ratios = {}
    for subscribers, rows in runs.items():
        wall = statistics.median(r["wall"] for r in rows)
        per_delta = statistics.median(r["cpu"] / r["deltas"] for r in rows)
        ratios[subscribers] = wall / bare_wall
        print(f"  server, {subscribers} subscriber(s) per job: wall {wall:.2f} s = {ratios[subscribers]:.3f}x the bare "
              f"CLIs'; server CPU {per_delta * 1e6:.0f} us per delta")
    if len(runs) > 1:
        low, high = min(runs), max(runs)
        extra = statistics.median((h["cpu"] - lo["cpu"]) / (lo["deltas"] * (high - low))
                                  for lo, h in zip(runs[low], runs[high], strict=True))
        print(f"  each further subscriber: {extra * 1e6:.0f} us of server CPU per delta")
    ratio = ratios[min(runs)]
    ok = ratio <= TARGET
    print(f"verdict: {n_jobs} streaming jobs through the server (with {min(runs)} subscriber each) took {ratio:.3f}x "
          f"the bare CLIs' wall time (target <= {TARGET}x): {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--chars", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--subscribers", type=int, nargs="*", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", metavar="PREFIX", help="py-spy the server during each timed turn, into "
                                                             "PREFIX.<subscribers>.txt (collapsed stacks)")
    args = parser.parse_args()
    sys.exit(main(args.jobs, args.chars, args.chunk, args.delay, args.subscribers, args.rounds, args.profile))
