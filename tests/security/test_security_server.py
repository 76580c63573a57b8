"""Authentication, Host and Origin checks against a real `python main.py` (spec J1, J2, J6).

A login is required on every bind. The local server binds 127.0.0.1 (the default),
the exposed one 0.0.0.0; neither has a token configured, so each uses its own and
prints the login URL; the tests reach both through 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.security_clients import (
    EVIL,
    ROOT,
    Server,
    cookie_header,
    engineio_handshake,
    open_websocket,
    run_server,
    upgrade_status,
)

PASSWORD = "correct horse battery staple"


def _isolated_env(tmp: Path) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude"), "ANTHROPIC_API_KEY": "",
            "AUTH_TOKEN": "", "CCS_PASSWORD": "", "CCS_PASSWORD_HASH": "", "NO_AUTH": "", "FORWARDED_ALLOW_IPS": ""}


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("exposed")
    with run_server(tmp, ["--host", "0.0.0.0"], _isolated_env(tmp)) as server:
        assert server.token, f"no login URL with a token in the output:\n{server.log()}"
        yield server


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The default: loopback, and a login all the same."""
    tmp = tmp_path_factory.mktemp("local")
    with run_server(tmp, [], _isolated_env(tmp)) as server:
        assert server.token, f"no login URL with a token in the output:\n{server.log()}"
        yield server


@pytest.fixture
def with_password(tmp_path: Path) -> Iterator[Server]:
    env = {**_isolated_env(tmp_path), "CCS_PASSWORD": PASSWORD}
    with run_server(tmp_path, ["--host", "0.0.0.0"], env) as server:
        yield server


def page_paths() -> list[str]:
    """Every `@ui.page` of pages/, its parameters filled with a made-up id."""
    found = set()
    for module in (ROOT / "pages").glob("*.py"):
        found |= set(re.findall(r"@ui\.page\(\s*[\"']([^\"']+)[\"']", module.read_text()))
    assert "/" in found
    return sorted(re.sub(r"\{[^}]+\}", "0123abcd", path) for path in found)


def api_routes(server: Server) -> list[tuple[str, str]]:
    with server.bearer() as client:
        spec = client.get("/api/openapi.json").json()
    return [(method.upper(), "/api" + re.sub(r"\{[^}]+\}", "0123abcd", path))
            for path, methods in spec["paths"].items() for method in methods]


# ------------------------------------------------------------------------ authentication


@pytest.mark.parametrize("which", ["local", "exposed"])
def test_without_a_configured_secret_the_server_prints_a_login_url_with_its_own_token(request, which):
    server: Server = request.getfixturevalue(which)
    log = server.log()
    assert f"http://127.0.0.1:{server.port}/login?token={server.token}" in log
    assert len(server.token) >= 32
    with server.client() as client:
        response = client.get(f"/login?token={server.token}")
        assert response.status_code == 303 and response.headers["location"] == "/"
        assert "token" not in response.headers["location"]  # the token leaves the address bar
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http here
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200


@pytest.mark.parametrize("which", ["local", "exposed"])
def test_every_page_api_route_socket_and_stream_refuses_an_unauthenticated_client(request, which):
    exposed: Server = request.getfixturevalue(which)
    before = exposed.children()
    with exposed.client() as client:
        for path in [*page_paths(), "/no/such/page"]:
            response = client.get(path, headers={"Accept": "text/html"})
            assert response.status_code == 303, path
            assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F")
            assert client.get(path, headers={"Accept": "application/json"}).status_code == 401, path
        routes = api_routes(exposed)
        assert len(routes) > 20
        for method, path in routes:
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["detail"].startswith("Authentication required")
        for path in ("/api/events", "/api/jobs/0123abcd/events"):  # event streams: refused before they start
            with client.stream("GET", path, headers={"Accept": "text/event-stream"}) as stream:
                assert stream.status_code == 401
        nicegui = ["/_nicegui_ws/socket.io/?EIO=4&transport=polling", "/_nicegui/client/x/upload/y",
                   "/_nicegui/client/x/download/y", "/favicon.ico"]
        for path in nicegui:
            assert client.get(path).status_code in (401, 303), path
            assert client.get(path, headers={"Accept": "application/json"}).status_code == 401, path
            assert client.post(path, content=b"x").status_code == 401, path
    assert upgrade_status(exposed) == 401  # the websocket (NiceGUI's socket, which carries the terminal)
    with pytest.raises(InvalidStatus):
        open_websocket(exposed)
    assert exposed.children() == before, "no shell or other process was started for anyone"


