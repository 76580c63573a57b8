"""Response headers that keep what the page renders from reaching out (spec J6).

The model's words end up in the page: a markdown image in a reply, written by a
prompt-injected agent, would make the viewer's browser fetch any URL, with what
the agent read in its query string, around every permission prompt. The
Content-Security-Policy lets the page load images, scripts, styles and fonts and
open connections only from this server (images also from `data:` and `blob:`),
post forms only here, embed no plugins and be framed by nobody (also said with
X-Frame-Options for older browsers). Scripts and styles may be inline (NiceGUI's
pages are built that way, and DOMPurify keeps scripts out of rendered content).

Cookies set over https (NiceGUI's own `session` cookie included) get `Secure`,
and the Referer never leaves for another site.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.security.gate import route_path

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",  # NiceGUI compiles Vue templates in the browser
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "media-src 'self' data: blob:",
    "connect-src 'self'",  # the socket and fetches: same origin (ws: and wss: included)
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "object-src 'none'",
    "base-uri 'self'",
])
# The API's Swagger page loads its script, style and icon from their CDN; it renders no model output.
_SWAGGER_CDN = "https://cdn.jsdelivr.net"
SWAGGER_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", f"script-src 'self' {_SWAGGER_CDN}").replace(
    "style-src 'self'", f"style-src 'self' {_SWAGGER_CDN}").replace(
    "img-src 'self'", "img-src 'self' https://fastapi.tiangolo.com")
# same-origin, not no-referrer: under no-referrer browsers send `Origin: null` with the login form's POST,
# which the gate rightly refuses as cross-site. Other sites still learn nothing (no `?token=` in a Referer).
_FIXED = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
          (b"referrer-policy", b"same-origin")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, cookie_secure: bool | None = None) -> None:
        self.app = app
        self.cookie_secure = cookie_secure  # None: Secure when the request came over https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (SWAGGER_POLICY if route_path(scope).rstrip("/") == "/api/docs" else CONTENT_SECURITY_POLICY).encode()
        secure = scope.get("scheme") == "https" if self.cookie_secure is None else self.cookie_secure

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, _secured(value) if secure and name.lower() == b"set-cookie" else value)
                           for name, value in message.get("headers", [])]
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in [(b"content-security-policy", policy), *_FIXED]
                            if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secured(cookie: bytes) -> bytes:
    attributes = {part.strip().lower() for part in cookie.split(b";")[1:]}
    return cookie if b"secure" in attributes else cookie + b"; Secure"
