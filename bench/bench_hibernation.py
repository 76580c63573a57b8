"""Hibernation: python bench/bench_hibernation.py

Twenty sessions (mode="session") each answer one turn and sit idle with a live CLI. Prints total
memory (server RSS + the CLIs' RSS) before and after ``hibernate_idle(older_than_s=0)``, then the
time a follow-up takes on a live session versus on a hibernated one (which re-attaches by
resuming the CLI session): to its first streamed text delta and to the end of its turn.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    answer_forever,
    children_rss_kb,
    idle_after,
    machine,
    mb,
    offline_env,
    responder,
    rss_kb,
    running_services,
    stats,
    wait_job,
    wait_until,
)

SESSIONS = 20
SAMPLES = 6  # follow-ups measured per case
ANSWER = 300


def memory(label: str) -> int:
    server = rss_kb()
    count, children = children_rss_kb()
    print(f"{label:28s} server {mb(server):>9s} + {count:2d} CLIs {mb(children):>10s} = {mb(server + children)}")
    return server + children


async def timed_follow_up(services, job_id: str, text: str) -> tuple[float, float]:
    """Seconds from follow_up() to the first text delta a subscriber receives, and to the turn's end."""
    jobs = services.jobs
    first: list[float] = []

    def on_event(event: dict) -> None:
        if not first and event.get("kind") == "delta" and event.get("delta_type") == "text_delta":
            first.append(time.perf_counter())

    _, unsubscribe = jobs.follow(job_id, on_event, after_seq=10**9)
    turns = jobs.get(job_id).turns
    t0 = time.perf_counter()
    jobs.follow_up(job_id, text)
    await wait_job(jobs, job_id, idle_after(turns + 1))
    end = time.perf_counter()
    unsubscribe()
    return first[0] - t0, end - t0


async def main() -> None:
    print(machine())
    with offline_env() as (tmp, model):
        answer_forever(model, responder(n_chars=ANSWER, chunk=20))
        async with running_services(tmp, model, max_running_jobs=SESSIONS) as services:
            jobs = services.jobs
            project = services.projects.create("hibernation")
            memory("before any session")
            t0 = time.perf_counter()
            ids = [jobs.submit(project.id, f"Session {n}: remember the word heron-{n}.", mode="session",
                               permission_mode="bypassPermissions").id for n in range(SESSIONS)]
            await asyncio.gather(*(wait_job(jobs, i, idle_after(1)) for i in ids))
            print(f"{SESSIONS} sessions answered their first turn in {time.perf_counter() - t0:.2f} s; "
                  f"live: {sum(jobs.is_live(i) for i in ids)}/{SESSIONS}")

            live = [await timed_follow_up(services, i, "And now?") for i in ids[:SAMPLES]]
            await asyncio.sleep(0.5)
            before = memory("20 idle live sessions")

            t0 = time.perf_counter()
            released = jobs.liveness.hibernate_idle(older_than_s=0)
            await wait_until(lambda: not jobs.live and children_rss_kb()[0] == 0, timeout=60)
            print(f"hibernate_idle released {len(released)} sessions; CLIs gone after "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms; hibernated flags: "
                  f"{sum(jobs.get(i).hibernated for i in ids)}/{SESSIONS}")
            await asyncio.sleep(0.5)
            after = memory("after hibernate_idle")
            print(f"memory released: {mb(before - after)} ({100 * (before - after) / before:.0f}% of the total)")

            woken = ids[SAMPLES:2 * SAMPLES]
            asleep = []
            for i in woken:
                n_requests = len(model.requests)
                asleep.append(await timed_follow_up(services, i, "What word did I give you?"))
                history = str(model.requests[n_requests].get("messages"))
                assert f"heron-{ids.index(i)}" in history, "the resumed session lost its history"
            print(f"re-attached sessions: {sum(jobs.is_live(i) for i in woken)}/{len(woken)} live again, "
                  f"each request to the model carried the earlier conversation")
            print()
            print("follow-up on a LIVE session:")
            print(f"  to first text delta   {stats([a * 1000 for a, _ in live])}")
            print(f"  to end of turn        {stats([b * 1000 for _, b in live])}")
            print("follow-up on a HIBERNATED session (transparent re-attach: CLI start + resume):")
            print(f"  to first text delta   {stats([a * 1000 for a, _ in asleep])}")
            print(f"  to end of turn        {stats([b * 1000 for _, b in asleep])}")


if __name__ == "__main__":
    asyncio.run(main())
