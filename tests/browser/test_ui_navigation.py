"""Finding one's way in a real browser (spec H1, H2, H4): the command palette, job URLs with back and
forward, the job list's filter, resizable panels, the theme, and the layout on a phone."""

from __future__ import annotations

import contextlib
import json
import re

from playwright.sync_api import expect

from tests.browser import ui_support
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, click_when_arrived, text_field
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    disk_events,
    disk_jobs,
    expect_status,
    job_id_of,
    new_project_with_job,
    wait_for,
)
from tests.support.scripted_model import text, user_texts

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model


def _two_jobs(page, steps, scripted_model, project: str, first: tuple[str, str], second: tuple[str, str]):
    """Two finished jobs in a new project: (prompt, reply) each; returns their ids."""
    scripted_model.add_response(text(first[1]))
    scripted_model.add_response(text(second[1]))
    first_id = new_project_with_job(steps, page, project, first[0])
    expect(page.get_by_test_id("assistant-text")).to_have_text(first[1], timeout=TURN_TIMEOUT_MS)
    page.get_by_test_id("new-job").click()
    second_id = steps.start_job(second[0])
    expect(page.get_by_test_id("assistant-text")).to_have_text(second[1], timeout=TURN_TIMEOUT_MS)
    return first_id, second_id


def test_palette_finds_jobs_from_inside_the_composer(server, page, steps, scripted_model):
    first, second = _two_jobs(page, steps, scripted_model, "palette",
                              ("first topic", "We talked about zanzibar spices."),
                              ("zanzibar trip plan", "Packed."))
    text_field(page, "prompt").click()  # the shortcut works from inside a text box
    page.keyboard.press("Control+k")
    query = text_field(page, "palette-input")
    expect(query).to_be_focused()
    results = page.get_by_test_id("palette-results")
    expect(results).to_contain_text("Recent jobs")  # an empty query lists recent jobs
    expect(results.get_by_test_id("palette-item").filter(has_text="first topic")).to_be_visible()

    query.fill("zanzibar")
    items = results.get_by_test_id("palette-item")
    expect(items).to_have_count(2)
    by_content = items.filter(has_text="first topic")
    expect(by_content).to_contain_text("content")  # found in the conversation, not the name
    expect(by_content).to_contain_text("palette")  # with its project
    # Arrow keys move the highlight; Enter opens the highlighted job.
    highlighted = results.locator("[data-testid=palette-item][aria-selected=true]")
    expect(highlighted).to_have_count(1)
    before = highlighted.inner_text()
    query.press("ArrowDown")
    expect(highlighted).not_to_have_text(before)
    target = first if "first topic" in highlighted.inner_text() else second
    query.press("Enter")
    expect(page).to_have_url(re.compile(f"/job/{target}$"))
    expect(query).to_be_hidden()

    # The content match is real: the word is in that job's stored transcript, not in its name.
    stored = json.dumps(disk_events(server.projects_root, first))
    assert "zanzibar" in stored and "zanzibar" not in disk_jobs(server.projects_root)[first]["name"]
    assert len(scripted_model.requests) == 2, "searching asks nothing of the model"


def test_job_urls_back_and_forward_and_the_list_filter(server, page, steps, scripted_model):
    first, second = _two_jobs(page, steps, scripted_model, "history",
                              ("alpha job", "Alpha."), ("beta job", "Beta."))
    assert job_id_of(page) == second
    page.get_by_test_id(f"job-row-{first}").click()
    expect(page).to_have_url(re.compile(f"/job/{first}$"))
    expect(page.get_by_test_id("job-name")).to_have_text("alpha job")
    page.go_back()
    expect(page).to_have_url(re.compile(f"/job/{second}$"))
    expect(page.get_by_test_id("job-name")).to_have_text("beta job")
    expect(page.get_by_test_id("assistant-text")).to_have_text("Beta.")
    page.go_forward()
    expect(page.get_by_test_id("job-name")).to_have_text("alpha job")
    expect(page.get_by_test_id("back-to-jobs")).to_be_hidden()  # a phone-only control

    job_filter = page.get_by_placeholder("Filter jobs")
    job_filter.fill("beta")
    expect(page.get_by_test_id(f"job-row-{second}")).to_be_visible()
    expect(page.get_by_test_id(f"job-row-{first}")).to_have_count(0)
    job_filter.fill("no such job")
    expect(page.get_by_text("No match.")).to_be_visible()
    assert {first, second} <= set(disk_jobs(server.projects_root))


