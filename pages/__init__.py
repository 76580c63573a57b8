"""Routes: each page composes components around the shared services."""

from core.services import Services
from pages import approvals, home, import_sessions, job, login, project


def register_pages(services: Services) -> None:
    for module in (home, project, job, approvals, import_sessions, login):
        module.register(services)
