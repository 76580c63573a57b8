"""Real-browser fixtures: ``python main.py`` in a subprocess, driven by Debian's Chromium through Playwright.

    @pytest.mark.browser
    def test_something(server, page, steps, scripted_model):
        scripted_model.add_response(text("Hi."))
        page.goto("/")                      # page's base_url is the server's
        steps.create_project("demo")        # -> /project/<id>
        job_id = steps.start_job("hello")   # -> /job/<id>
        expect(page.get_by_test_id("assistant-text")).to_have_text("Hi.")

* ``server`` - the app on 127.0.0.1:<free port>, in an isolated HOME and PROJECTS_ROOT (those of the
  ``claude_env`` fixture), its Claude Code CLIs talking to the test's ``scripted_model``. A
  ``MainProcess`` (tests/support/main_process.py): ``.url``, ``.projects_root``, ``.token``, ``.log()``.
  ``server_factory(env=..., args=...)`` starts one with extra settings (e.g. ``GRACE_PERIOD_SECONDS``),
  or several.
* ``page`` - a fresh browser context, logged in with the server's printed login URL, and a page on
  ``server.url``; 15 s default timeout for actions and ``expect``; ``page.errors`` collects console
  errors and uncaught page errors. ``browser`` is one Chromium per test module; ``new_page(server)``
  opens more logged-in pages (other tabs, other servers), ``new_page(url)`` a page that is not.
* ``steps`` - the common first steps through the UI (create a project, start a job), and
  ``text_field(page, testid)`` for the native input of a Quasar field. Tests in every module under
  tests/browser/ are marked ``browser`` automatically (``-m "not browser"`` skips them).

Playwright's sync API is used: browser tests are plain ``def`` tests (no event loop of their own);
the scripted model runs in a thread, so it answers the server while a test blocks in Playwright.

When a test fails, its report gets the server log, the browser console errors and the path of a
screenshot of every page it opened.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.main_process import MainProcess, start_main

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 15_000
SERVER_START_TIMEOUT_S = 30.0

_diagnostics_key = pytest.StashKey[list[Callable[[], tuple[str, str] | None]]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach server logs, console errors and screenshots to a failing report."""
    report = yield
    if report.failed:
        for diagnose in item.stash.get(_diagnostics_key, []):
            with contextlib.suppress(Exception):
                if section := diagnose():
                    report.sections.append(section)
    return report


def _add_diagnostics(node: pytest.Item, diagnose: Callable[[], tuple[str, str] | None]) -> None:
    node.stash.setdefault(_diagnostics_key, []).append(diagnose)


# --------------------------------------------------------------------------------- server


@pytest.fixture
def server_factory(claude_env, tmp_path: Path,
                   request: pytest.FixtureRequest) -> Iterator[Callable[..., MainProcess]]:
    """Start ``python main.py`` servers; ``env`` adds variables, ``args`` flags. All stopped after the test."""
    started: list[MainProcess] = []

    def start(env: dict[str, str] | None = None, args: list[str] | None = None,
              projects_root: Path | None = None) -> MainProcess:
        n = len(started)
        # claude_env has put HOME, ANTHROPIC_* and the CLI switches into our environment: the server inherits them.
        server = start_main(tmp_path / f"server-{n}", projects_root or claude_env.projects_root, args, env,
                            start_timeout=SERVER_START_TIMEOUT_S)
        started.append(server)
        _add_diagnostics(request.node, lambda: (f"server {n} log ({server.url})", server.log(20_000)))
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory) -> MainProcess:
    return server_factory()


# -------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Debian's: ``playwright install`` cannot download here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (playwright install cannot download)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, tmp_path: Path, request: pytest.FixtureRequest):
    """Open a page in a fresh context: ``new_page(server)`` logged in to that server with its printed login
    URL, ``new_page(url)`` not logged in. Console errors are kept on ``page.errors``."""
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    contexts = []

    def open_page(target: MainProcess | str | None = None, **context_options):
        server = target if isinstance(target, MainProcess) else None
        context = browser.new_context(base_url=server.url if server else target, **context_options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        if server:
            server.log_in(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("console", lambda m: m.type == "error" and page.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: _known_race(str(e)) or page.errors.append(f"pageerror: {e}"))
        n = len(contexts)

        def diagnose() -> tuple[str, str]:
            shot = tmp_path / f"page-{n}.png"
            lines = [f"url: {page.url}"]
            try:
                page.screenshot(path=str(shot), full_page=True)
                lines.append(f"screenshot: {shot}")
            except Exception as exc:  # the page may be gone already
                lines.append(f"no screenshot: {exc}")
            lines += page.errors or ["no console errors"]
            return f"browser page {n}", "\n".join(lines)

        _add_diagnostics(request.node, diagnose)
        return page

    yield open_page
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


@pytest.fixture
def page(server: MainProcess, new_page):
    """A logged-in page whose relative URLs go to ``server``."""
    return new_page(server)


# ------------------------------------------------------------------------- common steps


def _known_race(error: str) -> bool:
    """NiceGUI's start-up script reads Quasar's imported style sheet, which under load may not have loaded
    yet ("Failed to read the 'cssRules' property"). It only skips a cosmetic fix-up for cards."""
    return "Failed to read the 'cssRules' property" in error


def text_field(page, testid: str):
    """The native input or textarea of a text field: Quasar puts the data-testid on the native element."""
    return page.locator(f"input[data-testid={testid}], textarea[data-testid={testid}], "
                        f"[data-testid={testid}] input, [data-testid={testid}] textarea").first


def click_when_arrived(locator) -> None:
    """Click a button in a dialog. Under load the dialog's opening transition can still hold it off screen
    (Playwright: "outside of the viewport"): wait until it has arrived."""
    from playwright.sync_api import expect

    expect(locator).to_be_in_viewport()
    locator.click()


class Steps:
    """The few UI steps most browser tests start with; one place to follow when the UI changes."""

    def __init__(self, page) -> None:
        self.page = page

    def create_project(self, name: str) -> str:
        """Create a project through the sidebar's dialog; returns its id (the page is on it afterwards)."""
        from playwright.sync_api import expect

        page = self.page
        if not page.url.startswith(("http://", "https://")):
            page.goto("/")
        page.get_by_test_id("new-project").click()
        text_field(page, "project-name").fill(name)
        click_when_arrived(page.get_by_test_id("create-project"))
        expect(page).to_have_url(re.compile(r"/project/[0-9a-f]+$"))
        return page.url.rsplit("/", 1)[1]

    def start_job(self, prompt: str) -> str:
        """Send a prompt from the project page's composer; returns the new job's id (the page is on it)."""
        from playwright.sync_api import expect

        page = self.page
        text_field(page, "prompt").fill(prompt)
        page.get_by_test_id("send").click()
        expect(page).to_have_url(re.compile(r"/job/[0-9a-f]+$"))
        return page.url.rsplit("/", 1)[1]


@pytest.fixture
def steps(page) -> Steps:
    return Steps(page)