def test_wrong_credentials_of_every_kind_are_refused(exposed):
    with exposed.bearer("not-the-token-but-long-enough") as client:
        assert client.get("/api/projects").status_code == 401
    forged = f"ccs_auth_{exposed.port}=eyJzaWQiOiJ4In0.forged.signature"
    with exposed.client(headers={"Cookie": forged}) as client:
        assert client.get("/api/projects").status_code == 401
        assert upgrade_status(exposed, cookie=forged) == 401
    with exposed.client() as client:
        assert client.get("/login", params={"token": "wrong" * 8}).status_code == 401
    # A cookie of NiceGUI's own storage is not a login.
    with exposed.client() as client:
        client.get("/login")
        assert client.get("/api/projects", headers={"Cookie": "session=abc"}).status_code == 401


def test_a_login_works_everywhere_and_logout_ends_it_including_open_sockets_and_streams(exposed):
    with exposed.logged_in() as client, open_websocket(exposed, cookie=cookie_header(client)) as socket:
        cookie = cookie_header(client)
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
        assert client.get("/api/projects").status_code == 200
        assert engineio_handshake(exposed, client).status_code == 200
        assert socket.recv(timeout=10).startswith("0{")  # engine.io's open packet: the socket is live

        stream_ended = threading.Event()

        def follow_events() -> None:
            with client.stream("GET", "/api/events", headers={"Accept": "text/event-stream"}) as stream:
                assert stream.status_code == 200
                for _ in stream.iter_lines():
                    pass
            stream_ended.set()

        threading.Thread(target=follow_events, daemon=True).start()
        time.sleep(0.5)
        with exposed.client(headers={"Cookie": cookie}) as other_tab:
            response = other_tab.get("/logout")
            assert response.status_code == 303 and response.headers["location"] == "/login"
            assert "Max-Age=0" in response.headers["set-cookie"]
        with pytest.raises(ConnectionClosed):
            for _ in range(20):
                socket.recv(timeout=10)
        assert stream_ended.wait(15), "the event stream of the logged-out session is still open"
    with exposed.client(headers={"Cookie": cookie}) as stale:  # the old cookie, kept by someone
        assert stale.get("/api/projects").status_code == 401
        assert stale.get("/", headers={"Accept": "text/html"}).status_code == 303
        assert upgrade_status(exposed, cookie=cookie) == 401


def test_a_password_logs_in_and_the_eleventh_wrong_one_in_a_minute_is_throttled(with_password):
    server = with_password
    assert server.token is None and "CCS_PASSWORD" not in server.log() and PASSWORD not in server.log()
    with server.client() as client:
        for attempt in range(10):
            response = client.post("/login", data={"password": f"guess {attempt}"})
            assert response.status_code == 401 and "Wrong password or token." in response.text
        throttled = client.post("/login", data={"password": "guess 11"})
        assert throttled.status_code == 429
        assert "Too many failed logins" in throttled.text and int(throttled.headers["retry-after"]) > 0
        # While throttled even the right password is not checked, and the API says so too.
        assert client.post("/login", data={"password": PASSWORD}).status_code == 429
        bearer = client.get("/api/projects", headers={"Authorization": f"Bearer {PASSWORD}"})
        assert bearer.status_code == 429 and "try again in" in bearer.json()["detail"]


