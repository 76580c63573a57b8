"""Reviewing an isolated job's work and merging it (spec L2).

The changes of a job are everything its worktree holds that the base did not: commits on its
branch, uncommitted and untracked files alike, shown against the newest commit the branch shares
with its base (the commit the job started from, or a later one once the base was merged in). A
rejected hunk is reverted in the worktree's files, never in its history: a hunk that came in a
commit leaves an uncommitted change that undoes it. Accepting only marks a hunk as reviewed
(`AcceptedHunks`, a small JSON file per job); a hunk that changes loses its mark.

A merge happens in the project's main checkout, which must be on the base branch and clean;
it first commits the worktree's uncommitted work to the job's branch, then tries the merge
without touching any checkout (`git merge-tree`), and only merges for real when that is clean.
A conflict found either way leaves the main checkout exactly as it was and names the files; the
follow-up that asks Claude to resolve them is `resolve_conflict_prompt`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import Conflict, UserError, describe_os_error
from core.models import Job
from core.workspace.git.hunks import (
    DIFF_OPTIONS,
    NOT_ACTIONABLE,
    FileDiff,
    apply_patch,
    find_hunk,
    hunk_patch,
    parse_diff,
    unquote_name,
)
from core.workspace.git.service import GitService
from storage.atomic_json import dumps, loads, write_atomic

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class Changes:
    branch: str
    base: str | None  # None: the job started from a detached HEAD
    base_commit: str  # what the job started from (or was last merged at)
    compared_to: str  # the commit the files are shown against
    head: str | None  # the worktree's (or the branch's) commit
    base_ahead: int  # commits on the base branch that the job's branch does not have
    worktree_missing: bool
    on_branch: bool  # the worktree has the job's branch checked out
    files: list[FileDiff]
    accepted: set[str] = field(default_factory=set)

    @property
    def hunk_count(self) -> int:
        return sum(len(f.hunks) for f in self.files)

    def notes(self) -> list[str]:
        """What a reviewer should know before merging, in plain words."""
        said = []
        if self.worktree_missing:
            said.append("The job's worktree folder was removed by hand: shown is what is committed on its branch "
                        f"{self.branch}. Its uncommitted work, if it had any, is gone with the folder; continuing the "
                        "job checks the branch out again.")
        elif not self.on_branch:
            said.append(f"The job's worktree is not on its branch {self.branch} any more; a merge takes the branch, "
                        f"so check {self.branch} out there again (git checkout {self.branch}) before merging.")
        if self.base is None:
            said.append("The job started from a detached HEAD, not from a branch: there is no branch to merge "
                        "into from here.")
        elif self.base_ahead:
            said.append(f"{self.base} has moved on by {self.base_ahead} commit{'s' if self.base_ahead != 1 else ''} "
                        "since this job started; a merge combines them with the job's work.")
        return said


@dataclass
class MergeResult:
    merged: bool
    base: str
    branch: str
    squash: bool
    message: str  # what happened, for people
    commit: str | None = None  # the new commit on the base branch
    merged_head: str | None = None  # the job's branch commit that was merged
    work_commit: str | None = None  # the commit of the worktree's uncommitted work, made first
    base_moved: bool = False
    conflicts: list[str] = field(default_factory=list)
    prompt: str | None = None  # on a conflict: the follow-up that asks Claude to resolve it


# ------------------------------------------------------------------------------ accepted marks


class AcceptedHunks:
    """The hunks a person accepted, per job: `<folder>/<job id>.json` holding `{"accepted": {hunk id: path}}`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def _file(self, job_id: str) -> Path:
        if not _SAFE_ID.fullmatch(job_id):
            raise UserError(f"{job_id!r} is not a job id.")
        return self.folder / f"{job_id}.json"

    def get(self, job_id: str) -> dict[str, str]:
        file = self._file(job_id)
        try:
            data = loads(file.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):  # marks only: an unreadable file means nothing was marked
            return {}
        accepted = data.get("accepted") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in accepted.items()} if isinstance(accepted, dict) else {}

    def keep(self, job_id: str, files: list[FileDiff], only_paths: set[str] | None = None,
             add: tuple[str, str] | None = None, remove: str | None = None) -> set[str]:
        """Drop the marks of hunks that are gone (of `only_paths`, when only those files were looked at), add or
        remove one; returns the accepted ids among `files`."""
        present = {h.id: f.path for f in files for h in f.hunks}
        with self._lock:
            stored = self.get(job_id)
            kept = {hunk: path for hunk, path in stored.items()
                    if hunk in present or (only_paths is not None and path not in only_paths)}
            if add:
                kept[add[0]] = add[1]
            if remove:
                kept.pop(remove, None)
            if kept != stored:
                self._write(job_id, kept)
        return {hunk for hunk in kept if hunk in present}

    def drop(self, job_id: str) -> None:
        with self._lock:
            self._file(job_id).unlink(missing_ok=True)

    def _write(self, job_id: str, accepted: dict[str, str]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self._file(job_id), dumps({"accepted": accepted}), durable=False)
        except OSError as exc:
            raise UserError(f"Could not save the review marks: {describe_os_error(exc)}") from None


