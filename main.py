"""Claude Code Server: `python main.py` starts the UI and the API on one port.

Other programs can embed both into their own FastAPI app with `mount()`.
"""

from __future__ import annotations

if __name__ == "__main__":  # first of all, before the heavy imports: secrets leave the start environment
    from core.security.handoff import exec_without_secrets

    exec_without_secrets(__file__)

import gc
import getpass
import logging
import secrets
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, Response
from nicegui import app, ui
from nicegui.server import Server
from starlette.routing import Mount

from core.api import create_api
from core.security.auth import Authenticator
from core.security.hosts import HostPolicy
from core.security.redact import RedactMiddleware, Redactor, install_log_redaction
from core.security.stack import secured
from core.services import Services
from core.settings import Settings, SettingsError, load_settings, scrub_environment
from pages import layout, register_pages

API_PATH = "/api"
GZIP_LEVEL = 4
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


def secure(settings: Settings, services: Services, prefix: str = "") -> Security:
    """Put the security gate, the body limits, the response headers and the secret masking in front of
    everything (spec J1, J2, J5, J6)."""
    auth = Authenticator.from_settings(settings)
    redactor = services.redactor
    redactor.add(*auth.secrets())
    install_log_redaction(redactor)
    # Inside NiceGUI's gzip layer (added later, so further out): masking needs the uncompressed bytes.
    app.add_middleware(RedactMiddleware, redactor=redactor)
    # The gate must come before everything, NiceGUI's own middleware included (which creates a
    # per-browser storage for any request): wrap the stack Starlette builds at the first request.
    policy = HostPolicy.from_settings(settings)
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: secured(build_stack(), settings, auth, policy)
    app.add_exception_handler(Exception, _server_error)
    _show_login_state(auth, prefix)
    return Security(auth, policy, redactor)


def _show_login_state(auth: Authenticator, prefix: str) -> None:
    # Every page's header shows a Log out button (the prefix: NiceGUI does not add it to hrefs), or, with
    # --no-auth, a warning that anyone on this machine can use the server.
    layout.LOGOUT_URL = f"{prefix}/logout" if auth.enabled else None
    layout.NO_LOGIN_WARNING = not auth.enabled


def _on_embedded_start(settings: Settings, security: Security, prefix: str) -> None:
    """mount() learns where the host app listens only when it starts: beyond loopback the LAN's names are this
    server's too, and NO_AUTH does not hold; then the login URL, with the real address."""
    config = getattr(getattr(Server, "instance", None), "config", None)
    host = str(getattr(config, "host", "") or settings.host)
    port = getattr(config, "port", None) or settings.port
    auth = security.auth
    if not Settings(host=host).is_loopback:
        security.policy.widen_for_exposure()
        if not auth.enabled:
            auth.turn_on()
            security.redactor.add(*auth.secrets())
            _show_login_state(auth, prefix)
            print(f"Claude Code Server is served on {host}, beyond loopback: NO_AUTH does not hold there, a login "
                  "is required.", flush=True)
    if auth.own_token:
        print("Claude Code Server: log in at " + " or ".join(auth.login_urls(host, port, prefix)), flush=True)


async def _server_error(request: Request, exception: Exception) -> Response:
    """NiceGUI's own error page shows the exception's text, which may hold paths or secrets: not here."""
    if not request.scope.get("nicegui_page_path"):
        raise exception  # Starlette answers a bare "Internal Server Error"
    log.error("page %s failed", request.url.path[:200], exc_info=exception)
    return HTMLResponse(_ERROR_PAGE, status_code=500)


def _ui_options(settings: Settings) -> dict[str, Any]:
    # tailwind=False: the utilities come prebuilt (pages/static/tailwind.css), not compiled in each browser.
    return {"title": "Claude Code Server", "dark": True, "favicon": "🤖", "tailwind": False,
            "storage_secret": settings.storage_secret or secrets.token_hex(32),
            "gzip_middleware_factory": _gzip}


def _gzip(asgi_app: Any) -> GZipMiddleware:
    # Level 4, not Starlette's 9: a 0.7 MB transcript compresses in 9 ms instead of 35, 6% larger (issue 13).
    return GZipMiddleware(asgi_app, minimum_size=500, compresslevel=GZIP_LEVEL)


