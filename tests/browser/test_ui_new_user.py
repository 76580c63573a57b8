"""What a new user stumbled on (issue 14), in Chromium at desktop (1440x900) and phone (390x844) size.

The component-level checks are in tests/ui/test_new_user.py.
"""

from __future__ import annotations

import re
import subprocess
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


# -- 8. toasts, the git panel's Commit, Files search, the Settings menu, the palette, a narrow window ---


def _luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])
    return sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
               for w, c in zip((0.2126, 0.7152, 0.0722), (r, g, b), strict=True))


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_small_things_a_new_user_saw(server, page, steps, scripted_model, tmp_path) -> None:
    from tests.browser.conftest import text_field
    from tests.browser.ui_support import expect_status, wait_for
    from tests.support.scripted_model import text

    scripted_model.add_response(text("Ready."))
    page.set_viewport_size(DESKTOP)
    job_id = new_project_with_job(steps, page, "smalls", "hello")
    expect_status(page, "idle")
    project_dir = server.projects_root / "smalls"
    (project_dir / "long.py").write_text("x = 1\n" + "value = '" + "needle " * 60 + "'\n")
    subprocess.run(["git", "init", "-q"], cwd=project_dir, check=True)

    # The job's Settings menu: every label whole.
    page.get_by_test_id("job-settings").click()
    menu = page.locator(".q-menu")
    expect(menu.get_by_text("Effort")).to_be_visible()
    page.wait_for_timeout(400)  # the menu's opening transition
    cut = menu.locator(".q-field__label").evaluate_all(
        "labels => labels.filter(l => l.scrollWidth > l.clientWidth + 1).map(l => l.textContent)")
    assert cut == [], f"labels cut short: {cut}"
    shot(page, tmp_path, "settings-menu")

    # A toast shows at the top (not over the composer), once however often it is said, and goes soon.
    save = menu.get_by_role("button", name="Save")
    save.click()
    save.click()
    toasts = page.locator(".q-notification", has_text="Settings saved")
    expect(page.locator(".q-notifications__list--top .q-notification", has_text="Settings saved")).to_have_count(1)
    expect(toasts).to_have_count(1)
    expect(toasts).to_have_count(0, timeout=10_000)
    page.keyboard.press("Escape")

    # The palette's highlighted row reads well.
    page.keyboard.press("Control+k")
    chosen = page.locator("[data-testid=palette-item][aria-selected=true]")
    expect(chosen).to_be_visible()
    page.wait_for_timeout(300)
    colours = chosen.evaluate("""row => [getComputedStyle(row).backgroundColor,
        ...[...row.querySelectorAll('.q-label, .nicegui-label')].map(l => getComputedStyle(l).color)]""")
    assert all(contrast(colour, colours[0]) >= 4.5 for colour in colours[1:]), colours
    shot(page, tmp_path, "palette")
    page.keyboard.press("Escape")

    # Git: nothing staged, so Commit is not offered as if it would do something.
    page.goto(f"/job/{job_id}?tab=Git")
    commit = page.get_by_test_id("git-commit")
    expect(commit).to_be_visible()
    expect(commit).to_be_disabled()
    expect(commit).to_contain_text("nothing staged")
    shot(page, tmp_path, "git")

    # Files: the search's toggle is readable; a long hit line wraps beside its line number, not under it.
    page.goto(f"/job/{job_id}?tab=Files")
    mode = page.get_by_test_id("file-search-mode")
    expect(mode).to_be_visible()
    size = mode.get_by_text("Content").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 13, size
    text_field(page, "file-search").fill("needle")
    mode.get_by_text("Content").click()
    text_field(page, "file-search").press("Enter")
    line = page.locator(".ws-hit-line", has_text="value =")
    expect(line).to_be_visible()
    def laid_out():  # the list may be drawn again while the search settles: measure a line that is there
        boxes = line.locator(".ws-hit-no").bounding_box(), line.locator(".ws-hit-text").bounding_box()
        return boxes if all(boxes) else None

    number, words = wait_for(laid_out, what="the hit line laid out")
    assert words["height"] > 3 * number["height"], "the long line wraps"
    assert words["x"] >= number["x"] + number["width"], "and stays right of its number"
    shot(page, tmp_path, "files-search")

    # At 1000 px the sidebar's buttons stay inside the sidebar.
    page.set_viewport_size({"width": 1000, "height": 800})
    page.goto(f"/job/{job_id}")
    sidebar = page.locator(".ccs-splitter > .q-splitter__before").first
    expect(page.get_by_test_id("import-sessions")).to_be_visible()
    right = sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"]
    button = page.get_by_test_id("import-sessions").bounding_box()
    assert button["x"] + button["width"] <= right, (button, right)
    shot(page, tmp_path, "narrow-1000")


# -- 3 and 6 in a real run: a permission makes the job 'needs you', and its card shows the project path -----


def test_a_permission_shows_needs_you_until_answered_and_names_the_file_as_the_project_does(
        server, page, steps, scripted_model, tmp_path) -> None:
    from tests.browser.ui_support import expect_status
    from tests.support.scripted_model import text, tool_use

    project_dir = server.projects_root / "asks"
    scripted_model.add_response(tool_use("Write", {"file_path": str(project_dir / "src" / "out.txt"),
                                                   "content": "yes\n"}))
    scripted_model.add_response(text("Written."))
    page.set_viewport_size(DESKTOP)
    job_id = new_project_with_job(steps, page, "asks", "write a file", permission_mode="default")

    card = page.get_by_test_id("transcript").locator("[data-testid=approval-card][data-kind=permission]")
    expect(card).to_contain_text("Write: src/out.txt", timeout=TURN_TIMEOUT_MS)
    expect(card).not_to_contain_text(str(project_dir))
    expect(page.get_by_test_id("job-status")).to_have_text("needs you")
    expect(page.get_by_test_id(f"job-row-{job_id}").get_by_test_id("job-row-status")).to_have_text("needs you")
    expect(page.get_by_test_id(f"sidebar-needs-you-{job_id}")).to_be_visible()
    shot(page, tmp_path, "needs-you-desktop")
    page.set_viewport_size(PHONE)
    expect(page.get_by_test_id("job-status")).to_be_in_viewport()
    shot(page, tmp_path, "needs-you-phone")
    page.set_viewport_size(DESKTOP)

    card.get_by_test_id("approve").click()
    expect_status(page, "idle")
    expect(page.get_by_test_id(f"job-row-{job_id}").get_by_test_id("job-row-status")).to_have_text("idle")
    expect(page.get_by_test_id(f"sidebar-needs-you-{job_id}")).to_be_hidden()


# -- 2 in a real run: the model's API answers 500 ------------------------------------------------


def test_an_api_error_shows_once_and_the_footer_says_what_failed(server, page, steps, scripted_model) -> None:
    scripted_model.add_error(500, "Internal server boom")
    page.set_viewport_size(DESKTOP)
    new_project_with_job(steps, page, "api-error", "hello")
    expect(page.get_by_test_id("job-status")).to_have_text("failed", timeout=TURN_TIMEOUT_MS)
    transcript = page.get_by_test_id("transcript")
    footer = transcript.get_by_test_id("turn-footer")
    expect(footer).to_contain_text("Turn failed: the API answered with an error")
    expect(footer).not_to_contain_text("success")
    expect(transcript.get_by_text("Internal server boom")).to_have_count(1)
    # The error once, then the job's status in a word.
    expect(transcript.get_by_test_id("error")).to_have_text([re.compile("API Error: 500 Internal server boom"),
                                                              re.compile("Job failed$")])
