"""The layers every app the server serves sits behind, in one place (spec J1, J2, J5, J6).

Outermost first: the response headers (so refusals carry them too), the gate (Host,
Origin, login), the body limits. `python main.py`, `mount()`, the API tests and the
API bench all serve through this, so what is tested is what runs.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from core.security.auth import Authenticator
from core.security.gate import SecurityGate
from core.security.headers import SecurityHeaders
from core.security.hosts import HostPolicy
from core.security.limits import BodyLimits
from core.settings import Settings


def secured(app: ASGIApp, settings: Settings, auth: Authenticator, policy: HostPolicy | None = None) -> ASGIApp:
    gate = SecurityGate(BodyLimits(app), policy=policy or HostPolicy.from_settings(settings), auth=auth)
    return SecurityHeaders(gate, cookie_secure=settings.cookie_secure)
