"""MCP servers (spec N4): a project's own, kept in its `.mcp.json`, and each job's, on or off, with what its
running CLI says of them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Body, Path

from core.api.deps import ServicesDep
from core.api.project_scope import ProjectDep
from core.api.schemas import JobOut
from core.workspace.mcp_config import McpConfig

router = APIRouter(tags=["mcp"])
_NAME = Path(..., description="The server's name: letters, digits, '-' and '_'.")
_CONFIG = Body(..., examples=[{"type": "stdio", "command": "npx", "args": ["-y", "some-mcp-server"]}])
_ENABLED = Body(..., embed=True)


@router.get("/projects/{project_id}/mcp")
async def project_mcp(project: ProjectDep, services: ServicesDep) -> dict[str, Any]:
    """The project's servers as its `.mcp.json` has them (`servers`, valid ones only), and `problems` with the
    line and the reason for anything wrong in the file (`malformed`: it cannot be changed until fixed)."""
    return asdict(McpConfig(services.projects.directory(project.id)).read())


@router.put("/projects/{project_id}/mcp/{name}")
async def put_project_mcp(project: ProjectDep, services: ServicesDep, name: str = _NAME,
                          config: dict[str, Any] = _CONFIG) -> dict[str, Any]:
    """Add or replace a server: `{"type": "stdio", "command", "args"?, "env"?}` or `{"type": "http" | "sse",
    "url", "headers"?}`. Jobs started after this run it; 400 says what is wrong, 409 when the file must be fixed
    by hand first."""
    return McpConfig(services.projects.directory(project.id)).put(name, config)


@router.delete("/projects/{project_id}/mcp/{name}")
async def delete_project_mcp(project: ProjectDep, services: ServicesDep, name: str = _NAME) -> dict[str, str]:
    McpConfig(services.projects.directory(project.id)).remove(name)
    return {"removed": name}


@router.get("/jobs/{job_id}/mcp")
async def job_mcp(job_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    """The job's MCP servers: `name`, `project` (one of the project's), `enabled` (for this job), `status` (as the
    running CLI says: connected, failed, pending, disabled; or not running), `error`, `tools`, `config`."""
    return await services.jobs.inspect.mcp(job_id)


@router.post("/jobs/{job_id}/mcp/{name}", response_model=JobOut)
async def toggle_job_mcp(job_id: str, services: ServicesDep, name: str = _NAME,
                         enabled: bool = _ENABLED) -> JobOut:
    """Turn one of the project's servers on or off for this job: at once in its running CLI, and for later ones."""
    return JobOut.of(await services.jobs.inspect.set_mcp_enabled(job_id, name, enabled))
