"""Guessing the login against a real `python main.py` (spec J1): the limit comes first, holds across
addresses, believes forwarded addresses only from named proxies; old password hashes are upgraded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.security_clients import cookie_header, run_server, scrypt_hash

PASSWORD = "correct horse battery staple"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude"), "ANTHROPIC_API_KEY": "",
            "AUTH_TOKEN": "", "CCS_PASSWORD": "", "CCS_PASSWORD_HASH": "", "NO_AUTH": "", "FORWARDED_ALLOW_IPS": "",
            **extra}


def test_a_throttled_client_is_refused_even_the_password_that_worked_before(tmp_path):
    """The hole: a secret that had matched once was accepted before the limit was consulted."""
    with run_server(tmp_path, [], _env(tmp_path, CCS_PASSWORD=PASSWORD)) as server, server.client() as client:
        right = {"Authorization": f"Bearer {PASSWORD}"}
        assert client.get("/api/projects", headers=right).status_code == 200  # the server now knows it
        statuses = [client.get("/api/projects", headers={"Authorization": f"Bearer guess-{n}"}).status_code
                    for n in range(50)]
        assert statuses == [401] * 10 + [429] * 40, "only ten guesses a minute are checked"
        assert client.get("/api/projects", headers=right).status_code == 429
        form = client.post("/login", data={"password": PASSWORD})
        assert form.status_code == 429 and "Too many failed logins" in form.text


def test_forwarded_addresses_count_only_from_named_proxies_and_the_account_limit_holds_anyway(tmp_path):
    """The hole: rotating X-Forwarded-For from loopback gave 200 guesses without one 429."""
    def guess(client, n: int) -> int:
        return client.post("/login", data={"password": f"guess {n}"},
                           headers={"X-Forwarded-For": f"203.0.113.{n % 250 + 1}"}).status_code

    with run_server(tmp_path, [], _env(tmp_path, CCS_PASSWORD=PASSWORD)) as server, server.client() as client:
        assert [guess(client, n) for n in range(11)] == [401] * 10 + [429], "nobody's header is believed"

    with run_server(tmp_path, ["--proxy", "127.0.0.1"], _env(tmp_path, CCS_PASSWORD=PASSWORD)) as server, \
            server.client() as client:
        with server.logged_in(PASSWORD) as browser:
            cookie = cookie_header(browser)
        statuses = [guess(client, n) for n in range(200)]
        assert statuses[:30] == [401] * 30, "through the named proxy each address has its own count"
        assert set(statuses[30:]) == {429}, "but no number of addresses gets past the account's limit"
        fresh = client.post("/login", data={"password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.9"})
        assert fresh.status_code == 429, "while the account is under attack, new logins wait"
        with server.client(headers={"Cookie": cookie}) as logged_in:
            assert logged_in.get("/api/projects").status_code == 200, "sessions already open carry on"
        assert "login failures for 'owner' from many addresses" in server.log()


def test_an_older_password_hash_is_upgraded_to_argon2id_at_the_next_login(tmp_path):
    root = tmp_path / "projects"
    env = _env(tmp_path, CCS_PASSWORD_HASH=scrypt_hash(PASSWORD))
    with run_server(tmp_path, [], env, projects_root=root) as server:
        with server.logged_in(PASSWORD) as browser:
            cookie = cookie_header(browser)
        kept = json.loads((root / ".server" / "credentials.json").read_text())["users"]["owner"]
        assert kept["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert "argon2id" in server.log() and PASSWORD not in server.log()
        port = server.port
    with run_server(tmp_path, [], env, projects_root=root, port=port) as again:
        with again.client(headers={"Cookie": cookie}) as client:
            assert client.get("/api/projects").status_code == 200, "the upgrade logged nobody out"
        with again.bearer(PASSWORD) as client:
            assert client.get("/api/projects").status_code == 200
        with again.bearer("not the password") as client:
            assert client.get("/api/projects").status_code == 401
