"""Claude Code Server: `python main.py` starts the UI and the API on one port.

Other programs can embed both into their own FastAPI app with `mount()`.
"""

from __future__ import annotations

import logging
import secrets
import sys
from typing import Any

from fastapi import FastAPI
from nicegui import app, ui
from starlette.routing import Mount

from core.api import create_api
from core.services import Services
from core.settings import LOOPBACK_HOSTS, Settings, SettingsError, load_settings
from pages import register_pages

API_PATH = "/api"
_mounted = False


def create_services(settings: Settings) -> Services:
    """Build the services and attach the pages and the API to NiceGUI's app (wherever it ends up mounted)."""
    services = Services.create(settings)
    register_pages(services)
    # NiceGUI's user fixture runs main.py once per test and its reset keeps mounts: replace an older API.
    app.routes[:] = [r for r in app.routes if not (isinstance(r, Mount) and r.path == API_PATH)]
    app.mount(API_PATH, create_api(services))
    app.on_startup(services.start)
    app.on_shutdown(services.shutdown)
    return services


def _ui_options(settings: Settings) -> dict[str, Any]:
    return {"title": "Claude Code Server", "dark": True, "favicon": "🤖",
            "storage_secret": settings.storage_secret or secrets.token_hex(32)}


def mount(fastapi_app: FastAPI, mount_path: str = "/claude", settings: Settings | None = None) -> Services:
    """Embed the whole server (UI and API) into an existing FastAPI app under `mount_path` (spec A4).

    The UI answers at `<mount_path>/`, the API at `<mount_path>/api` (its docs at
    `<mount_path>/api/docs`); NiceGUI's links, navigation, static files and websocket
    follow the prefix. The services start and stop with `fastapi_app`'s lifespan, so
    run it with an ASGI server that runs lifespans (uvicorn does). `settings`
    default to the environment and `.env`, as for `python main.py`.

    Call it once per process (NiceGUI can be mounted only once), before the app
    starts serving. Returns the services, for the host's own routes to use.
    Until authentication exists, serve the host app on a loopback address only.
    """
    global _mounted
    if _mounted:
        raise RuntimeError("Claude Code Server is already mounted in this process; NiceGUI can be mounted once.")
    prefix = "/" + mount_path.strip("/")
    settings = settings or load_settings([])
    services = create_services(settings)
    ui.run_with(fastapi_app, mount_path=prefix, **_ui_options(settings))
    _mounted = True
    return services


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv)
    except SettingsError as exc:
        sys.exit(f"Configuration error: {exc}")
    if settings.host not in LOOPBACK_HOSTS:
        # Until authentication exists, anyone reaching the port would own this machine.
        sys.exit(f"Refusing to listen on {settings.host}: only loopback addresses are allowed "
                 "until authentication is configured.")
    create_services(settings)
    print(f"Claude Code Server: http://{settings.host}:{settings.port}", flush=True)
    ui.run(host=settings.host, port=settings.port, reload=False, show=False, **_ui_options(settings))


if __name__ in {"__main__", "__mp_main__"}:
    main()
