"""Who may use the server (spec J1): a token or a password, then a signed session cookie.

A login is required on every bind, loopback included: "only reachable from this
machine" is not "only usable by the person who started it" (any local account can
connect to a loopback port). Without a configured token or password the server uses
a token of its own, kept in the state folder, and prints the login URL carrying it,
as Jupyter does. `--no-auth` turns all of this off, on loopback only.

Credentials belong to an account: today the one owner, later named users with their
own, which is why sessions, the rate limit and the kept password upgrades are keyed by
account name. A browser trades the token or password for a session cookie at /login;
scripts send `Authorization: Bearer <token>` (the password works there too).

The cookie holds a random session id, the account's name and a fingerprint of its
credentials, signed with a secret kept in the state folder (mode 0600): it survives
restarts, dies when the token or password changes, and a logout revokes its id
(persisted, so a copied cookie stays dead after a restart too). The rate limit comes
first, always, even for a secret that was right before; then every guess is counted
before it is checked, so parallel guesses cannot outrun the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.security.credentials import OWNER, CredentialStore
from core.security.passwords import hash_password, needs_upgrade, same_secret, verify_password
from core.security.ratelimit import LoginLimiter
from core.settings import Settings
from storage.atomic_json import write_atomic

SESSION_MAX_AGE_S = 30 * 24 * 3600
MAX_SECRET_CHARS = 1024  # longer guesses are wrong without hashing them
_SECRET_FILE = "auth-secret"
_REVOKED_FILE = "auth-revoked.json"
log = logging.getLogger(__name__)


@dataclass
class Verdict:
    ok: bool
    retry_after: float = 0.0  # > 0: throttled, the guess was not checked
    user: str | None = None  # the account the secret belongs to

    @property
    def throttled(self) -> bool:
        return self.retry_after > 0


@dataclass(frozen=True)
class Session:
    sid: str
    user: str


@dataclass
class Account:
    """Someone who may log in, and the secrets that prove it."""

    name: str
    token: str | None = None
    password: str | None = None  # as configured in plain text (CCS_PASSWORD)
    password_hash: str | None = None  # what is verified: the configured hash, or the upgrade kept for it
    configured_hash: str | None = None  # CCS_PASSWORD_HASH as the settings say

    def fingerprint(self, key: bytes) -> str:
        """Changes when a credential changes (not when a hash is upgraded): every session of the old ones ends."""
        material = f"{self.name}|{self.token or ''}|{self.password or self.configured_hash or ''}"
        return hmac.new(key, material.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


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


def owner_account(settings: Settings, store: CredentialStore) -> Account:
    """The owner's credentials: AUTH_TOKEN, else (without a password) the server's own kept token."""
    token = settings.auth_token
    if token is None and not settings.has_password:
        token = store.token(renew=settings.new_token)
    configured = settings.password_hash
    verified = (store.upgraded_hash(OWNER, configured) or configured) if configured else None
    return Account(OWNER, token=token, password=settings.password, password_hash=verified,
                   configured_hash=configured)


class Authenticator:
    def __init__(self, settings: Settings, *, enabled: bool, accounts: list[Account], secret: bytes,
                 store: CredentialStore | None = None, state_dir: Path | None = None,
                 limiter: LoginLimiter | None = None) -> None:
        self.enabled = enabled
        self.accounts = {account.name: account for account in accounts}
        self.own_token = bool(accounts) and settings.auth_token is None and accounts[0].token is not None
        self.cookie_secure = settings.cookie_secure
        self.cookie_name = f"ccs_auth_{settings.port}"  # browsers share cookies across ports of one host
        self.limiter = limiter or LoginLimiter()
        self._settings = settings
        self._store = store
        self._signer = URLSafeTimedSerializer(secret, salt="ccs-session")
        self._key = secret
        self._verified: dict[bytes, str] = {}  # keyed digests of secrets that matched once, never the secrets
        self._revoked_path = state_dir / _REVOKED_FILE if state_dir else None
        self._revoked: dict[str, float] = self._load_revoked()
        self._watchers: dict[str, tuple[asyncio.Event, int]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, state_dir: Path | None = None) -> Authenticator:
        state_dir = state_dir or settings.state_dir
        store = CredentialStore(state_dir)
        accounts = [] if settings.no_auth else [owner_account(settings, store)]
        return cls(settings, enabled=not settings.no_auth, accounts=accounts, secret=load_or_create_secret(state_dir),
                   store=store, state_dir=state_dir)

    @property
    def owner(self) -> Account | None:
        return self.accounts.get(OWNER)

    @property
    def token(self) -> str | None:
        """The owner's token (the one the printed login URL carries when it is the server's own)."""
        return self.owner.token if self.owner else None

    def secrets(self) -> list[str]:
        """Every secret that proves an account: what the redactor must mask."""
        return [s for a in self.accounts.values() for s in (a.token, a.password, a.password_hash, a.configured_hash)
                if s]

    def turn_on(self) -> None:
        """Require a login from now on, with the server's own token (see main.mount: --no-auth met a host
        that listens beyond loopback)."""
        if self.enabled:
            return
        store = self._store or CredentialStore(self._settings.state_dir)
        self.accounts = {OWNER: Account(OWNER, token=store.token())}
        self.own_token = True
        self.enabled = True

    # -- secrets -------------------------------------------------------------------------

    async def check(self, client: str, given: str) -> Verdict:
        """Whether `given` is a token or password, counted against `client`'s and the account's failures."""
        account = OWNER  # a login that names its user would say which account the guess is for
        wait = self.limiter.retry_after(client, account)
        if wait:  # first, always: a throttled client learns nothing, not even about a right secret
            return Verdict(False, wait)
        if user := self._remembered(given):  # a script sending its token with every request: no hashing
            return Verdict(True, user=user)
        self.limiter.failed(client, account)  # counted first: a burst of parallel guesses all count
        user = await self._matches(given)
        if user is None:
            if self.limiter.account_locked(account):
                log.warning("login failures for %r from many addresses: new logins wait (the limit per account)",
                            account)
            return Verdict(False)
        self.limiter.succeeded(client, account)
        self._remember(given, user)
        return Verdict(True, user=user)

    def _digest(self, given: str) -> bytes:
        return hmac.new(self._key, given.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def _remembered(self, given: str) -> str | None:
        if not given or len(given) > MAX_SECRET_CHARS:
            return None
        return self._verified.get(self._digest(given))

    def _remember(self, given: str, user: str) -> None:
        if len(self._verified) < 8 * len(self.accounts):  # a token and a password each: a handful is plenty
            self._verified[self._digest(given)] = user

    async def _matches(self, given: str) -> str | None:
        """The account whose token or password `given` is."""
        if not given or len(given) > MAX_SECRET_CHARS:
            return None
        for account in self.accounts.values():
            if account.token and same_secret(given, account.token):
                return account.name
            if account.password and same_secret(given, account.password):
                return account.name
            if account.password_hash and await asyncio.to_thread(self._verify_hash, account, given):
                return account.name  # argon2 takes a fifth of a second: off the event loop
        return None

    def _verify_hash(self, account: Account, given: str) -> bool:
        if not verify_password(given, account.password_hash or ""):
            return False
        if needs_upgrade(account.password_hash or "") and self._store and account.configured_hash:
            upgraded = hash_password(given)
            try:
                self._store.keep_upgrade(account.name, account.configured_hash, upgraded)
            except (OSError, ValueError) as exc:
                log.warning("could not keep the upgraded password hash: %s", exc)
            else:
                account.password_hash = upgraded
                log.info("the password hash of %r was upgraded to argon2id (kept in %s)", account.name,
                         self._store.path.name)
        return True

    # -- sessions ------------------------------------------------------------------------

    def new_session(self, user: str) -> str:
        """A cookie value for a new session of `user`."""
        fingerprint = self.accounts[user].fingerprint(self._key)
        return self._signer.dumps({"sid": secrets.token_urlsafe(18), "user": user, "cred": fingerprint})

    def session(self, cookie: str | None) -> Session | None:
        """The session of a valid, unrevoked cookie made for its account's current credentials."""
        if not cookie or len(cookie) > 4096:
            return None
        try:
            data = self._signer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:  # also a cookie that is too old
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        account = self.accounts.get(str(data.get("user", "")))
        if account is None or data["sid"] in self._revoked:
            return None
        if not same_secret(str(data.get("cred", "")), account.fingerprint(self._key)):
            return None
        return Session(data["sid"], account.name)

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
        """Where to log in, with the server's own token (a configured one is never printed)."""
        query = f"?token={self.token}" if self.own_token else ""
        hosts = ["127.0.0.1"] if host in ("0.0.0.0", "::", "") else [host]
        if host in ("0.0.0.0", "::", ""):
            hosts.append(socket.gethostname() or "localhost")
        return [f"http://{h if ':' not in h else f'[{h}]'}:{port}{prefix}/login{query}" for h in hosts]
