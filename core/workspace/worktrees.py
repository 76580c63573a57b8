"""Isolated jobs (spec L1): each works in a git worktree of its own, on a branch of its own.

The worktree lives under the server's state folder (`<state>/worktrees/<job id>`), not in
the project, so the project's own Files tab stays as it was; the branch is
`claude/<name>-<id>`, started from the project's current branch or a chosen base.
Nothing here touches the main checkout: a job's work reaches the base branch only when a
person merges it (`core/workspace/git/review.py`).

A job's worktree is removed when the job is archived, after its uncommitted work is
committed to its branch: no agent's work is lost. The branch stays until the person
discards it. A worktree removed by hand is made again from the branch the next time the
job needs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.errors import Conflict, UserError
from core.workspace.git.service import GitService

BRANCH_PREFIX = "claude/"
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Isolation:
    """What an isolated job records of its workspace."""

    worktree: str  # absolute path of the worktree
    branch: str  # the job's own branch
    base: str | None  # the branch it started from (None: a detached HEAD, by commit only)
    base_commit: str  # the commit it started from: what its changes are shown against


def branch_name(job_name: str, job_id: str) -> str:
    slug = _SLUG.sub("-", job_name.lower()).strip("-")[:40].strip("-") or "job"
    return f"{BRANCH_PREFIX}{slug}-{job_id[:6]}"


class Worktrees:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "worktrees"

    def path_for(self, job_id: str) -> Path:
        return self.root / job_id

    def create(self, repo: GitService, job_id: str, job_name: str, base: str | None = None,
               start: str | None = None) -> Isolation:
        """A new worktree and branch for a job, from `start` (a commit or branch: a fork's parent branch) or
        from `base` (default: the project's current branch)."""
        if not repo.is_repo():
            raise UserError(f"{repo.root.name} is not a git repository (any more): no worktree can be made.")
        with repo.lock:
            if not repo.has_commits():
                raise UserError(f"{repo.root.name} has no commit: no branch can be made from it.")
            base = base or repo.current_branch()
            origin = start or base or "HEAD"
            code, out, _ = repo.git("rev-parse", "--verify", "-q", f"{origin}^{{commit}}", ok=(0, 1))
            if code != 0:
                raise UserError(f"There is no branch or commit {origin!r} in {repo.root.name} to start from.")
            base_commit = out.strip()
            branch = self._free_branch(repo, branch_name(job_name, job_id))
            path = self.path_for(job_id)
            if path.exists():
                raise Conflict(f"A worktree for this job already exists at {path.name}.")
            self.root.mkdir(parents=True, exist_ok=True)
            repo.git("worktree", "add", "-q", "-b", branch, str(path), base_commit)
        return Isolation(str(path), branch, base, base_commit)

    @staticmethod
    def _free_branch(repo: GitService, wanted: str) -> str:
        """`wanted`, or `wanted-2`, `-3`...: an existing branch is somebody's work, never reused."""
        name, n = wanted, 1
        while repo.git("show-ref", "--verify", "-q", f"refs/heads/{name}", ok=(0, 1))[0] == 0:
            n += 1
            name = f"{wanted}-{n}"
        return name

    def ensure(self, repo: GitService, worktree: str, branch: str) -> bool:
        """Make sure the worktree is there; made again from its branch when it was removed by hand (True)."""
        path = Path(worktree)
        if (path / ".git").exists():
            return False
        with repo.lock:
            repo.git("worktree", "prune")
            if path.exists() and any(path.iterdir()):
                raise UserError(f"The worktree folder {path.name} exists but is no git worktree any more; "
                                "move it away, and the job's branch will be checked out there again.")
            if repo.git("show-ref", "--verify", "-q", f"refs/heads/{branch}", ok=(0, 1))[0] != 0:
                raise UserError(f"The branch {branch} of this job is gone, and its worktree too: there is "
                                "nothing left to continue from.")
            self.root.mkdir(parents=True, exist_ok=True)
            repo.git("worktree", "add", "-q", str(path), branch)
        return True

    def dirty_paths(self, directory: Path) -> list[str]:
        """Uncommitted changes in a checkout: modified, staged or untracked paths."""
        out = GitService(directory).git("status", "--porcelain", "-z", "--untracked-files=all")[1]
        return [entry[3:] for entry in out.split("\0") if len(entry) > 3]

    def carry_over(self, repo: GitService, worktree: str) -> list[str]:
        """Bring the main checkout's uncommitted changes (tracked and untracked) into the job's worktree, as
        uncommitted changes there; the main checkout keeps them too. Returns the paths carried over."""
        target = GitService(worktree)
        with repo.lock:
            changed = self.dirty_paths(repo.root)
            if not changed:
                return []
            patch = repo.git("diff", "--binary", "HEAD", strip=False)[1]
            untracked = [p for p in repo.git("ls-files", "--others", "--exclude-standard", "-z")[1].split("\0") if p]
        if patch.strip():
            _apply(target, patch)
        for relative in untracked:
            source, destination = repo.root / relative, Path(worktree) / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination, follow_symlinks=False)
        return changed

    def remove(self, repo: GitService, worktree: str, branch: str, job_name: str) -> str | None:
        """Remove a job's worktree, keeping its branch; uncommitted work is committed to the branch first.
        Returns the sha of that commit, if one was needed."""
        path = Path(worktree)
        saved = None
        if (path / ".git").exists():
            work = GitService(path)
            with work.lock:
                if self.dirty_paths(path):
                    work.git("add", "-A")
                    work.git(*work.fallback_identity(), "commit", "-q", "--no-verify", "-m",
                             f"Work in progress of {job_name!r}, kept when the job was archived")
                    saved = work.commit_of("HEAD")
        with repo.lock:
            if path.exists():
                repo.git("worktree", "remove", "--force", str(path))
            repo.git("worktree", "prune")
        return saved

    def discard_branch(self, repo: GitService, branch: str) -> None:
        """Delete a job's branch for good (its worktree must be gone); the person confirmed it."""
        if not branch.startswith(BRANCH_PREFIX):
            raise UserError(f"{branch} is not a branch this server made; it is left alone.")
        with repo.lock:
            if repo.git("show-ref", "--verify", "-q", f"refs/heads/{branch}", ok=(0, 1))[0] == 0:
                repo.git("branch", "-D", branch)


def _apply(target: GitService, patch: str) -> None:
    """Apply a patch to a worktree's files, or say plainly that it does not fit."""
    result = subprocess.run(["git", "apply", "--binary", "--whitespace=nowarn", "-"], cwd=target.root,
                            input=patch.encode("utf-8", "surrogateescape"), capture_output=True, timeout=120)
    if result.returncode != 0:
        raise UserError("The uncommitted changes do not apply to the job's worktree: "
                        + result.stderr.decode(errors="replace").strip()[:500])