def test_the_password_works_as_a_bearer_token_and_in_the_form(with_password):
    with with_password.bearer(PASSWORD) as client:
        assert client.get("/api/projects").status_code == 200
    with with_password.logged_in(PASSWORD) as client:
        assert client.get("/api/projects").status_code == 200


def test_another_account_on_the_machine_cannot_use_the_default_server(local):
    """The hole: any local user (here `nobody`) reached 127.0.0.1 and could run commands as the server's user."""
    curl = shutil.which("curl")
    if os.geteuid() != 0 or not curl:
        pytest.skip("needs root (to switch to another account) and curl")

    def as_nobody(*args: str) -> str:
        result = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", *args], user=65534,
                                group=65534, capture_output=True, text=True, timeout=60, cwd="/",
                                env={"PATH": os.environ.get("PATH", "")})
        return result.stdout

    assert as_nobody(f"{local.url}/api/projects") == "401"
    assert as_nobody("-X", "POST", "-H", "Content-Type: application/json", "-d", '{"name": "mine"}',
                     f"{local.url}/api/projects") == "401"
    assert as_nobody(f"{local.url}/_nicegui_ws/socket.io/?EIO=4&transport=polling") == "401"  # terminal included
    with local.bearer() as client:
        assert "mine" not in [p["name"] for p in client.get("/api/projects").json()]


def test_a_configured_token_is_required_and_never_printed(tmp_path):
    env = {**_isolated_env(tmp_path), "AUTH_TOKEN": "a-token-chosen-by-the-operator"}
    with run_server(tmp_path, [], env) as server:
        assert server.token is None, "a configured token is never printed"
        assert "a-token-chosen-by-the-operator" not in server.log()
        with server.client() as client:
            assert client.get("/api/projects").status_code == 401
        with server.bearer("a-token-chosen-by-the-operator") as client:
            assert client.get("/api/projects").status_code == 200


def test_the_token_survives_a_restart_and_new_token_replaces_it(tmp_path):
    root = tmp_path / "projects"
    env = _isolated_env(tmp_path)
    with run_server(tmp_path, [], env, projects_root=root) as first, first.logged_in() as client:
        token, cookie = first.token, cookie_header(client)
    stored = root / ".server" / "credentials.json"
    assert oct(stored.stat().st_mode & 0o777) == "0o600" and token in stored.read_text()
    # The same port: browsers keep one login cookie per port (ccs_auth_<port>).
    with run_server(tmp_path, [], env, projects_root=root, port=first.port) as second:
        assert second.token == token, "the bookmarked login URL still works"
        with second.client(headers={"Cookie": cookie}) as client:
            assert client.get("/api/projects").status_code == 200, "nobody was logged out by the restart"
    with run_server(tmp_path, ["--new-token"], env, projects_root=root, port=first.port) as third:
        assert third.token and third.token != token
        with third.client(headers={"Cookie": cookie}) as client:
            assert client.get("/api/projects").status_code == 401, "--new-token ends the sessions of the old one"
            assert client.get(f"/login?token={token}").status_code == 401
        with third.bearer() as client:
            assert client.get("/api/projects").status_code == 200


def test_no_auth_is_the_one_opt_out_loud_and_loopback_only(tmp_path):
    env = {**_isolated_env(tmp_path), "NO_AUTH": "1"}
    with run_server(tmp_path, [], env) as server:
        assert server.token is None
        assert "WARNING: --no-auth: no login" in server.log()
        with server.client() as client:
            assert client.get("/api/projects").status_code == 200
            page = client.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 200 and "no-login-warning" in page.text and "/logout" not in page.text
    for args, environment, refused in [(["--no-auth", "--host", "0.0.0.0"], {}, "refused on '0.0.0.0'"),
                                       ([], {"NO_AUTH": "1", "HOST": "192.0.2.7"}, "refused on '192.0.2.7'"),
                                       (["--no-auth", "--host", "127.0.0.1.attacker.invalid"], {}, "refused")]:
        result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--port", "1", *args], cwd=tmp_path,
                                env={**_base_env(tmp_path), **environment}, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode != 0 and refused in result.stderr, (args, result.stderr)


