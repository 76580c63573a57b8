"""The pieces of authentication and the Host/Origin policy, in-process (spec J1, J2)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import core.security.auth
from core.security.auth import Authenticator
from core.security.gate import SecurityGate, route_path
from core.security.headers import SecurityHeaders
from core.security.hosts import HostPolicy, split_host
from core.security.passwords import BadHash, check_hash, hash_password, needs_upgrade, same_secret, verify_password
from core.security.ratelimit import LoginLimiter
from core.settings import Settings, SettingsError, is_loopback_host, load_settings, scrub_environment
from tests.support.security_clients import b64, scrypt_hash

TOKEN = "a-configured-token-0123456789"


# ------------------------------------------------------------------------------ passwords


def test_password_hashes_are_salted_argon2id_and_older_ones_still_verify():
    first, second = hash_password("hunter22"), hash_password("hunter22")
    assert first != second and first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password("hunter22", first) and not verify_password("hunter23", first)
    assert not needs_upgrade(first)
    old = scrypt_hash("pw")
    assert verify_password("pw", old) and not verify_password("px", old) and needs_upgrade(old)
    salt = os.urandom(16)
    pbkdf2 = f"pbkdf2_sha256$200000${b64(salt)}${b64(hashlib.pbkdf2_hmac('sha256', b'pw', salt, 200_000))}"
    assert verify_password("pw", pbkdf2) and not verify_password("px", pbkdf2) and needs_upgrade(pbkdf2)
    weak = "$argon2id$v=19$m=8192,t=1,p=1$" + first.rsplit("$", 2)[1] + "$" + first.rsplit("$", 1)[1]
    assert needs_upgrade(weak), "below today's parameters"
    for bad in ("", "md5$x", "scrypt$3$8$1$a$b", "scrypt$1048577$8$1$a$b", "pbkdf2_sha256$10$a$b", "scrypt$x$8$1$a$b",
                "$argon2id$v=19$m=99999999,t=3,p=4$a$b", "$argon2id$v=19$garbage$a$b", "$argon2x$v=19$m=1,t=1,p=1$a$b"):
        with pytest.raises(BadHash):
            check_hash(bad)
    assert same_secret("é-token", "é-token") and not same_secret("é-token", "e-token")


def test_settings_keep_secrets_out_of_repr_and_refuse_what_would_leave_the_server_open():
    settings = load_settings([], env={"CCS_PASSWORD": "long enough", "ANTHROPIC_API_KEY": "sk-ant-x-123"},
                             dotenv_path=None)
    assert settings.password == "long enough" and settings.has_password
    assert "long enough" not in repr(settings) and "sk-ant-x-123" not in repr(settings)
    assert {"long enough", "sk-ant-x-123"} <= set(settings.secrets())
    with pytest.raises(SettingsError, match="not both"):
        load_settings([], env={"CCS_PASSWORD": "long enough", "CCS_PASSWORD_HASH": hash_password("x")},
                      dotenv_path=None)
    parsed = load_settings(["--no-auth", "--proxy", "10.0.0.0/8"],
                           env={"ALLOWED_HOSTS": "a.example, b.example c", "COOKIE_SECURE": "yes",
                                "ALLOWED_ORIGINS": "https://x.example", "FORWARDED_ALLOW_IPS": "127.0.0.1"},
                           dotenv_path=None)
    assert parsed.no_auth and parsed.cookie_secure is True and parsed.allowed_hosts == ["a.example", "b.example", "c"]
    assert parsed.forwarded_allow_ips == ["10.0.0.0/8"], "the flag wins over the environment"
    assert load_settings([], env={}, dotenv_path=None).forwarded_allow_ips == [], "no proxy is believed by default"
    for argv, env, message in [
        (["--no-auth", "--host", "0.0.0.0"], {}, "refused on '0.0.0.0'"),
        (["--no-auth"], {"HOST": "192.168.1.5"}, "beyond loopback"),
        (["--no-auth"], {"AUTH_TOKEN": "a-long-enough-token-123"}, "contradict"),
        (["--new-token"], {"AUTH_TOKEN": "a-long-enough-token-123"}, "change it there"),
        ([], {"NO_AUTH": "maybe"}, "not true or false"),
        (["--proxy", "nginx.local"], {}, "not an IP address"),
    ]:
        with pytest.raises(SettingsError, match=message):
            load_settings(argv, env=env, dotenv_path=None)


def test_loopback_is_decided_by_the_address_a_host_resolves_to():
    assert all(is_loopback_host(h) for h in ("127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost"))
    for host in ("0.0.0.0", "::", "", "192.168.1.5", "127.evil.invalid", "127.0.0.1.invalid", "localhost.invalid"):
        assert not is_loopback_host(host), host
    assert not Settings(host="127.attacker.invalid").is_loopback


def test_scrubbing_removes_the_servers_own_secrets_from_the_environment(monkeypatch):
    for name in ("AUTH_TOKEN", "CCS_PASSWORD", "CCS_PASSWORD_HASH", "STORAGE_SECRET"):
        monkeypatch.setenv(name, "x")
    scrub_environment()
    assert not {"AUTH_TOKEN", "CCS_PASSWORD", "CCS_PASSWORD_HASH", "STORAGE_SECRET"} & set(os.environ)


# -------------------------------------------------------------------------------- limiter


def test_the_limiter_refuses_the_eleventh_failure_in_a_window_and_forgets_old_ones():
    now = [1000.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for _ in range(10):
        assert limiter.retry_after("1.2.3.4", "owner") == 0
        limiter.failed("1.2.3.4", "owner")
        now[0] += 1
    assert 49 < limiter.retry_after("1.2.3.4", "owner") <= 51
    assert limiter.retry_after("5.6.7.8", "owner") == 0  # per client
    now[0] += 51
    assert limiter.retry_after("1.2.3.4", "owner") == 0  # the oldest failure left the window
    limiter.failed("9.9.9.9", "owner")
    limiter.succeeded("9.9.9.9", "owner")
    assert limiter.retry_after("9.9.9.9", "owner") == 0


def test_the_account_limit_holds_however_many_addresses_guess():
    now = [0.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for n in range(30):
        assert limiter.retry_after(f"10.0.0.{n}", "owner") == 0
        limiter.failed(f"10.0.0.{n}", "owner")
    assert limiter.retry_after("10.9.9.9", "owner") > 500, "a fresh address meets the account's limit"
    assert limiter.account_locked("owner") and not limiter.account_locked("someone-else")
    now[0] += 601
    assert limiter.retry_after("10.9.9.9", "owner") == 0


def test_the_limiter_stays_small_under_a_flood_of_addresses():
    limiter = LoginLimiter()
    for n in range(core.security.ratelimit.MAX_CLIENTS + 500):
        limiter.failed(f"10.0.{n // 256}.{n % 256}", "owner")
    assert len(limiter._clients._failures) == core.security.ratelimit.MAX_CLIENTS


# --------------------------------------------------------------------------- authenticator


def _auth(tmp_path, **values) -> Authenticator:
    settings = Settings(projects_root=tmp_path, **values)
    return Authenticator.from_settings(settings, state_dir=tmp_path / "state")


def test_sessions_are_signed_revocable_and_die_with_the_credentials(tmp_path, monkeypatch):
    auth = _auth(tmp_path, auth_token=TOKEN)
    assert auth.enabled and not auth.own_token and auth.token == TOKEN
    assert oct((tmp_path / "state" / "auth-secret").stat().st_mode & 0o777) == "0o600"
    cookie = auth.new_session("owner")
    session = auth.session(cookie)
    assert session and session.user == "owner"
    assert auth.session(cookie[:-2] + "xx") is None and auth.session("garbage") is None
    assert _auth(tmp_path, auth_token=TOKEN).session(cookie) == session, "survives a restart"
    assert _auth(tmp_path, auth_token=TOKEN + "-changed").session(cookie) is None, "dies with the token"
    auth.revoke(session.sid)
    assert auth.session(cookie) is None
    assert _auth(tmp_path, auth_token=TOKEN).session(cookie) is None, "the logout survives a restart"
    other = auth.new_session("owner")
    monkeypatch.setattr(core.security.auth, "SESSION_MAX_AGE_S", -1)
    assert auth.session(other) is None, "expired"


def test_a_login_is_required_on_every_bind_with_a_token_kept_across_restarts(tmp_path):
    local = _auth(tmp_path)
    assert local.enabled and local.own_token and len(local.token) >= 32
    stored = tmp_path / "state" / "credentials.json"
    assert oct(stored.stat().st_mode & 0o777) == "0o600" and local.token in stored.read_text()
    assert local.login_urls("127.0.0.1", 3001) == [f"http://127.0.0.1:3001/login?token={local.token}"]
    cookie = local.new_session("owner")
    again = _auth(tmp_path)
    assert again.token == local.token and again.session(cookie), "a restart keeps the bookmark and the session"
    rotated = _auth(tmp_path, new_token=True)
    assert rotated.token != local.token and rotated.session(cookie) is None, "--new-token ends the old sessions"
    assert _auth(tmp_path).token == rotated.token
    exposed = _auth(tmp_path, host="0.0.0.0")
    assert exposed.login_urls("0.0.0.0", 3001)[0] == f"http://127.0.0.1:3001/login?token={exposed.token}"
    assert _auth(tmp_path, password="pw-pw-pw-pw").token is None, "a password replaces the token"
    assert "token=" not in _auth(tmp_path, auth_token=TOKEN).login_urls("0.0.0.0", 1)[0], "a configured one stays"
    assert not _auth(tmp_path, no_auth=True).enabled


async def test_the_limit_comes_first_even_for_a_secret_that_was_right_before(tmp_path):
    auth = _auth(tmp_path, password="the right one")
    assert (await auth.check("6.6.6.6", "the right one")).ok  # remembered from now on
    for n in range(10):
        assert not (await auth.check("6.6.6.6", f"guess {n}")).ok
    verdict = await auth.check("6.6.6.6", "the right one")
    assert verdict.throttled and not verdict.ok, "a throttled client learns nothing, not even the right answer"
    assert (await auth.check("7.7.7.7", "the right one")).user == "owner"


async def test_parallel_password_guesses_cannot_outrun_the_limit(tmp_path, monkeypatch):
    auth = _auth(tmp_path, password_hash=hash_password("the right one"))
    checked = []
    real = core.security.auth.verify_password
    monkeypatch.setattr(core.security.auth, "verify_password",
                        lambda given, stored: checked.append(given) or real(given, stored))
    verdicts = await asyncio.gather(*(auth.check("6.6.6.6", f"guess {n}") for n in range(30)))
    assert len(checked) == 10 and sum(v.throttled for v in verdicts) == 20
    assert (await auth.check("6.6.6.6", "the right one")).throttled
    assert (await auth.check("7.7.7.7", "the right one")).ok
    checked.clear()
    assert (await auth.check("7.7.7.7", "the right one")).ok and not checked, "a known password skips hashing"


async def test_an_older_password_hash_is_upgraded_at_the_next_login_and_sessions_survive(tmp_path):
    configured = scrypt_hash("correct horse")
    auth = _auth(tmp_path, password_hash=configured)
    cookie = auth.new_session("owner")
    stored = tmp_path / "state" / "credentials.json"
    assert not (await auth.check("1.1.1.1", "wrong horse")).ok
    assert not stored.exists(), "nothing is kept for a wrong password (and a password means no token)"
    assert (await auth.check("1.1.1.1", "correct horse")).ok
    kept = json.loads(stored.read_text())["users"]["owner"]
    assert kept["password_hash"].startswith("$argon2id$") and "correct horse" not in json.dumps(kept)
    restarted = _auth(tmp_path, password_hash=configured)
    assert restarted.owner.password_hash == kept["password_hash"], "the upgrade is used from now on"
    assert restarted.session(cookie), "an upgrade logs nobody out"
    assert (await restarted.check("2.2.2.2", "correct horse")).ok
    changed = _auth(tmp_path, password_hash=scrypt_hash("another horse"))
    assert changed.owner.password_hash != kept["password_hash"], "a new configured hash wins over a kept upgrade"
    assert changed.session(cookie) is None


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


async def test_every_response_forbids_framing_and_loading_from_elsewhere_and_cookies_are_secure_over_https(
        tmp_path):
    async def set_cookie(_: Request) -> PlainTextResponse:
        response = PlainTextResponse("ok")
        response.set_cookie("session", "abc", httponly=True)
        return response

    app = SecurityHeaders(SecurityGate(Starlette(routes=[Route("/{path:path}", set_cookie)]), HostPolicy(),
                                       _auth(tmp_path, auth_token=TOKEN)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://localhost") as client:
        for path in ("/", "/api/projects", "/login/x"):
            response = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            policy = response.headers["content-security-policy"]
            for directive in ("frame-ancestors 'none'", "img-src 'self' data: blob:", "connect-src 'self'",
                              "form-action 'self'", "object-src 'none'", "base-uri 'self'"):
                assert directive in policy, (path, directive)
            assert response.headers["x-frame-options"] == "DENY"
        assert (await client.get("/x")).headers["x-frame-options"] == "DENY", "refusals carry them too"
        cookie = (await client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})).headers["set-cookie"]
        assert cookie.endswith("; Secure")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        cookie = (await client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})).headers["set-cookie"]
        assert "Secure" not in cookie
