"""/api/projects/{id}/git: status, diffs, log, and stage/unstage/discard/commit/push/pull, of files or of
single hunks (spec G3, J5).

The same GitService instance as the Git tab (`services.workspaces.git`), so its
lock serialises the UI's and the API's writes alike. A git command that fails (not a repository, nothing
staged, no remote...) answers 400 with git's own words; `init` of a repository 409.
Each action answers with the status after it.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Query

from core.api.project_scope import GitDep, WorkspaceJSON, off_loop
from core.api.review_schemas import FileDiffOut, HunkId
from core.api.workspace_schemas import (
    GitCommit,
    GitCommitOut,
    GitDiffOut,
    GitInit,
    GitLogEntryOut,
    GitOutputOut,
    GitPaths,
    GitStatusOut,
)
from core.workspace.git.service import GitService

router = APIRouter(prefix="/projects/{project_id}/git", tags=["git"], default_response_class=WorkspaceJSON)


async def _status(git: GitService) -> GitStatusOut:
    return GitStatusOut.of(await off_loop(git.status))


async def _then_status(git: GitService, action: Callable[[GitService], object]) -> GitStatusOut:
    """Run one action on the project's GitService in a worker thread; answer with the status after it."""
    await off_loop(action, git)
    return await _status(git)


@router.get("/status", response_model=GitStatusOut)
async def status(git: GitDep) -> GitStatusOut:
    """Branch, ahead/behind, and the staged, modified, untracked and conflicted files.
    A project that is not a repository answers `is_repo: false`."""
    return await _status(git)


@router.get("/diff", response_model=GitDiffOut)
async def diff(git: GitDep, path: str = Query(max_length=4096, description="Relative to the project."),
               staged: bool = Query(False, description="The staged change rather than the unstaged one.")
               ) -> GitDiffOut:
    text = await off_loop(git.diff, path, staged)
    return GitDiffOut(path=path, staged=staged, diff=text)


@router.get("/log", response_model=list[GitLogEntryOut])
async def log(git: GitDep, limit: int = Query(20, ge=1, le=1000)) -> list[GitLogEntryOut]:
    """The newest commits of the current branch first; [] before the first commit."""
    return [GitLogEntryOut.of(e) for e in await off_loop(git.log, limit)]


@router.post("/init", response_model=GitStatusOut)
async def init(git: GitDep, body: GitInit | None = None) -> GitStatusOut:
    """`git init` in the project folder (409 if it is a repository already); `first_commit` commits what is
    there too."""
    return GitStatusOut.of(await off_loop(git.init, bool(body and body.first_commit)))


@router.post("/stage", response_model=GitStatusOut)
async def stage(git: GitDep, body: GitPaths) -> GitStatusOut:
    """Stage files or folders (a deletion too)."""
    return await _then_status(git, lambda git: git.stage(body.paths))


@router.post("/stage-all", response_model=GitStatusOut)
async def stage_all(git: GitDep) -> GitStatusOut:
    return await _then_status(git, GitService.stage_all)


@router.post("/unstage", response_model=GitStatusOut)
async def unstage(git: GitDep, body: GitPaths) -> GitStatusOut:
    return await _then_status(git, lambda git: git.unstage(body.paths))


@router.post("/discard", response_model=GitStatusOut)
async def discard(git: GitDep, body: GitPaths) -> GitStatusOut:
    """Throw away unstaged changes, without asking: tracked files return to their staged (or committed)
    content, untracked files and folders are DELETED. Staged changes stay."""
    return await _then_status(git, lambda git: git.discard(body.paths))


@router.post("/commit", response_model=GitCommitOut)
async def commit(git: GitDep, body: GitCommit) -> GitCommitOut:
    """Commit what is staged (400 when nothing is, or without a message)."""
    sha = await off_loop(git.commit, body.message)
    return GitCommitOut(sha=sha, status=await _status(git))


@router.post("/push", response_model=GitOutputOut)
async def push(git: GitDep) -> GitOutputOut:
    """Push the current branch; one without an upstream goes to `origin` (or the only remote) and tracks it.
    Gives up after 120 s when the remote does not answer."""
    output = await off_loop(git.push)
    return GitOutputOut(output=output, status=await _status(git))


@router.post("/pull", response_model=GitOutputOut)
async def pull(git: GitDep) -> GitOutputOut:
    output = await off_loop(git.pull)
    return GitOutputOut(output=output, status=await _status(git))


HunkPath = Query(None, max_length=4096, description="The hunk's file, relative to the project: only that file is "
                                                   "looked at (faster); without it every changed file is.")


@router.get("/hunks", response_model=list[FileDiffOut])
async def hunks(git: GitDep, path: str | None = Query(None, max_length=4096, description="Only this file."),
                staged: bool = Query(False, description="The staged changes rather than the unstaged ones.")
                ) -> list[FileDiffOut]:
    """Changed files with their hunks and the hunks' ids; untracked files count as unstaged, entirely added."""
    return [FileDiffOut.of(f) for f in await off_loop(git.diff_files, staged=staged, paths=[path] if path else None)]


@router.post("/hunks/{hunk_id}/stage", response_model=GitStatusOut)
async def stage_hunk(git: GitDep, hunk_id: HunkId, path: str | None = HunkPath) -> GitStatusOut:
    """Stage one unstaged hunk (409 when it is not there any more: the file changed since you looked)."""
    return await _then_status(git, lambda git: git.stage_hunk(hunk_id, path))


@router.post("/hunks/{hunk_id}/unstage", response_model=GitStatusOut)
async def unstage_hunk(git: GitDep, hunk_id: HunkId, path: str | None = HunkPath) -> GitStatusOut:
    """Unstage one staged hunk."""
    return await _then_status(git, lambda git: git.unstage_hunk(hunk_id, path))


@router.post("/hunks/{hunk_id}/discard", response_model=GitStatusOut)
async def discard_hunk(git: GitDep, hunk_id: HunkId, path: str | None = HunkPath) -> GitStatusOut:
    """Throw one unstaged hunk away, without asking; an untracked file's only hunk DELETES the file."""
    return await _then_status(git, lambda git: git.discard_hunk(hunk_id, path))
