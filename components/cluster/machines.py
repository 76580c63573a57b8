"""The machines of the Ray cluster, their room and the jobs on each (spec O2), looked at again every few seconds."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from core.cluster.status import cluster_status
from core.errors import UserError
from core.services import Services

REFRESH_S = 5.0


class ClusterMachines:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.summary = ui.label().classes("text-caption ccs-muted").props("data-testid=cluster-summary")
        self.body = ui.column().classes("w-full gap-2")
        self._shown: Any = None
        ui.timer(0.1, self.refresh, once=True)
        ui.timer(REFRESH_S, self.refresh)

    async def refresh(self) -> None:
        try:
            status = await cluster_status(self.services.jobs)
        except UserError as exc:
            status = {"error": str(exc)}
        if status == self._shown:
            return
        self._shown = status
        self.body.clear()
        with self.body:
            if "error" in status:
                ui.label(status["error"]).classes("text-negative").props("data-testid=cluster-error")
                self.summary.set_text("")
                return
            if status["runner"] != "ray":
                self.summary.set_text("")
                ui.label("Agents run on this machine (RUNNER=local). See docs/scale-out.md to spread them over a "
                         "Ray cluster.").props("data-testid=cluster-local")
                return
            alive = [m for m in status["machines"] if m["alive"]]
            self.summary.set_text(
                f"{len(alive)} machine{'s' if len(alive) != 1 else ''} · each agent asks for "
                f"{status['agent_cpus']:g} CPU and {status['agent_memory_mb']} MB")
            for machine in status["machines"]:
                _machine_card(machine)


def _machine_card(machine: dict[str, Any]) -> None:
    with ui.card().classes("w-full q-pa-sm gap-1").props(
            f"flat bordered data-testid=cluster-machine data-address={machine['address']}"):
        with ui.row().classes("w-full items-center no-wrap gap-2"):
            ui.icon("dns" if machine["alive"] else "cloud_off", color=None if machine["alive"] else "negative")
            ui.label(machine["address"]).classes("text-weight-medium")
            ui.label(f"Ray node {machine['node_id'][:8]}").classes("text-caption ccs-muted ellipsis")
            if machine["head"]:
                ui.badge("head", color="grey").props("outline")
            if not machine["alive"]:
                ui.badge("gone", color="negative")
        if machine["alive"]:
            free_cpu = machine["cpus_free"]
            free_memory = machine["memory_free_mb"]
            ui.label(f"CPUs: {_free(free_cpu, machine['cpus'])} · memory: "
                     f"{_free(free_memory, machine['memory_mb'], gigabytes=True)}").classes("text-caption").props(
                "data-testid=cluster-room")
        jobs = machine.get("jobs") or []
        if not jobs:
            ui.label("No job runs here.").classes("text-caption ccs-muted")
        for job in jobs:
            with ui.row().classes("items-center no-wrap gap-1"):
                ui.badge(job["status"]).props("outline")
                ui.link(job["name"], f"/job/{job['id']}").classes("ellipsis").props("data-testid=cluster-job")


def _free(free: float | None, total: float, gigabytes: bool = False) -> str:
    def amount(value: float) -> str:
        return f"{value / 1024:.1f} GB" if gigabytes else f"{value:g}"

    return amount(total) if free is None else f"{amount(free)} free of {amount(total)}"
