"""/api/cluster: where agents run (spec O2): the runner in use and, on a Ray cluster, its machines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from core.api.deps import ServicesDep
from core.cluster.status import cluster_status

router = APIRouter(prefix="/cluster", tags=["cluster"])


@router.get("")
async def cluster(services: ServicesDep) -> dict[str, Any]:
    """`runner` ("local" or "ray"), the cluster's `address` and what each agent asks for (`agent_cpus`,
    `agent_memory_mb`); with RUNNER=ray, `machines`: each machine's `node_id`, `address`, `alive`, `head`, `cpus`
    and `cpus_free`, `memory_mb` and `memory_free_mb`, and the live `jobs` whose Claude Code runs there. A cluster
    that does not answer is a 400 that says so."""
    return await cluster_status(services.jobs)
