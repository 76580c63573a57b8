"""The MCP tab in a real browser (spec N4): a project's stdio server added in the tab starts in the next job's CLI,
which calls its tool; switched off for the job, its status says so; a malformed .mcp.json is shown with its
line."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import text_field
from tests.browser.ui_support import (
    TURN_TIMEOUT_MS,
    choose_permission_mode,
    expect_status,
    new_project_with_job,
    shots_dir,
    wait_for,
)
from tests.support.scripted_model import text, tool_use

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_demo_server.py"


def test_a_server_added_in_the_tab_is_called_then_switched_off(server, page, steps, scripted_model, tmp_path):
    calls = tmp_path / "calls.txt"
    scripted_model.add_response(text("Ready."))
    scripted_model.add_response(tool_use("mcp__demo__add", {"a": 4, "b": 5}))
    scripted_model.add_response(text("Four and five make nine."))
    first_job = new_project_with_job(steps, page, "mcp", "get ready", permission_mode="bypassPermissions")
    expect_status(page, "idle")
    with server.bearer() as client:
        project_id = client.get(f"/api/jobs/{first_job}").json()["project_id"]

    page.get_by_test_id("tab-mcp").click()
    page.get_by_test_id("mcp-add").click()
    text_field(page, "mcp-name").fill("demo")
    text_field(page, "mcp-command").fill(f"{sys.executable} {SERVER}")
    page.get_by_label("Environment (NAME=value, one per line)").fill(f"DEMO_CALLS={calls}")
    page.get_by_test_id("mcp-save").click()
    card = page.get_by_test_id("mcp-server-demo")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("mcp-status")).to_have_text("not running")  # this job's CLI started without it

    # A job started now runs it, and its CLI calls the tool.
    page.goto(f"/project/{project_id}")
    choose_permission_mode(page, "bypassPermissions")
    steps.start_job("add four and five")
    expect(page.get_by_test_id("transcript").get_by_test_id("assistant-text").last).to_have_text(
        "Four and five make nine.", timeout=TURN_TIMEOUT_MS)
    wait_for(lambda: calls.exists() and calls.read_text() == "add 4 5\n", what="the tool's call")

    page.get_by_test_id("tab-mcp").click()
    expect(card.get_by_test_id("mcp-status")).to_have_text("connected")
    expect(card.get_by_test_id("mcp-tools")).to_have_text("Tools: add")
    page.screenshot(path=str(shots_dir(tmp_path) / "mcp.png"))  # docs/usage.md shows it
    card.get_by_test_id("mcp-enabled").click()
    expect(card.get_by_test_id("mcp-status")).to_have_text("disabled")

    # A file broken by hand is shown with its line, and not overwritten.
    project_dir = Path(server.projects_root) / "mcp"
    (project_dir / ".mcp.json").write_text('{\n  "mcpServers": {,\n}\n')
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_test_id("mcp-problem")).to_contain_text("line 2")
    assert not page.errors, page.errors
