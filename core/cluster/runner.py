"""Live sessions in Ray actors (spec O2): RUNNER=ray.

Each live session gets an actor of its own (`core/cluster/agent.py`), named after its job and
detached from this process so that a server restart finds it again (`reclaim`). Ray places it
on a machine with the CPU and memory an agent asks for (RAY_AGENT_CPUS, RAY_AGENT_MEMORY_MB);
while none has room the job is `queued` and says why. The actor gets the job's branch and
conversation (`workspace_sync.outgoing`), starts the CLI there and the session talks to it
through `RayTransport`; nothing above the runner seam knows the difference.

Ray is imported here only, when the runner is first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from core import sdk
from core.claude_home import claude_config_dir
from core.cluster import workspace_sync
from core.cluster.agent import Agent, StartSpec, Sync
from core.cluster.transport import MachineLost, RayTransport, awaited, first_line
from core.errors import UserError
from core.jobs.runner import RunTicket

log = logging.getLogger(__name__)

NAMESPACE = "claude-code-server"
ACTOR_PREFIX = "ccs-job-"
WAIT_REPORT_S = 1.0  # how often an actor not alive yet is looked at
PLACING_S = 10.0  # an actor placed on a machine with room is starting, not waiting, for this long
CONNECT_TIMEOUT_S = 30.0  # ray.init waits minutes for a head that does not answer
START_TIMEOUT_S = 600.0  # a clone and a CLI start, once Ray has placed the actor
RECLAIM_TIMEOUT_S = 30.0


class RayRunner:
    def __init__(self, address: str | None, cpus: float, memory_mb: int, git_at: workspace_sync.GitAt) -> None:
        self.address = address
        self.cpus = cpus
        self.memory_mb = memory_mb
        self.git_at = git_at
        self.actor_class: Any = None
        self._init_lock = threading.Lock()

    # -- the cluster -------------------------------------------------------------------------

    def ensure_connected(self) -> None:
        """Join the cluster as a driver (blocking, once)."""
        with self._init_lock:
            if self.actor_class is not None:
                return
            import ray

            if not ray.is_initialized():
                ray.init(address=self.address or "auto", namespace=NAMESPACE, log_to_driver=False,
                         logging_level=logging.WARNING)
            self.actor_class = ray.remote(_node_agent_class())

    def resources(self) -> dict[str, Any]:
        return {"num_cpus": self.cpus, "memory": self.memory_mb * 1024 * 1024}

    def waiting_reason(self) -> str | None:
        """Why an agent would wait for a machine now, or None: the cluster has room for one."""
        import ray

        free, total = ray.available_resources(), ray.cluster_resources()
        if free.get("CPU", 0) >= self.cpus and free.get("memory", 0) >= self.memory_mb * 2**20:
            return None
        machines = sum(1 for node in ray.nodes() if node.get("Alive"))
        return (f"Waiting for room on the Ray cluster: an agent needs {self.cpus:g} CPU and "
                f"{_size(self.memory_mb)} of memory; {free.get('CPU', 0):g} of {total.get('CPU', 0):g} CPUs and "
                f"{_size(free.get('memory', 0) / 2**20)} of memory are free on {machines} "
                f"machine{'s' if machines != 1 else ''}.")

    def machines(self) -> list[dict[str, Any]]:
        """Every machine the cluster knows (blocking): address, alive, head, CPUs and memory, total and free."""
        import ray
        from ray._private import state  # per-machine free room: not in Ray's public API

        try:
            free = state.available_resources_per_node()
        except Exception:  # an older or newer Ray without it: totals only
            free = {}
        machines = []
        for node in ray.nodes():
            total = node.get("Resources") or {}
            known = node["Alive"] and node["NodeID"] in free  # Ray leaves out what is used up
            left = free.get(node["NodeID"]) or {}
            machines.append({
                "node_id": node["NodeID"], "address": node.get("NodeManagerAddress") or "", "alive": node["Alive"],
                "head": "node:__internal_head__" in total, "cpus": total.get("CPU", 0),
                "cpus_free": left.get("CPU", 0) if known else None,
                "memory_mb": round(total.get("memory", 0) / 2**20),
                "memory_free_mb": round(left.get("memory", 0) / 2**20) if known else None})
        return sorted(machines, key=lambda m: (not m["alive"], not m["head"], m["address"]))

    # -- the runner seam (core/jobs/runner.py) ------------------------------------------------

    def connect(self, options: sdk.ClaudeAgentOptions,
                ticket: RunTicket | None = None) -> contextlib.AbstractAsyncContextManager[sdk.ClaudeSDKClient]:
        if ticket is None:
            raise UserError("A job on the Ray cluster needs its own branch (an isolated job).")
        return self._session(options, ticket)

    async def joined(self) -> None:
        """The cluster joined, or a UserError that says which address did not answer."""
        where = self.address or "RAY_ADDRESS"
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.to_thread(self.ensure_connected)), CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise UserError(f"The Ray cluster at {where} did not answer within {CONNECT_TIMEOUT_S:.0f} seconds. "
                            "Check that its head is running and reachable from this server, and that this machine "
                            "is a node of it (ray start --address=... --num-cpus=0; see docs/scale-out.md).") from None
        except Exception as exc:
            raise UserError(f"The Ray cluster at {where} could not be joined: {first_line(exc)}") from exc

    @asynccontextmanager
    async def _session(self, options: sdk.ClaudeAgentOptions, ticket: RunTicket) -> AsyncIterator[Any]:
        await self.joined()
        cwd = str(options.cwd)
        branch, bundle, session_text, config = await asyncio.to_thread(
            workspace_sync.outgoing, self.git_at, cwd, ticket.job_name, options.resume)
        spec = StartSpec(job_id=ticket.job_id, job_name=ticket.job_name, options=_portable(options), branch=branch,
                         bundle=bundle, server_cwd=cwd, server_config=str(claude_config_dir()),
                         session_id=options.resume, session_text=session_text, config_files=config)
        actor = await self._place(ticket)
        try:
            info = await asyncio.wait_for(awaited(actor.start.remote(spec)), START_TIMEOUT_S)
            where = _describe(info)
            ticket.report(None, where)
            transport = RayTransport(actor, self.git_at, cwd, options.stderr, ticket.warn, where)
            client = sdk.ClaudeSDKClient(options, transport=transport)
            await client.connect()
        except BaseException as exc:
            await _kill(actor)
            if isinstance(exc, Exception) and not isinstance(exc, UserError):
                raise UserError(f"The job could not start on the Ray cluster: {first_line(exc)}") from exc
            raise
        try:
            yield client
        finally:
            await client.disconnect()  # the transport's close() brings the last work back and ends the actor

    async def _place(self, ticket: RunTicket) -> Any:
        """A new actor for the job, alive on some machine; meanwhile the job says what it waits for."""
        import ray

        name = ACTOR_PREFIX + ticket.job_id
        with contextlib.suppress(ValueError):  # one left from an earlier session of the job
            await _kill(ray.get_actor(name, namespace=NAMESPACE))
        had_room = await asyncio.to_thread(self.waiting_reason) is None
        actor = self.actor_class.options(name=name, namespace=NAMESPACE, lifetime="detached", max_restarts=0,
                                         max_concurrency=64, **self.resources()).remote(ticket.job_id)
        alive = asyncio.ensure_future(awaited(actor.state.remote()))
        began = time.monotonic()
        try:
            while True:
                done, _ = await asyncio.wait({alive}, timeout=WAIT_REPORT_S)
                if done:
                    alive.result()
                    return actor
                # Placed actors take a moment to start a worker: only a cluster without room (when the actor was
                # made, or still after a while) is a reason to call the job queued.
                if not had_room or time.monotonic() - began > PLACING_S:
                    reason = await asyncio.to_thread(self.waiting_reason)
                    if reason:
                        ticket.report(reason, None)
        except BaseException:
            alive.cancel()
            await _kill(actor)
            raise

    def alive(self, client: sdk.ClaudeSDKClient) -> bool:
        transport = getattr(client, "_transport", None)
        return isinstance(transport, RayTransport) and transport.ready

    def expect(self, options: sdk.ClaudeAgentOptions) -> None:
        return None  # a job's actor needs its branch: nothing can be readied ahead

    def spare(self, directory: str | None = None) -> int:
        return 0

    def release_spare(self, directory: str | None = None) -> bool:
        return False

    async def close(self) -> None:
        return None  # sessions end their actors; a server stopping leaves none behind

    # -- a server restart --------------------------------------------------------------------

    async def reclaim(self, cwd_of: Callable[[str], str | None],
                      report: Callable[[str, dict[str, Any], str | None], None]) -> None:
        """Actors still alive from before a restart: bring back what their jobs did, then end them.
        `cwd_of(job_id)`: the job's worktree here (None: not a job of this server's, left alone);
        `report(job_id, state, problem)` tells the job (state: where it ran, its session id)."""
        await self.joined()
        import ray

        names = [entry["name"] for entry in await asyncio.to_thread(ray.util.list_named_actors, True)
                 if entry.get("namespace") == NAMESPACE and entry["name"].startswith(ACTOR_PREFIX)]
        for name in names:
            job_id = name[len(ACTOR_PREFIX):]
            cwd = cwd_of(job_id)
            if cwd is None:
                continue  # not one of ours: another server may share the cluster
            with contextlib.suppress(ValueError):
                actor = ray.get_actor(name, namespace=NAMESPACE)
                await self._reclaim_one(actor, job_id, cwd, report)

    async def _reclaim_one(self, actor: Any, job_id: str, cwd: str,
                           report: Callable[[str, dict[str, Any], str | None], None]) -> None:
        try:
            state = await asyncio.wait_for(awaited(actor.state.remote()), RECLAIM_TIMEOUT_S)
            final: Sync | None = await asyncio.wait_for(awaited(actor.stop.remote()), RECLAIM_TIMEOUT_S)
        except Exception as exc:
            log.warning("the actor of job %s could not be reclaimed: %s", job_id, exc)
            await _kill(actor)
            return
        await _kill(actor)
        problem = await asyncio.to_thread(workspace_sync.apply, self.git_at, cwd, final) if final else None
        report(job_id, {**state, "where": _describe(state)}, problem)


def _node_agent_class() -> type:
    """The agent, with what only Ray knows about the machine it runs on."""

    class NodeAgent(Agent):
        def state(self) -> dict[str, Any]:
            import ray

            return {**super().state(), "address": ray.util.get_node_ip_address(),
                    "node_id": ray.get_runtime_context().get_node_id()}

        async def start(self, spec: StartSpec) -> dict[str, str]:
            await super().start(spec)
            return self.state()

    return NodeAgent


def _portable(options: sdk.ClaudeAgentOptions) -> sdk.ClaudeAgentOptions:
    """The options without what cannot leave this process: callbacks and in-process MCP servers stay here,
    and the CLI is told to ask this side about permissions, as the SDK tells a local one."""
    servers = options.mcp_servers
    if isinstance(servers, dict):
        servers = {name: ({"type": "sdk", "name": name} if config.get("type") == "sdk" else config)
                   for name, config in servers.items()}
    return dataclasses.replace(
        options, can_use_tool=None, hooks=None, stderr=None, mcp_servers=servers, debug_stderr=None, session_store=None,
        permission_prompt_tool_name="stdio" if options.can_use_tool else options.permission_prompt_tool_name)


def _describe(info: dict[str, Any]) -> str:
    node = str(info.get("node_id") or "")[:8]
    return f"{info.get('address') or info.get('host')}" + (f" (Ray node {node})" if node else "")


def _size(megabytes: float) -> str:
    return f"{megabytes / 1024:.1f} GB" if megabytes >= 1024 else f"{megabytes:.0f} MB"


async def _kill(actor: Any) -> None:
    import ray

    with contextlib.suppress(Exception):
        await asyncio.to_thread(ray.kill, actor, no_restart=True)


__all__ = ["MachineLost", "RayRunner"]
