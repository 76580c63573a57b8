"""Isolated jobs (spec L1): each in a git worktree and branch of its own, against the real CLI and real git.

The scripted model answers by the prompt's words: a job's Bash tool writes its own version of a
shared file (and commits it, when asked to), so two jobs really edit the same file at once.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.errors import Conflict, UserError
from tests.support.helpers import wait_status, wait_until
from tests.support.scripted_model import text, tool_results, tool_use, user_texts

SHARED = "shared.txt"


@pytest.fixture(autouse=True)
def git_identity(monkeypatch):
    for role in ("AUTHOR", "COMMITTER"):  # the agents commit; HOME is empty, so git has no identity there
        monkeypatch.setenv(f"GIT_{role}_NAME", "Isolation Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "isolation@example.com")


def _reply(body: dict):
    """`write X` makes Bash write X into shared.txt; `commit X` also commits it; then a short answer."""
    if tool_results({"messages": [body["messages"][-1]]}):
        return text("Done.")
    prompt = next((t for t in reversed(user_texts(body)) if t.startswith(("write ", "commit "))), "")
    if not prompt:
        return text("Nothing to do.")
    verb, _, words = prompt.partition(" ")
    command = f"printf '%s\\n' '{words}' > {SHARED}"
    if verb == "commit":
        command += f" && git add -A && git commit -q -m '{words}'"
    return [text("On it."), tool_use("Bash", {"command": command})]


def _script(model, turns: int) -> None:
    for _ in range(turns * 2):
        model.add_response(_reply)


def _git(directory: Path | str, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo_project(services, project):
    services.workspaces.git(project.id).init(first_commit=False)
    directory = Path(project.path)
    (directory / SHARED).write_text("original\n")
    _git(directory, "add", "-A")
    _git(directory, "commit", "-q", "-m", "first")
    return project


async def _submit(services, project, prompt: str, **options):
    job = services.jobs.submit(project.id, prompt, permission_mode="bypassPermissions", **options)
    await wait_until(lambda: services.jobs.get(job.id).turns >= 1, timeout=90, what=f"{prompt!r} to finish a turn")
    return services.jobs.get(job.id)


async def test_two_isolated_jobs_edit_the_same_file_at_once_on_their_own_branches(services, repo_project,
                                                                                   scripted_model):
    _script(scripted_model, 2)
    main = Path(repo_project.path)
    first = services.jobs.submit(repo_project.id, "commit from the first job", isolated=True,
                                 permission_mode="bypassPermissions")
    second = services.jobs.submit(repo_project.id, "commit from the second job", isolated=True,
                                  permission_mode="bypassPermissions")
    await wait_until(lambda: services.jobs.get(first.id).turns and services.jobs.get(second.id).turns, timeout=120,
                     what="both turns")
    first, second = services.jobs.get(first.id), services.jobs.get(second.id)
    assert first.branch != second.branch and first.branch.startswith("claude/commit-from-the-first-job-")
    assert Path(first.worktree).parent == Path(second.worktree).parent == services.settings.state_dir / "worktrees"
    assert (Path(first.worktree) / SHARED).read_text() == "from the first job\n"
    assert (Path(second.worktree) / SHARED).read_text() == "from the second job\n"
    assert _git(main, "show", f"{first.branch}:{SHARED}") == "from the first job\n"
    assert _git(main, "show", f"{second.branch}:{SHARED}") == "from the second job\n"
    # The main checkout is untouched: same file, same branch, nothing uncommitted.
    assert (main / SHARED).read_text() == "original\n"
    assert _git(main, "status", "--porcelain") == "" and _git(main, "branch", "--show-current").strip() == "master"
    assert first.base == "master" and first.base_commit == _git(main, "rev-parse", "HEAD").strip()
    # The job's panels work in its worktree, the project's in the main checkout.
    assert services.workspaces.directory(repo_project.id, first.id) == Path(first.worktree)
    assert services.workspaces.directory(repo_project.id) == main


async def test_a_project_that_is_no_repository_gets_a_clear_error_and_nothing_is_made(services, project):
    with pytest.raises(UserError, match="need a git repository.*Initialise it with a first commit"):
        services.jobs.submit(project.id, "write something", isolated=True)
    assert services.jobs.list(project.id) == []
    status = services.workspaces.git(project.id).init(first_commit=True)
    assert status.is_repo and services.workspaces.git(project.id).has_commits()
    services.projects.set_isolate_jobs(project.id, True)
    job = services.jobs.submit(project.id, "write after the first commit")  # the project's default now
    assert job.isolated and job.base == status.branch


async def test_uncommitted_changes_of_the_main_checkout_are_named_and_carried_over_on_request(
        services, repo_project, scripted_model):
    _script(scripted_model, 1)
    main = Path(repo_project.path)
    (main / SHARED).write_text("edited in the main checkout\n")
    (main / "notes.txt").write_text("a new file\n")
    job = await _submit(services, repo_project, "look around first", isolated=True)
    assert sorted(job.uncommitted_elsewhere) == ["notes.txt", SHARED]
    warnings = [e["message"] for e in services.jobs.events(job.id) if e["kind"] == "warning"]
    assert any("uncommitted changes (" in w and "notes.txt" in w for w in warnings), warnings
    assert (Path(job.worktree) / SHARED).read_text() != "edited in the main checkout\n"
    carried = await services.jobs.isolation.carry_over(job.id)
    assert sorted(carried) == ["notes.txt", SHARED]
    assert (Path(job.worktree) / SHARED).read_text() == "edited in the main checkout\n"
    assert (Path(job.worktree) / "notes.txt").read_text() == "a new file\n"
    assert (main / SHARED).read_text() == "edited in the main checkout\n", "the main checkout keeps them"
    assert services.jobs.get(job.id).uncommitted_elsewhere == []


async def test_a_fork_of_an_isolated_job_gets_its_own_worktree_from_the_parents_branch(
        services, repo_project, scripted_model):
    _script(scripted_model, 2)
    parent = await _submit(services, repo_project, "write the parent version", isolated=True)
    assert (Path(parent.worktree) / SHARED).read_text() == "the parent version\n"  # uncommitted there
    result_seq = next(e["seq"] for e in services.jobs.events(parent.id) if e["kind"] == "result")
    fork = services.jobs.fork(parent.id, result_seq, "write the fork version")
    await wait_until(lambda: services.jobs.get(fork.id).turns >= 1, timeout=90, what="the fork's turn")
    fork = services.jobs.get(fork.id)
    assert fork.isolated and fork.worktree != parent.worktree and fork.branch != parent.branch
    assert fork.base == parent.base and fork.base_commit == parent.base_commit
    assert (Path(fork.worktree) / SHARED).read_text() == "the fork version\n"
    assert (Path(parent.worktree) / SHARED).read_text() == "the parent version\n", "the parent is untouched"


async def test_archiving_removes_the_worktree_and_keeps_the_work_on_the_branch_until_discarded(
        services, repo_project, scripted_model):
    _script(scripted_model, 1)
    job = await _submit(services, repo_project, "write work in progress", isolated=True)
    main = Path(repo_project.path)
    with pytest.raises(Conflict, match="Archive the job first"):
        await services.jobs.isolation.discard_branch(job.id)
    await services.jobs.archive(job.id)
    assert not Path(job.worktree).exists()
    assert _git(main, "show", f"{job.branch}:{SHARED}") == "work in progress\n", "committed to the branch first"
    assert "kept when the job was archived" in _git(main, "log", "-1", "--format=%s", job.branch)
    assert job.worktree not in _git(main, "worktree", "list")
    assert any(e.get("subtype") == "worktree_removed" for e in services.jobs.events(job.id))
    branch = job.branch
    await services.jobs.isolation.discard_branch(job.id)
    assert branch not in _git(main, "branch", "--list", branch)
    assert services.jobs.get(job.id).branch is None


async def test_a_worktree_removed_by_hand_is_reported_and_made_again_from_the_branch(
        services_factory, claude_env, scripted_model):
    services = services_factory()
    project = services.projects.create("by-hand")
    services.workspaces.git(project.id).init(first_commit=True)
    _script(scripted_model, 2)
    job = await _submit(services, project, "commit the first version", isolated=True)
    await wait_status(services.jobs, job.id, "idle")
    await services.shutdown()
    shutil.rmtree(job.worktree)

    restarted = services_factory()
    warnings = [e["message"] for e in restarted.jobs.events(job.id) if e["kind"] == "warning"]
    assert any("worktree is gone" in w and job.branch in w for w in warnings), warnings
    restarted.jobs.follow_up(job.id, "write the second version")
    await wait_until(lambda: restarted.jobs.get(job.id).turns >= 2, timeout=90, what="the follow-up turn")
    assert (Path(job.worktree) / SHARED).read_text() == "the second version\n"
    warnings = [e["message"] for e in restarted.jobs.events(job.id) if e["kind"] == "warning"]
    assert any("made again from its branch" in w for w in warnings), warnings


async def test_an_unknown_base_branch_is_refused_before_anything_is_made(services, repo_project):
    with pytest.raises(UserError, match="no branch 'nope'"):
        services.jobs.submit(repo_project.id, "write", isolated=True, base="nope")
    assert services.jobs.list(repo_project.id) == []
    assert not (services.settings.state_dir / "worktrees").exists()


async def test_the_second_of_two_conflicting_jobs_is_resolved_by_claude_through_the_follow_up_then_merged(
        services, repo_project, scripted_model):
    """Both jobs rewrite shared.txt: the first merges cleanly, the second conflicts; the follow-up asks Claude to
    merge the base into its branch and resolve it, which it does (Bash), and then the second merges too."""
    def reply(body: dict):
        prompts = [t for t in user_texts(body) if t]
        if prompts and "conflicts in" in prompts[-1] and not tool_results({"messages": [body["messages"][-1]]}):
            resolve = (f"git merge -q master; printf 'both versions, reconciled\\n' > {SHARED} && "
                       "git add -A && git commit -q -m 'Resolve the conflict'")
            return [text("Resolving."), tool_use("Bash", {"command": resolve})]
        return _reply(body)

    for _ in range(8):
        scripted_model.add_response(reply)
    main = Path(repo_project.path)
    first = await _submit(services, repo_project, "write the first version", isolated=True)
    second = await _submit(services, repo_project, "write the second version", isolated=True)
    await wait_status(services.jobs, second.id, "idle")
    merged = await services.reviews.merge(first.id, squash=False, message="")
    assert merged.merged and (main / SHARED).read_text() == "the first version\n"

    conflicted = await services.reviews.merge(second.id, squash=False, message="")
    assert not conflicted.merged and conflicted.conflicts == [SHARED]
    assert (main / SHARED).read_text() == "the first version\n" and _git(main, "status", "--porcelain") == ""
    services.reviews.ask_to_resolve(second.id, conflicted.conflicts)
    await wait_until(lambda: services.jobs.get(second.id).turns >= 2, timeout=90, what="Claude's resolving turn")
    await wait_status(services.jobs, second.id, "idle")
    asked = next(t for r in scripted_model.requests for t in user_texts(r) if "conflicts in" in t)
    assert SHARED in asked and "master" in asked, asked

    resolved = await services.reviews.merge(second.id, squash=True, message="")
    assert resolved.merged, resolved.message
    assert (main / SHARED).read_text() == "both versions, reconciled\n"
    assert _git(main, "log", "-1", "--format=%s").strip() == "write the second version", "the job's name by default"
