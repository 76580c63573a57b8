"""The JSON API under /api (spec I1, I2): a thin layer over the services the UI uses."""

from core.api.app import create_api

__all__ = ["create_api"]
