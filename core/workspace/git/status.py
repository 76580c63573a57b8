"""Records of the git panel (spec G3) and the parsing of `git status --porcelain=v2`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MAX_CHANGES = 5000  # per group: an un-ignored node_modules must not produce a 50,000-row panel

_CHANGE_NAMES = {"M": "modified", "T": "typechange", "A": "added", "D": "deleted", "R": "renamed", "C": "copied"}


@dataclass
class GitChange:
    path: str  # relative to the project, POSIX
    change: str  # modified, added, deleted, renamed, copied, typechange, untracked, conflicted
    orig_path: str | None = None  # the old path of a rename or copy


@dataclass
class GitStatus:
    root: str
    is_repo: bool
    branch: str | None = None  # None when detached
    detached: bool = False
    head: str | None = None  # short sha; None before the first commit
    upstream: str | None = None
    ahead: int = 0
    behind: int = 0
    staged: list[GitChange] = field(default_factory=list)
    modified: list[GitChange] = field(default_factory=list)
    untracked: list[GitChange] = field(default_factory=list)
    conflicted: list[GitChange] = field(default_factory=list)
    truncated: bool = False  # a group was cut at MAX_CHANGES

    @property
    def has_commits(self) -> bool:
        return self.head is not None

    def paths(self) -> set[str]:
        return {c.path for group in (self.staged, self.modified, self.untracked, self.conflicted) for c in group}


@dataclass
class LogEntry:
    sha: str
    short_sha: str
    author: str
    email: str
    date: str  # ISO 8601 with the author's offset
    subject: str


def parse_status(root: str, output: str) -> GitStatus:
    """`git status --porcelain=v2 --branch -z --untracked-files=all` output as a GitStatus."""
    status = GitStatus(root=root, is_repo=True)
    tokens = output.split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.startswith("# "):
            _parse_header(status, token[2:])
        elif token.startswith("1 "):
            parts = token.split(" ", 8)
            _add_ordinary(status, parts[1], parts[8])
        elif token.startswith("2 "):
            parts = token.split(" ", 9)
            orig = tokens[i] if i < len(tokens) else None
            i += 1  # a rename's second path is its own NUL-terminated field
            _add_ordinary(status, parts[1], parts[9], orig)
        elif token.startswith("u "):
            _append(status, status.conflicted, GitChange(token.split(" ", 10)[10], "conflicted"))
        elif token.startswith("? "):
            _append(status, status.untracked, GitChange(token[2:], "untracked"))
    return status


def _parse_header(status: GitStatus, header: str) -> None:
    key, _, value = header.partition(" ")
    if key == "branch.oid":
        status.head = None if value == "(initial)" else value[:12]
    elif key == "branch.head":
        status.detached = value == "(detached)"
        status.branch = None if status.detached else value
    elif key == "branch.upstream":
        status.upstream = value
    elif key == "branch.ab":
        ahead, behind = value.split()
        status.ahead, status.behind = int(ahead), -int(behind)


def _add_ordinary(status: GitStatus, xy: str, path: str, orig: str | None = None) -> None:
    index, worktree = xy[0], xy[1]
    if index != ".":
        _append(status, status.staged, GitChange(path, _CHANGE_NAMES.get(index, "modified"), orig))
    if worktree != ".":
        _append(status, status.modified, GitChange(path, _CHANGE_NAMES.get(worktree, "modified")))


def _append(status: GitStatus, group: list[GitChange], change: GitChange) -> None:
    if len(group) < MAX_CHANGES:
        group.append(change)
    else:
        status.truncated = True


def touched_marks(status: GitStatus, files_touched: list[str]) -> set[str]:
    """The status paths a job touched (its tools report absolute paths): the panel marks them.

    A touched directory marks every changed path under it; paths outside the project are ignored.
    """
    root = Path(status.root)
    touched: set[str] = set()
    for raw in files_touched:
        path = Path(os.path.normpath(raw if os.path.isabs(raw) else root / raw))
        # The literal path first (a deleted file has nothing to resolve), then through symlinks (/tmp -> /private/tmp).
        for candidate in (path, path.resolve()):
            if candidate.is_relative_to(root):
                touched.add(candidate.relative_to(root).as_posix())
                break
    marks = set()
    for group in (status.staged, status.modified, status.untracked, status.conflicted):
        for change in group:
            for candidate in (change.path, change.orig_path):
                if candidate and (candidate in touched or any(candidate.startswith(t + "/") for t in touched
                                                              if t != ".")):
                    marks.add(change.path)
    return marks