# ----------------------------------------------------------------------------------- reading


def _require_isolated(job: Job) -> None:
    if not job.isolated:
        raise Conflict("This job is not isolated: its changes are made in the project's own folder. Review them in "
                       "the project's Git tab.")
    if not job.branch or not job.base_commit:
        raise Conflict("This job's worktree and branch are not made yet: that happens when its session starts. "
                       "Look again in a moment.")


def worktree_present(job: Job) -> bool:
    return bool(job.worktree) and (Path(job.worktree) / ".git").exists()


def _is_ancestor(repo: GitService, older: str, newer: str) -> bool:
    return repo.git("merge-base", "--is-ancestor", older, newer, ok=(0, 1))[0] == 0


def _branch_commit(repo: GitService, branch: str) -> str | None:
    code, out, _ = repo.git("rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}", ok=(0, 1))
    return out.strip() if code == 0 else None


def compared_to(main: GitService, job: Job, head: str) -> tuple[str, int]:
    """The commit to show a job's changes against, and how many commits the base has that `head` lacks.

    The base's merge-base with the job's head, when it is newer than what the job started from (the base
    was merged into the job's branch, or the job was merged into the base); else `job.base_commit`.
    """
    start = job.base_commit or head
    tip = _branch_commit(main, job.base) if job.base else None
    if tip is None:
        return start, 0
    code, out, _ = main.git("merge-base", tip, head, ok=(0, 1))
    point = start
    if code == 0 and out.strip() and _is_ancestor(main, start, out.strip()):
        point = out.strip()
    ahead = int(main.git("rev-list", "--count", f"{head}..{tip}")[1].strip() or 0)
    return point, ahead


def changes(main: GitService, work: GitService | None, job: Job, paths: list[str] | None = None) -> Changes:
    """Every file the job changed, with its hunks (only `paths`, when given)."""
    _require_isolated(job)
    assert job.branch and job.base_commit  # for the type checker: _require_isolated said so
    present = work is not None and worktree_present(job)
    if present:
        assert work is not None
        head = work.commit_of("HEAD")
        on_branch = work.current_branch() == job.branch
    else:
        head = _branch_commit(main, job.branch)
        if head is None:
            raise UserError(f"The job's branch {job.branch} and its worktree are both gone: there is nothing left "
                            "to review.")
        on_branch = True
    point, ahead = compared_to(main, job, head)
    if present:
        assert work is not None
        files = work.diff_files(point, paths=paths)
    else:
        relative = main._paths(paths) if paths else []
        files = parse_diff(main.git("diff", *DIFF_OPTIONS, point, head, "--", *relative, strip=False)[1])
    return Changes(branch=job.branch, base=job.base, base_commit=job.base_commit, compared_to=point, head=head,
                   base_ahead=ahead, worktree_missing=not present, on_branch=on_branch, files=files)


# --------------------------------------------------------------------------------- rejecting


def reject_hunk(main: GitService, work: GitService | None, job: Job, hunk_id: str,
                path: str | None = None) -> list[FileDiff]:
    """Revert one hunk in the worktree's files; returns the file's changes after it (empty: no change left)."""
    _require_isolated(job)
    if work is None or not worktree_present(job):
        raise UserError("The job's worktree folder was removed by hand, so there is nothing to revert a change in. "
                        "Continuing the job checks its branch out again; its committed work is safe on "
                        f"{job.branch}.")
    with work.lock:
        found = find_hunk(changes(main, work, job, [path] if path else None).files, hunk_id)
        if found is None:
            raise Conflict("That change is no longer there: the file changed since you looked (Claude may have "
                           "edited it again). Reload the changes and look again.")
        file, hunk = found
        if hunk.kind in NOT_ACTIONABLE:
            raise UserError(f"{file.path}: {hunk.note}")
        if hunk.whole_file:
            _restore_file(main, work, job, file.path)
        else:
            apply_patch(work, hunk_patch(file, hunk), "--reverse")
        return changes(main, work, job, [file.path]).files


def _restore_file(main: GitService, work: GitService, job: Job, path: str) -> None:
    """A whole file back to what it is at the compared commit, in the worktree only (its index stays)."""
    point, _ = compared_to(main, job, work.commit_of("HEAD"))
    if work.git("cat-file", "-e", f"{point}:{path}", ok=(0, 1, 128))[0] == 0:
        work.git("restore", f"--source={point}", "--worktree", "--", path)
        return
    target = work.root / path
    try:
        if target.is_symlink() or target.is_file():
            target.unlink()
    except OSError as exc:
        raise UserError(f"Could not remove {path}: {describe_os_error(exc)}") from None


