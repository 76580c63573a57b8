"""Records for projects and jobs, and the job state model (spec C2).

`status` is the runtime state, `mode` the retention policy for the next turn,
`session_id` the SDK's resumable handle. They are independent on purpose.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import MISSING, asdict, dataclass, field, fields
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
        """The record `data` describes; fields it lacks get their defaults, keys no field has are ignored
        (an older or newer version wrote them). Lists are copied: the record never shares one with `data`."""
        shape = _shape(cls)
        missing = shape.required.difference(data)
        if missing:
            raise TypeError(f"{cls.__name__} record without {', '.join(sorted(missing))}")
        # 10,000 jobs are read at every start: filling the instance's dict directly takes a third of the time
        # the generated __init__ with its 33 parameters does. The classes have no __post_init__ or slots.
        values = dict(shape.defaults)
        for name, factory in shape.factories:
            if name not in data:
                values[name] = factory()
        values.update(data if shape.names.issuperset(data) else {k: v for k, v in data.items() if k in shape.names})
        for name in shape.lists:
            if type(values[name]) is list:
                values[name] = list(values[name])
        record = object.__new__(cls)
        record.__dict__ = values
        return record


@dataclass(frozen=True)
class _Shape:
    names: frozenset[str]
    required: frozenset[str]
    defaults: dict[str, Any]
    factories: tuple[tuple[str, Any], ...]
    lists: tuple[str, ...]  # the fields that hold a list


@functools.cache
def _shape(cls: type) -> _Shape:
    all_fields = fields(cls)  # type: ignore[arg-type]
    factories = tuple((f.name, f.default_factory) for f in all_fields if f.default_factory is not MISSING)
    return _Shape(names=frozenset(f.name for f in all_fields),
                  required=frozenset(f.name for f in all_fields
                                     if f.default is MISSING and f.default_factory is MISSING),
                  defaults={f.name: f.default for f in all_fields if f.default is not MISSING},
                  factories=factories, lists=tuple(name for name, factory in factories if factory is list))


@dataclass
class Project(_Record):
    id: str
    name: str
    path: str
    created_at: float = field(default_factory=now)
    archived: bool = False
    external: bool = False  # points at an existing directory outside PROJECTS_ROOT
    isolate_jobs: bool = False  # new jobs start isolated (their own worktree and branch) unless told otherwise
    monthly_budget_usd: float | None = None  # spec N3: turns stop once the calendar month's spending reaches it


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
    budget_usd: float | None = None  # spec N3: the job's cost cap
    mcp_disabled: list[str] = field(default_factory=list)  # spec N4: the project's MCP servers this job leaves off
    # Spec O2: the machine of a Ray cluster its CLI runs (or last ran) on, and why it waits for one.
    runs_on: str | None = None
    waiting_for: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def resumable(self) -> bool:
        return self.finished and bool(self.session_id)
