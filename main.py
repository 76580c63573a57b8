"""Claude Code Server: `python main.py` starts the UI and the API on one port.

Other programs can embed both into their own FastAPI app with `mount()`.
"""

from __future__ import annotations

import logging
import secrets
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from nicegui import app, ui
from nicegui.server import Server
from starlette.routing import Mount

from core.api import create_api
from core.auth import Authenticator
from core.security_gate import SecurityGate
from core.security_hosts import HostPolicy
from core.security_limits import BodyLimits
from core.security_redact import RedactMiddleware, Redactor, install_log_redaction
from core.services import Services
from core.settings import Settings, SettingsError, load_settings, scrub_environment
from pages import layout, register_pages

API_PATH = "/api"
_mounted = False
log = logging.getLogger("main")
_ERROR_PAGE = ("<!doctype html><title>Server error</title><body style='font-family:sans-serif;padding:4rem'>"
               "<h1>500</h1><p>Server error; the details are in the server log.</p>")


def create_services(settings: Settings) -> Services:
    """Build the services and attach the pages and the API to NiceGUI's app (wherever it ends up mounted)."""
    services = Services.create(settings)
    services.terminals.max_terminals = settings.max_terminals
    register_pages(services)
    # NiceGUI's user fixture runs main.py once per test and its reset keeps mounts: replace an older API.
    app.routes[:] = [r for r in app.routes if not (isinstance(r, Mount) and r.path == API_PATH)]
    app.mount(API_PATH, create_api(services))
    app.on_startup(services.start)
    app.on_shutdown(services.shutdown)
    return services


@dataclass
class Security:
    auth: Authenticator
    policy: HostPolicy
    redactor: Redactor


def secure(settings: Settings, prefix: str = "") -> Security:
    """Put the security gate, the body limits and the secret masking in front of everything (spec J1, J2, J5)."""
    auth = Authenticator.from_settings(settings)
    redactor = Redactor([settings.anthropic_api_key, settings.claude_code_oauth_token, auth.token,
                         settings.password_hash, settings.storage_secret])
    install_log_redaction(redactor)
    # Inside NiceGUI's gzip layer (added later, so further out): masking needs the uncompressed bytes.
    app.add_middleware(RedactMiddleware, redactor=redactor)
    # The gate must come before everything, NiceGUI's own middleware included (which creates a
    # per-browser storage for any request): wrap the stack Starlette builds at the first request.
    policy = HostPolicy.from_settings(settings)
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityGate(BodyLimits(build_stack()), policy=policy, auth=auth)
    app.add_exception_handler(Exception, _server_error)
    if auth.enabled:
        _add_logout_link(prefix)
    return Security(auth, policy, redactor)


def _add_logout_link(prefix: str) -> None:
    # Every page's header shows a Log out button from now on (the prefix: NiceGUI does not add it to hrefs).
    layout.LOGOUT_URL = f"{prefix}/logout"


def _guard_embedding(settings: Settings, security: Security, prefix: str) -> None:
    """mount() cannot know where the host app listens until it starts: beyond loopback, require a login."""
    config = getattr(getattr(Server, "instance", None), "config", None)
    host = str(getattr(config, "host", "") or "")
    auth = security.auth
    if auth.enabled or not host or Settings(host=host).is_loopback:
        return
    auth.turn_on()
    security.policy.widen_for_exposure()
    security.redactor.add(auth.token)
    _add_logout_link(prefix)
    port = getattr(config, "port", settings.port)
    print(f"Claude Code Server is served on {host}, beyond loopback: a login is required. Log in at "
          + " or ".join(auth.login_urls(host, port, prefix)), flush=True)


async def _server_error(request: Request, exception: Exception) -> Response:
    """NiceGUI's own error page shows the exception's text, which may hold paths or secrets: not here."""
    if not request.scope.get("nicegui_page_path"):
        raise exception  # Starlette answers a bare "Internal Server Error"
    log.error("page %s failed", request.url.path[:200], exc_info=exception)
    return HTMLResponse(_ERROR_PAGE, status_code=500)


def _ui_options(settings: Settings) -> dict[str, Any]:
    # tailwind=False: the utilities come prebuilt (pages/static/tailwind.css), not compiled in each browser.
    return {"title": "Claude Code Server", "dark": True, "favicon": "🤖", "tailwind": False,
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

    Security (docs/security.md) covers everything under the prefix: set HOST to the
    address the host app listens on (beyond loopback, a login is required), or
    AUTH_TOKEN / CCS_PASSWORD / REQUIRE_AUTH; a generated token's login URL is printed.
    """
    global _mounted
    if _mounted:
        raise RuntimeError("Claude Code Server is already mounted in this process; NiceGUI can be mounted once.")
    prefix = "/" + mount_path.strip("/")
    settings = settings or load_settings([])
    scrub_environment()
    services = create_services(settings)
    security = secure(settings, prefix)
    if security.auth.generated:
        urls = security.auth.login_urls(settings.host, settings.port, prefix)
        print("Claude Code Server: log in at " + " or ".join(urls), flush=True)
    app.on_startup(lambda: _guard_embedding(settings, security, prefix))
    ui.run_with(fastapi_app, mount_path=prefix, **_ui_options(settings))
    _mounted = True
    return services


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv)
    except SettingsError as exc:
        sys.exit(f"Configuration error: {exc}")
    scrub_environment()
    create_services(settings)
    _announce(settings, secure(settings, settings.root_path).auth)
    # root_path: a reverse proxy strips the prefix; uvicorn puts it back into each request's scope.
    ui.run(host=settings.host, port=settings.port, reload=False, show=False, root_path=settings.root_path,
           **_ui_options(settings))


def _announce(settings: Settings, auth: Authenticator) -> None:
    """Where to open the UI; with a generated token, the login URL that carries it (as Jupyter does)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"Claude Code Server: http://{host}:{settings.port}", flush=True)
    urls = auth.login_urls(settings.host, settings.port, settings.root_path)
    if settings.root_path:  # only the proxy knows the public address
        print(f"Served under {settings.root_path}/ (ROOT_PATH): open it through the reverse proxy.", flush=True)
        login = urlsplit(urls[0])
        urls = [f"<the proxy's address>{login.path}" + (f"?{login.query}" if login.query else "")]
    if auth.generated:
        print("No AUTH_TOKEN or CCS_PASSWORD is set, so this run has a token of its own. Log in at:", flush=True)
        for url in urls:
            print(f"    {url}", flush=True)
    elif auth.enabled:
        print(f"Log in at {urls[0]} with the configured token or password.", flush=True)


if __name__ in {"__main__", "__mp_main__"}:
    main()
