"""The screenshots of docs/usage.md: the main views at desktop and phone width, taken from a real run.

    UPDATE_SCREENSHOTS=1 python -m pytest tests/browser/test_ui_screenshots.py

writes them to docs/screenshots/ui-*.png; without the variable they go to the test's temporary
directory, so the suite checks that every view can still be reached and drawn without touching the
committed files. Either way docs/usage.md must show every ``ui-*`` screenshot and only existing ones.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEFAULT_TIMEOUT_MS, Steps, click_when_arrived, text_field
from tests.browser.test_workspace import wait_terminal
from tests.browser.ui_support import TURN_TIMEOUT_MS, choose_permission_mode, expect_status
from tests.support.main_process import ROOT
from tests.support.scripted_model import text, thinking, tool_use

DOCS = ROOT / "docs"
USAGE = DOCS / "usage.md"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = ("ui-home", "ui-project-new-job", "ui-job-chat", "ui-job-tools", "ui-approval-plan", "ui-approval-question",
         "ui-approval-permission", "ui-approvals-list", "ui-composer", "ui-palette", "ui-light-theme",
         "ui-phone-projects", "ui-phone-jobs", "ui-phone-job", "ui-phone-terminal")

CART = '''def total(items, tax_rate):
    subtotal = sum(price * qty for price, qty in items)
    return subtotal + tax_rate
'''
FIXED = "    return round(subtotal * (1 + tax_rate), 2)\n"
FINAL = """Fixed. `total()` added the tax **rate** instead of the tax:

```python
def total(items, tax_rate):
    subtotal = sum(price * qty for price, qty in items)
    return round(subtotal * (1 + tax_rate), 2)
```

- `test_total_with_tax` passes now
- rounding to cents keeps the totals stable"""


def _script_demo(model, project_dir: Path) -> None:
    cart = str(project_dir / "cart.py")
    model.add_response(thinking("The totals are off by exactly the tax rate, so the tax is probably added as a "
                                "number instead of being applied as a percentage."),
                       text("Let me read the cart first."), tool_use("Read", {"file_path": cart}))
    model.add_response(tool_use("Bash", {"command": "grep -n tax_rate *.py", "description": "Find the tax"}))
    model.add_response(tool_use("Edit", {"file_path": cart, "old_string": "    return subtotal + tax_rate\n",
                                         "new_string": FIXED}))
    model.add_response(tool_use("Bash", {"command": "python test_cart.py", "description": "Run the cart tests"}))
    model.add_response(text(FINAL))


def _picture(width: int = 96, height: int = 64) -> bytes:
    """A small PNG with a colour gradient: something to see in the composer's thumbnail."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (40 + 2 * x, 90 + 2 * y, 200, 255))
                    for y in range(height))
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def new_job(page) -> None:
    """New job, and wait for its page: typed sooner, the prompt went into the job page's composer being left."""
    page.get_by_test_id("new-job").click()
    expect(page).to_have_url(re.compile(r"\?new=1$"))


def _shoot(page, out: Path, name: str, full_page: bool = False) -> None:
    page.wait_for_timeout(400)  # let transitions (dialogs, menus, expansions) settle
    page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)


@pytest.fixture
def server(server_factory):
    """A server whose projects live under a short path: it shows in the screenshots."""
    root = Path(tempfile.mkdtemp(prefix="ccs-", dir="/tmp")) / "projects"
    root.mkdir()
    started = server_factory(projects_root=root)
    yield started
    started.stop()
    shutil.rmtree(root.parent, ignore_errors=True)


