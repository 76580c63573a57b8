"""A job's own settings (spec C2, C8): retention mode, permission mode, thinking budget and effort, checked.

The API checks types; a UI event may send anything, so every value is checked here too.
"""

from __future__ import annotations

from core.errors import UserError
from core.models import EFFORT_LEVELS, PERMISSION_MODES, Job, JobMode


def apply_settings(job: Job, *, mode: str | None = None, permission_mode: str | None = None,
                   thinking_tokens: int | None = None, effort: str | None = None,
                   clear: tuple[str, ...] = ()) -> None:
    """Set what is given, reset what `clear` names (to the CLI's default); a bad value raises UserError."""
    if mode is not None:
        if mode not in (JobMode.JOB, JobMode.SESSION):
            raise UserError("mode must be 'job' or 'session'.")
        job.mode = JobMode(mode)
    if permission_mode is not None:
        if permission_mode not in PERMISSION_MODES:
            raise UserError(f"permission_mode must be one of {', '.join(PERMISSION_MODES)}.")
        job.permission_mode = permission_mode
    if thinking_tokens is not None:
        if not isinstance(thinking_tokens, int) or thinking_tokens < 0 or \
                0 < thinking_tokens < 1024 or thinking_tokens > 128_000:
            raise UserError("thinking_tokens must be 0 (off) or between 1024 and 128000.")
        job.thinking_tokens = thinking_tokens
    if effort is not None:
        if effort not in EFFORT_LEVELS:
            raise UserError(f"effort must be one of {', '.join(EFFORT_LEVELS)}.")
        job.effort = effort
    if "thinking_tokens" in clear:
        job.thinking_tokens = None
    if "effort" in clear:
        job.effort = None
