"""Isolated jobs in the job model (spec L1): when a job gets its worktree, and what happens to it.

A new isolated job is checked at once (a repository with a commit, a base that exists), so a
mistake is answered before anything is made; its worktree is made by its session's task, off
the event loop, before the CLI starts there. The main checkout's uncommitted changes are
not in the worktree: the job says so, and carries them over when asked. A fork of an
isolated job gets its own worktree from the parent's branch, with the parent's uncommitted
work. Archiving removes the worktree after committing what was uncommitted; the branch stays
until the person discards it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core import events
from core.errors import Conflict, UserError
from core.models import Job, JobStatus
from core.workspace.git.service import GitService
from core.workspace.worktrees import Worktrees

if TYPE_CHECKING:
    from core.jobs.manager import JobManager

MAX_LISTED_PATHS = 200


class JobIsolation:
    def __init__(self, jobs: JobManager, worktrees: Worktrees) -> None:
        self.jobs = jobs
        self.worktrees = worktrees
        # The server's one GitService per folder (services.workspaces.git_at): its lock is the Git tab's and the
        # API's too. Left as a fresh service per call where no Services composes the manager (some benches).
        self.git_at: Callable[[Path | str], GitService] = GitService

    def _repo(self, job: Job) -> GitService:
        return self.git_at(self.jobs.projects.directory(job.project_id))

    def directory(self, job: Job) -> Path:
        """Where the job works: its worktree when isolated, else the project's folder."""
        if job.isolated and job.worktree:
            return Path(job.worktree)
        return self.jobs.projects.directory(job.project_id)

    def set_up(self, job: Job, base: str | None = None, parent: Job | None = None, remote: bool = False) -> None:
        """Mark a new job isolated, after checking now what would make its worktree fail later. `remote`: it
        will run on a Ray cluster (spec O2), in a clone of its branch."""
        repo = self._repo(job)
        if not repo.is_repo() and remote:
            raise UserError(f"Jobs run on the Ray cluster (RUNNER=ray), in a git clone of their project, and "
                            f"{repo.root.name} is not a git repository, so it cannot run there. Make it one with "
                            "a first commit (the Git tab, or POST /api/projects/{id}/git/init with "
                            '{"first_commit": true}), then start the job again.')
        if not repo.is_repo():
            raise UserError(f"Isolated jobs need a git repository, and {repo.root.name} is not one. Initialise it "
                            "with a first commit (the Git tab, or POST /api/projects/{id}/git/init with "
                            '{"first_commit": true}), then start the job again.')
        if not repo.has_commits():
            raise UserError(f"{repo.root.name} has no commit yet: an isolated job's branch needs one to start from.")
        if parent is not None:
            base = parent.base
        elif base is not None and repo.git("rev-parse", "--verify", "-q", f"refs/heads/{base}", ok=(0, 1))[0] != 0:
            raise UserError(f"There is no branch {base!r} in {repo.root.name} to start from.")
        job.isolated = True
        job.base = base or repo.current_branch()
        job.worktree = str(self.worktrees.path_for(job.id))
        if parent is None:
            dirty = self.worktrees.dirty_paths(repo.root)
            job.uncommitted_elsewhere = dirty[:MAX_LISTED_PATHS]

    async def prepare(self, job: Job) -> None:
        """Make (or make again) the job's worktree, off the event loop."""
        if not job.isolated or not job.worktree:
            return
        if job.branch is None:
            parent = self.jobs.jobs.get(job.parent_job_id) if job.parent_job_id else None
            await asyncio.to_thread(self._create, job, parent if parent and parent.isolated else None)
            self.jobs.save(job)
            if job.uncommitted_elsewhere:
                self.jobs.emit(job, events.make(events.WARNING, message=(
                    f"The project's main checkout has uncommitted changes ({_listed(job.uncommitted_elsewhere)}) "
                    "that are not in this job's worktree. Carry them over from the job's header if it needs them.")))
            return
        recreated = await asyncio.to_thread(self.worktrees.ensure, self._repo(job), job.worktree, job.branch)
        if recreated:
            self.jobs.emit(job, events.make(events.WARNING, message=(
                f"This job's worktree had been removed by hand; it was made again from its branch {job.branch}. "
                "What was committed there is back; changes that were never committed are lost.")))

    def _create(self, job: Job, parent: Job | None) -> None:
        repo = self._repo(job)
        start = parent.branch if parent is not None else None
        made = self.worktrees.create(repo, job.id, job.name, base=job.base, start=start)
        job.branch, job.base_commit = made.branch, made.base_commit
        if parent is not None:
            job.base_commit = parent.base_commit or made.base_commit  # its changes count from the parent's start
            if parent.worktree and Path(parent.worktree, ".git").exists():
                self.worktrees.carry_over(self.git_at(parent.worktree), made.worktree)

    async def carry_over(self, job_id: str) -> list[str]:
        """Bring the main checkout's uncommitted changes into the job's worktree (they stay in the main one too)."""
        job = self.jobs.get(job_id)
        if not job.isolated or not job.worktree or job.branch is None:
            raise Conflict("Only an isolated job whose worktree is ready can take changes over.")
        if self.jobs.live.get(job_id) and self.jobs.live[job_id].turn_active:
            raise Conflict("Wait for the current turn to end: Claude is working in this worktree.")
        carried = await asyncio.to_thread(self.worktrees.carry_over, self._repo(job), job.worktree)
        job.uncommitted_elsewhere = []
        self.jobs.save(job)
        if carried:
            self.jobs.emit(job, events.make(events.SYSTEM, subtype="carried_over", paths=carried[:MAX_LISTED_PATHS]))
        return carried

    async def remove_worktree(self, job: Job) -> None:
        """The job is archived: its worktree goes, its work stays on its branch."""
        if not job.isolated or not job.worktree or job.branch is None:
            return
        try:
            saved = await asyncio.to_thread(self.worktrees.remove, self._repo(job), job.worktree, job.branch, job.name)
        except (UserError, OSError) as exc:
            self.jobs.emit(job, events.make(events.WARNING, message=f"The job's worktree could not be removed: {exc}"))
            return
        note = f" Its uncommitted work was committed there first ({saved[:10]})." if saved else ""
        message = f"The worktree was removed; the branch {job.branch} keeps the work.{note}"
        self.jobs.emit(job, events.make(events.SYSTEM, subtype="worktree_removed", branch=job.branch, message=message))

    async def discard_branch(self, job_id: str) -> Job:
        """Delete an archived job's branch for good (the person confirmed it)."""
        job = self.jobs.get(job_id)
        if not job.isolated or job.branch is None:
            raise Conflict("This job has no branch of its own.")
        if job.status != JobStatus.ARCHIVED:
            raise Conflict("Archive the job first: its worktree is removed then, and its branch can go.")
        await asyncio.to_thread(self.worktrees.discard_branch, self._repo(job), job.branch)
        self.jobs.emit(job, events.make(events.SYSTEM, subtype="branch_discarded", branch=job.branch))
        job.branch = None
        self.jobs.save(job)
        return job

    def report_missing(self) -> None:
        """At start: an isolated job whose worktree was removed by hand is told, not crashed on."""
        for job in self.jobs.jobs.values():
            if job.isolated and job.branch and job.worktree and job.status != JobStatus.ARCHIVED \
                    and not Path(job.worktree, ".git").exists():
                self.jobs.emit(job, events.make(events.WARNING, message=(
                    f"This job's worktree is gone (removed by hand?). It will be made again from its branch "
                    f"{job.branch} the next time the job runs.")))


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:5])
    return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
