"""Reviewing and merging isolated jobs (spec L2), on real repositories and worktrees.

What must hold whatever happens: nothing in the main checkout changes unless a merge succeeded,
and no agent's work is lost.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core import events
from core.errors import Conflict, UserError
from core.models import Job, JobStatus, new_id
from core.workspace.git import review
from core.workspace.git.hunks import BINARY, LFS, SUBMODULE
from core.workspace.git.review import AcceptedHunks
from core.workspace.git.service import GitService
from core.workspace.worktrees import Worktrees
from tests.support.git_env import git, isolated_git  # noqa: F401 - isolated_git: an autouse fixture

SHARED = "".join(f"line {n}\n" for n in range(1, 31))


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture
def main(tmp_path: Path) -> GitService:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Person")
    git(root, "config", "user.email", "test@example.com")
    write(root, {"shared.txt": SHARED, "README.md": "# project\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return GitService(root)


@pytest.fixture
def worktrees(tmp_path: Path) -> Worktrees:
    return Worktrees(tmp_path / "state")


def isolated_job(main: GitService, worktrees: Worktrees, name: str) -> tuple[Job, GitService]:
    job = Job(id=new_id(), project_id="p", name=name, prompt=name)
    made = worktrees.create(main, job.id, name)
    job.isolated, job.worktree, job.branch, job.base, job.base_commit = (
        True, made.worktree, made.branch, made.base, made.base_commit)
    return job, GitService(made.worktree)


def state(main: GitService) -> tuple[str, str, str]:
    """What must not change in the main checkout: its commit, its status and its files."""
    files = "".join(f"{p.relative_to(main.root)}={p.read_text()}" for p in sorted(main.root.rglob("*"))
                    if p.is_file() and ".git" not in p.parts)
    return git(main.root, "rev-parse", "HEAD"), git(main.root, "status", "--porcelain", "--untracked-files=all"), files


def hunks(main: GitService, work: GitService | None, job: Job, path: str):
    found = [f for f in review.changes(main, work, job).files if f.path == path]
    return found[0].hunks if found else []


# ------------------------------------------------------------------------------------ changes


def test_changes_hold_committed_uncommitted_and_untracked_work_and_leave_the_index_alone(main, worktrees):
    job, work = isolated_job(main, worktrees, "fix login")
    write(work.root, {"committed.txt": "in a commit\n"})
    git(work.root, "add", "committed.txt")
    git(work.root, "commit", "-q", "-m", "agent commit")
    write(work.root, {"shared.txt": SHARED.replace("line 3\n", "line three\n"), "untracked.txt": "new\n"})
    status = git(work.root, "status", "--porcelain")
    found = review.changes(main, work, job)
    assert [(f.path, f.change) for f in found.files] == [
        ("committed.txt", "added"), ("shared.txt", "modified"), ("untracked.txt", "added")]
    assert found.compared_to == job.base_commit and found.base_ahead == 0 and found.on_branch
    assert found.hunk_count == 3 and found.notes() == []
    assert git(work.root, "status", "--porcelain") == status  # untracked stays untracked for the agent
    assert git(main.root, "status", "--porcelain") == ""


def test_reject_one_of_three_hunks_leaves_exactly_the_other_two(main, worktrees):
    job, work = isolated_job(main, worktrees, "three edits")
    edited = SHARED.replace("line 2\n", "line two\n").replace("line 15\n", "line fifteen\n").replace(
        "line 28\n", "line twenty-eight\n")
    write(work.root, {"shared.txt": edited})
    first, second, third = hunks(main, work, job, "shared.txt")
    after = review.reject_hunk(main, work, job, second.id, "shared.txt")
    assert [h.id for h in after[0].hunks] == [first.id, third.id]
    assert (work.root / "shared.txt").read_text() == edited.replace("line fifteen\n", "line 15\n")
    assert review.reject_hunk(main, work, job, first.id)[0].hunks == [third]  # found without a path too
    assert review.reject_hunk(main, work, job, third.id, "shared.txt") == []
    assert (work.root / "shared.txt").read_text() == SHARED


def test_rejecting_a_committed_hunk_leaves_an_uncommitted_change_that_undoes_it(main, worktrees):
    job, work = isolated_job(main, worktrees, "committed edit")
    write(work.root, {"shared.txt": SHARED.replace("line 9\n", "line nine\n")})
    git(work.root, "commit", "-q", "-am", "nine")
    (hunk,) = hunks(main, work, job, "shared.txt")
    assert review.reject_hunk(main, work, job, hunk.id) == []
    assert git(work.root, "log", "-1", "--format=%s").strip() == "nine"  # history untouched
    assert git(work.root, "status", "--porcelain").strip() == "M shared.txt"
    assert (work.root / "shared.txt").read_text() == SHARED


def test_rejecting_a_new_file_deletes_it_and_a_deleted_file_comes_back(main, worktrees):
    job, work = isolated_job(main, worktrees, "files come and go")
    write(work.root, {"new.txt": "new\n"})
    (work.root / "README.md").unlink()
    review.reject_hunk(main, work, job, hunks(main, work, job, "new.txt")[0].id)
    review.reject_hunk(main, work, job, hunks(main, work, job, "README.md")[0].id)
    assert not (work.root / "new.txt").exists() and (work.root / "README.md").read_text() == "# project\n"
    assert review.changes(main, work, job).files == []


def test_a_hunk_that_changed_meanwhile_is_a_conflict(main, worktrees):
    job, work = isolated_job(main, worktrees, "moving target")
    write(work.root, {"shared.txt": SHARED.replace("line 5\n", "line five\n")})
    (hunk,) = hunks(main, work, job, "shared.txt")
    write(work.root, {"shared.txt": SHARED.replace("line 5\n", "line FIVE\n")})  # the agent edits it again
    with pytest.raises(Conflict, match="changed since you looked") as caught:
        review.reject_hunk(main, work, job, hunk.id, "shared.txt")
    assert caught.value.status_code == 409
    assert "line FIVE" in (work.root / "shared.txt").read_text()


def test_whole_file_items_binary_lfs_and_submodule(main, worktrees):
    job, work = isolated_job(main, worktrees, "odd files")
    (work.root / "blob.bin").write_bytes(bytes(range(256)))
    write(work.root, {"model.bin": "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"})
    nested = work.root / "vendored"
    nested.mkdir()
    git(nested, "init", "-q")
    git(nested, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "x")
    kinds = {f.path: f.hunks[0].kind for f in review.changes(main, work, job).files}
    assert kinds == {"blob.bin": BINARY, "model.bin": LFS, "vendored": SUBMODULE}
    review.reject_hunk(main, work, job, hunks(main, work, job, "blob.bin")[0].id)
    review.reject_hunk(main, work, job, hunks(main, work, job, "model.bin")[0].id)
    assert not (work.root / "blob.bin").exists() and not (work.root / "model.bin").exists()
    with pytest.raises(UserError, match="own repository"):
        review.reject_hunk(main, work, job, hunks(main, work, job, "vendored")[0].id)
    assert nested.is_dir()


def test_a_binary_file_changed_on_the_branch_goes_back_to_the_base_content(main, worktrees):
    write(main.root, {"logo.png": "\x00PNG one"})
    git(main.root, "add", "-A")
    git(main.root, "commit", "-q", "-m", "logo")
    job, work = isolated_job(main, worktrees, "new logo")
    (work.root / "logo.png").write_bytes(b"\x00PNG two")
    git(work.root, "commit", "-q", "-am", "logo two")
    review.reject_hunk(main, work, job, hunks(main, work, job, "logo.png")[0].id)
    assert (work.root / "logo.png").read_bytes() == b"\x00PNG one"


# ------------------------------------------------------------------------------------ merging


def test_two_jobs_edit_one_file_the_first_merges_the_second_conflicts_and_main_stays_as_it_was(main, worktrees):
    first, first_work = isolated_job(main, worktrees, "first idea")
    second, second_work = isolated_job(main, worktrees, "second idea")
    write(first_work.root, {"shared.txt": SHARED.replace("line 10\n", "line ten, the first way\n")})
    write(second_work.root, {"shared.txt": SHARED.replace("line 10\n", "line ten, the second way\n"),
                             "extra.txt": "more\n"})

    merged = review.merge(main, first_work, first, squash=False, message="")
    assert merged.merged and not merged.conflicts and merged.work_commit
    assert git(main.root, "log", "-1", "--format=%s%n%P").split("\n")[0] == "first idea"  # the job's name
    assert len(git(main.root, "log", "-1", "--format=%P").split()) == 2  # a merge commit
    assert "first way" in (main.root / "shared.txt").read_text()
    assert git(first_work.root, "log", "-1", "--format=%s").strip() == "Work of first idea"

    before = state(main)
    result = review.merge(main, second_work, second, squash=False, message="second")
    assert not result.merged and result.conflicts == ["shared.txt"] and result.base_moved
    assert "shared.txt" in result.message and "Nothing was changed" in result.message
    assert state(main) == before
    # The second job's work is safe on its branch, and the follow-up names what to do.
    assert git(second_work.root, "status", "--porcelain") == ""
    assert "second way" in git(main.root, "show", f"{second.branch}:shared.txt")
    assert "git merge main" in result.prompt and "shared.txt" in result.prompt
    assert result.prompt == review.resolve_conflict_prompt("main", second.branch, ["shared.txt"])

    # What Claude does with that prompt, in its worktree: merge the base in and resolve.
    subprocess.run(["git", "merge", "main"], cwd=second_work.root, capture_output=True)
    write(second_work.root, {"shared.txt": SHARED.replace("line 10\n", "line ten, both ways\n")})
    git(second_work.root, "commit", "-q", "-am", "resolve")
    found = review.changes(main, second_work, second)
    assert found.base_ahead == 0 and found.compared_to == git(main.root, "rev-parse", "main").strip()
    assert [f.path for f in found.files] == ["extra.txt", "shared.txt"]  # its own changes only
    assert review.merge(main, second_work, second, squash=True, message="second, resolved").merged
    assert "both ways" in (main.root / "shared.txt").read_text() and (main.root / "extra.txt").exists()
    assert git(main.root, "status", "--porcelain") == ""


@pytest.mark.parametrize("squash", [False, True], ids=["merge", "squash"])
def test_a_conflict_found_by_the_merge_itself_is_undone(main, worktrees, squash):
    """Without the dry run (git before 2.38), the real merge meets the conflict and is aborted."""
    job, work = isolated_job(main, worktrees, "clash")
    write(work.root, {"shared.txt": SHARED.replace("line 1\n", "theirs\n"), "added-by-job.txt": "x\n"})
    write(main.root, {"shared.txt": SHARED.replace("line 1\n", "ours\n"), "untracked-in-main.txt": "keep me\n"})
    git(main.root, "commit", "-q", "-am", "ours")
    before = state(main)
    result = review.merge(main, work, job, squash=squash, message="m", trial=False)
    assert result.conflicts == ["shared.txt"] and not result.merged
    assert state(main) == before


def test_squash_makes_one_commit_with_the_message(main, worktrees):
    job, work = isolated_job(main, worktrees, "squash me")
    for n in range(3):
        write(work.root, {f"f{n}.txt": f"{n}\n"})
        git(work.root, "add", "-A")
        git(work.root, "commit", "-q", "-m", f"step {n}")
    start = git(main.root, "rev-parse", "HEAD").strip()
    result = review.merge(main, work, job, squash=True, message="All three files")
    assert result.merged and result.work_commit is None and result.merged_head == work.commit_of("HEAD")
    assert git(main.root, "log", "--format=%s", f"{start}..HEAD").split("\n")[:-1] == ["All three files"]
    assert git(main.root, "log", "-1", "--format=%P").split() == [start]
    with pytest.raises(Conflict, match="Nothing to merge"):  # the same changes again: nothing new
        job.base_commit = result.merged_head
        review.merge(main, work, job, squash=True, message="again")


def test_nothing_to_merge(main, worktrees):
    job, work = isolated_job(main, worktrees, "idle")
    with pytest.raises(Conflict, match="Nothing to merge"):
        review.merge(main, work, job, squash=False, message="")


def test_a_dirty_main_checkout_refuses_the_merge_and_nothing_changes(main, worktrees):
    job, work = isolated_job(main, worktrees, "waits")
    write(work.root, {"shared.txt": SHARED + "job line\n"})
    write(main.root, {"README.md": "# edited by a person\n"})
    before, worktree_status = state(main), git(work.root, "status", "--porcelain")
    with pytest.raises(Conflict, match=r"uncommitted changes \(README.md\).*Nothing was changed"):
        review.merge(main, work, job, squash=False, message="")
    assert state(main) == before
    assert git(work.root, "status", "--porcelain") == worktree_status  # not even committed in the worktree


def test_a_main_checkout_on_another_branch_or_detached_is_refused(main, worktrees):
    job, work = isolated_job(main, worktrees, "elsewhere")
    write(work.root, {"x.txt": "x\n"})
    git(main.root, "switch", "-q", "-c", "other")
    with pytest.raises(Conflict, match="on other, not on main"):
        review.merge(main, work, job, squash=False, message="")
    git(main.root, "switch", "-q", "--detach", "main")
    with pytest.raises(Conflict, match="detached HEAD, not on main"):
        review.merge(main, work, job, squash=False, message="")


def test_a_merge_in_progress_in_main_is_refused(main, worktrees):
    job, work = isolated_job(main, worktrees, "later")
    write(work.root, {"x.txt": "x\n"})
    git(main.root, "switch", "-q", "-c", "side")
    write(main.root, {"shared.txt": "side\n"})
    git(main.root, "commit", "-q", "-am", "side")
    git(main.root, "switch", "-q", "main")
    write(main.root, {"shared.txt": "main\n"})
    git(main.root, "commit", "-q", "-am", "main")
    subprocess.run(["git", "merge", "side"], cwd=main.root, capture_output=True)
    with pytest.raises(Conflict, match="(?i)a merge is in progress"):
        review.merge(main, work, job, squash=False, message="")


def test_a_job_started_on_a_detached_head_cannot_be_merged(main, worktrees):
    git(main.root, "switch", "-q", "--detach")
    job, work = isolated_job(main, worktrees, "detached")
    assert job.base is None
    write(work.root, {"x.txt": "x\n"})
    assert review.changes(main, work, job).notes()[0].startswith("The job started from a detached HEAD")
    with pytest.raises(UserError, match="detached HEAD"):
        review.merge(main, work, job, squash=False, message="")


def test_a_worktree_on_a_detached_head_is_refused_at_merge(main, worktrees):
    job, work = isolated_job(main, worktrees, "wandered")
    write(work.root, {"x.txt": "x\n"})
    git(work.root, "switch", "-q", "--detach")
    assert not review.changes(main, work, job).on_branch
    before = state(main)
    with pytest.raises(Conflict, match="worktree is on a detached HEAD"):
        review.merge(main, work, job, squash=False, message="")
    assert state(main) == before and (work.root / "x.txt").exists()


def test_a_base_that_moved_is_reported_and_merged_with(main, worktrees):
    job, work = isolated_job(main, worktrees, "behind")
    write(work.root, {"shared.txt": SHARED.replace("line 30\n", "line thirty\n")})
    write(main.root, {"README.md": "# moved on\n"})
    git(main.root, "commit", "-q", "-am", "meanwhile")
    found = review.changes(main, work, job)
    assert found.base_ahead == 1 and "main has moved on by 1 commit" in found.notes()[0]
    assert [f.path for f in found.files] == ["shared.txt"]  # not the base's own change, reversed
    result = review.merge(main, work, job, squash=False, message="")
    assert result.merged and result.base_moved and "moved on" in result.message
    assert (main.root / "README.md").read_text() == "# moved on\n"
    assert "line thirty" in (main.root / "shared.txt").read_text()


def test_a_worktree_removed_by_hand(main, worktrees):
    job, work = isolated_job(main, worktrees, "vanished")
    write(work.root, {"kept.txt": "committed\n"})
    git(work.root, "add", "-A")
    git(work.root, "commit", "-q", "-m", "kept")
    shutil.rmtree(work.root)
    found = review.changes(main, None, job)
    assert found.worktree_missing and [f.path for f in found.files] == ["kept.txt"]
    assert "removed by hand" in found.notes()[0]
    with pytest.raises(UserError, match="removed by hand"):
        review.reject_hunk(main, None, job, found.files[0].hunks[0].id)
    assert review.merge(main, None, job, squash=False, message="").merged
    assert (main.root / "kept.txt").read_text() == "committed\n"


def test_a_failure_half_way_puts_the_main_checkout_back(main, worktrees, monkeypatch):
    """A full disk (or anything else) at the squash's commit: the staged merge is taken back."""
    job, work = isolated_job(main, worktrees, "disk full")
    write(work.root, {"big.txt": "data\n"})
    before = state(main)
    real = GitService.git

    def failing(self, *args, **kwargs):
        if self.root == main.root and "commit" in args:
            raise UserError("git commit failed: unable to write new index file: No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(GitService, "git", failing)
    with pytest.raises(UserError, match="No space left on device.*put back as it was"):
        review.merge(main, work, job, squash=True, message="m")
    monkeypatch.setattr(GitService, "git", real)
    assert state(main) == before
    assert git(main.root, "show", f"{job.branch}:big.txt") == "data\n"  # the work is on the branch


def test_untracked_files_in_main_that_a_merge_would_overwrite(main, worktrees):
    job, work = isolated_job(main, worktrees, "overwrites")
    write(work.root, {"notes.txt": "from the job\n"})
    write(main.root, {"notes.txt": "a person's own notes\n"})
    before = state(main)
    with pytest.raises(UserError, match="untracked working tree files would be overwritten.*Nothing was changed"):
        review.merge(main, work, job, squash=False, message="m")
    assert state(main) == before


def test_a_non_isolated_job_has_no_review_and_a_new_one_none_yet(main):
    job = Job(id=new_id(), project_id="p", name="plain", prompt="plain")
    with pytest.raises(Conflict, match="not isolated"):
        review.changes(main, None, job)
    job.isolated = True  # its session has not made its worktree and branch yet
    with pytest.raises(Conflict, match="not made yet"):
        review.merge(main, None, job, squash=False, message="")


# ----------------------------------------------------------------------------- accepted marks


def test_accepted_marks_are_kept_and_dropped_when_their_hunk_changes(main, worktrees, tmp_path):
    marks = AcceptedHunks(tmp_path / "reviews")
    job, work = isolated_job(main, worktrees, "marks")
    write(work.root, {"shared.txt": SHARED.replace("line 2\n", "two\n").replace("line 20\n", "twenty\n"),
                      "other.txt": "other\n"})
    files = review.changes(main, work, job).files
    first, second = next(f for f in files if f.path == "shared.txt").hunks
    other = next(f for f in files if f.path == "other.txt").hunks[0]
    assert marks.keep(job.id, files, add=(first.id, "shared.txt")) == {first.id}
    assert marks.keep(job.id, files, add=(other.id, "other.txt")) == {first.id, other.id}
    assert AcceptedHunks(tmp_path / "reviews").get(job.id) == {first.id: "shared.txt", other.id: "other.txt"}
    write(work.root, {"shared.txt": SHARED.replace("line 2\n", "TWO\n").replace("line 20\n", "twenty\n")})
    only_shared = review.changes(main, work, job, ["shared.txt"]).files
    # Looking at one file drops that file's stale marks only.
    assert marks.keep(job.id, only_shared, only_paths={"shared.txt"}) == set()
    assert marks.get(job.id) == {other.id: "other.txt"}
    assert second.id in {h.id for h in only_shared[0].hunks}
    marks.drop(job.id)
    assert marks.get(job.id) == {}
    (tmp_path / "reviews" / f"{job.id}.json").write_text("{not json")
    assert marks.get(job.id) == {}
    with pytest.raises(UserError):
        marks.get("../escape")


# ------------------------------------------------------------------------- by job id: services


async def test_reviews_by_job_id_keep_marks_in_the_state_folder_and_a_merge_moves_the_start(services, monkeypatch):
    project = services.projects.create("reviewed")
    root = services.projects.directory(project.id)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Person")
    git(root, "config", "user.email", "test@example.com")
    write(root, {"shared.txt": SHARED})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    main = services.workspaces.git(project.id)
    job = Job(id=new_id(), project_id=project.id, name="Add notes", prompt="notes", status=JobStatus.COMPLETED)
    made = Worktrees(services.settings.state_dir).create(main, job.id, job.name)
    job.isolated, job.worktree, job.branch, job.base, job.base_commit = (
        True, made.worktree, made.branch, made.base, made.base_commit)
    services.jobs.add_imported_job(job, [events.make(events.USER, text="notes")])
    work = Path(made.worktree)
    write(work, {"shared.txt": SHARED.replace("line 4\n", "line four\n").replace("line 24\n", "line 24!\n"),
                 "notes.txt": "notes\n"})
    reviews = services.reviews

    found = reviews.changes(job.id)
    shared = next(f for f in found.files if f.path == "shared.txt")
    first, second = shared.hunks
    marked = reviews.accept(job.id, first.id, "shared.txt")
    assert marked.accepted == {first.id} and marked.path == "shared.txt"
    marks = services.settings.state_dir / "reviews" / f"{job.id}.json"
    assert first.id in marks.read_text()
    assert reviews.changes(job.id).accepted == {first.id}
    with pytest.raises(Conflict, match="changed since you looked"):
        reviews.accept(job.id, "0123456789ab")
    after = reviews.reject(job.id, second.id)  # no path: found among every file
    assert after.path == "shared.txt" and [h.id for h in after.file.hunks] == [first.id]
    assert after.accepted == {first.id}

    job.status = JobStatus.RUNNING
    with pytest.raises(Conflict, match="still working"):
        await reviews.merge(job.id, squash=False, message="")
    job.status = JobStatus.COMPLETED
    result = await reviews.merge(job.id, squash=True, message="Notes, reviewed")
    assert result.merged and services.jobs.get(job.id).base_commit == result.merged_head
    assert not marks.exists()
    assert reviews.changes(job.id).files == []  # nothing left to review after the merge
    assert git(root, "log", "-1", "--format=%s").strip() == "Notes, reviewed"

    sent = []
    monkeypatch.setattr(services.jobs, "follow_up", lambda job_id, text: sent.append((job_id, text)))
    reviews.ask_to_resolve(job.id, ["shared.txt"])
    assert sent == [(job.id, review.resolve_conflict_prompt("main", job.branch, ["shared.txt"]))]