# ---------------------------------------------------------------------------------- merging


def merge(main: GitService, work: GitService | None, job: Job, squash: bool, message: str,
          trial: bool = True) -> MergeResult:
    """Merge the job's branch into its base in the project's main checkout (see the module's words).

    Raises a UserError (Conflict for the state of a checkout) with what to do when the merge cannot
    start; returns `merged=False` with the files when it would conflict. Either way the main checkout is
    as it was. `trial=False` skips the dry run (for git before 2.38, which lacks it; and for tests).
    """
    _require_isolated(job)
    assert job.branch
    message = (message or "").strip() or job.name
    if "\x00" in message:
        raise UserError("A commit message cannot contain NUL characters.")
    if job.base is None:
        raise UserError(f"This job started from a detached HEAD (commit {(job.base_commit or '?')[:12]}), so there "
                        f"is no branch to merge it into. Check out the branch it belongs to in the project, then "
                        f"merge {job.branch} there yourself (git merge {job.branch}).")
    with main.lock:
        _check_main(main, job)
    work_commit = _commit_work(work, job) if work is not None and worktree_present(job) else None
    with main.lock:
        _check_main(main, job)  # again: the checkout may have changed while the worktree committed
        before = main.commit_of("HEAD")
        tip = _branch_commit(main, job.branch)
        assert tip is not None  # _check_main saw the branch
        result = MergeResult(merged=False, base=job.base, branch=job.branch, squash=squash, message="",
                             merged_head=tip, work_commit=work_commit, base_moved=not _is_ancestor(main, before, tip))
        if _is_ancestor(main, tip, before):
            raise Conflict(f"Nothing to merge: {job.base} already has every commit of {job.branch}.")
        conflicts = _trial_merge(main, before, tip) if trial else None
        if not conflicts:
            conflicts = _merge(main, job, before, squash, message)
        if conflicts:
            return _conflicted(result, conflicts, job.name)
        result.merged, result.commit = True, main.commit_of("HEAD")
    how = "squashed into one commit on" if squash else "merged into"
    result.message = f"{job.branch} {how} {job.base} ({result.commit[:12]})." + (
        f" {job.base} had moved on since the job started; both are combined." if result.base_moved else "")
    return result


def _check_main(main: GitService, job: Job) -> None:
    """The main checkout can take a merge: on the base branch, nothing uncommitted, no operation half done."""
    if not main.is_repo():
        raise UserError(f"{main.root.name} is not a git repository any more: there is nothing to merge into.")
    if _branch_commit(main, job.branch or "") is None:
        raise UserError(f"The job's branch {job.branch} no longer exists: there is nothing to merge.")
    if _branch_commit(main, job.base or "") is None:
        raise UserError(f"The base branch {job.base} no longer exists in {main.root.name}: create it again "
                        f"(or merge {job.branch} into another branch yourself).")
    current = main.current_branch()
    unchanged = "Nothing was changed."
    if current != job.base:
        where = "a detached HEAD" if current is None else current
        raise Conflict(f"The project's checkout is on {where}, not on {job.base}: check out {job.base} there "
                       f"(git checkout {job.base}) and merge again. {unchanged}")
    for marker, what in (("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick"),
                         ("REVERT_HEAD", "a revert"), ("rebase-merge", "a rebase"), ("rebase-apply", "a rebase")):
        if (main.root / main.git("rev-parse", "--git-path", marker)[1].strip()).exists():
            raise Conflict(f"{what.capitalize()} is in progress in the project's checkout: finish it or abort it "
                           f"there first. {unchanged}")
    dirty = _dirty(main, untracked=False)
    if dirty:
        shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10 else "")
        raise Conflict(f"The project's checkout has uncommitted changes ({shown}): commit or stash them there "
                       f"first, then merge. {unchanged}")


def _dirty(repo: GitService, untracked: bool) -> list[str]:
    out = repo.git("status", "--porcelain", "-z", f"--untracked-files={'all' if untracked else 'no'}")[1]
    return [entry[3:] for entry in out.split("\0") if len(entry) > 3]


