"""Request and response bodies of the API.

The allowed values come from core.models, so the OpenAPI schema lists exactly
what the services accept; the services still validate everything themselves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.jobs.images import MAX_IMAGES, Image, from_base64
from core.models import EFFORT_LEVELS, PERMISSION_MODES, Job, JobMode, JobStatus, Project

JobStatusName = Literal[tuple(s.value for s in JobStatus)]  # type: ignore[valid-type]
ModeName = Literal[tuple(m.value for m in JobMode)]  # type: ignore[valid-type]
PermissionMode = Literal[PERMISSION_MODES]  # type: ignore[valid-type]
Effort = Literal[EFFORT_LEVELS]  # type: ignore[valid-type]


class _Body(BaseModel):
    # Unknown fields are refused: a misspelt option should not be silently ignored.
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------ projects


class ProjectCreate(_Body):
    name: str = Field(max_length=1000, description="Letters, digits, spaces, '.', '-' and '_'.")
    path: str | None = Field(None, max_length=4096,
                             description="An existing directory (absolute path); default PROJECTS_ROOT/<name>.")

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        # Checked here because the OS raises odd errors (not UserErrors) for such strings.
        if value is not None and (not value.startswith("/") or "\x00" in value):
            raise ValueError("must be an absolute path (starting with '/') without NUL characters")
        return value


class ProjectUpdate(_Body):
    """Only the fields present change."""

    name: str | None = Field(None, max_length=1000)
    isolate_jobs: bool | None = Field(None, description="New jobs get a worktree and branch of their own "
                                                        "unless their submit says otherwise.")
    monthly_budget_usd: float | None = Field(None, description="What the project's jobs may spend in a calendar "
                                                               "month, in USD (null: no budget).")


class ProjectOut(BaseModel):
    id: str
    name: str
    path: str
    created_at: float
    archived: bool
    external: bool
    isolate_jobs: bool
    monthly_budget_usd: float | None

    @classmethod
    def of(cls, project: Project) -> ProjectOut:
        return cls(**project.to_dict())


# ---------------------------------------------------------------------------------- jobs


class ImageIn(_Body):
    media_type: str = Field(max_length=100, examples=["image/png"])
    data: str = Field(description="The file's bytes, base64-encoded.")
    name: str = Field("image", max_length=255)

    def to_image(self) -> Image:
        return from_base64(self.media_type, self.data, self.name)


# Room for more than the limit: core.jobs.images then names the precise problem.
ImageList = Annotated[list[ImageIn], Field(max_length=MAX_IMAGES * 5)]


class JobCreate(_Body):
    project_id: str = Field(max_length=200)
    prompt: str
    images: ImageList = []
    mode: ModeName = "job"
    model: str | None = Field(None, max_length=200)
    permission_mode: PermissionMode | None = None
    thinking_tokens: int | None = Field(None, description="0 turns thinking off; else 1024 to 128000.")
    effort: Effort | None = None
    name: str | None = Field(None, max_length=1000)
    isolated: bool | None = Field(None, description="In a git worktree and branch of its own; default: the "
                                                    "project's `isolate_jobs`.")
    base: str | None = Field(None, max_length=250, description="The branch an isolated job starts from; default: "
                                                               "the project's current branch.")
    budget_usd: float | None = Field(None, description="The job's cost cap in USD: its turns stop there.")
    over_budget: bool = Field(False, description="Start even though the project's monthly budget is used up.")


class JobRename(_Body):
    name: str = Field(max_length=1000)


class JobSettings(_Body):
    """Only the fields present change; an explicit null returns that setting to its default."""

    model: str | None = Field(None, max_length=200)
    permission_mode: PermissionMode | None = None
    thinking_tokens: int | None = None
    effort: Effort | None = None
    budget_usd: float | None = Field(None, description="The job's cost cap in USD (null: none).")


class Message(_Body):
    prompt: str
    images: ImageList = []
    over_budget: bool = Field(False, description="Send it even though the job's or the project's budget is used "
                                                 "up (spec N3).")


class Fork(Message):
    at_seq: int = Field(ge=0, description="Seq of an assistant event; the fork keeps the turn ending there.")


class EditResend(Message):
    user_seq: int = Field(ge=0, description="Seq of the user message to replace.")


class Rewind(_Body):
    user_seq: int = Field(ge=1, description="Seq of one of your own messages (a `user` event).")
    dry_run: bool = Field(False, description="Only say which files would change; change nothing.")


class RewindOut(BaseModel):
    user_seq: int
    dry_run: bool
    can_rewind: bool = Field(description="Claude Code has checkpoints to restore the files to before that message.")
    files: list[str] = Field(description="The files that change (or would), relative to the job's folder; "
                                         "one outside it starts with '../'.")
    insertions: int = Field(description="Lines the restore adds back.")
    deletions: int = Field(description="Lines the restore takes away.")
    error: str | None = Field(description="Why the files cannot be restored, when `can_rewind` is false.")


class JobOut(BaseModel):
    id: str
    project_id: str
    name: str
    prompt: str
    status: JobStatusName
    mode: ModeName
    session_id: str | None
    model: str | None
    permission_mode: str
    thinking_tokens: int | None
    effort: str | None
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None
    cost_usd: float
    input_tokens: int
    output_tokens: int
    turns: int
    parent_job_id: str | None
    fork_seq: int | None
    grace_deadline: float | None
    hibernated: bool
    archived_from: str | None
    always_allow: list[str]
    files_touched: list[str]
    imported_from: str | None
    isolated: bool
    worktree: str | None = Field(description="An isolated job's own worktree (under the server's state folder).")
    branch: str | None = Field(description="An isolated job's own branch, once its worktree is made.")
    base: str | None = Field(description="The branch an isolated job started from.")
    base_commit: str | None = Field(description="The commit its changes are counted from.")
    uncommitted_elsewhere: list[str] = Field(description="The main checkout's uncommitted changes when the "
                                                         "job started, not carried over into its worktree.")
    budget_usd: float | None = Field(description="The job's cost cap in USD, if it has one.")
    mcp_disabled: list[str] = Field(description="The project's MCP servers this job leaves off.")
    runs_on: str | None = Field(default=None, description="RUNNER=ray: the machine of the cluster the job's "
                                                          "Claude Code runs (or last ran) on.")
    waiting_for: str | None = Field(default=None, description="Why a queued job waits, when the Ray cluster "
                                                              "has no room for it.")

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(**job.to_dict())


class CarriedOver(BaseModel):
    paths: list[str] = Field(description="What was brought over from the main checkout.")


class LiveInfo(BaseModel):
    live: bool = Field(description="A real channel to a Claude Code process exists.")
    turn_active: bool
    queued_prompts: list[str]
    queue_position: int | None = Field(description="Place in the line for a running slot, if waiting.")
    grace_deadline: float | None
    hibernated: bool
    partial: list[dict[str, Any]] = Field(description="Content blocks of the reply being streamed.")
    slash_commands: list[dict[str, Any]]


class JobDetail(JobOut):
    live_info: LiveInfo


class Transcript(BaseModel):
    job_id: str
    events: list[dict[str, Any]] = Field(description="Stored events, oldest first; each has seq and kind.")
    last_seq: int = Field(description="Seq of the newest stored event of the job.")
    has_more: bool = Field(description="More events lie beyond this page in the direction read.")


# ----------------------------------------------------------------------------- approvals


class ApprovalOut(BaseModel):
    id: str
    job_id: str
    kind: Literal["permission", "question", "plan"]
    tool_name: str
    input: dict[str, Any]
    tool_use_id: str | None
    title: str | None
    created_at: float
    expires_at: float | None


class ApprovalAnswer(_Body):
    behavior: Literal["allow", "allow_always", "deny"]
    message: str = Field("", max_length=100_000, description="Reason for a denial (shown to Claude).")
    answers: dict[str, str | list[str]] | None = Field(
        None, description="Questions: the answer for each question text (a label, free text, or labels).")


class Decision(BaseModel):
    approval_id: str
    allow: bool
    always: bool
    message: str
    answers: dict[str, str] | None