def test_screenshots_of_the_main_views(server, new_page, browser, scripted_model, tmp_path):
    out = DOCS / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    page = new_page(server)
    page.set_viewport_size(DESKTOP)
    steps = Steps(page)
    page.goto("/")
    steps.create_project("webshop")
    project_dir = server.projects_root / "webshop"
    (project_dir / "cart.py").write_text(CART)
    (project_dir / "test_cart.py").write_text("from cart import total\n\nassert total([(10.0, 2)], 0.2) == 24.0\n"
                                              "print('test_total_with_tax passed')\n")
    webshop = page.url
    page.get_by_test_id("new-project").click()
    text_field(page, "project-name").fill("blog")
    click_when_arrived(page.get_by_test_id("create-project"))
    expect(page).not_to_have_url(webshop)
    page.goto("/")
    expect(page.get_by_test_id("card-blog")).to_be_visible()
    _shoot(page, out, "ui-home")

    # A finished job with thinking, tools and markdown.
    page.get_by_test_id("project-webshop").click()
    choose_permission_mode(page, "bypassPermissions")
    text_field(page, "prompt").fill("Fix the failing checkout test in test_cart.py")
    _shoot(page, out, "ui-project-new-job")
    _script_demo(scripted_model, project_dir)
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("assistant-text").last).to_contain_text("rounding to cents", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")
    assert "round(subtotal" in (project_dir / "cart.py").read_text()
    demo_job = page.url
    page.get_by_test_id("thinking").first.click()
    _shoot(page, out, "ui-job-chat")
    tools = page.get_by_test_id("tool-card")
    expect(tools).to_have_count(4)
    tools.nth(2).scroll_into_view_if_needed()  # the Edit and its diff
    _shoot(page, out, "ui-job-tools")

    # The composer: an attached image and `@` completion.
    page.locator("[data-testid=image-upload] input[type=file]").set_input_files(
        files=[{"name": "mockup.png", "mimeType": "image/png", "buffer": _picture()}])
    expect(page.get_by_test_id("thumbnail")).to_have_count(1)
    text_field(page, "prompt").fill("Add a test for an empty cart, like @test_c")
    expect(page.get_by_test_id("suggestion").first).to_be_visible()
    _shoot(page, out, "ui-composer")
    text_field(page, "prompt").fill("")
    page.get_by_test_id("thumbnail").get_by_role("button").click()

    # Approvals: a plan, a question and a tool waiting, in three jobs.
    scripted_model.add_response(tool_use("ExitPlanMode", {"plan": (
        "## Plan: tax per region\n\n1. Add a `TAX_RATES` table to `cart.py`\n2. Pass the region to `total()`\n"
        "3. Cover two regions in `test_cart.py`\n\nNo other files change.")}))
    new_job(page)
    choose_permission_mode(page, "plan")
    steps.start_job("Plan tax rates per region")
    expect(page.locator("[data-testid=approval-card][data-kind=plan]")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    _shoot(page, out, "ui-approval-plan")

    scripted_model.add_response(tool_use("AskUserQuestion", {"questions": [
        {"question": "Which rounding should totals use?", "header": "Rounding", "multiSelect": False,
         "options": [{"label": "Half up", "description": "what shops usually print"},
                     {"label": "Banker's", "description": "Python's round()"}]}]}))
    new_job(page)
    steps.start_job("Make rounding configurable")
    expect(page.locator("[data-testid=approval-card][data-kind=question]")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    _shoot(page, out, "ui-approval-question")

    scripted_model.add_response(tool_use("Write", {"file_path": str(project_dir / "CHANGELOG.md"),
                                                   "content": "## 1.1\n\n- Tax is applied as a rate.\n"}))
    new_job(page)
    choose_permission_mode(page, "default")
    steps.start_job("Write a changelog entry")
    expect(page.locator("[data-testid=approval-card][data-kind=permission]")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    _shoot(page, out, "ui-approval-permission")
    page.goto("/approvals")
    expect(page.get_by_test_id("approval-entry")).to_have_count(3)
    _shoot(page, out, "ui-approvals-list")

    # The palette, opened with Ctrl+K.
    page.goto(demo_job)
    expect(page.get_by_test_id("assistant-text").last).to_be_visible()
    page.keyboard.press("Control+k")
    text_field(page, "palette-input").fill("tax")
    expect(page.get_by_test_id("palette-item").first).to_be_visible()
    _shoot(page, out, "ui-palette")
    page.keyboard.press("Escape")

    page.get_by_test_id("theme").click()
    expect(page.locator("body")).to_have_class(re.compile("body--light"))
    _shoot(page, out, "ui-light-theme")
    page.get_by_test_id("theme").click()

    # A phone.
    context = browser.new_context(base_url=server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    server.log_in(context)
    try:
        phone = context.new_page()
        phone.goto("/")
        expect(phone.get_by_test_id("project-webshop")).to_be_visible()
        _shoot(phone, out, "ui-phone-projects")
        phone.get_by_test_id("project-webshop").click()
        expect(phone.get_by_test_id("new-job")).to_be_visible()
        _shoot(phone, out, "ui-phone-jobs")
        phone.goto(demo_job.replace(server.url, ""))
        expect(phone.get_by_test_id("assistant-text").last).to_be_visible()
        _shoot(phone, out, "ui-phone-job")
        # The terminal, with the keys a phone's keyboard lacks.
        phone.goto(demo_job.replace(server.url, "") + "?tab=Terminal")
        expect(phone.get_by_test_id("terminal-status")).to_contain_text("Connected", timeout=20_000)
        phone.get_by_test_id("terminal").click()
        phone.keyboard.type("python3 test_cart.py")
        phone.keyboard.press("Enter")
        wait_terminal(phone, r"test_total_with_tax passed")
        phone.get_by_test_id("key-up").click()
        _shoot(phone, out, "ui-phone-terminal")
    finally:
        context.close()

    assert sorted(p.stem for p in out.glob("ui-*.png")) == sorted(SHOTS)


def test_usage_guide_shows_every_ui_screenshot_and_only_existing_ones():
    text = USAGE.read_text()
    shown = set(re.findall(r"\(screenshots/(ui-[\w-]+)\.png\)", text))
    assert shown == set(SHOTS), (set(SHOTS) - shown, shown - set(SHOTS))
    missing = [name for name in shown if not (DOCS / "screenshots" / f"{name}.png").is_file()]
    assert not missing, f"run UPDATE_SCREENSHOTS=1 python -m pytest {Path(__file__).relative_to(ROOT)}: {missing}"
