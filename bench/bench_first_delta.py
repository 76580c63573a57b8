"""Time to first streamed text: python bench/bench_first_delta.py

From ``submit()`` to the first text delta reaching a subscriber (registered with ``follow``
right after submit), over 10 fresh jobs, against the CLI start alone (raw SDK ``connect()``) and
the raw SDK's own connect + query -> first text delta. Target: manager <= CLI start + 100 ms.
Reference: the original Node implementation takes 831 ms median and streams no partial text.
Also checks that every scripted chunk arrived as its own live delta, spread over time as streamed.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    answer_forever,
    machine,
    offline_env,
    raw_options,
    responder,
    running_services,
    stats,
    text_chunks,
    verdict,
    wait_until,
)

RUNS = 10
CHARS, CHUNK, DELAY = 200, 10, 0.02  # 20 deltas, 20 ms apart: ~380 ms of streaming
NODE_MEDIAN_MS = 831
MARGIN_MS = 100


async def raw_run(cwd: Path) -> tuple[float, float]:
    """(connect time, connect + query -> first text delta) in ms with ClaudeSDKClient alone."""
    from claude_agent_sdk import ClaudeSDKClient, StreamEvent

    client = ClaudeSDKClient(raw_options(cwd))
    t0 = time.perf_counter()
    await client.connect()
    connected = time.perf_counter()
    await client.query("Say something.")
    first = None
    async for message in client.receive_response():
        if first is None and isinstance(message, StreamEvent) and \
                message.event.get("delta", {}).get("type") == "text_delta":
            first = time.perf_counter()
    await client.disconnect()
    return (connected - t0) * 1000, (first - t0) * 1000


async def manager_run(services, project_id: str) -> tuple[float, list[float], bool]:
    """(submit -> first text delta in ms, arrival times of every text delta, all before the final text)."""
    jobs = services.jobs
    deltas: list[float] = []
    final_text_at: list[float] = []

    def on_event(event: dict) -> None:
        if event.get("kind") == "delta" and event.get("delta_type") == "text_delta":
            deltas.append(time.perf_counter())
        elif event.get("kind") == "assistant" and (event.get("block") or {}).get("type") == "text":
            final_text_at.append(time.perf_counter())

    t0 = time.perf_counter()
    job = jobs.submit(project_id, "Say something.", mode="job", permission_mode="bypassPermissions")
    _, unsubscribe = jobs.follow(job.id, on_event)
    await wait_until(lambda: jobs.get(job.id).turns >= 1 and jobs.get(job.id).status == "idle", step=0.01)
    unsubscribe()
    jobs.complete(job.id)
    await wait_until(lambda: job.id not in jobs.live)  # the CLI is gone before the next run
    live = bool(deltas) and bool(final_text_at) and deltas[-1] < final_text_at[0]
    return (deltas[0] - t0) * 1000 if deltas else float("nan"), deltas, live


async def main() -> None:
    expected = text_chunks(CHARS, CHUNK)
    print(machine())
    with offline_env() as (tmp, model):
        answer_forever(model, responder(n_chars=CHARS, chunk=CHUNK, delay=DELAY))
        async with running_services(tmp, model) as services:
            project = services.projects.create("first-delta")
            await raw_run(tmp / "raw")  # warm the page cache for the CLI binary
            connect, raw_first, first, counts, spans, live_ok = [], [], [], [], [], 0
            for n in range(RUNS):
                if n % 2:
                    c, r = await raw_run(tmp / "raw")
                    f, deltas, live = await manager_run(services, project.id)
                else:
                    f, deltas, live = await manager_run(services, project.id)
                    c, r = await raw_run(tmp / "raw")
                connect.append(c)
                raw_first.append(r)
                first.append(f)
                counts.append(len(deltas))
                spans.append((deltas[-1] - deltas[0]) * 1000 if deltas else 0.0)
                live_ok += live
                print(f"  run {n + 1:2d}: CLI connect {c:6.0f} ms | raw first delta {r:6.0f} ms | "
                      f"manager first delta {f:6.0f} ms, {len(deltas)}/{expected} deltas")

        print()
        print(f"CLI start (raw SDK connect)           {stats(connect)}")
        print(f"raw SDK connect+query -> first delta  {stats(raw_first)}")
        print(f"manager submit -> first delta         {stats(first)}")
        target = statistics.median(connect) + MARGIN_MS
        median = statistics.median(first)
        print(f"manager over raw first delta: {median - statistics.median(raw_first):+.0f} ms (median to median)")
        print(f"target: CLI start + {MARGIN_MS} ms = {target:.0f} ms; manager median {median:.0f} ms: "
              f"{verdict(median <= target)}")
        print(f"reference Node implementation: {NODE_MEDIAN_MS} ms median, no partial text "
              f"(manager median is {median / NODE_MEDIAN_MS:.2f}x of it)")
        scripted_span = (expected - 1) * DELAY * 1000
        print(f"deltas delivered: {sum(counts)}/{expected * RUNS} ({expected} chunks per run, every run exact: "
              f"{verdict(all(c == expected for c in counts))}); all before the final text block in "
              f"{live_ok}/{RUNS} runs; first->last delta span median {statistics.median(spans):.0f} ms "
              f"(scripted {scripted_span:.0f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
