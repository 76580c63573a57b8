"""The one door every request passes (spec J1, J2): pages, the API, NiceGUI's socket, uploads, streams.

An ASGI middleware on the whole app, outside every route, so nothing added
later can forget it. In order: the Host must be a known name (DNS rebinding);
an Origin, when the browser sends one, must be this server (cross-site
websocket hijacking, cross-site forms); then, with authentication on, a valid
session cookie or a bearer token, except for /login, /logout and the app shell's static files.

Every request made with a session cookie ends when that session logs out,
whatever it asked for: the receive channel reports a disconnect and a
websocket is closed, so a logout in one tab cuts every socket and stream of
that session (a stream's response notices the disconnect and stops).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote, urlsplit

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.security.auth import Authenticator
from core.security.hosts import HostPolicy

# The installable app's shell (spec M1): what a browser fetches without a session to install the app, keep its
# service worker up to date and say "cannot be reached" when the server is down. Static files, no data.
APP_SHELL_PATHS = ("/manifest.webmanifest", "/sw.js", "/offline.html", "/icons/icon-192.png", "/icons/icon-512.png")
PUBLIC_PATHS = {"/login", "/logout", *APP_SHELL_PATHS}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
AUTH_SCOPE_KEY = "ccs_auth"  # the login page finds the authenticator of the request here
USER_SCOPE_KEY = "ccs_user"  # the account a request was authenticated as
_SINGLE_HEADERS = (b"host", b"origin", b"authorization")


def route_path(scope: Scope) -> str:
    """The path below the mount prefix (`root_path`), as the routes see it."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return (path[len(root):] or "/") if root and path.startswith(root) else path


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _headers(scope: Scope) -> dict[str, str] | None:
    """Headers by lower-case name; None when a header that must be single appears twice."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.lower()
        key = name.decode("latin-1")
        if key in found:
            if name in _SINGLE_HEADERS:
                return None
            if name == b"cookie":  # HTTP/2 proxies may pass one per cookie
                found[key] += "; " + raw_value.decode("latin-1")
            continue
        found[key] = raw_value.decode("latin-1")
    return found


def _origin_of(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "null"
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, credentials = value.strip().partition(" ")
    return credentials.strip() if scheme.lower() in ("bearer", "token") else None


async def refuse(scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """A JSON error, for a websocket as its handshake answer (or a policy-violation close)."""
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store"),
                   *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]
    if scope["type"] == "websocket":
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": status, "headers": raw_headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
        return
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class SecurityGate:
    def __init__(self, app: ASGIApp, policy: HostPolicy, auth: Authenticator) -> None:
        self.app = app
        self.policy = policy
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if headers is None:
            await refuse(scope, send, 400, "A Host, Origin or Authorization header appears twice.")
            return
        host = headers.get("host")
        if not self.policy.host_allowed(host):
            shown = (host or "")[:100]
            await refuse(scope, send, 403, f"This server does not answer to the host name {shown!r}. "
                                           "Its operator can allow it with ALLOWED_HOSTS.")
            return
        origin = headers.get("origin")
        if origin is None and scope["type"] == "http" and scope["method"] in UNSAFE_METHODS \
                and "referer" in headers:
            origin = _origin_of(headers["referer"])  # what old browsers send instead of Origin
        if origin is not None and not self.policy.origin_allowed(origin, host):
            await refuse(scope, send, 403, f"Cross-site request refused: {origin[:100]!r} is not this server. "
                                           "Its operator can allow an origin with ALLOWED_ORIGINS.")
            return
        scope[AUTH_SCOPE_KEY] = self.auth
        if not self.auth.enabled or route_path(scope) in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        session = self.auth.session(cookie_parser(headers.get("cookie", "")).get(self.auth.cookie_name))
        if session is not None:
            scope[USER_SCOPE_KEY] = session.user
            await self._until_revoked(session.sid, scope, receive, send)
            return
        given = _bearer(headers.get("authorization"))
        if given is None:
            await self._challenge(scope, send, headers)
            return
        verdict = await self.auth.check(client_address(scope), given)
        if verdict.throttled:
            seconds = int(verdict.retry_after) + 1
            await refuse(scope, send, 429, f"Too many failed logins; try again in {seconds} s.",
                         {"Retry-After": str(seconds)})
        elif not verdict.ok:
            await refuse(scope, send, 401, "The bearer token is wrong.", {"WWW-Authenticate": "Bearer"})
        else:
            scope[USER_SCOPE_KEY] = verdict.user
            await self.app(scope, receive, send)

    async def _challenge(self, scope: Scope, send: Send, headers: dict[str, str]) -> None:
        """Page requests go to the login page (unless they ask for something else than HTML); the rest get a 401."""
        path = route_path(scope)
        accept = headers.get("accept", "*/*")
        wants_page = scope["type"] == "http" and scope["method"] in ("GET", "HEAD") \
            and ("text/html" in accept or "*/*" in accept) and not path.startswith(("/api/", "/_nicegui"))
        root = scope.get("root_path", "")
        if wants_page:
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope.get("path", "/") + (f"?{query}" if query else "")
            location = f"{quote(root)}/login?next={quote(target, safe='')}"
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0"),
                                    (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await refuse(scope, send, 401, f"Authentication required: log in at {root}/login, "
                                       "or send the header 'Authorization: Bearer <token>'.",
                     {"WWW-Authenticate": 'Bearer realm="Claude Code Server"'})

    async def _until_revoked(self, sid: str, scope: Scope, receive: Receive, send: Send) -> None:
        revoked, unwatch = self.auth.watch(sid)
        closed = False
        disconnect: Message = {"type": "websocket.disconnect", "code": 1008} if scope["type"] == "websocket" \
            else {"type": "http.disconnect"}

        async def guarded_receive() -> Message:
            nonlocal closed
            if revoked.is_set():
                return disconnect
            incoming = asyncio.ensure_future(receive())
            logout = asyncio.ensure_future(revoked.wait())
            try:
                await asyncio.wait({incoming, logout}, return_when=asyncio.FIRST_COMPLETED)
            except BaseException:  # cancelled: leave no receive pending
                incoming.cancel()
                raise
            finally:
                logout.cancel()
            if incoming.done():
                return incoming.result()
            incoming.cancel()
            if scope["type"] == "websocket" and not closed:
                closed = True
                await send({"type": "websocket.close", "code": 1008, "reason": "logged out"})
            return disconnect

        async def guarded_send(message: Message) -> None:
            if not closed:  # after our close the app may still try to write: nothing more goes out
                await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        finally:
            unwatch()
