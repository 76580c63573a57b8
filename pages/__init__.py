"""Routes: each page composes components around the shared services."""

from core.services import Services
from pages import approvals, home, job, project


def register_pages(services: Services) -> None:
    for module in (home, project, job, approvals):
        module.register(services)
