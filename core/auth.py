"""Who may use the server (spec J1): a token or a password, then a signed session cookie.

Authentication is on whenever the server listens beyond loopback (or a token or
password is configured, or REQUIRE_AUTH is set). With no token or password
given, one token is generated at start and the login URL printed, as Jupyter
does. A browser trades the token or password for a session cookie at /login;
scripts send `Authorization: Bearer <token>` (the password works there too).

The cookie holds a random session id and a fingerprint of the configured
credentials, signed with a secret kept in the state folder (mode 0600): it
survives restarts, dies when the token or password changes, and a logout
revokes its id (persisted, so a copied cookie stays dead after a restart too).
Every guess is counted before it is checked, so parallel guesses cannot
outrun the rate limit; the 11th failure in a minute from one address is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.security_passwords import same_secret, verify_password
from core.security_ratelimit import LoginLimiter
from core.settings import Settings
from storage.atomic_json import write_atomic

SESSION_MAX_AGE_S = 30 * 24 * 3600
MAX_SECRET_CHARS = 1024  # longer guesses are wrong without hashing them
_SECRET_FILE = "auth-secret"
_REVOKED_FILE = "auth-revoked.json"


@dataclass
class Verdict:
    ok: bool
    retry_after: float = 0.0  # > 0: throttled, the guess was not checked

    @property
    def throttled(self) -> bool:
        return self.retry_after > 0


def load_or_create_secret(state_dir: Path) -> bytes:
    """The cookie-signing key: made once, readable by the server's user only."""
    path = state_dir / _SECRET_FILE
    state_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
    key = path.read_text().strip()
    if len(key) < 32:  # a file emptied by a crash right after its creation: start over
        path.unlink()
        return load_or_create_secret(state_dir)
    return key.encode()


