"""The CLAUDE.md hierarchy of a project, for viewing and editing (spec G4).

What the CLI loads for a session in the project directory, checked against the
bundled CLI: the user's `~/.claude/CLAUDE.md` and `~/.claude/rules/**/*.md`;
`CLAUDE.md`, `.claude/CLAUDE.md` and `CLAUDE.local.md` of the project and of every
folder above it; the project's `.claude/rules/**/*.md`; and the auto-memory
folder, which the CLI reports in its init message and keys by the git root.

Requests name files by id, never by path (spec J3): an id is only good if it is
in `list()`, and every path is resolved inside its own root, so a symbolic link
cannot turn an edit into a write elsewhere. A live session keeps the memory it
loaded at its start: an edit reaches the model in sessions started after it.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import events, sdk
from core.errors import Conflict, NotFound, UserError
from core.workspace.paths import PathOutsideProject, resolve_in
from storage.atomic_json import write_atomic

MAX_MEMORY_BYTES = 1024 * 1024
MAX_RULE_FILES = 500
MAX_PARENT_DEPTH = 32
_RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,80}\.md$")
_PARENT_FILES = ("CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md")


@dataclass
class MemoryFile:
    id: str
    level: str  # "user" | "project" | "local" | "parent" | "auto"
    label: str  # how people know it: "~/.claude/CLAUDE.md", ".claude/rules/style.md"
    path: str
    exists: bool
    editable: bool
    size: int | None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Entry:
    id: str
    level: str
    label: str
    root: Path
    relative: str
    editable: bool
    description: str


def _git_root(directory: Path) -> Path | None:
    """The repository root the CLI keys auto-memory by; a worktree shares its main repository's."""
    for folder in (directory, *directory.parents):
        marker = folder / ".git"
        if marker.is_dir():
            return folder
        if marker.is_file():
            with contextlib.suppress(OSError):
                text = marker.read_text(encoding="utf-8", errors="replace").strip()
                gitdir = Path(text.removeprefix("gitdir:").strip())
                if gitdir.parent.name == "worktrees" and gitdir.parent.parent.name == ".git":
                    return gitdir.parent.parent.parent
            return folder
    return None


def default_auto_memory_dir(project_path: Path, config_dir: Path) -> Path:
    """Where the CLI puts auto-memory when no session has told us yet."""
    key_dir = _git_root(project_path) or project_path
    return config_dir / "projects" / sdk.project_key_for_directory(key_dir) / "memory"


