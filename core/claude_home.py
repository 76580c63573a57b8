"""Where the Claude Code CLI keeps its own files: one place that knows.

`$CLAUDE_CONFIG_DIR`, else `~/.claude`, of this process's user: the CLI's saved
conversations (`projects/<directory key>/<session id>.jsonl`), its login
(`.credentials.json`), user memory and auto-memory. The jobs this server runs
write theirs there too (they inherit this process's environment).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

SESSION_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def claude_config_dir() -> Path:
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")


def find_session_file(session_id: str) -> Path | None:
    """The CLI's transcript file of a session, wherever its project folder is."""
    if not SESSION_ID.match(session_id or ""):
        return None
    return next((claude_config_dir() / "projects").glob(f"*/{session_id}.jsonl"), None)


def has_stored_login() -> bool:
    """Whether the CLI has a subscription login of its own (`claude login`), so no key is needed."""
    return (claude_config_dir() / ".credentials.json").is_file()
