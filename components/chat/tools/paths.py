"""Paths as people read them: relative to the job's folder, and where in its file an edit lands.

The renderers are functions of a tool's input; the folder they show paths against is set around a
card's rendering (`shown_against`) by whoever knows the job (the chat view, the approvals page).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

MAX_READ_BYTES = 1024 * 1024  # a file larger than this is not read to place an edit's hunks

_root: ContextVar[str | None] = ContextVar("ccs_display_root", default=None)


@contextlib.contextmanager
def shown_against(root: str | os.PathLike | None) -> Iterator[None]:
    """Render paths relative to `root` (the job's working folder) inside the block."""
    token = _root.set(str(root) if root else None)
    try:
        yield
    finally:
        _root.reset(token)


def shown_path(path: str) -> str:
    """`path` relative to the job's folder when it lies inside it; anything else as it is."""
    root = _root.get()
    if not root or not path or not os.path.isabs(path):
        return path
    try:
        relative = os.path.relpath(os.path.normpath(path), os.path.normpath(root))
    except ValueError:
        return path
    if relative == "." or relative == ".." or relative.startswith(".." + os.sep):
        return path
    return relative


def _absolute(path: str) -> Path | None:
    if not path:
        return None
    if os.path.isabs(path):
        return Path(path)
    root = _root.get()
    return Path(root) / path if root else None


def first_line_of(path: str, old: str, new: str) -> int | None:
    """The 0-based line of the file where an edit's snippet starts: where `old` is (before the edit), else
    where `new` is (after it); None when the file cannot be read or holds neither."""
    file = _absolute(path)
    if file is None:
        return None
    try:
        stat = file.stat()
    except OSError:
        return None
    if stat.st_size > MAX_READ_BYTES:
        return None
    text = _text(str(file), stat.st_mtime_ns, stat.st_size)
    for snippet in (old, new):
        if text is not None and snippet:
            index = text.find(snippet)
            if index >= 0:
                return text.count("\n", 0, index)
    return None


@lru_cache(maxsize=16)  # a transcript's edits are mostly to a few files; at most 16 MB kept
def _text(file: str, _mtime: int, _size: int) -> str | None:
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
