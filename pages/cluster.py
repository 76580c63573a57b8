"""`/cluster`: where agents run (spec O2)."""

from __future__ import annotations

from nicegui import ui

from components.cluster.machines import ClusterMachines
from core.services import Services
from pages.layout import frame


def register(services: Services) -> None:
    @ui.page("/cluster")
    def cluster_page() -> None:
        with frame(services, title="Cluster"):
            ui.label("Machines").classes("text-h5")
            ClusterMachines(services)
