"""Warm starts in a real browser (spec O1): `python main.py` with the pool at its default size; opening a
project's page starts a CLI in its folder, and the job written there runs in it, writing its file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.ui_support import TURN_TIMEOUT_MS, disk_job, expect_status
from tests.support.helpers import cli_processes
from tests.support.main_process import MainProcess
from tests.support.scripted_model import text, tool_use


@pytest.fixture
def server(server_factory) -> MainProcess:
    return server_factory(env={"WARM_POOL_SIZE": "2"})


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_project_page_readies_a_cli_and_the_first_job_runs_in_it(server, page, steps, scripted_model):
    project_id = steps.create_project("warm-start")
    with server.bearer() as client:
        folder = client.get(f"/api/projects/{project_id}").json()["path"]
    started = _wait(lambda: cli_processes(server.proc.pid), 60, "a CLI started for the open project")
    assert len(started) == 1, started
    (warm_pid, warm_cwd), = started.items()
    assert os.path.realpath(warm_cwd) == os.path.realpath(folder)

    target = Path(warm_cwd) / "warm.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "from a warm CLI\n"}))
    scripted_model.add_response(text("Written."))
    steps.start_job("write warm.txt")
    transcript = page.get_by_test_id("transcript")
    # The CLI started before the job asks this job's person, in this page, before it writes.
    card = transcript.locator("[data-testid=approval-card][data-kind=permission]")
    expect(card).to_contain_text("warm.txt", timeout=TURN_TIMEOUT_MS)
    card.get_by_test_id("approve").click()
    expect(transcript.get_by_test_id("assistant-text").last).to_have_text("Written.", timeout=TURN_TIMEOUT_MS)
    expect_status(page, "idle")
    assert target.read_text() == "from a warm CLI\n"

    # The CLI that served the job is the one started when the page opened: completing the job ends it,
    # and the pool has started another for the project's next job.
    job_id = page.url.rsplit("/", 1)[1]
    with server.bearer() as client:
        assert client.post(f"/api/jobs/{job_id}/complete").status_code == 200
    _wait(lambda: warm_pid not in cli_processes(server.proc.pid), 30, "the job's CLI to end with the job")
    _wait(lambda: disk_job(server.projects_root, job_id)["status"] == "completed", 30, "the job completed on disk")
    others = _wait(lambda: cli_processes(server.proc.pid), 30, "a CLI for the project's next job")
    assert list(others.values()) == [warm_cwd]
    assert not page.errors, page.errors
