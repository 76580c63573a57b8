"""Claude Code Server: `python main.py` starts the UI and the API on one port."""

from __future__ import annotations

import logging
import secrets
import sys

from nicegui import app, ui

from core.services import Services
from core.settings import LOOPBACK_HOSTS, Settings, SettingsError, load_settings
from pages import register_pages


def create_services(settings: Settings) -> Services:
    services = Services.create(settings)
    register_pages(services)
    app.on_startup(services.start)
    app.on_shutdown(services.shutdown)
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
    ui.run(host=settings.host, port=settings.port, reload=False, show=False, title="Claude Code Server",
           dark=True, storage_secret=settings.storage_secret or secrets.token_hex(32),
           favicon="🤖")


if __name__ in {"__main__", "__mp_main__"}:
    main()
