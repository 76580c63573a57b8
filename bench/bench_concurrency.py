"""Ten concurrent jobs: python bench/bench_concurrency.py

Ten jobs (max_running_jobs=10) run at once, each three scripted turns: a Read tool call and a
streamed answer, then two follow-ups. All must finish. Memory is VmRSS from /proc: the server
process's own (this process; the CLIs are separate processes) and the sum over its child
processes (the CLIs). Target: server growth <= 100 MB.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    TOOL_MARK,
    answer_forever,
    children_rss_kb,
    cli_pid,
    descendants,
    idle_after,
    machine,
    mb,
    offline_env,
    responder,
    rss_kb,
    running_services,
    stats,
    tool_results,
    verdict,
    wait_job,
    wait_until,
)

JOBS = 10
TURNS = 3
TARGET_MB = 100


class Sampler:
    """Peak of the server's RSS and of its children's summed RSS, sampled every 100 ms."""

    def __init__(self) -> None:
        self.peak_self = self.peak_children = self.peak_count = 0
        self.task: asyncio.Task | None = None

    def sample(self) -> None:
        count, children = children_rss_kb()
        self.peak_self = max(self.peak_self, rss_kb())
        self.peak_children = max(self.peak_children, children)
        self.peak_count = max(self.peak_count, count)

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.1)


async def one_job(services, project_id: str, n: int) -> float:
    jobs = services.jobs
    t0 = time.perf_counter()
    job = jobs.submit(project_id, f"Job {n}: look at the README {TOOL_MARK}", mode="job",
                      permission_mode="bypassPermissions")
    await wait_job(jobs, job.id, idle_after(1))
    for turn in range(2, TURNS + 1):
        jobs.follow_up(job.id, f"Job {n}: and then? ({turn})")
        await wait_job(jobs, job.id, idle_after(turn))
    return time.perf_counter() - t0


async def main() -> None:
    print(machine())
    with offline_env() as (tmp, model):
        async with running_services(tmp, model, max_running_jobs=JOBS) as services:
            project = services.projects.create("concurrency")
            readme = Path(project.path) / "README.md"
            readme.write_text("# bench\nA file for the Read tool.\n")
            answer_forever(model, responder(n_chars=300, chunk=20, delay=0.01, read_path=readme))

            base_self = rss_kb()
            base_count, base_children = children_rss_kb()
            print(f"baseline: server RSS {mb(base_self)}, {base_count} child processes ({mb(base_children)})")
            sampler = Sampler()
            sampler.task = asyncio.create_task(sampler.run())
            t0 = time.perf_counter()
            durations = await asyncio.gather(*(one_job(services, project.id, n) for n in range(JOBS)))
            wall = time.perf_counter() - t0
            sampler.sample()

            jobs = services.jobs.list(project.id)
            idle_self = rss_kb()
            count, children = children_rss_kb()
            pids = {cli_pid(services, j.id) for j in jobs}
            direct = set(descendants()) & pids
            print(f"{JOBS} jobs x {TURNS} turns done in {wall:.2f} s wall; per job {stats(durations, 's')}")
            print(f"all idle: server RSS {mb(idle_self)} (+{mb(idle_self - base_self)}), "
                  f"{count} child processes, CLIs' RSS {mb(children)} "
                  f"(~{mb(children / max(1, len(pids)))} per CLI; {len(direct)}/{JOBS} CLI pids "
                  f"from client._transport._process found among our children)")

            for job in jobs:
                services.jobs.complete(job.id)
            await wait_until(lambda: not services.jobs.live, timeout=60)
            sampler.task.cancel()
            finished = [services.jobs.get(j.id) for j in jobs]
            ok = [j for j in finished if j.status == "completed" and j.turns == TURNS and not j.error]
            await asyncio.sleep(0.5)
            end_self = rss_kb()
            end_count, end_children = children_rss_kb()
            print(f"after completing them: {len(ok)}/{JOBS} completed with {TURNS} turns; server RSS "
                  f"{mb(end_self)} (+{mb(end_self - base_self)} retained), {end_count} child processes left")
            print(f"peaks during the run: server RSS {mb(sampler.peak_self)}, "
                  f"children {mb(sampler.peak_children)} over up to {sampler.peak_count} processes")
            reads_ok = len({r.tool_use_id for body in model.requests for r in tool_results(body)
                            if "A file for the Read tool" in r.content and not r.is_error})
            print(f"model requests: {len(model.requests)} main (expected {JOBS * (TURNS + 1)}), "
                  f"{len(model.side_requests)} side; successful Read calls: {reads_ok}/{JOBS}")
            growth_mb = (sampler.peak_self - base_self) / 1024
            print(f"server RSS growth at peak {growth_mb:.1f} MB (target <= {TARGET_MB} MB: "
                  f"{verdict(growth_mb <= TARGET_MB and len(ok) == JOBS)})")
            print(f"median job duration {statistics.median(durations):.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
