"""/api/jobs/{id}/changes and /merge: review an isolated job's work and merge it into its base (spec L2).

The same `services.reviews` as the Changes tab. A job that is not isolated answers 409 (its changes
are the project's own: see /api/projects/{id}/git). A hunk id that is not among the changes any more
answers 409 too: the file changed since the client looked. A merge that would conflict answers 409
with the files (`MergeConflictOut`): nothing was changed.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from core.api.deps import ServicesDep
from core.api.project_scope import WorkspaceJSON, off_loop
from core.api.review_schemas import (
    ChangesOut,
    HunkActionOut,
    HunkId,
    MergeConflictOut,
    MergeIn,
    MergeOut,
    ReviewFileOut,
)
from core.workspace.reviews import FileReview

router = APIRouter(prefix="/jobs/{job_id}", tags=["review"], default_response_class=WorkspaceJSON)

PathHint = Query(None, max_length=4096, description="The hunk's file, relative to the repository: only that file "
                                                    "is looked at (faster); without it every file is.")


def _action(review: FileReview) -> HunkActionOut:
    file = ReviewFileOut.reviewed(review.file, review.accepted) if review.file else None
    return HunkActionOut(path=review.path, file=file, accepted=sorted(review.accepted))


@router.get("/changes", response_model=ChangesOut)
async def changes(job_id: str, services: ServicesDep,
                  path: str | None = Query(None, max_length=4096, description="Only this file's changes.")
                  ) -> ChangesOut:
    """Every file the job changed against its base: committed on its branch, uncommitted and untracked in its
    worktree, each with its hunks and whether they were accepted."""
    return ChangesOut.of(job_id, await off_loop(services.reviews.changes, job_id, path))


@router.post("/changes/hunks/{hunk_id}/accept", response_model=HunkActionOut)
async def accept(job_id: str, hunk_id: HunkId, services: ServicesDep, path: str | None = PathHint) -> HunkActionOut:
    """Mark a hunk as reviewed. Nothing changes in the files; the mark is dropped when the hunk changes."""
    return _action(await off_loop(services.reviews.accept, job_id, hunk_id, path))


@router.post("/changes/hunks/{hunk_id}/reject", response_model=HunkActionOut)
async def reject(job_id: str, hunk_id: HunkId, services: ServicesDep, path: str | None = PathHint) -> HunkActionOut:
    """Revert a hunk in the job's worktree. A hunk that came in a commit of the branch stays in the history: an
    uncommitted change undoes it. A whole-file item (a binary file...) goes back to the base's version."""
    return _action(await off_loop(services.reviews.reject, job_id, hunk_id, path))


@router.post("/merge", response_model=MergeOut, responses={409: {"model": MergeConflictOut, "description": (
        "The merge would conflict (the body names the files), or a checkout is not ready (then only `detail`).")}})
async def merge(job_id: str, body: MergeIn, services: ServicesDep):
    """Merge the job's branch into its base in the project's checkout, which must be on the base branch with
    nothing uncommitted. The worktree's uncommitted work is first committed to the branch ("Work of <job name>").
    `squash` makes one commit instead of a merge commit. 409 while a turn runs, when the checkout is not ready,
    and on a conflict (with the files and the follow-up that asks Claude to resolve it); 400 for a job that
    started from a detached HEAD."""
    result = await services.reviews.merge(job_id, body.squash, body.message)
    if not result.merged:
        conflict = MergeConflictOut(detail=result.message, conflicts=result.conflicts,
                                    resolve_prompt=result.prompt or "", work_commit=result.work_commit)
        return WorkspaceJSON(conflict.model_dump(), status_code=409)
    return MergeOut.of(result)
