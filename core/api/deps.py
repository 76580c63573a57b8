"""How route functions reach the shared services: the API app keeps them in its state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