@pytest.mark.parametrize("env, message", [
    ({"AUTH_TOKEN": "short"}, "AUTH_TOKEN must be at least 16 characters"),
    ({"CCS_PASSWORD": "short"}, "CCS_PASSWORD must be at least 8 characters"),
    ({"CCS_PASSWORD_HASH": "md5$abc"}, "CCS_PASSWORD_HASH"),
    ({"ALLOWED_ORIGINS": "evil.example"}, "is not an origin"),
    ({"NO_AUTH": "1"}, "beyond loopback a login is always required"),
    ({"FORWARDED_ALLOW_IPS": "my-proxy"}, "is not an IP address"),
])
def test_unusable_security_settings_stop_the_start_with_a_clear_message(tmp_path, env, message):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--host", "0.0.0.0", "--port", "1"],
                            cwd=tmp_path, env={**_base_env(tmp_path), **env}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def _base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NICEGUI_", "PYTEST_"))}
    return {**env, **_isolated_env(tmp), "PROJECTS_ROOT": str(tmp / "projects")}


# ------------------------------------------------------------------------ Host and Origin


@pytest.mark.parametrize("which", ["local", "exposed"])
def test_a_foreign_host_is_refused_everywhere(request, which):
    server: Server = request.getfixturevalue(which)
    headers = {"Host": "evil.example"}
    with server.logged_in() as client:
        for path in ("/", "/api/projects", "/login", "/_nicegui_ws/socket.io/?EIO=4&transport=polling"):
            response = client.get(path, headers=headers)
            assert response.status_code == 403 and "evil.example" in response.json()["detail"], path
        assert client.post("/api/projects", json={"name": "rebound"}, headers=headers).status_code == 403
        assert upgrade_status(server, host="evil.example", cookie=cookie_header(client)) == 403
        assert client.get("/api/projects", headers={"Host": f"evil.example:{server.port}"}).status_code == 403
        names = [p["name"] for p in client.get("/api/projects").json()]
    assert "rebound" not in names


@pytest.mark.parametrize("which", ["local", "exposed"])
def test_a_foreign_origin_cannot_open_the_socket_a_stream_or_change_anything(request, which):
    server: Server = request.getfixturevalue(which)
    with server.logged_in() as client:
        cookie = cookie_header(client)
        for origin in (EVIL, "null", f"http://127.0.0.1:{server.port + 1}", f"http://localhost.evil.example:{server.port}"):
            assert engineio_handshake(server, client, Origin=origin).status_code == 403, origin
            assert upgrade_status(server, origin=origin, cookie=cookie) == 403, origin
            with client.stream("GET", "/api/events", headers={"Origin": origin}) as stream:
                assert stream.status_code == 403
            created = client.post("/api/projects", json={"name": "csrf"}, headers={"Origin": origin})
            assert created.status_code == 403 and "Cross-site request refused" in created.json()["detail"]
        via_referer = client.post("/api/projects", json={"name": "csrf"}, headers={"Referer": f"{EVIL}/page"})
        assert via_referer.status_code == 403
        assert "csrf" not in [p["name"] for p in client.get("/api/projects").json()]
        # The server's own pages (same host and port) are fine, by any of its names.
        assert engineio_handshake(server, client, Origin=server.url).status_code == 200
        assert upgrade_status(server, origin=server.url, cookie=cookie) == 101
        own = f"http://localhost:{server.port}"
        assert client.get("/api/projects", headers={"Origin": own, "Host": f"localhost:{server.port}"}).status_code \
            == 200


