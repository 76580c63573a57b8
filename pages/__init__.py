"""Routes: each page composes components around the shared services."""

from core.services import Services
from pages import home, job


def register_pages(services: Services) -> None:
    home.register(services)
    job.register(services)
