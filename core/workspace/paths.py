"""Confinement (spec J3): every path that comes from a request is resolved here, against its root.

The check is made on the fully resolved path (symlinks followed) with
`Path.is_relative_to`, never on string prefixes: `/p/proj` must not accept
`/p/projX/secret`.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from core.errors import UserError

MAX_PATH_CHARS = 4096


class PathOutsideProject(UserError):
    status_code = 403


def _refuse(raw: str, why: str) -> PathOutsideProject:
    shown = raw if len(raw) <= 120 else raw[:117] + "..."
    return PathOutsideProject(f"Refused path {shown!r}: {why}")


def resolve_in(root: str | os.PathLike[str], relative: str, *, must_exist: bool = False) -> Path:
    """The absolute path of `relative` inside `root`, or a PathOutsideProject error.

    `relative` is a POSIX-style path relative to the root ('' or '.' is the root itself).
    """
    if not isinstance(relative, str):
        raise _refuse(str(relative), "not a string")
    if "\x00" in relative:
        raise _refuse(relative.replace("\x00", "\\0"), "it contains a NUL byte")
    if len(relative) > MAX_PATH_CHARS:
        raise _refuse(relative, f"longer than {MAX_PATH_CHARS} characters")
    if "\\" in relative:
        raise _refuse(relative, "backslashes are not path separators here")
    decoded = relative
    for _ in range(3):  # an encoded '..' is an attempt, not a file name
        decoded = unquote(decoded)
    parts = PurePosixPath(decoded).parts
    if decoded.startswith("/") or relative.startswith("/") or (relative[1:3] == ":/" and relative[0].isalpha()):
        raise _refuse(relative, "absolute paths are not accepted; give a path relative to the project")
    if ".." in parts or ".." in PurePosixPath(relative).parts:
        raise _refuse(relative, "'..' is not allowed")
    base = Path(root).resolve()
    try:
        target = (base / relative).resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop, or a name the filesystem rejects
        raise _refuse(relative, f"it cannot be resolved ({exc})") from exc
    if not target.is_relative_to(base):
        raise _refuse(relative, "it leads outside the project (through a symbolic link?)")
    if must_exist and not target.exists():
        raise UserError(f"{relative!r} does not exist.")
    return target


def relative_to_root(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """The POSIX path of an absolute path inside root, for showing and for the API."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
