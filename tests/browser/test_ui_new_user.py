"""What a new user stumbled on (issue 14), in Chromium at desktop (1440x900) and phone (390x844) size.

The component-level checks are in tests/ui/test_new_user.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import ui_support
from tests.browser.conftest import Steps
from tests.browser.ui_support import TURN_TIMEOUT_MS, new_project_with_job

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# -- 4. the header's two buttons ---------------------------------------------------------------


def test_approvals_and_browser_notifications_are_two_labelled_buttons(server, new_page, tmp_path) -> None:
    page = new_page(server, viewport=DESKTOP)
    page.goto("/")
    approvals, enable = page.get_by_test_id("approvals-button"), page.get_by_test_id("enable-notifications")
    expect(approvals).to_be_visible()
    expect(enable).to_be_visible()
    icons = approvals.locator("i").first.inner_text(), enable.locator("i").first.inner_text()
    assert icons[0] != icons[1] and "notifications" not in icons[0], icons
    approvals.hover()
    expect(page.get_by_role("tooltip", name="Approvals")).to_be_visible()
    page.mouse.move(0, 400)
    enable.hover()
    expect(page.get_by_role("tooltip", name="Enable browser notifications")).to_be_visible()
    shot(page, tmp_path, "header-desktop")

    # Once the browser shows notifications, the button that asks for them is gone.
    granted = new_page(server, viewport=DESKTOP, permissions=["notifications"])
    granted.goto("/")
    expect(granted.get_by_test_id("approvals-button")).to_be_visible()
    expect(granted.get_by_test_id("enable-notifications")).to_be_hidden()


# -- 5, 13. no credentials ---------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_without_credentials_the_composer_stays_in_view_and_retry_says_why_not(server_factory, new_page, tmp_path,
                                                                                viewport) -> None:
    no_keys = server_factory(env={"ANTHROPIC_API_KEY": "", "CLAUDE_CODE_OAUTH_TOKEN": "", "ANTHROPIC_AUTH_TOKEN": ""})
    page = new_page(no_keys, viewport=DESKTOP)
    steps = Steps(page)
    page.goto("/")
    expect(page.get_by_test_id("no-credentials")).to_be_visible()
    job_id = new_project_with_job(steps, page, "nocreds", "hello")
    page.set_viewport_size(viewport)
    expect(page.get_by_test_id("job-status")).to_have_text("failed", timeout=TURN_TIMEOUT_MS)
    banner = page.get_by_test_id("no-credentials-banner")
    expect(banner).to_be_visible()
    assert banner.bounding_box()["height"] <= 40
    expect(page.get_by_test_id("prompt")).to_be_in_viewport(ratio=1)
    expect(page.get_by_test_id("send")).to_be_in_viewport(ratio=1)
    # Retry would fail the same way: it is not offered, and the header says why.
    expect(page.get_by_test_id("retry")).to_be_hidden()
    expect(page.get_by_test_id("retry-blocked")).to_contain_text("until Anthropic credentials are configured")
    shot(page, tmp_path, f"no-credentials-{viewport['width']}")

    page.get_by_test_id("no-credentials-how").click()
    expect(page.get_by_test_id("no-credentials-details")).to_contain_text("ANTHROPIC_API_KEY")
    page.keyboard.press("Escape")
    page.get_by_test_id("no-credentials-dismiss").click()
    expect(banner).to_be_hidden()
    page.goto(f"/job/{job_id}")
    expect(page.get_by_test_id("job-status")).to_have_text("failed")
    expect(page.get_by_test_id("no-credentials-banner")).to_be_hidden()
    expect(page.get_by_test_id("send")).to_be_in_viewport(ratio=1)


# -- 11. too many images -----------------------------------------------------------------------


def test_choosing_eleven_images_keeps_ten_and_says_the_limit_is_ten(server, page, steps) -> None:
    from tests.support.helpers import PNG_1PX

    page.set_viewport_size(DESKTOP)
    page.goto("/")
    steps.create_project("eleven")
    page.locator("[data-testid=image-upload] input[type=file]").set_input_files(
        files=[{"name": f"shot-{n}.png", "mimeType": "image/png", "buffer": PNG_1PX} for n in range(11)])
    expect(page.get_by_text("At most 10 images per message: the first 10 were kept.")).to_be_visible()
    expect(page.get_by_text("JPEG, PNG, GIF or WebP")).to_have_count(0)
    expect(page.get_by_test_id("thumbnail")).to_have_count(10)


# -- 12. where the login's secret comes from ----------------------------------------------------


def test_with_auth_token_set_the_login_page_says_where_the_token_comes_from(server_factory, new_page) -> None:
    configured = server_factory(env={"AUTH_TOKEN": "a-configured-token-" + "x" * 24})
    assert "?token=" not in configured.log(), "a configured token is never printed"
    page = new_page(configured.url)
    page.goto("/login")
    hint = page.get_by_test_id("login-hint")
    expect(hint).to_contain_text("AUTH_TOKEN")
    expect(hint).not_to_contain_text("start-up output")
    expect(page.locator("label[for=password]")).to_have_text("Token")


def test_with_the_servers_own_token_the_login_page_points_to_the_printed_url(server, new_page) -> None:
    page = new_page(server.url)
    page.goto("/login")
    expect(page.get_by_test_id("login-hint")).to_contain_text("start-up output")


# -- 9. slash suggestions from the keyboard; /session before a job exists ------------------------


def test_slash_suggestions_are_chosen_with_the_keyboard(server, page, steps, scripted_model) -> None:
    from tests.browser.conftest import text_field
    from tests.browser.ui_support import expect_status
    from tests.support.scripted_model import text

    scripted_model.add_response(text("Ready."))
    page.set_viewport_size(DESKTOP)
    new_project_with_job(steps, page, "keys", "hello")
    expect_status(page, "idle")
    field = text_field(page, "prompt")
    field.fill("/c")
    suggestions = page.get_by_test_id("suggestion")
    expect(suggestions.first).to_have_attribute("aria-selected", "true")
    assert suggestions.count() >= 2
    field.press("ArrowDown")
    expect(suggestions.nth(1)).to_have_attribute("aria-selected", "true")
    second = suggestions.nth(1).inner_text().split()[0]
    field.press("Enter")  # takes the highlighted suggestion; sends nothing
    expect(field).to_have_value(f"{second} ")
    expect(suggestions).to_have_count(0)
    field.fill("/ses")
    expect(suggestions).to_have_count(1)
    field.press("Tab")
    expect(field).to_have_value("/session ")
    expect(field).to_be_focused()
    assert len(scripted_model.requests) == 1, "choosing a suggestion sends nothing"


def test_session_on_the_new_job_page_makes_the_job_a_session(server, page, steps, scripted_model) -> None:
    from tests.browser.conftest import text_field
    from tests.support.scripted_model import text

    scripted_model.add_response(text("Session ready."))
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    steps.create_project("session-first")
    field = text_field(page, "prompt")
    field.fill("/session")
    field.press("Enter")
    expect(page.get_by_text("This job will start as a session")).to_be_visible()
    expect(field).to_have_value("")
    assert scripted_model.requests == [], "no job was started with the prompt '/session'"
    field.fill("hello session")
    field.press("Enter")
    expect(page.get_by_test_id("mode-session")).to_be_visible()
    expect(page.get_by_test_id("user-message")).to_contain_text("hello session")
