"""The in-process .gitignore matcher (core/workspace/files/ignore.py) against git itself, on generated cases.

Each example is a small tree of files with a root .gitignore and perhaps nested ones, of
patterns built from `*`, `**`, `?`, `[...]`, a leading or trailing `/` and `!`. What the file
browser shows (a path is hidden when it or a directory above it is ignored) must be exactly
what `git check-ignore` says, which also reports a path as ignored when a parent directory is.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.workspace.files.service import FileService

EXAMPLES = int(os.environ.get("GITIGNORE_EXAMPLES", "250"))
# Few names, so that patterns often hit: a file and a directory can share one, and a dot name is there
# for `.*`. None is one the browser hides by name (node_modules, build...), none holds a backslash (which
# project paths refuse) or starts with ':' (git reads that as pathspec magic).
NAMES = ["a", "b", "ab", "ba", "a.log", "b.txt", "logs", ".keep", "x y", "a ", "#a", "!a", "a[", "[a]"]
SEGMENTS = [
    "a", "b", "ab", "logs", "a.log", ".keep", "x y", "*", "**", "?", "a*", "*b", "*.log", "?b", "a?", ".*",
    "a**", "**a", "a**b",  # `**` that is not a whole segment
    "[ab]", "[!a]", "[^b]*", "[a-c]", "*[.]log", "[!.]*", "[b-a]", "[a-]", "[]a]", "[!]a]", "[[]a]", "[/]",
    "[[:alpha:]]*", "[[:punct:]]", "[[:foo:]]", "[[:]", "a[", "[a-",  # classes, and brackets git never matches
    "\\*", "a\\?", "\\[a]", "\\#a", "\\!a", "#a", "!a", "a\\", "a ", "a\\ ", "a\\\\ ",  # escapes, spaces
]
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}  # no user's global excludes file


@st.composite
def patterns(draw) -> str:
    body = "/".join(draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3)))
    lead = draw(st.sampled_from(["", "", "/"]))
    trail = draw(st.sampled_from(["", "", "/"]))
    sign = draw(st.sampled_from(["", "", "!"]))
    return f"{sign}{lead}{body}{trail}"


@st.composite
def projects(draw) -> tuple[list[str], dict[str, str]]:
    """(files, {directory: .gitignore text}): the files' parents are the directories."""
    paths = draw(st.lists(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join),
                          min_size=1, max_size=10, unique=True))
    dirs = sorted({p.rsplit("/", 1)[0] for p in paths if "/" in p} | {"/".join(p.split("/")[:i])
                  for p in paths for i in range(1, p.count("/"))})
    files = [p for p in paths if p not in dirs]
    ignore_dirs = ["", *draw(st.lists(st.sampled_from(dirs), max_size=2, unique=True))] if dirs else [""]
    ignores = {}
    for directory in ignore_dirs:
        lines = draw(st.lists(st.one_of(patterns(), st.sampled_from(["", "# a comment", "  "])), min_size=1,
                              max_size=5))
        newline, bom = draw(st.sampled_from(["\n", "\n", "\r\n"])), draw(st.sampled_from(["", "", "\ufeff"]))
        ignores[directory] = bom + newline.join(lines) + draw(st.sampled_from([newline, ""]))
    return files, ignores


def _build(root: Path, files: list[str], ignores: dict[str, str]) -> list[str]:
    """Write the tree; every path in it, directories included (not .git)."""
    for relative in files:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("x\n")
    for directory, text in ignores.items():
        (root / directory / ".gitignore").write_bytes(text.encode())  # as generated: CRLF, a BOM
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, env={**os.environ, **GIT_ENV})
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if ".git" not in p.relative_to(root).parts)


def _git_ignored(root: Path, paths: list[str]) -> set[str]:
    """The paths git ignores, by the rule git names for each (-v -n: one answer per path, matched or not)."""
    done = subprocess.run(["git", "check-ignore", "--no-index", "--stdin", "-z", "-v", "-n"], cwd=root,
                          input="\0".join(paths) + "\0", capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV})
    assert done.returncode in (0, 1), done.stderr
    fields = done.stdout.split("\0")
    records = [fields[i:i + 4] for i in range(0, len(fields) - 1, 4)]  # source, line, pattern, path
    assert [r[3] for r in records] == paths
    return {path for _source, _line, pattern, path in records if pattern and not pattern.startswith("!")}


def _shown(files: FileService, directory: str = "") -> set[str]:
    """Every path the file browser shows, opening each directory it shows."""
    shown = set()
    for entry in files.list_dir(directory):
        shown.add(entry.path)
        if entry.is_dir:
            shown |= _shown(files, entry.path)
    return shown


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as path:
        yield Path(path)


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(project=projects())
def test_the_file_browser_hides_exactly_what_git_ignores(workdir: Path, project):
    files_written, ignores = project
    root = Path(tempfile.mkdtemp(dir=workdir))
    paths = _build(root, files_written, ignores)
    hidden_by_git = _git_ignored(root, paths)
    files = FileService(root)
    try:
        shown = _shown(files)
        files.refresh()
        indexed = set(files.index.snapshot.paths)
    finally:
        files.close()
    listing = "".join(f"--- {d or '.'}/.gitignore\n{text}" for d, text in ignores.items())
    assert {p for p in paths if p not in shown} == hidden_by_git, f"{listing}paths: {paths}"
    assert indexed == {p for p in shown if (root / p).is_file()}, f"{listing}paths: {paths}"
