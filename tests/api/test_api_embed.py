"""Embedding (spec A4): the UI and the API mounted under /claude inside another FastAPI app.

NiceGUI can be mounted once per process, so examples/embed_app.py runs as a subprocess
(its Claude Code CLIs talking to this test's scripted model) and is driven over HTTP.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.main_process import ROOT, MainProcess, run_main
from tests.support.scripted_model import text


@pytest.fixture
def embedded(claude_env, tmp_path: Path) -> Iterator[MainProcess]:
    """examples/embed_app.py on a free port, with the login URL it printed."""
    with run_main(tmp_path, claude_env.projects_root, script=ROOT / "examples" / "embed_app.py",
                  ready_path="/health") as server:
        assert server.prefix == "/claude" and server.token, server.log()
        assert f"127.0.0.1:{server.port}/claude/login?token=" in server.log(), "the URL names the real port"
        yield server


def _sse(response: httpx.Response) -> Iterator[dict]:
    """Data of each SSE message, with its id and event name added."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in fields:
                yield {"id": fields.get("id"), "event": fields.get("event", "message"),
                       "data": json.loads(fields["data"])}
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def test_ui_and_api_under_a_prefix_beside_the_host_routes(embedded, scripted_model):
    url, proc, log_path = embedded.url, embedded.proc, embedded.log_path
    scripted_model.add_response(text("Hello from under a prefix, slowly.", chunk=2, delay=0.05))
    with httpx.Client(base_url=url, timeout=60, headers=embedded.auth_header) as client:
        assert client.get("/").text.startswith("<h1>My app</h1>")
        page = client.get("/claude/")
        assert page.status_code == 200 and "<title>Claude Code Server</title>" in page.text
        assert client.get("/claude", follow_redirects=False).headers["location"].endswith("/claude/")
        assets = re.findall(r'"(/claude/_nicegui/[^"]+\.js)"', page.text)
        assert assets, "the page loads NiceGUI's scripts from under the prefix"
        assert client.get(assets[0]).status_code == 200
        handshake = client.get("/claude/_nicegui_ws/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert handshake.status_code == 200 and '"sid"' in handshake.text, "the websocket endpoint is under /claude"
        docs = client.get("/claude/api/docs")
        assert docs.status_code == 200 and "/claude/api/openapi.json" in docs.text
        assert "/jobs/{job_id}/events" in client.get("/claude/api/openapi.json").json()["paths"]

        project = client.post("/claude/api/projects", json={"name": "embedded"})
        assert project.status_code == 201 and "/claude/api/projects/" in project.headers["location"]
        created = client.post("/claude/api/jobs", json={"project_id": project.json()["id"], "prompt": "hello"})
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        assert created.headers["location"] == f"{url}/claude/api/jobs/{job_id}"

        host_answers = []
        with client.stream("GET", f"/claude/api/jobs/{job_id}/events") as stream:
            for message in _sse(stream):
                if message["event"] == "delta" and not host_answers:
                    # Mid-turn: the host app's own route keeps answering.
                    host_answers.append(client.get("/health").json())
                data = message["data"]
                if data["kind"] == "status" and data["status"] == "idle":
                    break
        assert host_answers and host_answers[0]["jobs"] == 1
        events = client.get(f"/claude/api/jobs/{job_id}/transcript").json()["events"]
        texts = [e["block"]["text"] for e in events if e["kind"] == "assistant"]
        assert texts == ["Hello from under a prefix, slowly."]
        missing = client.get("/claude/api/nowhere")
        assert missing.json() == {"detail": "There is no API route GET /claude/api/nowhere."}

    proc.send_signal(signal.SIGTERM)  # the host's lifespan ends, and the embedded services with it
    assert proc.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
    log = log_path.read_text()
    assert "host app starting" in log and "host app stopped" in log


def test_ui_works_in_a_browser_under_the_prefix(embedded, scripted_model):
    """Websocket, links and job pages under /claude, in Chromium (skipped without it)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("no /usr/bin/chromium")
    url = embedded.url
    scripted_model.add_response(text("Browser reply under the prefix."))
    with httpx.Client(base_url=url + "/claude/api", timeout=60, headers=embedded.auth_header) as api:
        project = api.post("/projects", json={"name": "browser-project"}).json()
        job = api.post("/jobs", json={"project_id": project["id"], "prompt": "hello from the api"}).json()
    errors: list[str] = []
    result: dict = {}

    def drive() -> None:  # Playwright's sync API refuses to run inside an asyncio loop: own thread
        try:
            with playwright_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(chromium), headless=True,
                                            args=["--headless", "--no-sandbox", "--disable-gpu",
                                                  "--disable-background-networking"])
                context = browser.new_context(base_url=url)
                embedded.log_in(context)
                page = context.new_page()
                page.set_default_timeout(20_000)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto("/claude/")
                page.wait_for_function("window.did_handshake === true")  # socket.io under the prefix
                hrefs = page.eval_on_selector_all("a[href^='/']", "links => links.map(a => a.getAttribute('href'))")
                result["hrefs"] = hrefs
                page.get_by_text("browser-project", exact=True).first.click()  # a link the UI made
                page.wait_for_url(re.compile(r"/claude/.+"))
                page.goto(f"/claude/job/{job['id']}")
                page.get_by_text("Browser reply under the prefix.").first.wait_for()
                page.wait_for_function("window.did_handshake === true")
                browser.close()
        except Exception as exc:  # reported by the assertion below
            result["error"] = repr(exc)

    thread = threading.Thread(target=drive)
    thread.start()
    thread.join(180)
    assert not thread.is_alive() and "error" not in result, result
    assert result["hrefs"] and all(h.startswith("/claude/") for h in result["hrefs"]), result["hrefs"]
    assert not errors, errors
