"""What a live job's CLI can say about itself, asked on demand: how full its context window is (spec N2) and
which MCP servers it runs (spec N4), with each of the project's servers on or off for the job."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import events
from core.errors import Conflict, NotFound
from core.models import Job
from core.workspace.mcp_config import McpConfig

if TYPE_CHECKING:
    from core.jobs.manager import JobManager


class LiveInspection:
    def __init__(self, jobs: JobManager) -> None:
        self.jobs = jobs

    async def context(self, job_id: str) -> dict[str, Any]:
        """How full a live job's context window is (spec N2): tokens used and available, the share, when the
        CLI compacts by itself, and the biggest parts. Conflict when the job has no connected CLI."""
        self.jobs.get(job_id)
        session = self.jobs.live.get(job_id)
        usage = await session.context_usage() if session and not session.closing else None
        if usage is None:
            raise Conflict("The job has no running Claude Code process; its context is measured while it runs.")
        total, limit = int(usage.get("totalTokens") or 0), int(usage.get("maxTokens") or 0)
        parts = [{"name": str(c.get("name")), "tokens": int(c.get("tokens") or 0)}
                 for c in usage.get("categories") or [] if c.get("name") not in ("Free space", "Autocompact buffer")]
        return {"tokens": total, "max_tokens": limit, "percent": round(100 * total / limit, 1) if limit else 0.0,
                "auto_compact_at": usage.get("autoCompactThreshold") if usage.get("isAutoCompactEnabled") else None,
                "model": usage.get("model"), "parts": sorted(parts, key=lambda p: -p["tokens"])}

    def mcp_servers(self, job: Job, directory: Path) -> dict[str, dict[str, Any]]:
        """The project's MCP servers this job runs (spec N4); a problem with the file is said in the job."""
        found = McpConfig(directory).read()
        if found.problems and job.id in self.jobs.jobs:  # not for the warm pool's stand-in job (spec O1)
            self.jobs.emit(job, events.make(events.WARNING, message="The project's MCP servers: " + " ".join(
                found.problems) + (" None of them is started." if found.malformed else
                                   " The others are started.")))
        return {name: config for name, config in found.servers.items() if name not in job.mcp_disabled}

    async def mcp(self, job_id: str) -> list[dict[str, Any]]:
        """The job's MCP servers (spec N4): the project's, each on or off for this job, with what the running CLI
        says of them (status, error, tools), and any others the CLI runs (from the user's own settings)."""
        job = self.jobs.get(job_id)
        configured = McpConfig(self.jobs.isolation.directory(job)).read().servers
        session = self.jobs.live.get(job_id)
        live = {s.get("name"): s for s in (await session.mcp_status() if session and not session.closing else None)
                or []}
        started = set(session.setup.mcp_servers) if session else set()  # the project's, as the CLI got them
        servers = []
        for name in sorted(set(configured) | set(live)):
            status = live.get(name) or {}
            servers.append({
                "name": name, "project": name in configured or name in started, "enabled": name not in job.mcp_disabled,
                "status": status.get("status") or ("off for this job" if name in job.mcp_disabled else "not running"),
                "error": status.get("error"), "tools": [t.get("name") for t in status.get("tools") or []],
                "config": configured.get(name)})
        return servers

    async def set_mcp_enabled(self, job_id: str, name: str, enabled: bool) -> Job:
        """Turn one of the project's MCP servers on or off for this job, at once in a running CLI."""
        job = self.jobs.get(job_id)
        if name not in McpConfig(self.jobs.isolation.directory(job)).read().servers:
            raise NotFound(f"The project has no MCP server named {name!r}.")
        job.mcp_disabled = [n for n in job.mcp_disabled if n != name] + ([] if enabled else [name])
        self.jobs.save(job)
        session = self.jobs.live.get(job_id)
        if session and not session.closing and session.connected:
            known = {s.get("name") for s in await session.mcp_status() or []}
            if name in known:
                await session.toggle_mcp_server(name, enabled)
            else:  # left out when this CLI started: the next turn's CLI starts with it
                session.needs_reconnect = True
        return job
