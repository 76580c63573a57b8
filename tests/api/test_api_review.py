"""Hunks of a project's git and an isolated job's review and merge over HTTP (spec G3, L2, I1).

The API is served by a real uvicorn in the test's loop (tests/support/api_server.py). Isolated jobs
are made here as a finished job whose record names a worktree made with core.workspace.worktrees:
the review works on whatever made the worktree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from core import events
from core.models import Job, JobStatus, new_id
from core.workspace.worktrees import Worktrees
from tests.support.api_server import api_client

NUMBERS = "".join(f"line {n}\n" for n in range(1, 31))


@pytest.fixture(autouse=True)
def git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "API Tester")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "api@example.com")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def committed_project(services, name: str) -> tuple[str, Path]:
    project = services.projects.create(name)
    root = Path(project.path)
    git(root, "init", "-q", "-b", "main")
    (root / "numbers.txt").write_text(NUMBERS)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return project.id, root


def isolated_job(services, project_id: str, name: str) -> tuple[Job, Path]:
    job = Job(id=new_id(), project_id=project_id, name=name, prompt=name, status=JobStatus.COMPLETED)
    made = Worktrees(services.settings.state_dir).create(services.workspaces.git(project_id), job.id, name)
    job.isolated, job.worktree, job.branch, job.base, job.base_commit = (
        True, made.worktree, made.branch, made.base, made.base_commit)
    services.jobs.add_imported_job(job, [events.make(events.USER, text=name)])
    return job, Path(made.worktree)


def refused(response, status: int, fragment: str) -> None:
    assert response.status_code == status, (status, response.status_code, response.text[:300])
    assert fragment in response.json()["detail"], response.text[:300]


async def test_a_projects_hunks_are_listed_staged_unstaged_and_discarded(services):
    project_id, root = committed_project(services, "hunks")
    (root / "numbers.txt").write_text(NUMBERS.replace("line 2\n", "two\n").replace("line 25\n", "twenty-five\n"))
    (root / "new.txt").write_text("new\n")
    async with api_client(services) as api:
        base = f"/projects/{project_id}/git"
        files = (await api.get(f"{base}/hunks")).json()
        assert [(f["path"], f["change"], len(f["hunks"])) for f in files] == [
            ("new.txt", "added", 1), ("numbers.txt", "modified", 2)]
        first, second = files[1]["hunks"]
        assert first["lines"] == [" line 1", "-line 2", "+two", " line 3", " line 4", " line 5"]
        assert (first["added"], first["removed"], first["kind"], first["whole_file"]) == (1, 1, "text", False)

        status = await api.post(f"{base}/hunks/{second['id']}/stage")
        assert status.status_code == 200, status.text
        assert [c["path"] for c in status.json()["staged"]] == ["numbers.txt"]
        staged = (await api.get(f"{base}/hunks", params={"staged": True, "path": "numbers.txt"})).json()
        assert [h["lines"] for h in staged[0]["hunks"]] == [second["lines"]]
        refused(await api.post(f"{base}/hunks/{second['id']}/stage"), 409, "changed since you looked")
        assert (await api.post(f"{base}/hunks/{second['id']}/unstage",
                               params={"path": "numbers.txt"})).json()["staged"] == []
        assert (await api.post(f"{base}/hunks/{files[0]['hunks'][0]['id']}/discard")).status_code == 200
        assert not (root / "new.txt").exists()
        assert (await api.post(f"{base}/hunks/{first['id']}/discard")).status_code == 200
        assert (root / "numbers.txt").read_text() == NUMBERS.replace("line 25\n", "twenty-five\n")
        assert (await api.post(f"{base}/hunks/not-an-id/stage")).status_code == 422
        refused(await api.post(f"{base}/hunks/0123456789ab/stage", params={"path": "../x"}), 403, "not allowed")


async def test_an_isolated_jobs_changes_are_accepted_rejected_and_merged(services):
    project_id, root = committed_project(services, "review")
    job, work = isolated_job(services, project_id, "Tidy numbers")
    (work / "numbers.txt").write_text(NUMBERS.replace("line 3\n", "three\n").replace("line 15\n", "fifteen\n")
                                      .replace("line 27\n", "twenty-seven\n"))
    (work / "notes.txt").write_text("notes\n")
    async with api_client(services) as api:
        changes = (await api.get(f"/jobs/{job.id}/changes")).json()
        assert (changes["branch"], changes["base"], changes["base_ahead"], changes["hunk_count"]) == (
            job.branch, "main", 0, 4)
        assert changes["notes"] == [] and not changes["worktree_missing"] and changes["on_branch"]
        numbers = next(f for f in changes["files"] if f["path"] == "numbers.txt")
        first, second, third = (h["id"] for h in numbers["hunks"])
        accepted = await api.post(f"/jobs/{job.id}/changes/hunks/{first}/accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["accepted"] == [first] and accepted.json()["path"] == "numbers.txt"
        await api.post(f"/jobs/{job.id}/changes/hunks/{third}/accept", params={"path": "numbers.txt"})
        rejected = (await api.post(f"/jobs/{job.id}/changes/hunks/{second}/reject")).json()
        assert [(h["id"], h["accepted"]) for h in rejected["file"]["hunks"]] == [(first, True), (third, True)]
        assert "line 15\n" in (work / "numbers.txt").read_text()
        refused(await api.post(f"/jobs/{job.id}/changes/hunks/{second}/reject"), 409, "changed since you looked")
        again = (await api.get(f"/jobs/{job.id}/changes", params={"path": "numbers.txt"})).json()
        assert again["accepted_count"] == 2 and [f["path"] for f in again["files"]] == ["numbers.txt"]

        merged = await api.post(f"/jobs/{job.id}/merge", json={"squash": False, "message": ""})
        assert merged.status_code == 200, merged.text
        body = merged.json()
        assert body["merged"] and body["work_commit"] and body["commit"] and not body["base_moved"]
        assert git(root, "log", "-1", "--format=%s").strip() == "Tidy numbers"
        assert (root / "numbers.txt").read_text() == (work / "numbers.txt").read_text()
        assert (await api.get(f"/jobs/{job.id}/changes")).json()["files"] == []
        refused(await api.post(f"/jobs/{job.id}/merge", json={}), 409, "Nothing to merge")


async def test_a_conflicting_merge_answers_409_with_the_files_and_the_follow_up(services):
    project_id, root = committed_project(services, "clash")
    job, work = isolated_job(services, project_id, "Theirs")
    (work / "numbers.txt").write_text(NUMBERS.replace("line 1\n", "theirs\n"))
    (root / "numbers.txt").write_text(NUMBERS.replace("line 1\n", "ours\n"))
    async with api_client(services) as api:
        refused(await api.post(f"/jobs/{job.id}/merge", json={"squash": True}), 409, "uncommitted changes")
        git(root, "commit", "-q", "-am", "ours")
        before = git(root, "rev-parse", "HEAD")
        answer = await api.post(f"/jobs/{job.id}/merge", json={"squash": True, "message": "m"})
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["conflicts"] == ["numbers.txt"] and "Nothing was changed" in body["detail"]
        assert "git merge main" in body["resolve_prompt"] and body["work_commit"]
        assert git(root, "rev-parse", "HEAD") == before and git(root, "status", "--porcelain") == ""
        changes = (await api.get(f"/jobs/{job.id}/changes")).json()
        assert changes["base_ahead"] == 1 and "main has moved on" in changes["notes"][0]
        refused(await api.post(f"/jobs/{job.id}/merge", json={"squash": "yes please"}), 422, "squash")
        refused(await api.post(f"/jobs/{job.id}/merge", json={"strategy": "ours"}), 422, "strategy")


async def test_jobs_that_are_not_isolated_or_do_not_exist(services):
    project_id, _ = committed_project(services, "plain")
    job = services.jobs.add_imported_job(Job(id=new_id(), project_id=project_id, name="plain", prompt="p",
                                             status=JobStatus.COMPLETED), [events.make(events.USER, text="p")])
    async with api_client(services) as api:
        refused(await api.get(f"/jobs/{job.id}/changes"), 409, "not isolated")
        refused(await api.post(f"/jobs/{job.id}/merge", json={}), 409, "not isolated")
        refused(await api.post(f"/jobs/{job.id}/changes/hunks/0123456789ab/accept"), 409, "not isolated")
        refused(await api.get("/jobs/nope/changes"), 404, "No job")
