"""Records for projects and jobs, and the job state model (spec C2).

`status` is the runtime state, `mode` the retention policy for the next turn,
`session_id` the SDK's resumable handle. They are independent on purpose.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    IDLE = "idle"
    COMPLETED = "completed"
    FAILED = "failed"
    ARCHIVED = "archived"


class JobMode(StrEnum):
    JOB = "job"
    SESSION = "session"


FINISHED = {JobStatus.COMPLETED, JobStatus.FAILED}
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions")
EFFORT_LEVELS = ("low", "medium", "high", "max")


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def now() -> float:
    return time.time()


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Project(_Record):
    id: str
    name: str
    path: str
    created_at: float = field(default_factory=now)
    archived: bool = False
    external: bool = False  # points at an existing directory outside PROJECTS_ROOT
    isolate_jobs: bool = False  # new jobs start isolated (their own worktree and branch) unless told otherwise


@dataclass
class Job(_Record):
    id: str
    project_id: str
    name: str
    prompt: str
    status: str = JobStatus.QUEUED
    mode: str = JobMode.JOB
    session_id: str | None = None
    model: str | None = None
    permission_mode: str = "default"
    thinking_tokens: int | None = None  # None: thinking off
    effort: str | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    turns: int = 0
    parent_job_id: str | None = None
    fork_seq: int | None = None
    grace_deadline: float | None = None
    hibernated: bool = False
    archived_from: str | None = None
    always_allow: list[str] = field(default_factory=list)
    files_touched: list[str] = field(default_factory=list)
    imported_from: str | None = None
    # Isolated jobs (spec L1): the job's own worktree and branch, and where its branch started.
    isolated: bool = False
    worktree: str | None = None
    branch: str | None = None
    base: str | None = None  # the branch the job started from; None: a detached HEAD
    base_commit: str | None = None  # the commit its changes are shown against
    uncommitted_elsewhere: list[str] = field(default_factory=list)  # the main checkout's, not carried over

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def resumable(self) -> bool:
        return self.finished and bool(self.session_id)
