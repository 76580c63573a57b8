"""The pieces of authentication and the Host/Origin policy, in-process (spec J1, J2)."""

from __future__ import annotations

import asyncio
import hashlib
import os

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import core.auth
from core.auth import Authenticator
from core.security_gate import SecurityGate, route_path
from core.security_hosts import HostPolicy, split_host
from core.security_passwords import BadHash, check_hash, hash_password, same_secret, verify_password
from core.security_ratelimit import LoginLimiter
from core.settings import Settings, SettingsError, load_settings, scrub_environment

TOKEN = "a-configured-token-0123456789"


# ------------------------------------------------------------------------------ passwords


def test_password_hashes_are_salted_scrypt_and_verify_in_constant_time():
    first, second = hash_password("hunter22"), hash_password("hunter22")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_password("hunter22", first) and not verify_password("hunter23", first)
    salt = os.urandom(16)
    pbkdf2 = "pbkdf2_sha256$200000${}${}".format(
        *(core.security_passwords._b64(x) for x in (salt, hashlib.pbkdf2_hmac("sha256", b"pw", salt, 200_000))))
    assert verify_password("pw", pbkdf2) and not verify_password("px", pbkdf2)
    for bad in ("", "md5$x", "scrypt$3$8$1$a$b", "scrypt$1048577$8$1$a$b", "pbkdf2_sha256$10$a$b", "scrypt$x$8$1$a$b"):
        with pytest.raises(BadHash):
            check_hash(bad)
    assert same_secret("é-token", "é-token") and not same_secret("é-token", "e-token")


def test_settings_hash_a_plain_password_and_keep_secrets_out_of_children(monkeypatch):
    settings = load_settings([], env={"CCS_PASSWORD": "long enough"}, dotenv_path=None)
    assert settings.password_hash.startswith("scrypt$") and verify_password("long enough", settings.password_hash)
    assert "long enough" not in repr(settings)
    with pytest.raises(SettingsError, match="not both"):
        load_settings([], env={"CCS_PASSWORD": "long enough", "CCS_PASSWORD_HASH": settings.password_hash},
                      dotenv_path=None)
    parsed = load_settings(["--require-auth"], env={"ALLOWED_HOSTS": "a.example, b.example c", "COOKIE_SECURE": "yes",
                                                    "ALLOWED_ORIGINS": "https://x.example"}, dotenv_path=None)
    assert parsed.require_auth and parsed.cookie_secure is True and parsed.allowed_hosts == ["a.example", "b.example",
                                                                                           "c"]
    with pytest.raises(SettingsError, match="not true or false"):
        load_settings([], env={"REQUIRE_AUTH": "maybe"}, dotenv_path=None)
    for name in ("AUTH_TOKEN", "CCS_PASSWORD", "CCS_PASSWORD_HASH", "STORAGE_SECRET"):
        monkeypatch.setenv(name, "x")
    scrub_environment()
    assert not {"AUTH_TOKEN", "CCS_PASSWORD", "CCS_PASSWORD_HASH", "STORAGE_SECRET"} & set(os.environ)


# -------------------------------------------------------------------------------- limiter


def test_the_limiter_refuses_the_eleventh_failure_in_a_window_and_forgets_old_ones():
    now = [1000.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for _ in range(10):
        assert limiter.retry_after("1.2.3.4") == 0
        limiter.failed("1.2.3.4")
        now[0] += 1
    assert 49 < limiter.retry_after("1.2.3.4") <= 51
    assert limiter.retry_after("5.6.7.8") == 0  # per client
    now[0] += 51
    assert limiter.retry_after("1.2.3.4") == 0  # the oldest failure left the window
    limiter.failed("9.9.9.9")
    limiter.succeeded("9.9.9.9")
    assert limiter.retry_after("9.9.9.9") == 0 and "9.9.9.9" not in limiter._failures


def test_the_limiter_stays_small_under_a_flood_of_addresses():
    limiter = LoginLimiter()
    for n in range(core.security_ratelimit.MAX_CLIENTS + 500):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._failures) == core.security_ratelimit.MAX_CLIENTS


# --------------------------------------------------------------------------- authenticator


def _auth(tmp_path, **values) -> Authenticator:
    settings = Settings(projects_root=tmp_path, **values)
    return Authenticator.from_settings(settings, state_dir=tmp_path / "state")


def test_sessions_are_signed_revocable_and_die_with_the_credentials(tmp_path, monkeypatch):
    auth = _auth(tmp_path, auth_token=TOKEN)
    assert auth.enabled and not auth.generated and auth.token == TOKEN
    assert oct((tmp_path / "state" / "auth-secret").stat().st_mode & 0o777) == "0o600"
    cookie = auth.new_session()
    sid = auth.session_id(cookie)
    assert sid and auth.session_id(cookie[:-2] + "xx") is None and auth.session_id("garbage") is None
    assert _auth(tmp_path, auth_token=TOKEN).session_id(cookie) == sid, "survives a restart"
    assert _auth(tmp_path, auth_token=TOKEN + "-changed").session_id(cookie) is None, "dies with the token"
    auth.revoke(sid)
    assert auth.session_id(cookie) is None
    assert _auth(tmp_path, auth_token=TOKEN).session_id(cookie) is None, "the logout survives a restart"
    other = auth.new_session()
    monkeypatch.setattr(core.auth, "SESSION_MAX_AGE_S", -1)
    assert auth.session_id(other) is None, "expired"


