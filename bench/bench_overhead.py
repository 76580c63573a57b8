"""Session-manager overhead: python bench/bench_overhead.py [--breakdown]

The same scripted 20-turn conversation runs through the session manager (submit, then 19
follow-ups, each waiting for its turn to end) and through the raw SDK (``ClaudeSDKClient``:
connect, then query + receive_response per turn). Each turn streams a 300-character answer in
20-character deltas; every fifth turn first makes a Read tool call. Variants alternate; the
figures are medians. Target: manager / raw <= 1.10 (whole run, CLI start included).

``--breakdown`` adds two diagnostic variants to attribute the difference: the raw SDK with the
exact options the manager builds (can_use_tool, hooks, stderr, buffer size), and the manager
with fsync turned into a no-op in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    TOOL_MARK,
    answer_forever,
    idle_after,
    machine,
    offline_env,
    raw_options,
    responder,
    running_services,
    stats,
    verdict,
    wait_job,
    wait_until,
)

TURNS = 20
RUNS = 10  # per variant
TARGET = 1.10
PROMPTS = [f"Turn {i + 1}: tell me more. {TOOL_MARK if i % 5 == 4 else ''}".strip() for i in range(TURNS)]
README = "# bench\nA file for the Read tool.\n"


def script(model, cwd: Path) -> None:
    """Fresh script for one run; the Read call targets the README in that run's cwd."""
    model.clear()
    answer_forever(model, responder(n_chars=300, chunk=20, read_path=cwd / "README.md"))


async def raw_run(options) -> tuple[float, float]:
    """(whole run, turns 2..20) in seconds, through ClaudeSDKClient alone."""
    from claude_agent_sdk import ClaudeSDKClient, ResultMessage

    client = ClaudeSDKClient(options)
    t0 = time.perf_counter()
    await client.connect()
    for i, prompt in enumerate(PROMPTS):
        if i == 1:
            t1 = time.perf_counter()
        await client.query(prompt)
        async for message in client.receive_response():
            if isinstance(message, ResultMessage) and message.is_error:
                raise RuntimeError(f"raw turn {i + 1} failed: {message.result}")
    end = time.perf_counter()
    await client.disconnect()
    return end - t0, end - t1


async def manager_run(services, project) -> tuple[float, float]:
    """(whole run, turns 2..20) in seconds, through the session manager."""
    jobs = services.jobs
    t0 = time.perf_counter()
    job = jobs.submit(project.id, PROMPTS[0], mode="job", permission_mode="bypassPermissions")
    await wait_job(jobs, job.id, idle_after(1))
    t1 = time.perf_counter()
    for turn, prompt in enumerate(PROMPTS[1:], start=2):
        jobs.follow_up(job.id, prompt)
        await wait_job(jobs, job.id, idle_after(turn))
    end = time.perf_counter()
    if jobs.get(job.id).turns != TURNS or jobs.get(job.id).error:
        raise RuntimeError(f"manager run ended badly: {jobs.get(job.id)}")
    jobs.complete(job.id)
    await wait_until(lambda: job.id not in jobs.live)  # its CLI has exited before the next run starts
    return end - t0, end - t1


@contextlib.contextmanager
def fsync_disabled():
    real = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = real


def manager_options(services, project):
    """The ClaudeAgentOptions the manager would build for a job in ``project`` (nothing is started)."""
    from core.models import Job

    job = Job(id="bench-options", project_id=project.id, name="bench", prompt="bench",
              permission_mode="bypassPermissions")
    return services.jobs.new_session(job).options()


async def main(breakdown: bool) -> None:
    print(machine())
    with offline_env() as (tmp, model):
        (tmp / "raw" / "README.md").write_text(README)
        async with running_services(tmp, model) as services:
            saves = _time_saves(services)
            counter = iter(range(10_000))

            def new_project():
                project = services.projects.create(f"overhead-{next(counter)}")
                (Path(project.path) / "README.md").write_text(README)
                script(model, Path(project.path))
                return project

            async def raw():
                script(model, tmp / "raw")
                return await raw_run(raw_options(tmp / "raw"))

            async def raw_manager_options():
                project = new_project()
                return await raw_run(manager_options(services, project))

            async def manager():
                return await manager_run(services, new_project())

            async def manager_no_fsync():
                with fsync_disabled():
                    return await manager_run(services, new_project())

            variants = {"raw": raw, "manager": manager}
            if breakdown:
                variants = {"raw": raw, "raw+manager options": raw_manager_options,
                            "manager, no fsync": manager_no_fsync, "manager": manager}
            width = max(map(len, variants))
            print(f"{TURNS} turns per run, {RUNS} runs per variant, alternating; warming up the CLI ...")
            await raw()
            total: dict[str, list[float]] = {name: [] for name in variants}
            follow: dict[str, list[float]] = {name: [] for name in variants}
            manager_saves: list[float] = []  # ms of each save_job during the plain manager runs
            for n in range(RUNS):
                order = list(variants) if n % 2 == 0 else list(reversed(variants))
                for name in order:
                    before = len(saves)
                    whole, rest = await variants[name]()
                    if name == "manager":
                        manager_saves.extend(saves[before:])
                    total[name].append(whole * 1000)
                    follow[name].append(rest * 1000)
                    print(f"  run {n + 1:2d} {name:{width}s} total {whole:6.2f} s   turns 2-{TURNS} {rest:6.2f} s")

        print()
        for name in variants:
            print(f"{name:{width}s} whole run    {stats(total[name])}")
        for name in variants:
            print(f"{name:{width}s} turns 2-{TURNS}  {stats(follow[name])}")
        per_turn = {name: statistics.median(follow[name]) / (TURNS - 1) for name in variants}
        print("per follow-up turn (median): " + ", ".join(
            f"{name} {ms:.1f} ms ({ms - per_turn['raw']:+.1f})" for name, ms in per_turn.items()))
        ratio = statistics.median(total["manager"]) / statistics.median(total["raw"])
        ratio_follow = statistics.median(follow["manager"]) / statistics.median(follow["raw"])
        paired = statistics.median(m / r for m, r in zip(total["manager"], total["raw"], strict=True))
        print(f"ratio manager/raw, whole run   {ratio:.3f}  (target <= {TARGET:.2f}: {verdict(ratio <= TARGET)})")
        print(f"ratio manager/raw, turns 2-{TURNS} {ratio_follow:.3f}")
        print(f"median of per-round ratios (whole run, robust to machine drift) {paired:.3f}")
        n_turns = RUNS * TURNS
        print(f"job-record saves: {len(manager_saves) / n_turns:.1f} per turn, "
              f"median {statistics.median(manager_saves):.2f} ms each, "
              f"{sum(manager_saves) / n_turns:.1f} ms per turn in total")


def _time_saves(services) -> list[float]:
    """Wrap the store's save_job (on this instance only) to time every job-record write."""
    timings: list[float] = []
    save = services.store.save_job

    def timed(record, durable=True):
        t0 = time.perf_counter()
        save(record, durable=durable)
        timings.append((time.perf_counter() - t0) * 1000)

    services.store.save_job = timed
    return timings


if __name__ == "__main__":
    asyncio.run(main("--breakdown" in sys.argv[1:]))