class Authenticator:
    def __init__(self, settings: Settings, *, enabled: bool, token: str | None, secret: bytes,
                 state_dir: Path | None = None, limiter: LoginLimiter | None = None) -> None:
        self.enabled = enabled
        self.token = token
        self.password_hash = settings.password_hash
        self.generated = enabled and token is not None and settings.auth_token is None
        self.cookie_secure = settings.cookie_secure
        self.cookie_name = f"ccs_auth_{settings.port}"  # browsers share cookies across ports of one host
        self.limiter = limiter or LoginLimiter()
        configured = f"{settings.auth_token or ''}|{settings.password_hash or ''}".encode()
        self._fingerprint = hmac.new(secret, configured, hashlib.sha256).hexdigest()[:32]
        self._signer = URLSafeTimedSerializer(secret, salt="ccs-session")
        self._key = secret
        self._verified: set[bytes] = set()  # keyed digests of secrets that matched once, never the secrets
        self._revoked_path = state_dir / _REVOKED_FILE if state_dir else None
        self._revoked: dict[str, float] = self._load_revoked()
        self._watchers: dict[str, tuple[asyncio.Event, int]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, state_dir: Path | None = None) -> Authenticator:
        enabled = settings.auth_configured or bool(settings.require_auth) or not settings.is_loopback
        token = settings.auth_token
        if enabled and not settings.auth_configured:
            token = secrets.token_urlsafe(32)
        state_dir = state_dir or settings.state_dir
        return cls(settings, enabled=enabled, token=token, secret=load_or_create_secret(state_dir),
                   state_dir=state_dir)

    def turn_on(self) -> None:
        """Require a login from now on, with a generated token if none is configured (see main.mount)."""
        if not self.enabled:
            self.enabled = True
            if self.token is None and self.password_hash is None:
                self.token = secrets.token_urlsafe(32)
                self.generated = True

    # -- secrets -------------------------------------------------------------------------

    async def check(self, client: str, given: str) -> Verdict:
        """Whether `given` is the token or the password, counted against `client`'s failures."""
        if self._remembered(given):  # a script sending the password as its bearer: no scrypt per request
            return Verdict(True)
        wait = self.limiter.retry_after(client)
        if wait:
            return Verdict(False, wait)
        self.limiter.failed(client)  # counted first: a burst of parallel guesses all count
        ok = await self._matches(given)
        if ok:
            self.limiter.succeeded(client)
            self._remember(given)
        return Verdict(ok)

    def _digest(self, given: str) -> bytes:
        return hmac.new(self._key, given.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def _remembered(self, given: str) -> bool:
        return bool(given) and len(given) <= MAX_SECRET_CHARS and self._digest(given) in self._verified

    def _remember(self, given: str) -> None:
        if len(self._verified) < 8:  # the token and the password: a handful is plenty
            self._verified.add(self._digest(given))

    async def _matches(self, given: str) -> bool:
        if not given or len(given) > MAX_SECRET_CHARS:
            return False
        if self.token and same_secret(given, self.token):
            return True
        if self.password_hash:  # scrypt takes tens of ms: off the event loop
            return await asyncio.to_thread(verify_password, given, self.password_hash)
        return False

    # -- sessions ------------------------------------------------------------------------

    def new_session(self) -> str:
        return self._signer.dumps({"sid": secrets.token_urlsafe(18), "cred": self._fingerprint})

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid, unrevoked cookie made for the current credentials."""
        if not cookie or len(cookie) > 4096:
            return None
        try:
            data = self._signer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:  # also a cookie that is too old
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        if not same_secret(str(data.get("cred", "")), self._fingerprint) or data["sid"] in self._revoked:
            return None
        return data["sid"]

    def revoke(self, sid: str) -> None:
        """Log a session out: its cookie stops working and its open websockets and streams close."""
        now = time.time()
        self._revoked = {s: t for s, t in self._revoked.items() if t > now - SESSION_MAX_AGE_S}
        self._revoked[sid] = now
        if self._revoked_path:
            write_atomic(self._revoked_path, json.dumps(self._revoked).encode())
        watcher = self._watchers.pop(sid, None)
        if watcher:
            watcher[0].set()

    def watch(self, sid: str) -> tuple[asyncio.Event, Callable[[], None]]:
        """An event set when `sid` is revoked, and the function that stops watching."""
        event, count = self._watchers.get(sid, (asyncio.Event(), 0))
        self._watchers[sid] = (event, count + 1)

        def unwatch() -> None:
            current = self._watchers.get(sid)
            if current and current[0] is event:
                if current[1] <= 1:
                    del self._watchers[sid]
                else:
                    self._watchers[sid] = (event, current[1] - 1)

        return event, unwatch

    def _load_revoked(self) -> dict[str, float]:
        if not self._revoked_path:
            return {}
        try:
            data = json.loads(self._revoked_path.read_text())
        except (OSError, ValueError):
            return {}
        cutoff = time.time() - SESSION_MAX_AGE_S
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v > cutoff} \
            if isinstance(data, dict) else {}

    # -- cookies -------------------------------------------------------------------------

    def cookie_header(self, value: str, *, path: str, https: bool, max_age: int = SESSION_MAX_AGE_S) -> str:
        """A Set-Cookie value: HttpOnly (no script reads it), SameSite=Lax, Secure over https."""
        secure = https if self.cookie_secure is None else self.cookie_secure
        parts = [f"{self.cookie_name}={value}", f"Path={path or '/'}", f"Max-Age={max_age}", "HttpOnly",
                 "SameSite=Lax"]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)

    def login_urls(self, host: str, port: int, prefix: str = "") -> list[str]:
        """Where to open the UI, with the generated token (only that one is printed)."""
        query = f"?token={self.token}" if self.generated else ""
        hosts = ["127.0.0.1"] if host in ("0.0.0.0", "::", "") else [host]
        if host in ("0.0.0.0", "::", ""):
            hosts.append(socket.gethostname() or "localhost")
        return [f"http://{h if ':' not in h else f'[{h}]'}:{port}{prefix}/login{query}" for h in hosts]
