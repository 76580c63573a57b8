"""Isolated jobs over the HTTP API (spec L1, I1): submit, the project's default, carry over, discard."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.api_server import api_client, job_status, job_turns
from tests.support.scripted_model import text


@pytest.fixture(autouse=True)
def git_identity(monkeypatch):
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "API Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "api@example.com")


def _git(directory: str, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, check=True).stdout


async def test_isolated_jobs_over_the_api(services, scripted_model):
    for _ in range(4):
        scripted_model.add_response(text("Working in my own worktree."))
    async with api_client(services) as api:
        project = (await api.post("/projects", json={"name": "iso"})).json()
        refused = await api.post("/jobs", json={"project_id": project["id"], "prompt": "hi", "isolated": True})
        assert refused.status_code == 400 and "need a git repository" in refused.json()["detail"]
        assert (await api.get("/jobs")).json() == [], "nothing was made"

        initialised = await api.post(f"/projects/{project['id']}/git/init", json={"first_commit": True})
        assert initialised.status_code == 200 and initialised.json()["is_repo"], initialised.text
        assert (await api.get(f"/projects/{project['id']}/git/log")).json()[0]["subject"] == "Initial commit"
        Path(project["path"], "draft.txt").write_text("not committed\n")
        updated = await api.patch(f"/projects/{project['id']}", json={"isolate_jobs": True})
        assert updated.status_code == 200 and updated.json()["isolate_jobs"] is True
        assert updated.json()["name"] == "iso", "a partial update keeps the rest"

        created = await api.post("/jobs", json={"project_id": project["id"], "prompt": "hi"})
        assert created.status_code == 201, created.text
        job = created.json()
        assert job["isolated"] and job["worktree"] and job["base"] == "master"
        assert job["uncommitted_elsewhere"] == ["draft.txt"]
        job = await job_turns(api, job["id"], 1)
        assert job["branch"].startswith("claude/hi-") and job["base_commit"]

        carried = await api.post(f"/jobs/{job['id']}/carry-over")
        assert carried.status_code == 200 and carried.json() == {"paths": ["draft.txt"]}
        assert Path(job["worktree"], "draft.txt").read_text() == "not committed\n"

        early = await api.post(f"/jobs/{job['id']}/discard-branch")
        assert early.status_code == 409 and "Archive the job first" in early.json()["detail"]
        assert (await api.post(f"/jobs/{job['id']}/archive")).status_code == 200
        await job_status(api, job["id"], "archived")
        assert not Path(job["worktree"]).exists()
        assert _git(project["path"], "show", f"{job['branch']}:draft.txt") == "not committed\n"
        discarded = await api.post(f"/jobs/{job['id']}/discard-branch")
        assert discarded.status_code == 200 and discarded.json()["branch"] is None
        assert _git(project["path"], "branch", "--list", job["branch"]) == ""

        plain = (await api.post("/jobs", json={"project_id": project["id"], "prompt": "hi", "isolated": False})).json()
        assert not plain["isolated"] and plain["worktree"] is None
        unknown = await api.post("/jobs", json={"project_id": project["id"], "prompt": "hi", "base": "nope"})
        assert unknown.status_code == 400 and "no branch 'nope'" in unknown.json()["detail"]
        ordinary = await api.post(f"/jobs/{plain['id']}/carry-over")
        assert ordinary.status_code == 409
