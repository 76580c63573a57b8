"""Restore files to before a message, in a real browser (spec L3): the dialog lists the file, the restore
puts it back on disk, and the transcript says so; at desktop and phone width."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.ui_support import TURN_TIMEOUT_MS, choose_permission_mode, expect_status, wait_for
from tests.support.scripted_model import text, tool_use

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _shot(page, path) -> None:
    page.wait_for_timeout(400)  # the dialog's fade in or out
    page.screenshot(path=str(path))


def test_restore_files_to_before_a_message(server, page, steps, scripted_model, tmp_path):
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    steps.create_project("rewind-ui")
    notes = server.projects_root / "rewind-ui" / "notes.txt"
    notes.write_text("the notes as they were\n")
    scripted_model.add_response(text("Rewriting the notes."),
                                tool_use("Write", {"file_path": str(notes), "content": "rewritten by Claude\n"}))
    scripted_model.add_response(text("The notes are rewritten."))
    choose_permission_mode(page, "acceptEdits")
    steps.start_job("rewrite notes.txt")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.get_by_test_id("assistant-text").last).to_have_text("The notes are rewritten.",
                                                                          timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")
    assert notes.read_text() == "rewritten by Claude\n"

    # At phone width: the dialog lists the file, and Cancel leaves it alone.
    page.set_viewport_size(PHONE)
    restore = transcript.get_by_test_id("user-message").get_by_test_id("restore-files")
    restore.click()
    dialog = page.get_by_test_id("rewind-dialog")
    expect(dialog.get_by_test_id("rewind-file")).to_have_text(["notes.txt"], timeout=TURN_TIMEOUT_MS)
    _shot(page, tmp_path / "rewind-dialog-phone.png")
    dialog.get_by_test_id("rewind-cancel").click()
    expect(dialog).to_be_hidden()
    assert notes.read_text() == "rewritten by Claude\n", "listing changes nothing"

    page.set_viewport_size(DESKTOP)
    restore.click()
    expect(dialog.get_by_test_id("rewind-file")).to_have_text(["notes.txt"], timeout=TURN_TIMEOUT_MS)
    confirm = dialog.get_by_test_id("rewind-confirm")
    expect(confirm).to_contain_text("Restore 1 file")
    _shot(page, tmp_path / "rewind-dialog-desktop.png")
    confirm.click()
    expect(dialog).to_be_hidden()
    notice = transcript.get_by_test_id("rewind-notice")
    expect(notice).to_contain_text("Files restored to before “rewrite notes.txt”: notes.txt")
    wait_for(lambda: notes.read_text() == "the notes as they were\n", what="notes.txt restored")
    _shot(page, tmp_path / "rewind-notice-desktop.png")

    # A second look finds nothing left to restore, and offers no button to do it.
    page.set_viewport_size(PHONE)
    restore.click()
    expect(dialog.get_by_test_id("rewind-nothing")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(dialog.get_by_test_id("rewind-confirm")).to_be_hidden()
    _shot(page, tmp_path / "rewind-nothing-phone.png")
    dialog.get_by_test_id("rewind-cancel").click()
    expect(dialog).to_be_hidden()
    _shot(page, tmp_path / "rewind-notice-phone.png")
    assert not page.errors, page.errors
