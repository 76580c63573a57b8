"""Review and merge of isolated jobs by job id (spec L2): what the Changes tab and the API call.

It finds a job's main checkout and worktree (`services.workspaces`, whose GitService locks
every writer shares) and keeps the accepted marks under the state folder
(`<state>/reviews/<job id>.json`). The git work is in `core/workspace/git/review.py`.
Blocking methods run git: call them from a worker thread. `merge` and `ask_to_resolve`
belong to the event loop (they update the job and may start its session).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import Conflict, UserError, describe_os_error
from core.models import Job, JobStatus
from core.workspace.git import review
from core.workspace.git.hunks import FileDiff
from core.workspace.git.review import AcceptedHunks, Changes, MergeResult
from core.workspace.git.service import GitService

if TYPE_CHECKING:
    from core.services import Services


@dataclass
class FileReview:
    """One file after an action on one of its hunks: its changes now (None: nothing left) and its accepted hunks."""

    path: str
    file: FileDiff | None
    accepted: set[str]


class JobReviews:
    def __init__(self, services: Services) -> None:
        self._services = services
        self.accepted = AcceptedHunks(services.settings.state_dir / "reviews")

    def _parts(self, job_id: str) -> tuple[Job, GitService, GitService | None]:
        job = self._services.jobs.get(job_id)
        main = self._services.workspaces.git(job.project_id)
        work = self._services.workspaces.git(job.project_id, job.id) if review.worktree_present(job) else None
        return job, main, work

    def changes(self, job_id: str, path: str | None = None) -> Changes:
        """Blocking. Every changed file of the job (only `path`'s, when given), with the accepted hunks."""
        job, main, work = self._parts(job_id)
        found = review.changes(main, work, job, [path] if path else None)
        found.accepted = self.accepted.keep(job.id, found.files, only_paths={path} if path else None)
        return found

    def accept(self, job_id: str, hunk_id: str, path: str | None = None) -> FileReview:
        """Blocking. Mark a hunk reviewed; an id that is not among the changes now is a Conflict (reload)."""
        job, main, work = self._parts(job_id)
        files = review.changes(main, work, job, [path] if path else None).files
        hit = next((f for f in files if f.hunk(hunk_id)), None)
        if hit is None:
            raise Conflict("That change is no longer there: the file changed since you looked (Claude may have "
                           "edited it again). Reload the changes and look again.")
        accepted = self.accepted.keep(job.id, [hit], only_paths={hit.path}, add=(hunk_id, hit.path))
        return FileReview(hit.path, hit, accepted)

    def reject(self, job_id: str, hunk_id: str, path: str | None = None) -> FileReview:
        """Blocking. Revert a hunk in the job's worktree."""
        job, main, work = self._parts(job_id)
        if path is None:  # the file is needed to say what is left of it
            hit = next((f for f in review.changes(main, work, job).files if f.hunk(hunk_id)), None)
            path = hit.path if hit else None
        after = review.reject_hunk(main, work, job, hunk_id, path)
        file = after[0] if after else None
        accepted = self.accepted.keep(job.id, after, only_paths={path} if path else None, remove=hunk_id)
        return FileReview(path or "", file, accepted)

    async def merge(self, job_id: str, squash: bool, message: str) -> MergeResult:
        """Merge the job's branch into its base in the project's checkout. After a merge the job's changes are
        shown from the merged commit on (its `base_commit`), and its accepted marks are dropped."""
        job, main, work = self._parts(job_id)
        if job.status in (JobStatus.RUNNING, JobStatus.QUEUED):
            raise Conflict("Claude is still working in this job: merge once its turn has ended (or stop it). "
                           "Nothing was changed.")
        try:
            result = await asyncio.to_thread(review.merge, main, work, job, squash, message)
        except OSError as exc:  # the disk, not git: git's own failures are UserErrors already
            raise UserError(f"The merge could not run: {describe_os_error(exc)}") from None
        if result.merged and result.merged_head:
            job = self._services.jobs.get(job_id)
            job.base_commit = result.merged_head
            self._services.jobs.save(job)
            await asyncio.to_thread(self.accepted.drop, job.id)
        return result

    def ask_to_resolve(self, job_id: str, conflicts: list[str]) -> Job:
        """Send Claude the follow-up that asks it to resolve a merge conflict in these files in its worktree."""
        job = self._services.jobs.get(job_id)
        if not job.isolated or not job.base or not job.branch:
            raise Conflict("Only an isolated job started from a branch has a merge conflict to resolve.")
        return self._services.jobs.follow_up(job_id, review.resolve_conflict_prompt(job.base, job.branch, conflicts))
