"""The git panel's domain (spec G3): status, diff, stage, commit, push, pull, confinement."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from core.errors import Conflict, NotFound, UserError
from core.workspace.git.service import GitService, touched_marks
from core.workspace.paths import PathOutsideProject
from tests.support.git_env import git, isolated_git  # noqa: F401 - isolated_git: an autouse fixture


def identify(path: Path) -> None:
    git(path, "config", "user.name", "Test Person")
    git(path, "config", "user.email", "test@example.com")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    return root


@pytest.fixture
def repo(project: Path) -> GitService:
    service = GitService(project)
    service.init()
    identify(project)
    return service


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def committed(service: GitService, files: dict[str, str], message: str = "add files") -> str:
    for name, text in files.items():
        write(service.root, name, text)
    service.stage(list(files))
    return service.commit(message)


def test_init_turns_a_plain_folder_into_a_repository(project):
    service = GitService(project)
    assert service.status().is_repo is False
    status = service.init()
    assert status.is_repo and status.branch and not status.has_commits
    with pytest.raises(Conflict):
        service.init()


def test_a_project_inside_another_repository_is_not_a_repository(repo, project):
    nested = project / "nested"
    nested.mkdir()
    assert GitService(nested).status().is_repo is False
    with pytest.raises(UserError, match="not a git repository"):
        GitService(nested).stage_all()


def test_stage_commit_and_log(repo):
    write(repo.root, "a.txt", "one\n")
    assert [c.path for c in repo.status().untracked] == ["a.txt"]
    repo.stage(["a.txt"])
    status = repo.status()
    assert [(c.path, c.change) for c in status.staged] == [("a.txt", "added")] and not status.untracked
    sha = repo.commit("First commit")
    log = repo.log()
    assert [(e.sha, e.subject, e.author) for e in log] == [(sha, "First commit", "Test Person")]
    assert repo.status().head == sha[:12]


def test_status_groups_and_rename(repo):
    committed(repo, {"keep.txt": "k\n", "old.txt": "o\n", "gone.txt": "g\n"})
    git(repo.root, "mv", "old.txt", "new.txt")
    write(repo.root, "keep.txt", "changed\n")
    (repo.root / "gone.txt").unlink()
    write(repo.root, "dir/fresh.txt", "f\n")
    status = repo.status()
    assert [(c.path, c.change, c.orig_path) for c in status.staged] == [("new.txt", "renamed", "old.txt")]
    assert sorted((c.path, c.change) for c in status.modified) == [("gone.txt", "deleted"), ("keep.txt", "modified")]
    assert [c.path for c in status.untracked] == ["dir/fresh.txt"]


def test_unstage_before_and_after_the_first_commit(repo):
    write(repo.root, "a.txt", "one\n")
    repo.stage(["a.txt"])
    repo.unstage(["a.txt"])  # no HEAD yet
    status = repo.status()
    assert not status.staged and [c.path for c in status.untracked] == ["a.txt"]
    repo.stage_all()
    repo.commit("first")
    write(repo.root, "a.txt", "two\n")
    repo.stage(["a.txt"])
    repo.unstage(["a.txt"])
    status = repo.status()
    assert not status.staged and [(c.path, c.change) for c in status.modified] == [("a.txt", "modified")]


def test_paths_are_literal_not_globs(repo):
    write(repo.root, "a*.txt", "star\n")
    write(repo.root, "ab.txt", "plain\n")
    repo.stage(["a*.txt"])
    assert [c.path for c in repo.status().staged] == ["a*.txt"]


def test_a_missing_project_folder_is_reported(tmp_path):
    with pytest.raises(NotFound):
        GitService(tmp_path / "gone").status()


def test_diff_staged_unstaged_and_untracked(repo):
    committed(repo, {"a.txt": "one\ntwo\n"})
    write(repo.root, "a.txt", "one\nTWO\n")
    unstaged = repo.diff("a.txt")
    assert "-two\n+TWO\n" in unstaged and repo.diff("a.txt", staged=True) == ""
    repo.stage(["a.txt"])
    assert "-two\n+TWO\n" in repo.diff("a.txt", staged=True) and repo.diff("a.txt") == ""
    write(repo.root, "new.py", "print(1)\nprint(2)\n")
    untracked = repo.diff("new.py")
    assert "new file mode" in untracked and "+print(1)\n+print(2)\n" in untracked


def test_discard_restores_tracked_files_and_deletes_untracked_ones(repo):
    committed(repo, {"a.txt": "original\n", "b.txt": "b\n"})
    write(repo.root, "a.txt", "scribbled\n")
    write(repo.root, "scratch/notes.txt", "temporary\n")
    write(repo.root, "b.txt", "staged edit\n")
    repo.stage(["b.txt"])
    repo.discard(["a.txt", "scratch"])
    assert (repo.root / "a.txt").read_text() == "original\n"
    assert not (repo.root / "scratch").exists()
    assert (repo.root / "b.txt").read_text() == "staged edit\n"  # staged work is not discarded
    with pytest.raises(UserError, match="No unstaged changes"):
        repo.discard(["b.txt"])


def test_commit_refuses_nothing_staged_and_empty_messages(repo):
    write(repo.root, "a.txt", "one\n")
    with pytest.raises(UserError, match="Nothing is staged"):
        repo.commit("message")
    repo.stage(["a.txt"])
    with pytest.raises(UserError, match="needs a message"):
        repo.commit("   ")


def test_commit_without_identity_reports_git_message(project, monkeypatch):
    monkeypatch.setenv("GIT_AUTHOR_NAME", "")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "")
    monkeypatch.setenv("EMAIL", "")
    service = GitService(project)
    service.init()
    write(project, "a.txt", "one\n")
    service.stage(["a.txt"])
    with pytest.raises(UserError, match="git commit failed"):
        service.commit("first")


def test_push_and_pull_through_a_bare_repository(tmp_path, repo):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo.root, "remote", "add", "origin", str(remote))
    committed(repo, {"a.txt": "one\n"})
    output = repo.push()  # no upstream yet: pushed to origin and tracked from now on
    assert "->" in output
    status = repo.status()
    assert status.upstream and (status.ahead, status.behind) == (0, 0)

    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    identify(other)
    clone = GitService(other)
    committed(repo, {"b.txt": "two\n"}, "second")
    assert repo.status().ahead == 1
    repo.push()
    clone.pull()
    assert (other / "b.txt").read_text() == "two\n"
    assert [e.subject for e in clone.log()] == ["second", "add files"]

    committed(clone, {"c.txt": "three\n"}, "from the clone")
    clone.push()
    repo.pull()
    assert (repo.root / "c.txt").exists()


def test_failing_git_commands_give_clear_errors(tmp_path, repo):
    committed(repo, {"a.txt": "one\n"})
    with pytest.raises(UserError, match="no remote to push to"):
        repo.push()
    git(repo.root, "remote", "add", "origin", str(tmp_path / "missing.git"))
    with pytest.raises(UserError, match="git push failed: .*does not appear to be a git repository"):
        repo.push()
    with pytest.raises(UserError, match="git pull failed"):
        repo.pull()


def test_a_remote_that_never_answers_is_given_up(repo, monkeypatch):
    monkeypatch.setattr("core.workspace.git.service.NETWORK_TIMEOUT_S", 1.0)
    committed(repo, {"a.txt": "one\n"})
    git(repo.root, "config", "protocol.ext.allow", "always")
    git(repo.root, "remote", "add", "origin", "ext::sleep 30")  # a "remote" that hangs
    with pytest.raises(UserError, match="no answer within 1 s"):
        repo.push()


@pytest.mark.parametrize("attack", ["..", "../projX/secret", "%2e%2e/projX", "/etc/passwd", "escape/secret", ""])
def test_paths_leading_outside_are_refused(repo, tmp_path, attack):
    sibling = tmp_path / "projX"
    sibling.mkdir(exist_ok=True)
    (sibling / "secret").write_text("secret\n")
    if not (repo.root / "escape").exists():
        os.symlink(sibling, repo.root / "escape")
    with pytest.raises(UserError) as refused:
        repo.diff(attack)
    assert isinstance(refused.value, PathOutsideProject) or attack == ""
    for call in (repo.stage, repo.unstage, repo.discard):
        with pytest.raises(UserError):
            call([attack])
    assert (sibling / "secret").exists()


def test_touched_marks_map_absolute_paths_to_status_entries(repo, tmp_path):
    committed(repo, {"a.txt": "one\n", "src/b.py": "b\n"})
    write(repo.root, "a.txt", "changed\n")
    write(repo.root, "src/b.py", "changed\n")
    write(repo.root, "src/new.py", "new\n")
    status = repo.status()
    touched = [str(repo.root / "a.txt"), str(repo.root / "src"), str(tmp_path / "elsewhere.txt"), "relative.txt"]
    assert touched_marks(status, touched) == {"a.txt", "src/b.py", "src/new.py"}
    assert touched_marks(status, [str(repo.root / "src" / "new.py")]) == {"src/new.py"}


async def test_blocking_methods_run_in_a_thread_from_async_code(repo):
    write(repo.root, "a.txt", "one\n")
    await asyncio.to_thread(repo.stage, ["a.txt"])
    status = await asyncio.to_thread(repo.status)
    assert [c.path for c in status.staged] == ["a.txt"]
