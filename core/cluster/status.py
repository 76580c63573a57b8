"""What the Ray cluster looks like to people (spec O2): its machines, their room, and which jobs run where."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.jobs.manager import JobManager


async def cluster_status(jobs: JobManager) -> dict[str, Any]:
    """The runner in use and, for RUNNER=ray, every machine the cluster knows with its CPUs, memory and live jobs."""
    settings = jobs.settings
    status: dict[str, Any] = {"runner": settings.runner, "address": settings.ray_address,
                              "agent_cpus": settings.ray_agent_cpus, "agent_memory_mb": settings.ray_agent_memory_mb,
                              "machines": []}
    runner = jobs.remote_runner
    if runner is None:
        return status
    await runner.joined()  # type: ignore[attr-defined]
    machines = await asyncio.to_thread(runner.machines)  # type: ignore[attr-defined]
    live = [job for job in jobs.jobs.values() if job.id in jobs.live and job.runs_on]
    for machine in machines:
        short = machine["node_id"][:8]
        machine["jobs"] = [{"id": job.id, "name": job.name, "project_id": job.project_id,
                            "status": str(getattr(job.status, "value", job.status))}
                           for job in live if f"Ray node {short})" in (job.runs_on or "")]
    status["machines"] = machines
    return status
