"""The installable app's shell is the only thing served without a login (spec M1, J1): the manifest, the
service worker, its offline page and the two icons, at the app's root (under a prefix too); every other
path next to them, and the push API, still wants a login; the service worker's own answer to an approval,
a same-origin POST with the session cookie, passes the Origin check."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from core.security.auth import Authenticator
from core.security.gate import APP_SHELL_PATHS, PUBLIC_PATHS, SecurityGate
from core.security.hosts import HostPolicy
from core.settings import Settings

TOKEN = "a-configured-token-0123456789"


async def test_only_the_app_shell_is_public_and_the_workers_cookie_post_passes(tmp_path):
    async def ok(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    assert {"/login", "/logout", *APP_SHELL_PATHS} == PUBLIC_PATHS
    assert set(APP_SHELL_PATHS) == {"/manifest.webmanifest", "/sw.js", "/offline.html", "/icons/icon-192.png",
                                    "/icons/icon-512.png"}
    auth = Authenticator.from_settings(Settings(projects_root=tmp_path, auth_token=TOKEN), state_dir=tmp_path / "s")
    app = SecurityGate(Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])]), HostPolicy(), auth)
    for root in ("", "/claude"):
        transport = httpx.ASGITransport(app=app, root_path=root)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            for path in APP_SHELL_PATHS:
                assert (await client.get(root + path)).status_code == 200, path
            json_only = {"Accept": "application/json"}
            for path in ("/sw.js/x", "/icons/icon-1.png", "/icons/", "/offline.htm", "/manifest.json",
                         "/api/push/key", "/settings/notifications"):
                assert (await client.get(root + path, headers=json_only)).status_code == 401, path
            assert (await client.post(root + "/api/push/subscriptions", json={})).status_code == 401
            cookie = {"Cookie": f"{auth.cookie_name}={auth.new_session('owner')}"}
            answer = await client.post(root + "/api/approvals/1", json={"behavior": "allow"},
                                       headers={**cookie, "Origin": "http://localhost"})
            assert answer.status_code == 200, "a same-origin worker's fetch"
            elsewhere = await client.post(root + "/api/approvals/1", json={"behavior": "allow"},
                                          headers={**cookie, "Origin": "http://evil.example"})
            assert elsewhere.status_code == 403