def test_allowed_hosts_and_origins_are_configurable(tmp_path):
    env = {**_isolated_env(tmp_path), "ALLOWED_HOSTS": "claude.internal", "ALLOWED_ORIGINS": "https://proxy.example"}
    with run_server(tmp_path, [], env) as server, server.bearer() as client:
        assert client.get("/api/projects", headers={"Host": "claude.internal"}).status_code == 200
        assert client.get("/api/projects", headers={"Host": "evil.example"}).status_code == 403
        ok = client.post("/api/projects", json={"name": "proxied"}, headers={"Origin": "https://proxy.example"})
        assert ok.status_code == 201
        assert engineio_handshake(server, client, Origin="https://proxy.example").status_code == 200
        assert engineio_handshake(server, client, Origin=EVIL).status_code == 403


# ------------------------------------------------------------------------------ prefix


def test_under_a_mount_prefix_the_login_and_its_redirects_keep_the_prefix(tmp_path):
    env = _isolated_env(tmp_path)
    with run_server(tmp_path, [], env, script=ROOT / "examples" / "embed_app.py", ready_path="/health") as server:
        assert server.token, server.log()
        assert f"/claude/login?token={server.token}" in server.log()
        with server.client() as client:
            assert client.get("/health").status_code == 200  # the host app's own routes are its business
            page = client.get("/claude/", headers={"Accept": "text/html"})
            assert page.status_code == 303 and page.headers["location"] == "/claude/login?next=%2Fclaude%2F"
            assert client.get("/claude/api/projects").status_code == 401
            form = client.get("/claude/login")
            assert 'action="/claude/login"' in form.text
            login = client.post("/claude/login", data={"password": server.token, "next": "/claude/"})
            assert login.status_code == 303 and login.headers["location"] == "/claude/"
            assert "Path=/claude" in login.headers["set-cookie"]
            assert client.get("/claude/api/projects").status_code == 200
            assert client.get("/claude/", headers={"Accept": "text/html"}).status_code == 200
            outside = client.post("/claude/login", data={"password": server.token, "next": "https://evil.example/"})
            assert outside.headers["location"] == "/claude/"  # no open redirect
            logout = client.get("/claude/logout")
            assert logout.headers["location"] == "/claude/login"
            assert client.get("/claude/api/projects").status_code == 401


def test_the_login_page_is_plain_html_and_never_an_open_redirect(exposed):
    with exposed.client() as client:
        form = client.get("/login", params={"next": "/approvals"})
        assert form.status_code == 200 and "<form" in form.text and "_nicegui" not in form.text
        assert form.headers["cache-control"] == "no-store"
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
            response = client.post("/login", data={"password": exposed.token, "next": target})
            assert response.headers["location"] == "/", target
        assert client.get("/login").headers["location"] == "/"  # logged in already


def test_wrong_bearer_tokens_count_against_the_same_limit(tmp_path):
    env = {**_isolated_env(tmp_path), "AUTH_TOKEN": "the-operators-own-token"}
    with run_server(tmp_path, [], env) as server, server.client() as client:
        statuses = [client.get("/api/projects", headers={"Authorization": f"Bearer wrong-{i}"}).status_code
                    for i in range(11)]
        assert statuses == [401] * 10 + [429]
        with httpx.Client(base_url=server.url, trust_env=False) as again:
            assert again.post("/login", data={"password": "the-operators-own-token"}).status_code == 429


