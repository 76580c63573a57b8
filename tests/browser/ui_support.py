"""Shared pieces of the UI browser tests (tests/browser/test_ui_*.py).

* A module-scoped ``scripted_model`` and ``server``: one ``python main.py`` per test module, for
  modules whose tests do not interfere (each uses its own project). Import both names into a test
  module to use them instead of the per-test fixtures of conftest.py::

      from tests.browser.ui_support import scripted_model, server  # noqa: F401

  The model's script and records are cleared before each test (``fresh_model``, autouse through
  the import of ``server``).
* What the server wrote to disk: ``disk_job`` (the job record in the TinyDB shards) and
  ``disk_events`` (the job's JSON-lines transcript).
* ``wait_for``: poll a condition that is not on the page (the disk, the model) without fixed sleeps.
* Small UI steps shared by several modules.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import _add_diagnostics, text_field
from tests.support.main_process import MainProcess, child_environment, start_main
from tests.support.scripted_model import LEAKY_ENV, ScriptedModel, offline_cli_env

# A turn runs the real CLI on a loaded 2-core machine: be generous.
TURN_TIMEOUT_MS = 45_000
GRACE_PERIOD_S = 600  # long enough that a one-shot job stays live for the whole module


# ---------------------------------------------------------------------------- shared server


def cli_env(home: Path, projects_root: Path, cli_tmp: Path, base_url: str) -> dict[str, str]:
    """What conftest's ``claude_env`` puts in the environment, for a server that outlives one test."""
    env = {name: value for name, value in os.environ.items() if name not in LEAKY_ENV}
    return child_environment(env, **offline_cli_env(home, base_url, cli_tmp), PROJECTS_ROOT=str(projects_root))


def start_server(workdir: Path, env: dict[str, str]) -> MainProcess:
    """``python main.py`` on a free port in its own process group, cwd ``workdir``; waits until it answers."""
    return start_main(workdir, Path(env["PROJECTS_ROOT"]), base_env=env)


@pytest.fixture(scope="module")
def scripted_model() -> Iterator[ScriptedModel]:
    """One scripted model for the module's server (cleared before each test by ``fresh_model``)."""
    with ScriptedModel() as model:
        yield model


@pytest.fixture(scope="module")
def server(scripted_model: ScriptedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MainProcess]:
    """One ``python main.py`` for the whole module, in an isolated HOME and PROJECTS_ROOT."""
    base = tmp_path_factory.mktemp("ui-server")
    for sub in ("home", "projects", "cli-tmp"):
        (base / sub).mkdir()
    env = cli_env(base / "home", base / "projects", base / "cli-tmp", scripted_model.base_url)
    env["GRACE_PERIOD_SECONDS"] = str(GRACE_PERIOD_S)
    server = start_server(base / "server", env)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_model(request: pytest.FixtureRequest) -> None:
    """Before each test of a module that uses the shared server: an empty script, empty records."""
    if "server" not in request.fixturenames:
        return
    model = request.getfixturevalue("scripted_model")
    model.clear()
    server_ = request.getfixturevalue("server")
    _add_diagnostics(request.node, lambda: ("server log (module server)", server_.log()))


# --------------------------------------------------------------------------------- the disk


def state_dir(projects_root: Path) -> Path:
    return projects_root / ".server"


def disk_jobs(projects_root: Path) -> dict[str, dict[str, Any]]:
    """Every job record as saved on disk (TinyDB shards), by id."""
    found: dict[str, dict[str, Any]] = {}
    for shard in sorted((state_dir(projects_root) / "state" / "jobs").glob("shard-*.json")):
        with contextlib.suppress(ValueError, OSError):
            for table in json.loads(shard.read_text() or "{}").values():
                for doc in table.values():
                    found[doc["id"]] = doc
    return found


def disk_job(projects_root: Path, job_id: str) -> dict[str, Any]:
    job = disk_jobs(projects_root).get(job_id)
    assert job is not None, f"job {job_id} is not on disk"
    return job


def disk_projects(projects_root: Path) -> dict[str, dict[str, Any]]:
    path = state_dir(projects_root) / "state" / "projects.json"
    data = json.loads(path.read_text() or "{}") if path.exists() else {}
    return {doc["id"]: doc for table in data.values() for doc in table.values()}


def disk_events(projects_root: Path, job_id: str) -> list[dict[str, Any]]:
    """The job's transcript as stored: one JSON object per line."""
    path = state_dir(projects_root) / "logs" / f"{job_id}.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


def kinds(events: list[dict[str, Any]], *wanted: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("kind") in wanted]


def wait_for(predicate: Callable[[], Any], timeout: float = 45.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (for state outside the page)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


# --------------------------------------------------------------------------------- UI steps


def job_id_of(page: Page) -> str:
    match = re.search(r"/job/([0-9a-f]+)", page.url)
    assert match, page.url
    return match.group(1)


def expect_status(page: Page, status: str, timeout: int = TURN_TIMEOUT_MS) -> None:
    expect(page.get_by_test_id("job-status")).to_have_text(status, timeout=timeout)


def send_follow_up(page: Page, message: str) -> None:
    """Type into the job's composer and press Enter (spec F1)."""
    field = text_field(page, "prompt")
    field.fill(message)
    field.press("Enter")
    expect(field).to_have_value("")


def choose_permission_mode(page: Page, mode: str) -> None:
    """On the project page: open the new job's Options and pick a permission mode."""
    page.get_by_test_id("job-options").click()
    select = page.locator("label.q-select", has_text="Permission mode")
    select.click()
    page.get_by_role("option", name=mode, exact=True).click()
    expect(select).to_contain_text(mode)


def new_project_with_job(steps, page: Page, project: str, prompt: str, permission_mode: str | None = None) -> str:
    """Create a project and start a job in it from the browser; returns the job id."""
    page.goto("/")
    steps.create_project(project)
    if permission_mode:
        choose_permission_mode(page, permission_mode)
    return steps.start_job(prompt)


DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shots_dir(tmp_path: Path) -> Path:
    """docs/screenshots with UPDATE_SCREENSHOTS=1 (docs/usage.md shows them), else the test's own folder."""
    return DOCS_SHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