def _write_keeping_mode(path: Path, text: str) -> None:
    """Replace the file at once (a crash leaves old or new, never half), keeping its permissions."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644  # not from os.umask(): reading it means setting it, process-wide, racing other threads
    write_atomic(path, text.encode("utf-8"), mode=mode)


class MemoryService:
    def __init__(self, project_path: str | os.PathLike[str], home: str | os.PathLike[str], *,
                 config_dir: str | os.PathLike[str] | None = None,
                 auto_memory_dir: str | os.PathLike[str] | None = None) -> None:
        self.project = Path(project_path).resolve()
        self.home = Path(home)
        self.config_dir = Path(config_dir) if config_dir else self.home / ".claude"
        self.auto_dir = Path(auto_memory_dir) if auto_memory_dir else \
            default_auto_memory_dir(self.project, self.config_dir)

    # -- queries -------------------------------------------------------------------------

    def list(self) -> list[MemoryFile]:
        """Fixed files always (so a missing one can be created), then the rule, parent and memory files found."""
        return [self._describe(entry) for entry in self._entries()]

    def get(self, file_id: str) -> MemoryFile:
        return self._describe(self._entry(file_id))

    def read(self, file_id: str) -> str:
        entry = self._entry(file_id)
        path = self._path(entry)
        if not path.is_file():
            return ""
        if path.stat().st_size > MAX_MEMORY_BYTES:
            raise UserError(f"{entry.label} is larger than {MAX_MEMORY_BYTES // 1024} KB; edit it elsewhere.")
        return path.read_text(encoding="utf-8", errors="replace")

    # -- changes -------------------------------------------------------------------------

    def write(self, file_id: str, text: str) -> MemoryFile:
        entry = self._entry(file_id)
        if not entry.editable:
            raise UserError(f"{entry.label} is read-only here.")
        if not isinstance(text, str) or "\x00" in text:
            raise UserError("Memory files hold text without NUL characters.")
        if len(text.encode("utf-8")) > MAX_MEMORY_BYTES:
            raise UserError(f"A memory file may hold at most {MAX_MEMORY_BYTES // 1024} KB.")
        path = self._path(entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_keeping_mode(path, text)
        return self._describe(entry)

    def create_rule(self, level: str, name: str) -> MemoryFile:
        """A new, empty rules file at user or project level; `name` is a file name, '.md' added if missing."""
        name = (name or "").strip()
        if name and not name.lower().endswith(".md"):
            name += ".md"
        if not _RULE_NAME.match(name) or ".." in name:
            raise UserError("A rule name uses letters, digits, spaces, '.', '-' and '_' (at most 80), "
                            "starts with a letter or digit, and has no folders.")
        if level == "user":
            entry = self._rule_entry("user", self.config_dir, "rules", name)
        elif level == "project":
            entry = self._rule_entry("project", self.project, ".claude/rules", name)
        else:
            raise UserError("Rules are created at level 'user' or 'project'.")
        path = self._path(entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x", encoding="utf-8"):
                pass
        except FileExistsError:
            raise Conflict(f"{entry.label} already exists.") from None
        return self._describe(entry)

    # -- the list ------------------------------------------------------------------------

    def _entries(self) -> list[_Entry]:
        c, p = self.config_dir, self.project
        entries = [
            _Entry("user", "user", "~/.claude/CLAUDE.md", c, "CLAUDE.md", True,
                   "Your instructions for every project"),
            *self._rules("user", c, "rules"),
            _Entry("project", "project", "CLAUDE.md", p, "CLAUDE.md", True,
                   "Project instructions, usually checked in"),
            _Entry("project-claude", "project", ".claude/CLAUDE.md", p, ".claude/CLAUDE.md", True,
                   "Project instructions, usually checked in"),
            _Entry("local", "local", "CLAUDE.local.md", p, "CLAUDE.local.md", True,
                   "Your private instructions for this project, not checked in"),
            *self._rules("project", p, ".claude/rules"),
            *self._parents(),
            _Entry("auto:MEMORY.md", "auto", "Auto memory: MEMORY.md", self.auto_dir, "MEMORY.md", False,
                   "What Claude noted for itself (index)"),
        ]
        with contextlib.suppress(OSError):
            notes = sorted(f.name for f in self.auto_dir.glob("*.md") if f.name != "MEMORY.md")
            entries += [_Entry(f"auto:{n}", "auto", f"Auto memory: {n}", self.auto_dir, n, False,
                               "What Claude noted for itself") for n in notes[:MAX_RULE_FILES]]
        return entries

    def _rule_entry(self, level: str, root: Path, folder: str, relative: str) -> _Entry:
        shown = f"~/.claude/{folder}/{relative}" if level == "user" else f"{folder}/{relative}"
        where = "every project" if level == "user" else "this project"
        return _Entry(f"{level}-rule:{relative}", level, shown, root, f"{folder}/{relative}", True,
                      f"A rule for {where}")

    def _rules(self, level: str, root: Path, folder: str) -> list[_Entry]:
        base = root / folder
        try:
            found = sorted(f.relative_to(base).as_posix() for f in base.rglob("*.md") if f.is_file())
        except OSError:
            return []
        return [self._rule_entry(level, root, folder, rel) for rel in found[:MAX_RULE_FILES]]

    def _parents(self) -> list[_Entry]:
        """Memory files in the folders above the project: the CLI loads them, they belong to others here."""
        found = []
        for depth, folder in enumerate(list(self.project.parents)[:MAX_PARENT_DEPTH], start=1):
            for name in _PARENT_FILES:
                if (folder / name).is_file():
                    found.append(_Entry(f"parent:{depth}:{name}", "parent", str(folder / name), folder, name, False,
                                        "Loaded from a folder above the project"))
        return found

    def _entry(self, file_id: str) -> _Entry:
        entry = next((e for e in self._entries() if e.id == file_id), None)
        if entry is None:
            raise NotFound(f"No memory file {file_id!r} in this project's list.")
        return entry

    def _path(self, entry: _Entry) -> Path:
        return resolve_in(entry.root, entry.relative)

    def _describe(self, entry: _Entry) -> MemoryFile:
        lexical = entry.root / entry.relative
        try:
            path = self._path(entry)
            editable = entry.editable
        except PathOutsideProject:
            path, editable = lexical, False
        try:
            size: int | None = path.stat().st_size if path.is_file() else None
        except OSError:
            size = None
        return MemoryFile(id=entry.id, level=entry.level, label=entry.label, path=str(lexical),
                          exists=size is not None, editable=editable, size=size, description=entry.description)


def reported_auto_dir(jobs, project_id: str) -> str | None:
    """The auto-memory folder from the newest session init of the project (the CLI's own answer)."""
    for job in jobs.list(project_id, include_archived=True):
        for event in jobs.events(job.id, 0, limit=50):
            if event.get("kind") == events.SYSTEM and event.get("subtype") == "init":
                auto = (event.get("memory_paths") or {}).get("auto")
                if auto:
                    return auto
    return None
