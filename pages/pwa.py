"""The installable app's shell (spec M1): the web manifest, the service worker, its offline page and the icons.

Served from the app's root (a mount prefix or ROOT_PATH included), so the service worker's scope is the
whole app, and without a login (core/security/gate.py `APP_SHELL_PATHS`): a browser fetches them to
install the app and to update the worker, and the offline page is shown when the server is down. The
manifest's URLs are relative to where it is served, so it is the same under any prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.responses import Response
from nicegui import app

from core.services import Services

STATIC = Path(__file__).parent / "static" / "pwa"
NAME = "Claude Code Server"
THEME = "#1d1d1d"
BACKGROUND = "#121212"

MANIFEST = {
    "id": "./",
    "name": NAME,
    "short_name": "Claude Code",
    "description": "Claude Code as a persistent server: jobs, approvals and projects from any browser.",
    "start_url": "./",
    "scope": "./",
    "display": "standalone",
    "background_color": BACKGROUND,
    "theme_color": THEME,
    "icons": [{"src": f"icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
              for size in (192, 512) for purpose in ("any", "maskable")],
}
# The worker is checked for updates at each start of the app: never served from a stale HTTP cache.
_FRESH = {"Cache-Control": "no-cache"}
_registered = False


def _file(name: str, media_type: str, headers: dict[str, str] | None = None) -> Response:
    return Response((STATIC / name).read_bytes(), media_type=media_type, headers=headers or _FRESH)


def register(_: Services) -> None:
    global _registered
    if _registered:  # NiceGUI's user fixture registers the pages once per test; routes stay
        return
    _registered = True

    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> Response:
        return Response(json.dumps(MANIFEST), media_type="application/manifest+json", headers=_FRESH)

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        return _file("sw.js", "text/javascript")

    @app.get("/offline.html", include_in_schema=False)
    def offline() -> Response:
        return _file("offline.html", "text/html; charset=utf-8")

    for size in (192, 512):
        app.add_api_route(f"/icons/icon-{size}.png", _icon(size), methods=["GET"], include_in_schema=False)


def _icon(size: int):
    def icon() -> Response:
        return _file(f"icon-{size}.png", "image/png", {"Cache-Control": "public, max-age=86400"})
    return icon
