"""Warm starts (spec O1): python bench/bench_warm_start.py [--runs 10]

From ``submit()`` to the first text delta reaching a subscriber, for a new job in a project that
was used before, with the warm pool on (a CLI started and connected ahead, taken by the job) and
off (the job starts its own CLI). Two Services run side by side against one scripted model, and
their runs alternate, so both see the same machine, each after half a second of quiet. Before
each warm run the bench waits until the pool's CLI for the project has been ready for
WARM_FOR_S, as a person's next job would find it (one sent within a second or two of the CLI's
start also takes it, a few tens of ms slower).

The floor is the scripted model's own first-byte time: a plain streaming request straight to it,
from sending to the first text delta. Target: warm <= 0.3x cold, or the floor if that is higher.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    answer_forever,
    machine,
    offline_env,
    responder,
    running_services,
    stats,
    verdict,
    wait_until,
)

RUNS = 10
CHARS, CHUNK, DELAY = 200, 10, 0.02
TARGET_RATIO = 0.3
SETTLE_S = 0.5
# A CLI does a burst of deferred start-up work one to two seconds after it connects (measured: a first turn
# sent then takes 30-60 ms longer); a person's next job comes later than that.
WARM_FOR_S = 3.0


def model_first_byte(base_url: str) -> float:
    """ms from sending a streaming request straight to the scripted model to its first text delta."""
    url = urlparse(base_url)
    body = json.dumps({"model": "claude-scripted", "max_tokens": 64, "stream": True,
                       "tools": [{"name": "noop", "description": "", "input_schema": {"type": "object"}}],
                       "messages": [{"role": "user", "content": "Say something."}]})
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        started = time.perf_counter()
        connection.request("POST", "/v1/messages", body, {"content-type": "application/json", "x-api-key": "k"})
        response = connection.getresponse()
        while line := response.readline():
            if b"text_delta" in line:
                return (time.perf_counter() - started) * 1000
        raise RuntimeError("the scripted model sent no text")
    finally:
        connection.close()


async def first_text(services, project_id: str) -> tuple[float, bool]:
    """(submit -> first text delta in ms, whether the job took a warm CLI)."""
    jobs = services.jobs
    deltas: list[float] = []
    warm_before = {m["pid"] for m in _members(services, project_id)}

    def on_event(event: dict) -> None:
        if event.get("kind") == "delta" and event.get("delta_type") == "text_delta":
            deltas.append(time.perf_counter())

    t0 = time.perf_counter()
    job = jobs.submit(project_id, "Say something.", mode="job")
    _, unsubscribe = jobs.follow(job.id, on_event)
    await wait_until(lambda: bool(deltas) or jobs.get(job.id).status in ("failed", "completed"), step=0.005)
    await wait_until(lambda: jobs.get(job.id).status == "idle", step=0.01)
    unsubscribe()
    session = jobs.live.get(job.id)
    took_warm = bool(session and session.client and _pid(session.client) in warm_before)
    jobs.complete(job.id)
    await wait_until(lambda: job.id not in jobs.live)
    if not deltas:
        raise RuntimeError(f"job {job.id} streamed no text: {jobs.get(job.id).error}")
    return (deltas[0] - t0) * 1000, took_warm


def _pid(client) -> int | None:
    from core.jobs.runner import cli_pid

    return cli_pid(client)


def _members(services, project_id: str) -> list[dict]:
    snapshot = getattr(services.jobs.runner, "snapshot", lambda: [])()
    directory = str(services.projects.directory(project_id))
    return [m for m in snapshot if m["cwd"] == directory and m["ready"]]


async def main(runs: int) -> None:
    print(machine())
    with offline_env() as (tmp, model):
        answer_forever(model, responder(n_chars=CHARS, chunk=CHUNK, delay=DELAY))
        floor = [model_first_byte(model.base_url) for _ in range(runs)]
        async with running_services(tmp / "off", model, warm_pool_size=0) as cold_services, \
                running_services(tmp / "on", model, warm_pool_size=2) as warm_services:
            cold = cold_services.projects.create("cold")
            warm = warm_services.projects.create("warm")
            await first_text(cold_services, cold.id)  # the page cache holds the CLI binary for both
            await first_text(warm_services, warm.id)  # the pool now wants this project
            cold_ms, warm_ms, took = [], [], 0
            for n in range(runs):
                order = (("warm", warm_services, warm), ("cold", cold_services, cold))
                for name, services, project in (order if n % 2 == 0 else order[::-1]):
                    if name == "warm":
                        await wait_until(lambda: any(m["idle_s"] >= WARM_FOR_S for m in _members(warm_services,
                                                                                                  warm.id)), timeout=60)
                    await asyncio.sleep(SETTLE_S)  # the other run's CLI and records settle: a quiet start for each
                    ms, took_warm = await first_text(services, project.id)
                    (warm_ms if name == "warm" else cold_ms).append(ms)
                    took += took_warm and name == "warm"
                print(f"  run {n + 1:2d}: pool off {cold_ms[-1]:6.0f} ms | pool on {warm_ms[-1]:6.0f} ms")

    print()
    print(f"scripted model's first byte (the floor)  {stats(floor)}")
    print(f"submit -> first text, pool off            {stats(cold_ms)}")
    print(f"submit -> first text, pool on (warm CLI)  {stats(warm_ms)}")
    off, on, floor_ms = statistics.median(cold_ms), statistics.median(warm_ms), statistics.median(floor)
    target = max(TARGET_RATIO * off, floor_ms)
    print(f"warm runs that took a warm CLI: {took}/{runs}")
    print(f"ratio on/off: {on / off:.2f}x (median to median); target <= {TARGET_RATIO}x = {TARGET_RATIO * off:.0f} ms "
          f"(floor {floor_ms:.1f} ms): {verdict(on <= target and took == runs)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    asyncio.run(main(parser.parse_args().runs))