def _commit_work(work: GitService, job: Job) -> str | None:
    """Commit the worktree's uncommitted work to the job's branch ("Work of <name>"); None when there is none."""
    with work.lock:
        current = work.current_branch()
        if current != job.branch:
            where = "a detached HEAD" if current is None else f"the branch {current}"
            raise Conflict(f"The job's worktree is on {where}, not on its branch {job.branch}: check {job.branch} "
                           f"out there (git checkout {job.branch}, in the job's terminal) and merge again. "
                           "Nothing was changed.")
        if (work.root / work.git("rev-parse", "--git-path", "MERGE_HEAD")[1].strip()).exists() or \
                work.git("diff", "--name-only", "--diff-filter=U")[1].strip():
            raise Conflict("The job's worktree is in the middle of a merge: resolve its conflicts and commit "
                           "(or ask Claude to), then merge again. Nothing was changed.")
        if not _dirty(work, untracked=True):
            return None
        work.git("add", "-A")
        work.git(*work.fallback_identity(), "commit", "-q", "--no-verify", "-m", f"Work of {job.name}")
        return work.commit_of("HEAD")


def _trial_merge(main: GitService, before: str, tip: str) -> list[str] | None:
    """The files a merge of `tip` into `before` would conflict in, found without touching a checkout; None when
    this git cannot tell (before 2.38)."""
    code, out, _ = main.git("merge-tree", "--write-tree", "--name-only", "--no-messages", before, tip,
                            ok=(0, 1, 128, 129))
    if code == 0:
        return []
    if code != 1:
        return None
    names = []
    for line in out.split("\n")[1:]:
        if not line:
            break
        name = unquote_name(line)
        if name not in names:
            names.append(name)
    return names or None


def _merge(main: GitService, job: Job, before: str, squash: bool, message: str) -> list[str]:
    """The merge itself; returns the conflicting files (after putting everything back) or []."""
    ref = f"refs/heads/{job.branch}"
    identity = main.fallback_identity()
    try:
        if squash:
            code, out, err = main.git("merge", "--squash", ref, ok=(0, 1, 2, 128))
        else:  # -m: the person's message; --no-verify: a hook must not leave a merge half made
            code, out, err = main.git(*identity, "merge", "--no-ff", "--no-edit", "--no-verify", "-m", message, ref,
                                      ok=(0, 1, 2, 128))
        conflicts = [p for p in main.git("diff", "--name-only", "-z", "--diff-filter=U")[1].split("\0") if p]
        if code == 0 and not squash:
            return []
        nothing_staged = squash and code == 0 and main.git("diff", "--cached", "--quiet", ok=(0, 1))[0] == 0
        if squash and code == 0 and not nothing_staged:
            main.git(*identity, "commit", "-q", "--no-verify", "-m", message)
            return []
    except UserError as exc:  # a git command failed half way: a full disk, a lock held elsewhere...
        _put_back(main, before)
        raise UserError(f"The merge failed ({exc}). The project's checkout was put back as it was.") from None
    _put_back(main, before)
    if conflicts:
        return conflicts
    if nothing_staged:
        raise Conflict(f"Nothing to merge: {job.base} already holds every change of {job.branch}.")
    words = " ".join(line.strip().removeprefix("error: ").removeprefix("fatal: ")
                     for line in (err or out).splitlines() if line.strip())
    raise UserError(f"git merge refused: {words[:600]} Nothing was changed.")


def _put_back(main: GitService, before: str) -> None:
    """The main checkout exactly as before a merge that did not finish (it was clean then)."""
    if (main.root / main.git("rev-parse", "--git-path", "MERGE_HEAD")[1].strip()).exists():
        main.git("merge", "--abort", ok=(0, 128))
    if main.commit_of("HEAD") == before:
        main.git("reset", "-q", "--merge", ok=(0, 128))
    if main.commit_of("HEAD") != before or _dirty(main, untracked=False):
        raise UserError(f"The merge could not be undone completely: the project's checkout should be at {before[:12]}; "
                        "look at it in the Git tab (git status) before going on.")


def _conflicted(result: MergeResult, conflicts: list[str], job_name: str) -> MergeResult:
    files = ", ".join(conflicts)
    result.conflicts = conflicts
    result.message = (f"Merging {result.branch} into {result.base} would conflict in {len(conflicts)} "
                      f"file{'s' if len(conflicts) != 1 else ''}: {files}. Nothing was changed: {result.base} and "
                      "the job's branch are as they were.")
    if result.work_commit:
        result.message += f" The worktree's uncommitted work is on the branch now, as the commit 'Work of {job_name}'."
    result.prompt = resolve_conflict_prompt(result.base, result.branch, conflicts)
    return result


def resolve_conflict_prompt(base: str, branch: str, conflicts: list[str]) -> str:
    """The follow-up that asks Claude to resolve a merge conflict in its own worktree."""
    files = ", ".join(conflicts)
    return (f"Merging your branch {branch} into {base} conflicts in {files}. Merge {base} into your branch in this "
            f"worktree (git merge {base}), resolve the conflicts in {files} so that the intent of both sides is "
            "kept, run what checks the project has, and commit the merge. Stay on your branch and do not change "
            f"{base} itself.")
