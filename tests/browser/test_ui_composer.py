"""The composer in a real browser (spec F1-F3): attach and send an image, `/` commands, `@` file paths,
and a draft that survives switching jobs."""

from __future__ import annotations

import base64
import re

from playwright.sync_api import expect

from tests.browser import ui_support
from tests.browser.conftest import text_field
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    disk_events,
    disk_job,
    expect_status,
    kinds,
    new_project_with_job,
    wait_for,
)
from tests.support.helpers import PNG_1PX
from tests.support.scripted_model import images, text, user_texts

# One server per module (see ui_support): each test works in a project of its own.
server, scripted_model, fresh_model = ui_support.server, ui_support.scripted_model, ui_support.fresh_model


def _attach(page, name: str, data: bytes, mime: str = "image/png") -> None:
    """Through the file chooser behind the paperclip: Quasar's uploader input."""
    page.locator("[data-testid=image-upload] input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_attach_an_image_and_send_it(server, page, steps, scripted_model):
    scripted_model.add_response(text("A single transparent pixel."))
    page.goto("/")
    steps.create_project("image")

    # Not an image: refused with a clear message, nothing attached.
    _attach(page, "fake.png", b"this is not a png at all")
    expect(page.get_by_text("fake.png: the file is not a valid PNG.")).to_be_visible()
    expect(page.get_by_test_id("thumbnail")).to_have_count(0)

    _attach(page, "pixel.png", PNG_1PX)
    expect(page.get_by_test_id("thumbnail")).to_have_count(1)
    job_id = steps.start_job("what is in this image?")
    message = page.get_by_test_id("user-message")
    expect(message).to_contain_text("what is in this image?")
    expect(message.get_by_test_id("user-image")).to_contain_text(f"pixel.png · {len(PNG_1PX)} B")
    expect(page.get_by_test_id("assistant-text")).to_have_text("A single transparent pixel.",
                                                               timeout=TURN_TIMEOUT_MS)

    # The model got the picture itself, next to the text.
    request = scripted_model.wait_for_requests(1)[0]
    [image] = images(request)
    assert image["source"]["media_type"] == "image/png"
    assert base64.b64decode(image["source"]["data"]) == PNG_1PX
    # (the CLI adds a line of its own naming the image's path)
    assert "what is in this image?" in [t.strip() for t in user_texts(request)]
    [event] = kinds(disk_events(server.projects_root, job_id), "user")
    assert event["images"] == [{"name": "pixel.png", "media_type": "image/png", "size": len(PNG_1PX)}]


def test_slash_lists_commands_and_session_pins_the_job(server, page, steps, scripted_model):
    scripted_model.add_response(text("Ready."))
    job_id = new_project_with_job(steps, page, "slash", "hello")
    expect_status(page, "idle")
    field = text_field(page, "prompt")
    field.fill("/")
    suggestions = page.get_by_test_id("suggestion")
    for local in ("/session", "/stop", "/close"):
        expect(suggestions.filter(has_text=local).first).to_be_visible()
    names = [s.split()[0] for s in suggestions.all_inner_texts()]
    assert len(names) > 3, names  # the CLI's own commands are offered as well
    field.fill("/ses")
    expect(suggestions).to_have_count(1)
    suggestions.first.click()
    expect(field).to_have_value("/session ")
    field.press("Enter")

    expect(page.get_by_test_id("mode-session")).to_be_visible()
    expect_status(page, "session active")
    expect(field).to_have_value("")
    wait_for(lambda: disk_job(server.projects_root, job_id)["mode"] == "session", what="the job pinned on disk")
    assert len(scripted_model.requests) == 1, "a local command never reaches the model"
    assert len(kinds(disk_events(server.projects_root, job_id), "user")) == 1


def test_at_completes_project_file_paths(server, page, steps, scripted_model):
    scripted_model.add_response(text("Read it."))
    page.goto("/")
    steps.create_project("at-files")
    project_dir = server.projects_root / "at-files"
    (project_dir / "src").mkdir()
    (project_dir / "src" / "parser_module.py").write_text("def parse():\n    pass\n")
    (project_dir / "README.md").write_text("# readme\n")

    field = text_field(page, "prompt")
    field.fill("look at @prsmod")  # fuzzy: not a substring of the path
    suggestion = page.get_by_test_id("suggestion").filter(has_text="src/parser_module.py")
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(field).to_have_value("look at @src/parser_module.py ")
    field.press("End")
    field.type("please")
    page.get_by_test_id("send").click()
    expect(page).to_have_url(re.compile(r"/job/[0-9a-f]+$"))
    expect(page.get_by_test_id("user-message")).to_contain_text("look at @src/parser_module.py please")
    expect(page.get_by_test_id("assistant-text")).to_have_text("Read it.", timeout=TURN_TIMEOUT_MS)
    assert "@src/parser_module.py" in user_texts(scripted_model.wait_for_requests(1)[0])[-1]


def test_draft_survives_switching_jobs(server, page, steps, scripted_model):
    scripted_model.add_response(text("One."))
    scripted_model.add_response(text("Two."))
    first = new_project_with_job(steps, page, "drafts", "job one")
    expect_status(page, "idle")
    page.get_by_test_id("new-job").click()
    second = steps.start_job("job two")
    expect_status(page, "idle")

    text_field(page, "prompt").fill("half-written thought for job two")
    page.get_by_test_id(f"job-row-{first}").click()
    expect(page).to_have_url(re.compile(f"/job/{first}$"))
    expect(text_field(page, "prompt")).to_have_value("")  # each job has its own draft
    page.get_by_test_id(f"job-row-{second}").click()
    expect(page).to_have_url(re.compile(f"/job/{second}$"))
    expect(text_field(page, "prompt")).to_have_value("half-written thought for job two")
    page.reload()
    expect(text_field(page, "prompt")).to_have_value("half-written thought for job two")
    assert len(scripted_model.requests) == 2, "a draft is not sent"
