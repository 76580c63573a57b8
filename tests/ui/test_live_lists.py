"""The job list and the projects sidebar follow job changes live (H1), and update rows in place.

Rebuilding every row on every job notice made ten streaming windows fall a second behind
(bench/bench_ui_latency.py); these tests pin both what the user sees and that a status change
leaves the other rows' elements alone.
"""

from __future__ import annotations

import asyncio

import pytest
from nicegui import Client, ui
from nicegui.testing import User

from components.job.job_list import JobList
from components.shell.sidebar import ProjectSidebar
from core.models import Job, JobStatus, new_id
from core.services import Services
from core.settings import Settings

pytestmark = pytest.mark.nicegui_main_file("")

@pytest.fixture
def services(tmp_path) -> Services:
    return Services.create(Settings(projects_root=tmp_path / "projects"))


@pytest.fixture
async def lists(user: User, services: Services):
    project = services.projects.create("demo")
    built: dict[str, object] = {}

    @ui.page("/lists")
    def page() -> None:
        built["sidebar"] = ProjectSidebar(services, active_project_id=project.id)
        built["list"] = JobList(services, project.id)

    def add(name: str, status: str = JobStatus.IDLE) -> Job:
        return services.jobs.add_imported_job(
            Job(id=new_id(), project_id=project.id, name=name, prompt=name, status=status), [])

    built["add"] = add
    built["project"] = project
    yield built
    for client in list(Client.instances.values()):
        if not client.is_deleted and client.page.path == "/lists":
            client.delete()


def _set_status(services: Services, job: Job, status: str) -> None:
    """What a running turn does to a job: its status changes and a job notice goes out."""
    services.jobs.set_status(services.jobs.get(job.id), status)


async def _until(condition, what: str) -> None:
    for _ in range(40):  # the lists redraw on a 0.3 s timer
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_status_and_name_changes_update_their_row_in_place(user: User, services: Services, lists) -> None:
    first, second = lists["add"]("first job"), lists["add"]("second job")
    await user.open("/lists")
    job_list: JobList = lists["list"]
    await user.should_see("first job")
    await user.should_see("second job")
    rows = dict(job_list._rows)
    assert rows[first.id].badge.text == "idle"

    _set_status(services, first, JobStatus.RUNNING)
    await _until(lambda: job_list._rows[first.id].badge.text == "running", "the badge to say running")
    assert job_list._rows[first.id].badge.props["color"] == "primary"
    services.jobs.rename(second.id, "renamed job")
    await _until(lambda: job_list._rows[second.id].name.text == "renamed job", "the new name")
    await user.should_not_see("second job")
    # The same row elements, changed in place.
    assert job_list._rows == rows

    third = lists["add"]("third job")
    await _until(lambda: third.id in job_list._rows, "the new job's row")
    await user.should_see("third job")
    assert list(job_list._rows) == [third.id, second.id, first.id]  # newest first


async def test_the_filter_and_forged_values_do_not_break_the_list(user: User, lists) -> None:
    alpha, beta = lists["add"]("alpha", status=JobStatus.COMPLETED), lists["add"]("beta", status=JobStatus.COMPLETED)
    await user.open("/lists")
    job_list: JobList = lists["list"]
    job_list.filter.set_value("alp")
    await user.should_see("alpha")
    await user.should_not_see("beta")
    assert list(job_list._rows) == [alpha.id]
    job_list.filter.set_value("nothing like it")
    await user.should_see("No match.")
    job_list.filter.set_value(12345)  # a browser may send any JSON value
    await user.should_see("No match.")
    job_list.filter.set_value(None)
    await user.should_see("beta")
    assert list(job_list._rows) == [beta.id, alpha.id]


async def test_sidebar_shows_live_jobs_and_follows_their_status(user: User, services: Services, lists) -> None:
    idle = lists["add"]("idle session")
    done = lists["add"]("finished job", status=JobStatus.COMPLETED)
    await user.open("/lists")
    sidebar: ProjectSidebar = lists["sidebar"]
    section = sidebar._sections[lists["project"].id]
    await _until(lambda: section.count.text == "1", "one live job counted")
    assert idle.id in section._dots and done.id not in section._dots

    dot = section._dots[idle.id][0]
    _set_status(services, idle, JobStatus.RUNNING)
    await _until(lambda: section._dots[idle.id][1].text == "running", "the dot's label to say running")
    assert section._dots[idle.id][0] is dot and dot.props["color"] == "primary"

    _set_status(services, done, JobStatus.QUEUED)  # a follow-up brings a finished job back
    await _until(lambda: section.count.text == "2", "two live jobs counted")
    _set_status(services, idle, JobStatus.COMPLETED)
    _set_status(services, done, JobStatus.COMPLETED)
    await _until(lambda: not section.count.visible, "the live count to disappear")
    assert section._dots == {}
