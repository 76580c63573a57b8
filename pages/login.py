"""`/login` and `/logout` (spec J1): plain HTML, no NiceGUI client.

A NiceGUI page needs its websocket, and the websocket is what the login
protects: so the login form is a server-rendered page with a plain form post,
which also works with scripts off. The authenticator comes with the request
(the security gate puts it there); without a gate there is nothing to log in to.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from nicegui import app

from core.security.auth import Authenticator
from core.security.gate import AUTH_SCOPE_KEY, client_address
from core.services import Services

MAX_FORM_BYTES = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store"}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Claude Code Server</title>
<style>
  body {{ margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
         background: #121212; color: #e0e0e0; font-family: system-ui, -apple-system, sans-serif; }}
  form {{ background: #1e1e1e; padding: 2rem; border-radius: 8px; width: min(22rem, 90vw);
          box-shadow: 0 2px 12px rgba(0,0,0,.5); }}
  h1 {{ font-size: 1.25rem; margin: 0 0 1rem; }}
  label {{ display: block; font-size: .9rem; margin-bottom: .4rem; color: #bdbdbd; }}
  input {{ box-sizing: border-box; width: 100%; padding: .6rem; font-size: 1rem; border-radius: 4px;
           border: 1px solid #555; background: #121212; color: inherit; }}
  button {{ margin-top: 1rem; width: 100%; padding: .6rem; font-size: 1rem; border: 0; border-radius: 4px;
            background: #5898d4; color: white; cursor: pointer; }}
  .error {{ color: #ff8a80; margin: 0 0 1rem; }}
  .hint {{ font-size: .8rem; color: #9e9e9e; margin-top: 1rem; }}
</style></head>
<body><form method="post" action="{action}" data-testid="login-form">
<h1>Claude Code Server</h1>
{error}<label for="password">{label}</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus required
       data-testid="login-password">
<input type="hidden" name="next" value="{next}">
<button type="submit" data-testid="login-submit">Log in</button>
<p class="hint" data-testid="login-hint">{hint}</p>
</form></body></html>
"""
# Where the secret this server accepts comes from: only its own token is printed at start.
_HINT_OWN_TOKEN = ("The token is in the server's start-up output (a login URL ending in ?token=...), "
                   "and in PROJECTS_ROOT/.server/credentials.json.")
_HINT_AUTH_TOKEN = ("Use the token set as AUTH_TOKEN in the server's environment or its .env file "
                    "(it is never printed).")
_HINT_PASSWORD = "Use the password set as CCS_PASSWORD (or CCS_PASSWORD_HASH) for this server."
_HINT_BOTH = ("Use the token set as AUTH_TOKEN, or the password set as CCS_PASSWORD (or CCS_PASSWORD_HASH), "
              "in the server's environment or its .env file.")


def login_hint(auth: Authenticator | None) -> tuple[str, str]:
    """The field's label and the hint under it: which secret works here and where it comes from."""
    owner = auth.owner if auth is not None else None
    if owner is None or auth.own_token:
        return "Password or token", _HINT_OWN_TOKEN
    has_password = bool(owner.password or owner.configured_hash)
    if owner.token and has_password:
        return "Password or token", _HINT_BOTH
    if owner.token:
        return "Token", _HINT_AUTH_TOKEN
    return "Password", _HINT_PASSWORD


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def safe_next(request: Request, target: str | None) -> str:
    """A local path under this server's prefix; anything else (another site, '//host') becomes the home page."""
    root = _root(request)
    home = f"{root}/"
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return home
    if any(ord(c) < 32 or c == "\\" for c in target) or not (target == root or target.startswith(home)):
        return home
    return target


def _page(request: Request, next_url: str, error: str = "", status: int = 200,
          headers: dict[str, str] | None = None) -> HTMLResponse:
    error_html = f'<p class="error" role="alert" data-testid="login-error">{html.escape(error)}</p>\n' if error else ""
    label, hint = login_hint(_auth(request))
    body = _PAGE.format(action=html.escape(f"{_root(request)}/login"), next=html.escape(next_url), error=error_html,
                        label=html.escape(label), hint=html.escape(hint))
    return HTMLResponse(body, status_code=status, headers={**_NO_STORE, **(headers or {})})


def _auth(request: Request) -> Authenticator | None:
    auth = request.scope.get(AUTH_SCOPE_KEY)
    return auth if auth is not None and auth.enabled else None


def _logged_in(request: Request, auth: Authenticator, user: str, next_url: str) -> Response:
    response = RedirectResponse(next_url, status_code=303, headers=_NO_STORE)
    response.headers["Set-Cookie"] = auth.cookie_header(auth.new_session(user), path=_root(request) or "/",
                                                       https=request.url.scheme == "https")
    return response


async def _attempt(request: Request, auth: Authenticator, secret: str, next_url: str, wrong: str) -> Response:
    verdict = await auth.check(client_address(request.scope), secret)
    if verdict.throttled:
        seconds = int(verdict.retry_after) + 1
        return _page(request, next_url, f"Too many failed logins. Try again in {seconds} seconds.",
                     status=429, headers={"Retry-After": str(seconds)})
    if not verdict.ok or verdict.user is None:
        return _page(request, next_url, wrong, status=401)
    return _logged_in(request, auth, verdict.user, next_url)


def register(_: Services) -> None:
    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str | None = None, token: str | None = None) -> Response:
        auth = _auth(request)
        next_url = safe_next(request, next)
        if auth is None or auth.session(request.cookies.get(auth.cookie_name)):
            return RedirectResponse(next_url, status_code=303, headers=_NO_STORE)
        if token is not None:  # the printed login URL: trade the token for a cookie, drop it from the address
            return await _attempt(request, auth, token, next_url,
                                  "The token in this link is wrong (it was replaced, or the link was cut short).")
        return _page(request, next_url)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        auth = _auth(request)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return _page(request, safe_next(request, None), "The form is too large.", status=413)
        try:
            form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        except ValueError:  # more fields than a login form has
            return _page(request, safe_next(request, None), "The form is not a login form.", status=400)
        next_url = safe_next(request, (form.get("next") or [None])[0])
        if auth is None:
            return RedirectResponse(next_url, status_code=303, headers=_NO_STORE)
        return await _attempt(request, auth, (form.get("password") or [""])[0], next_url,
                              "Wrong password or token.")

    @app.api_route("/logout", methods=["GET", "POST"], include_in_schema=False)
    async def logout(request: Request) -> Response:
        auth = _auth(request)
        response = RedirectResponse(f"{_root(request)}/login", status_code=303, headers=_NO_STORE)
        if auth is not None:
            session = auth.session(request.cookies.get(auth.cookie_name))
            if session:
                auth.revoke(session.sid)
            response.headers["Set-Cookie"] = auth.cookie_header("", path=_root(request) or "/",
                                                               https=request.url.scheme == "https", max_age=0)
        return response
