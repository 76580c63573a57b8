"""Bodies of the hunk and review routes: a project's git hunks (spec G3) and an isolated job's changes and
merge (spec L2). They mirror core/workspace/git/hunks.py and review.py field for field."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from core.api.schemas import _Body
from core.workspace.git.hunks import FileDiff, Hunk
from core.workspace.git.review import Changes, MergeResult

HunkId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{12}$", description="A hunk's id, as the listing gives it.")]

KIND_TEXT = ("text (a hunk of lines), mode (a file mode change), or a whole-file item: binary, lfs (a Git LFS "
             "pointer), typechange, empty; shown but not acted on: submodule, conflict, rename.")


class HunkOut(BaseModel):
    id: str = Field(description="Twelve hex digits from the file's path and the hunk's lines: the same while the "
                                "hunk is unchanged, unknown (409) once it changed.")
    kind: str = Field(description=KIND_TEXT)
    header: str = Field(description="'@@ -1,3 +1,4 @@ context' for text; a short description otherwise.")
    lines: list[str] = Field(description="With their ' ', '+', '-' or '\\' prefix, without the newline.")
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    added: int
    removed: int
    whole_file: bool = Field(description="Acted on as the whole file.")
    note: str | None = Field(description="Why it is whole, or cannot be acted on, for people.")

    @classmethod
    def of(cls, hunk: Hunk) -> HunkOut:
        return cls(id=hunk.id, kind=hunk.kind, header=hunk.header, lines=list(hunk.lines),
                   old_start=hunk.old_start, old_count=hunk.old_count, new_start=hunk.new_start,
                   new_count=hunk.new_count, added=hunk.added, removed=hunk.removed, whole_file=hunk.whole_file,
                   note=hunk.note)


class FileDiffOut(BaseModel):
    path: str = Field(description="Relative to the repository, with '/'; a deleted file's old path.")
    old_path: str | None = Field(description="The path before a rename (renames show as a deletion and an "
                                             "addition here, so mostly null).")
    change: str = Field(description="modified, added, deleted or typechange.")
    binary: bool
    old_mode: str | None
    new_mode: str | None
    added: int
    removed: int
    hunks: list[HunkOut]

    @classmethod
    def of(cls, file: FileDiff) -> FileDiffOut:
        return cls(path=file.path, old_path=file.old_path, change=file.change, binary=file.binary,
                   old_mode=file.old_mode, new_mode=file.new_mode, added=file.added, removed=file.removed,
                   hunks=[HunkOut.of(h) for h in file.hunks])


class ReviewHunkOut(HunkOut):
    accepted: bool = Field(description="Marked as reviewed (POST .../accept); the mark goes when the hunk changes.")


class ReviewFileOut(FileDiffOut):
    hunks: list[ReviewHunkOut]  # type: ignore[assignment]

    @classmethod
    def reviewed(cls, file: FileDiff, accepted: set[str]) -> ReviewFileOut:
        out = FileDiffOut.of(file).model_dump()
        out["hunks"] = [{**h, "accepted": h["id"] in accepted} for h in out["hunks"]]
        return cls(**out)


class ChangesOut(BaseModel):
    job_id: str
    branch: str = Field(description="The job's own branch.")
    base: str | None = Field(description="The branch it merges into; null: it started from a detached HEAD.")
    base_commit: str = Field(description="The commit the job started from, or its last merge.")
    compared_to: str = Field(description="The commit the files are compared with: base_commit, or a newer one "
                                         "the branch shares with the base once the base was merged into it.")
    head: str | None = Field(description="The commit the worktree (or the branch) is at.")
    base_ahead: int = Field(description="Commits on the base that the job's branch does not have.")
    worktree_missing: bool = Field(description="The worktree folder was removed by hand: files show what is "
                                               "committed on the branch, and nothing can be rejected.")
    on_branch: bool = Field(description="The worktree has the job's branch checked out (a merge needs it).")
    notes: list[str] = Field(description="What to know before merging, in plain words.")
    hunk_count: int
    accepted_count: int
    files: list[ReviewFileOut] = Field(description="Committed, uncommitted and untracked changes alike, by path.")

    @classmethod
    def of(cls, job_id: str, changes: Changes) -> ChangesOut:
        return cls(job_id=job_id, branch=changes.branch, base=changes.base, base_commit=changes.base_commit,
                   compared_to=changes.compared_to, head=changes.head, base_ahead=changes.base_ahead,
                   worktree_missing=changes.worktree_missing, on_branch=changes.on_branch, notes=changes.notes(),
                   hunk_count=changes.hunk_count, accepted_count=len(changes.accepted),
                   files=[ReviewFileOut.reviewed(f, changes.accepted) for f in changes.files])


class HunkActionOut(BaseModel):
    path: str = Field(description="The file the hunk belonged to.")
    file: ReviewFileOut | None = Field(description="That file's changes now; null when none are left.")
    accepted: list[str] = Field(description="The file's accepted hunks now.")


class MergeIn(_Body):
    squash: bool = Field(False, description="One new commit on the base instead of a merge commit.")
    message: str = Field("", max_length=100_000, description="The commit's message; empty: the job's name.")


class MergeOut(BaseModel):
    merged: bool = Field(description="Always true here: a conflict answers 409.")
    base: str
    branch: str
    squash: bool
    commit: str | None = Field(description="The new commit on the base branch.")
    merged_head: str | None = Field(description="The job's branch commit that was merged; the job's changes are "
                                                "counted from it from now on.")
    work_commit: str | None = Field(description="The commit of the worktree's uncommitted work ('Work of <job "
                                                "name>'), made on the job's branch before the merge.")
    base_moved: bool = Field(description="The base had commits the job's branch did not: both are combined.")
    message: str = Field(description="What happened, for people.")

    @classmethod
    def of(cls, result: MergeResult) -> MergeOut:
        return cls(merged=result.merged, base=result.base, branch=result.branch, squash=result.squash,
                   commit=result.commit, merged_head=result.merged_head, work_commit=result.work_commit,
                   base_moved=result.base_moved, message=result.message)


class MergeConflictOut(BaseModel):
    detail: str = Field(description="The conflict in plain words: the files, and that nothing was changed.")
    conflicts: list[str] = Field(description="The files that would conflict, relative to the repository.")
    resolve_prompt: str = Field(description="A follow-up asking Claude to resolve it in its worktree: send it with "
                                            "POST /api/jobs/{id}/messages.")
    work_commit: str | None = Field(description="The worktree's uncommitted work, committed to the job's branch "
                                                "before the attempt (it stays there).")