def test_panels_resize_and_keep_their_size(server, page, steps, scripted_model):
    scripted_model.add_response(text("Resized."))
    new_project_with_job(steps, page, "resize", "resize the panels")
    expect_status(page, "idle")
    sidebar = page.locator(".ccs-splitter > .q-splitter__before").first
    width = sidebar.bounding_box()["width"]
    separator = page.locator(".ccs-splitter > .q-splitter__separator").first
    box = separator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=6)
    page.mouse.move(x + 120, y, steps=6)
    page.mouse.up()
    wait_for(lambda: sidebar.bounding_box()["width"] > width + 80, timeout=10, what="a wider sidebar")
    wider = sidebar.bounding_box()["width"]
    # Remembered for this browser: the server keeps the new split in the browser's user storage.
    wait_for(lambda: any(s.get("split-sidebar", 0) > 18 for s in _user_storage(server)), what="the split stored")
    page.reload()
    expect(page.get_by_test_id("job-status")).to_be_visible()
    wait_for(lambda: abs(sidebar.bounding_box()["width"] - wider) < 5, timeout=10, what="the width remembered")


def _user_storage(server) -> list[dict]:
    """What NiceGUI keeps per browser (app.storage.user), as written to the server's disk."""
    stored = []
    for path in (server.log_path.parent / ".nicegui").glob("storage-user-*.json"):
        with contextlib.suppress(ValueError, OSError):
            stored.append(json.loads(path.read_text()))
    return stored


def _colour(locator) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", locator.evaluate("e => getComputedStyle(e).color"))[:3])


def test_theme_is_dark_by_default_and_light_on_request(server, page, steps, scripted_model):
    page.goto("/")
    steps.create_project("theme")
    page.goto("/")
    body = page.locator("body")
    link = page.get_by_test_id("project-theme")
    expect(body).to_have_class(re.compile(r"body--dark"))
    assert min(_colour(link)) > 200, "light text on the dark theme"
    page.get_by_test_id("theme").click()
    expect(body).to_have_class(re.compile(r"body--light"))
    assert max(_colour(link)) < 100, "dark text on the light theme"
    page.reload()
    expect(body).to_have_class(re.compile(r"body--light"))  # remembered for this browser
    wait_for(lambda: any(s.get("dark") is False for s in _user_storage(server)), what="the theme stored")
    page.get_by_test_id("theme").click()
    expect(body).to_have_class(re.compile(r"body--dark"))


def test_phone_layout_shows_one_panel_at_a_time(server, browser, scripted_model):
    scripted_model.add_response(text("Hello, small screen."))
    context = browser.new_context(base_url=server.url, viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    server.log_in(context)
    try:
        phone = context.new_page()
        phone.goto("/")
        # The projects list is the home page on a phone, and it can create a project.
        expect(phone.get_by_text("Projects", exact=True).first).to_be_visible()
        phone.get_by_test_id("new-project").click()
        text_field(phone, "project-name").fill("phone")
        click_when_arrived(phone.get_by_test_id("create-project"))
        expect(phone).to_have_url(re.compile(r"/project/[0-9a-f]+$"))
        # A project opens on its job list; "New job" shows the composer.
        expect(phone.get_by_test_id("new-job")).to_be_visible()
        expect(phone.get_by_test_id("new-project")).to_be_hidden()
        phone.get_by_test_id("new-job").click()
        field = text_field(phone, "prompt")
        expect(field).to_be_visible()
        field.fill("hello from a phone")
        phone.get_by_test_id("send").click()
        expect(phone).to_have_url(re.compile(r"/job/[0-9a-f]+$"))
        job_id = job_id_of(phone)

        # The job fills the screen: reply, controls and the composer within the viewport; no lists.
        expect(phone.get_by_test_id("assistant-text")).to_have_text("Hello, small screen.", timeout=TURN_TIMEOUT_MS)
        expect(phone.get_by_test_id(f"job-row-{job_id}")).to_be_hidden()
        composer = text_field(phone, "prompt")
        expect(composer).to_be_in_viewport()
        expect(phone.get_by_test_id("send")).to_be_in_viewport()
        header = phone.locator("header")
        assert header.bounding_box()["height"] < 70, "the header stays one row"
        assert user_texts(scripted_model.wait_for_requests(1)[0])[-1] == "hello from a phone"
        assert job_id in disk_jobs(server.projects_root)

        # Back to the job list with the arrow next to the job's name.
        phone.get_by_test_id("back-to-jobs").click()
        expect(phone.get_by_test_id(f"job-row-{job_id}")).to_be_visible()
    finally:
        context.close()


def test_an_unknown_job_or_project_says_so_in_the_frame(server, page):
    for path, words in (("/job/0123abcd", "No job with id '0123abcd'."),
                        ("/project/0123abcd", "No project with id '0123abcd'.")):
        page.goto(path)
        expect(page.get_by_test_id("not-found")).to_have_text(words)
        expect(page.get_by_test_id("new-project")).to_be_visible()  # the sidebar is there: a way on