def mount(fastapi_app: FastAPI, mount_path: str = "/claude", settings: Settings | None = None) -> Services:
    """Embed the whole server (UI and API) into an existing FastAPI app under `mount_path` (spec A4).

    The UI answers at `<mount_path>/`, the API at `<mount_path>/api` (its docs at
    `<mount_path>/api/docs`); NiceGUI's links, navigation, static files and websocket
    follow the prefix. The services start and stop with `fastapi_app`'s lifespan, so
    run it with an ASGI server that runs lifespans (uvicorn does). `settings`
    default to the environment and `.env`, as for `python main.py`.

    Call it once per process (NiceGUI can be mounted only once), before the app
    starts serving. Returns the services, for the host's own routes to use.

    Security (docs/security.md) covers everything under the prefix: a login is
    required (AUTH_TOKEN, CCS_PASSWORD, or the server's own token, whose login URL
    is printed); NO_AUTH turns it off unless the host app listens beyond loopback.
    The host's own start environment keeps whatever secrets it was given.
    """
    global _mounted
    if _mounted:
        raise RuntimeError("Claude Code Server is already mounted in this process; NiceGUI can be mounted once.")
    prefix = "/" + mount_path.strip("/")
    settings = settings or load_settings([])
    scrub_environment()
    services = create_services(settings)
    # What start-up built (the imported packages, thousands of job records) lives as long as the process: out
    # of the collector's sight, a full collection no longer walks it (each took some 60 ms with 10,000 jobs).
    gc.freeze()
    security = secure(settings, services, prefix)
    app.on_startup(lambda: _on_embedded_start(settings, security, prefix))
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
    services = create_services(settings)
    # What start-up built (the imported packages, thousands of job records) lives as long as the process: out
    # of the collector's sight, a full collection no longer walks it (each took some 60 ms with 10,000 jobs).
    gc.freeze()
    try:
        auth = secure(settings, services, settings.root_path).auth
    except ValueError as exc:  # an unreadable credentials file
        sys.exit(f"Configuration error: {exc}")
    _announce(settings, auth)
    # root_path: a reverse proxy strips the prefix; uvicorn puts it back into each request's scope.
    # X-Forwarded-For/-Proto are believed only from the proxies the operator named (uvicorn's default
    # would believe any local process, which could then claim any address to the login rate limit).
    proxies = settings.forwarded_allow_ips
    ui.run(host=settings.host, port=settings.port, reload=False, show=False, root_path=settings.root_path,
           proxy_headers=bool(proxies), forwarded_allow_ips=",".join(proxies) or None, **_ui_options(settings))


def cli() -> None:
    """The `claude-code-server` command (pyproject's console script): `python main.py`, installed."""
    from core.security.handoff import exec_without_secrets

    # The program started is the script that imported this function (argv[0]); re-exec'ing sys.orig_argv runs it
    # again. Anyone else calling cli() keeps their process and its environment, as with main.py's own guard.
    if getattr(sys.modules.get("__main__"), "cli", None) is cli:
        exec_without_secrets(sys.argv[0])
    main()


def _announce(settings: Settings, auth: Authenticator) -> None:
    """Where to log in; with the server's own token, the URL that carries it (as Jupyter does)."""
    urls = auth.login_urls(settings.host, settings.port, settings.root_path)
    if settings.root_path:  # only the proxy knows the public address
        print(f"Served under {settings.root_path}/ (ROOT_PATH): open it through the reverse proxy.", flush=True)
        login = urlsplit(urls[0])
        urls = [f"<the proxy's address>{login.path}" + (f"?{login.query}" if login.query else "")]
    if not auth.enabled:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        print(f"WARNING: --no-auth: no login. Anyone with an account on this machine can use this server, and "
              f"through it run commands as {_user_name()}.\nClaude Code Server: "
              f"http://{host}:{settings.port}{settings.root_path}/", file=sys.stderr, flush=True)
    elif auth.own_token:
        print("Claude Code Server is running. To log in, open this URL (the token in it is kept in "
              "PROJECTS_ROOT/.server/credentials.json; --new-token replaces it):", flush=True)
        for url in urls:
            print(f"    {url}", flush=True)
    else:
        print(f"Claude Code Server is running. Log in at {urls[0]} with the configured token or password.",
              flush=True)


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "this server's user"


if __name__ in {"__main__", "__mp_main__"}:
    main()
