"""What the file browser and the file index leave out (spec G2).

Two layers: directories that are never worth showing (VCS data, dependencies,
virtual environments, build output, tool caches), and the project's own
`.gitignore` files. Git's matching is implemented here rather than asked of
`git check-ignore`: projects need not be repositories, and a subprocess per
directory listing would cost more than matching in-process (the bench measures
the whole walk). Patterns of one file are compiled into a few alternation
regexes, so a 100-line `.gitignore` costs a handful of regex calls per path.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# Directory names hidden wherever they appear, whatever .gitignore says.
HIDDEN_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv",
    "build", "dist", ".next", ".nuxt", ".svelte-kit", ".turbo", ".parcel-cache", "target",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs", ".gradle",
})
_HIDDEN_SUFFIXES = (".egg-info",)
# A directory holding one of these is a virtual environment, whatever its name (`env`, `py311`...).
_VENV_MARKERS = ("pyvenv.cfg", "conda-meta")


def is_hidden_name(name: str) -> bool:
    """True for directory names never shown."""
    return name in HIDDEN_DIRS or name.endswith(_HIDDEN_SUFFIXES)


def is_venv_dir(path: str | os.PathLike[str]) -> bool:
    return any(os.path.exists(os.path.join(path, marker)) for marker in _VENV_MARKERS)


def _translate(pattern: str) -> str:
    """A gitignore glob (no leading '/', no trailing '/') as a regex over '/'-separated paths."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            stars = j - i
            at_start = i == 0 or pattern[i - 1] == "/"
            at_end = j == n or pattern[j] == "/"
            if stars >= 2 and at_start and at_end:
                if j == n:  # 'a/**' : everything inside a, not a itself
                    out.append(".+")
                else:  # '**/' : zero or more directories
                    out.append("(?:.*/)?")
                    j += 1
            else:  # other runs of stars are a plain '*'
                out.append("[^/]*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:  # no closing bracket: a literal '['
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1:j]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            i = j + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _parse_line(line: str) -> tuple[bool, str] | None:
    """(negated, regex) for one .gitignore line, None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    if not line or line.startswith("#"):
        return None
    # Trailing spaces are ignored unless escaped.
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    negated = line.startswith("!")
    if negated or line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    body = _translate(line)
    if not anchored:
        body = "(?:.*/)?" + body
    # Paths are matched as 'rel' for files and 'rel/' for directories.
    return negated, body + ("/" if dir_only else "/?")


@dataclass
class IgnoreFile:
    """The rules of one .gitignore, relative to `base` ('' is the project root)."""

    base: str
    # Runs of consecutive rules with the same sign, in file order; each run is one regex.
    runs: list[tuple[bool, re.Pattern[str]]] = field(default_factory=list)

    @classmethod
    def parse(cls, base: str, text: str) -> IgnoreFile:
        runs: list[tuple[bool, list[str]]] = []
        for line in text.splitlines():
            rule = _parse_line(line)
            if rule is None:
                continue
            negated, regex = rule
            if runs and runs[-1][0] == negated:
                runs[-1][1].append(regex)
            else:
                runs.append((negated, [regex]))
        compiled = []
        for negated, regexes in runs:
            try:
                compiled.append((negated, re.compile("|".join(f"(?:{r})" for r in regexes), re.DOTALL)))
            except re.error:  # one odd pattern must not disable the file: compile what compiles
                valid = [r for r in regexes if _compiles(r)]
                if valid:
                    compiled.append((negated, re.compile("|".join(f"(?:{r})" for r in valid), re.DOTALL)))
        return cls(base, compiled)

    def decide(self, rel: str, is_dir: bool) -> bool | None:
        """True ignored, False re-included, None no rule matches (`rel` is relative to the project)."""
        if self.base:
            rel = rel[len(self.base) + 1:]
        subject = rel + "/" if is_dir else rel
        for negated, regex in reversed(self.runs):  # the last matching rule wins
            if regex.fullmatch(subject):
                return not negated
        return None


def _compiles(regex: str) -> bool:
    try:
        re.compile(regex)
    except re.error:
        return False
    return True


class IgnoreRules:
    """The .gitignore files of one project, read lazily and re-read when they change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, tuple[int | None, Path, IgnoreFile | None]] = {}

    def for_dir(self, rel_dir: str) -> list[IgnoreFile]:
        """The ignore files that apply inside `rel_dir`, deepest first (deeper files take precedence)."""
        parts = rel_dir.split("/") if rel_dir else []
        chain = self.root_chain()
        for depth in range(1, len(parts) + 1):
            chain = self.child_chain(chain, "/".join(parts[:depth]))
        return chain

    def root_chain(self) -> list[IgnoreFile]:
        """The chain for the project root: its .gitignore, then .git/info/exclude (lowest precedence)."""
        chain = [self.load("")]
        chain.append(self._load_file("\0info", self.root / ".git" / "info" / "exclude", ""))
        return [ignore for ignore in chain if ignore is not None]

    def child_chain(self, parent_chain: list[IgnoreFile], rel_dir: str, has_gitignore: bool = True) -> list[IgnoreFile]:
        """The chain inside `rel_dir`, given its parent's (a walk knows from its listing whether to look)."""
        own = self.load(rel_dir) if has_gitignore else None
        return [own, *parent_chain] if own is not None else parent_chain

    def load(self, rel_dir: str) -> IgnoreFile | None:
        return self._load_file(rel_dir, self.root / rel_dir / ".gitignore", rel_dir)

    def _load_file(self, key: str, path: Path, base: str) -> IgnoreFile | None:
        mtime = _mtime(path)
        cached = self._files.get(key)
        if cached and cached[0] == mtime:
            return cached[2]
        ignore = None
        if mtime is not None:
            with contextlib.suppress(OSError):  # unreadable: no rules rather than no listing
                ignore = IgnoreFile.parse(base, path.read_text(encoding="utf-8", errors="replace"))
        self._files[key] = (mtime, path, ignore)  # absent files too: their appearance is a change
        return ignore

    def changed(self) -> bool:
        """True when an ignore file consulted so far was edited, created or deleted since."""
        return any(_mtime(path) != mtime for mtime, path, _ in list(self._files.values()))

    @staticmethod
    def is_ignored(chain: list[IgnoreFile], rel: str, is_dir: bool) -> bool:
        for ignore in chain:
            decision = ignore.decide(rel, is_dir)
            if decision is not None:
                return decision
        return False


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
