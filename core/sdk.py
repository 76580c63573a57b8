"""claude_agent_sdk, imported when first used rather than when the server starts.

The SDK brings the MCP SDK along: about half a second of imports, a third of a cold start,
for something no request needs until a session runs or a transcript is imported. Modules
write `from core import sdk` and `sdk.ClaudeSDKClient`; the first such use imports the SDK
(`preload` does it in a worker thread once the first pages are served, so the first job
does not wait for it either). Type annotations name the SDK's classes as `sdk.X` too: with
`from __future__ import annotations` they are never evaluated at run time.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and editors see: the SDK itself
    from claude_agent_sdk import *  # noqa: F403
    from claude_agent_sdk import _internal  # noqa: F401

_lock = threading.Lock()
_module: Any = None


def _load() -> Any:
    global _module
    if _module is None:
        with _lock:  # the preloading thread and the loop may both ask; the import system serializes the rest
            if _module is None:
                _module = importlib.import_module("claude_agent_sdk")
    return _module


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_load(), name)
    globals()[name] = value  # the next use is a plain module attribute
    return value


def preload() -> None:
    """Import the SDK now (in a worker thread at start, so the loop never waits for it)."""
    _load()


def private(path: str) -> Any:
    """A submodule of the SDK's internals (`_internal.message_parser`), None if this SDK has none."""
    try:
        return importlib.import_module(f"claude_agent_sdk.{path}")
    except ImportError:
        return None
