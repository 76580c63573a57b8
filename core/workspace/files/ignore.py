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


class _MatchesNothing(Exception):
    """A pattern git can never match: an unclosed `[`, an unknown `[:class:]`, a trailing lone backslash."""


# POSIX classes inside brackets, over ASCII as git's own ctype has them (its isspace leaves out \v and \f).
_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": " \t", "cntrl": "\x00-\x1f\x7f", "digit": "0-9",
    "graph": "\x21-\x7e", "lower": "a-z", "print": "\x20-\x7e", "punct": "!-/:-@\\[-`{-~",
    "space": " \t\n\r", "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}


def _bracket(pattern: str, i: int) -> tuple[str, int]:
    """The `[...]` starting at `pattern[i]` as a regex, and the index after it; read the way git's
    wildmatch reads it: a `]` right after the opening (or after `!`/`^`) is a member, a backslash escapes,
    `x-y` is a range (a reversed one adds nothing), `[:name:]` a class."""
    n = len(pattern)
    p = i + 1
    negated = p < n and pattern[p] in "!^"
    p += negated
    members: list[str] = []
    previous: str | None = None  # the last single member: the start of a range
    first = True
    while True:
        if p >= n:
            raise _MatchesNothing
        c = pattern[p]
        if c == "]" and not first:
            break
        first = False
        if c == "\\":
            p += 1
            if p >= n:
                raise _MatchesNothing
            previous = pattern[p]
            members.append(re.escape(previous))
        elif c == "-" and previous is not None and p + 1 < n and pattern[p + 1] != "]":
            p += 1
            high = pattern[p]
            if high == "\\":
                p += 1
                if p >= n:
                    raise _MatchesNothing
                high = pattern[p]
            if previous <= high:
                members.append(f"{re.escape(previous)}-{re.escape(high)}")
            previous = None
        elif c == "[" and pattern[p + 1:p + 2] == ":":
            close = pattern.find("]", p + 2)
            if close < 0:
                raise _MatchesNothing
            if close - (p + 2) < 1 or pattern[close - 1] != ":":  # no `:]`: the `[` is a plain member
                previous = "["
                members.append("\\[")
            else:
                name = pattern[p + 2:close - 1]
                if name not in _CLASSES:
                    raise _MatchesNothing
                members.append(_CLASSES[name])
                previous = None
                p = close
        else:
            previous = c
            members.append(re.escape(c))
        p += 1
    body = "".join(members)
    if negated:
        return f"[^/{body}]", p + 1
    # Never '/', even when a range or a class holds it (git matches paths with its WM_PATHNAME flag).
    return (f"(?!/)[{body}]" if body else "(?!)"), p + 1


def _translate(pattern: str, anchored: bool) -> str:
    """A gitignore glob (no leading '/', no trailing '/') as a regex over '/'-separated paths.

    Paths are matched as characters where git matches bytes: `?` or `[...]` against a non-ASCII name can
    differ (a deliberate simplification: such patterns are rare, and bytes would cost every path a decode)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    # Git matches a pattern with a '/' by comparing the text before its first wildcard, then globbing the
    # rest as a pattern of its own; so a `**` right after that text counts as one at the start:
    # `a**/b` ignores `ab` and `ax/y/b`, `/a**` also ignores `a/x`.
    literal_prefix = next((k for k, ch in enumerate(pattern) if ch in "*?[\\"), n) if anchored else -1
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            stars = j - i
            at_start = i == 0 or pattern[i - 1] == "/" or i == literal_prefix
            at_end = j == n or pattern[j] == "/"
            if stars >= 2 and at_start and at_end:
                if j == n:  # 'a/**' : everything inside a ('a/' itself is never matched: paths have no final '/')
                    out.append(".*")
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
            regex, i = _bracket(pattern, i)
            out.append(regex)
        elif c == "\\":
            if i + 1 == n:
                raise _MatchesNothing
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Rule:
    negated: bool
    dir_only: bool  # `name/`: directories only
    regex: str  # over the path relative to the .gitignore's directory, without a trailing '/'


def _trim_trailing_spaces(line: str) -> str:
    """Trailing spaces go, unless escaped; a backslash escapes whatever follows it, a backslash too."""
    last_space = None
    i = 0
    while i < len(line):
        if line[i] == " ":
            last_space = i if last_space is None else last_space
        else:
            if line[i] == "\\":
                i += 1
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def _parse_line(line: str) -> _Rule | None:
    """One .gitignore line as a rule; None for blanks, comments and patterns that can match nothing."""
    line = _trim_trailing_spaces(line.removesuffix("\r"))
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    line = line[negated:]  # `\!` and `\#` are escapes: _translate makes them literal
    dir_only = line.endswith("/")
    line = line[:-1] if dir_only else line  # one only: `a//` matches nothing, as in git
    if not line:
        return None
    anchored = "/" in line
    line = line.removeprefix("/")  # one only: `//a` matches nothing, as in git
    try:
        body = _translate(line, anchored)
    except _MatchesNothing:
        return None
    return _Rule(negated, dir_only, body if anchored else "(?:.*/)?" + body)


def _alternation(regexes: list[str]) -> re.Pattern[str] | None:
    if not regexes:
        return None
    try:
        return re.compile("|".join(f"(?:{r})" for r in regexes), re.DOTALL)
    except re.error:  # one odd pattern must not disable the file: compile what compiles
        valid = [r for r in regexes if _compiles(r)]
        return re.compile("|".join(f"(?:{r})" for r in valid), re.DOTALL) if valid else None


@dataclass
class IgnoreFile:
    """The rules of one .gitignore, relative to `base` ('' is the project root)."""

    base: str
    # Runs of consecutive rules with the same sign, in file order; each run is one regex for directories
    # and one for files (without the `name/` rules; None when nothing is left).
    runs: list[tuple[bool, re.Pattern[str] | None, re.Pattern[str] | None]] = field(default_factory=list)

    @classmethod
    def parse(cls, base: str, text: str) -> IgnoreFile:
        runs: list[list[_Rule]] = []
        for line in text.split("\n"):  # git's lines end at '\n' only (splitlines would also cut at \f, \x1c...)
            rule = _parse_line(line)
            if rule is None:
                continue
            if runs and runs[-1][0].negated == rule.negated:
                runs[-1].append(rule)
            else:
                runs.append([rule])
        return cls(base, [(run[0].negated, _alternation([r.regex for r in run]),
                           _alternation([r.regex for r in run if not r.dir_only])) for run in runs])

    def decide(self, rel: str, is_dir: bool) -> bool | None:
        """True ignored, False re-included, None no rule matches (`rel` is relative to the project)."""
        if self.base:
            rel = rel[len(self.base) + 1:]
        # The path is matched without a trailing '/': with one, `logs/*` would match the directory `logs`
        # itself (its '*' matching nothing after the slash), which git never does.
        for negated, dirs, files in reversed(self.runs):  # the last matching rule wins
            regex = dirs if is_dir else files
            if regex is not None and regex.fullmatch(rel):
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
            # Unreadable: no rules rather than no listing. utf-8-sig: a byte-order mark is skipped, as git does.
            with contextlib.suppress(OSError):
                ignore = IgnoreFile.parse(base, path.read_text(encoding="utf-8-sig", errors="replace"))
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