def test_auth_is_off_on_loopback_unless_asked_and_a_token_is_made_beyond_it(tmp_path):
    assert not _auth(tmp_path).enabled
    assert _auth(tmp_path, require_auth=True).generated
    exposed = _auth(tmp_path, host="0.0.0.0")
    assert exposed.enabled and exposed.generated and len(exposed.token) >= 32
    assert exposed.login_urls("0.0.0.0", 3001)[0] == f"http://127.0.0.1:3001/login?token={exposed.token}"
    assert _auth(tmp_path, host="0.0.0.0", password_hash=hash_password("pw-pw-pw")).token is None
    assert "token=" not in _auth(tmp_path, host="0.0.0.0", auth_token=TOKEN).login_urls("0.0.0.0", 1)[0]


async def test_parallel_password_guesses_cannot_outrun_the_limit(tmp_path, monkeypatch):
    auth = _auth(tmp_path, password_hash=hash_password("the right one"))
    checked = []
    real = core.auth.verify_password
    monkeypatch.setattr(core.auth, "verify_password", lambda given, stored: checked.append(given) or real(given,
                                                                                                           stored))
    verdicts = await asyncio.gather(*(auth.check("6.6.6.6", f"guess {n}") for n in range(30)))
    assert len(checked) == 10 and sum(v.throttled for v in verdicts) == 20
    assert (await auth.check("6.6.6.6", "the right one")).throttled
    assert (await auth.check("7.7.7.7", "the right one")).ok
    checked.clear()
    assert (await auth.check("7.7.7.7", "the right one")).ok and not checked, "a known password skips scrypt"


# ------------------------------------------------------------------------------- policy


def test_hosts_default_to_loopback_names_and_the_bind_host():
    policy = HostPolicy.from_settings(Settings(host="127.0.0.1"))
    assert all(policy.host_allowed(h) for h in ("localhost:3001", "127.0.0.1", "[::1]:3001", "LOCALHOST."))
    assert not any(policy.host_allowed(h) for h in ("evil.example", "10.0.0.5:3001", "", None, "a@127.0.0.1",
                                                     "127.0.0.1.evil.example"))
    exposed = HostPolicy.from_settings(Settings(host="0.0.0.0"))
    assert exposed.host_allowed("192.168.1.20:3001") and exposed.host_allowed("[fe80::1]:3001")
    assert not exposed.host_allowed("evil.example")
    named = HostPolicy.from_settings(Settings(host="claude.lan", allowed_hosts=["extra.example:8080"]))
    assert named.host_allowed("claude.lan:3001") and named.host_allowed("extra.example")
    assert HostPolicy.from_settings(Settings(allowed_hosts=["*"])).host_allowed("anything.example")
    assert split_host("[::1]:80") == ("::1", "80") and split_host("::1") == ("::1", "")


def test_origins_must_be_this_server_or_allowed():
    policy = HostPolicy.from_settings(Settings(allowed_origins=["https://proxy.example"]))
    assert policy.origin_allowed("http://127.0.0.1:3001", "127.0.0.1:3001")
    assert policy.origin_allowed("https://claude.example", "claude.example")  # TLS proxy, default port
    assert policy.origin_allowed("https://proxy.example/", "127.0.0.1:3001")
    for origin in ("http://127.0.0.1:3002", "http://evil.example", "null", "file://", "http://127.0.0.1:3001@evil",
                   "https://127.0.0.1:3001.evil.example"):
        assert not policy.origin_allowed(origin, "127.0.0.1:3001"), origin


# ---------------------------------------------------------------------------------- gate


async def test_the_gate_refuses_doubled_headers_and_keeps_the_prefix(tmp_path):
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(route_path(request.scope))

    auth = _auth(tmp_path, auth_token=TOKEN)
    app = SecurityGate(Starlette(routes=[Route("/{path:path}", echo)]), HostPolicy(), auth)
    transport = httpx.ASGITransport(app=app, root_path="/claude")
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        doubled = await client.get("/claude/x", headers=[("Host", "localhost"), ("Host", "evil.example")])
        assert doubled.status_code == 400
        page = await client.get("/claude/job/1?a=b", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/claude/login?next=%2Fclaude%2Fjob%2F1%3Fa%3Db"
        ok = await client.get("/claude/job/1", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.text == "/job/1"
        assert (await client.get("/claude/login")).status_code == 200  # public
        assert (await client.get("/claude/login/x", headers={"Accept": "application/json"})).status_code == 401