def test_an_embedding_host_app_serving_beyond_loopback_gets_a_login_even_with_no_auth(tmp_path):
    """mount() learns where the host app listens only at start-up (here `--host 0.0.0.0`, reached via 127.0.0.1)."""
    env = {**_isolated_env(tmp_path), "NO_AUTH": "1"}
    with run_server(tmp_path, ["--host", "0.0.0.0"], env, script=ROOT / "examples" / "embed_app.py",
                    ready_path="/health") as server:
        assert "beyond loopback: NO_AUTH does not hold there, a login is required" in server.log()
        assert server.token, server.log()
        with server.client() as client:
            assert client.get("/claude/api/projects").status_code == 401
            assert client.get("/claude/", headers={"Accept": "text/html"}).headers["location"].startswith(
                "/claude/login")
            assert client.get(f"/claude/login?token={server.token}").status_code == 303
            page = client.get("/claude/", headers={"Accept": "text/html"})
            assert page.status_code == 200 and '"href":"/claude/logout"' in page.text


def test_logout_ends_a_cookie_stream_whatever_it_asked_to_accept(exposed):
    """The hole: a stream opened with the cookie but without `Accept: text/event-stream` outlived the logout."""
    with exposed.logged_in() as client:
        cookie = cookie_header(client)
        ended = {}

        def follow(path: str, accept: str) -> None:
            with exposed.client(headers={"Cookie": cookie}) as own, \
                    own.stream("GET", path, headers={"Accept": accept}) as stream:
                assert stream.status_code == 200
                for _ in stream.iter_lines():
                    pass
            ended[accept] = time.monotonic()

        threads = [threading.Thread(target=follow, args=("/api/events", accept), daemon=True)
                   for accept in ("*/*", "application/json")]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        assert not ended, "the streams are open"
        assert client.get("/logout").status_code == 303
        for thread in threads:
            thread.join(15)
        assert set(ended) == {"*/*", "application/json"}, "a stream of the logged-out session is still open"


def test_projects_never_land_on_system_directories_or_the_servers_own_state(local, tmp_path):
    """The hole: a name whose entry in PROJECTS_ROOT is a symlink was not checked; /var/log and the state
    folder (which holds the cookie-signing key) were accepted."""
    (local.projects_root / "etc-link").symlink_to("/etc")
    (local.projects_root / "root-link").symlink_to("/root")
    (local.projects_root / "state-link").symlink_to(local.projects_root / ".server")
    state = local.projects_root / ".server"
    with local.bearer() as client:
        for body in ({"name": "etc-link"}, {"name": "root-link"}, {"name": "state-link"},
                     {"name": "logs", "path": "/var/log"}, {"name": "apt", "path": "/var/lib/apt"},
                     {"name": "state", "path": str(state)}, {"name": "keys", "path": str(state / "logs")},
                     {"name": "above", "path": str(local.projects_root)},
                     {"name": "further", "path": str(local.projects_root.parent)}):
            response = client.post("/api/projects", json=body)
            assert response.status_code == 400, (body, response.text)
            assert "system or home directory" in response.json()["detail"] or \
                "server's own state" in response.json()["detail"], response.text
        names = [p["name"] for p in client.get("/api/projects").json()]
    assert not {"etc-link", "root-link", "state-link", "logs", "apt", "state", "keys", "above", "further"} & set(names)


def test_cookies_are_secure_behind_an_https_proxy_the_operator_named(tmp_path):
    """The hole: NiceGUI's own `session` cookie lacked Secure behind https."""
    def cookies(server) -> list[str]:
        with server.client() as client:
            response = client.get(f"/login?token={server.token}", headers={"X-Forwarded-Proto": "https"})
            assert response.status_code == 303
            client.get("/", headers={"X-Forwarded-Proto": "https", "Accept": "text/html"})
            return response.headers.get_list("set-cookie")

    with run_server(tmp_path, ["--proxy", "127.0.0.1"], _isolated_env(tmp_path)) as behind_proxy:
        found = cookies(behind_proxy)
        assert {c.split("=", 1)[0] for c in found} >= {f"ccs_auth_{behind_proxy.port}", "session"}, found
        assert all("Secure" in c for c in found), found
    with run_server(tmp_path, [], _isolated_env(tmp_path)) as direct:
        assert not any("Secure" in c for c in cookies(direct)), "nobody's X-Forwarded-Proto is believed by default"
