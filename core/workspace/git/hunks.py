"""A unified diff as files and hunks, and one hunk applied on its own (spec G3, L2).

A hunk's id is a short hash of its file's path and its lines (not its line numbers): it stays
the same while the hunk is unchanged, even when an edit above it moves it, and it is unknown
as soon as the hunk itself changes. An action on an unknown id is refused with "the file
changed since you looked", never applied to a hunk the person did not see.

Text hunks are applied with `git apply`. What cannot be cut into hunks (a binary file, a Git
LFS pointer, a file that became a symbolic link, an empty file) is one whole-file item that
the callers handle by path; a submodule's change and an unresolved conflict are shown but not
acted on here. Diffs come from git with fixed options (`DIFF_OPTIONS`), so a person's git
configuration (no prefixes, other context sizes, external diff tools) cannot change their shape.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.errors import Conflict, UserError, describe_os_error

if TYPE_CHECKING:
    from core.workspace.git.service import GitService

# Renames are shown as a deletion and an addition: each side is then a plain hunk that applies on its own.
DIFF_OPTIONS = ("--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--full-index", "-U3",
                "--submodule=short", "--src-prefix=a/", "--dst-prefix=b/")

TEXT, MODE = "text", "mode"
BINARY, LFS, TYPECHANGE, EMPTY = "binary", "lfs", "typechange", "empty"
SUBMODULE, CONFLICT, RENAME = "submodule", "conflict", "rename"
WHOLE_FILE = frozenset({BINARY, LFS, TYPECHANGE, EMPTY})  # acted on by path, as one piece
NOT_ACTIONABLE = frozenset({SUBMODULE, CONFLICT, RENAME})

NOTES = {
    BINARY: "A binary file: it can only be taken or undone as a whole.",
    LFS: "A Git LFS pointer: the file can only be taken or undone as a whole.",
    TYPECHANGE: "The file became a symbolic link or stopped being one: it can only be taken or undone as a whole.",
    EMPTY: "An empty file: it can only be taken or undone as a whole.",
    SUBMODULE: "A submodule: its commits live in its own repository. Change it there (in the terminal: "
               "git -C <path> checkout <commit>), then stage or commit the new commit here by file.",
    CONFLICT: "An unresolved merge conflict: resolve it (or ask Claude to) before taking or undoing changes.",
    RENAME: "A rename: shown here as a whole.",
}
HEADERS = {BINARY: "binary file", LFS: "Git LFS pointer", TYPECHANGE: "type change", EMPTY: "empty file",
           SUBMODULE: "submodule", CONFLICT: "merge conflict", RENAME: "rename"}
_LFS_MARK = "version https://git-lfs.github.com/spec/"
_POINTER_LINES = 12  # an LFS pointer has three lines (and maybe an extension or two), changed: six
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_QUOTE_THESE = {value: key for key, value in _ESCAPES.items()}


@dataclass(frozen=True)
class Hunk:
    id: str
    path: str
    kind: str  # TEXT, MODE, or one of the whole-file kinds
    header: str  # '@@ -1,3 +1,4 @@ def f():' for text; a short description otherwise
    lines: tuple[str, ...]  # with their ' ', '+', '-' or '\\' prefix, without the newline
    old_start: int = 0
    old_count: int = 0
    new_start: int = 0
    new_count: int = 0

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.startswith("+")) if self.kind == TEXT else 0

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-")) if self.kind == TEXT else 0

    @property
    def whole_file(self) -> bool:
        return self.kind not in (TEXT, MODE)

    @property
    def note(self) -> str | None:
        return NOTES.get(self.kind)


@dataclass
class FileDiff:
    path: str  # the file's path now (its old one when it was deleted)
    old_path: str | None = None  # before a rename or copy
    change: str = "modified"  # modified, added, deleted, renamed, copied, typechange
    old_mode: str | None = None
    new_mode: str | None = None
    binary: bool = False
    headers: list[str] = field(default_factory=list)  # git's extended header lines, as given
    hunks: list[Hunk] = field(default_factory=list)
    combined: bool = False  # `diff --cc`: an unresolved conflict

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)

    def hunk(self, hunk_id: str) -> Hunk | None:
        return next((h for h in self.hunks if h.id == hunk_id), None)


# ----------------------------------------------------------------------------------- parsing


def parse_diff(text: str) -> list[FileDiff]:
    """Files and hunks of `git diff` output; an incomplete last hunk (a diff cut short) is left out."""
    lines = text.split("\n")  # never splitlines(): a lone \r or \x0c belongs to a line's content
    if lines and lines[-1] == "":
        lines.pop()
    files: list[FileDiff] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(("diff --git ", "diff --cc ", "diff --combined ")):
            file, i = _parse_file(lines, i)
            files.append(file)
        else:
            i += 1  # '* Unmerged path x', warnings: not part of any file
    return [_with_items(f) for f in _merge_typechanges(files)]


def _parse_file(lines: list[str], i: int) -> tuple[FileDiff, int]:
    first = lines[i]
    file = FileDiff(path="")
    if first.startswith("diff --git "):
        names = _git_line_names(first[len("diff --git "):])
        if names:
            file.old_path, file.path = names
    else:
        file.combined = True
        file.path = unquote_name(first.split(" ", 2)[2])
    i += 1
    old_name = new_name = None
    raw_hunks: list[tuple[str, list[str]]] = []
    while i < len(lines):
        line = lines[i]
        if line.startswith(("diff --git ", "diff --cc ", "diff --combined ")):
            break
        if line.startswith(("@@ ", "@@@ ")):
            if file.combined:  # a combined diff's hunks count differently; it is shown as a whole
                raw_hunks.append((line, []))
                i += 1
                while i < len(lines) and not lines[i].startswith(("diff --", "@@@ ")):
                    raw_hunks[-1][1].append(lines[i])
                    i += 1
                continue
            hunk_lines, i, complete = _hunk_body(lines, i)
            if complete:
                raw_hunks.append((line, hunk_lines))
            continue
        if line.startswith("--- "):
            old_name = _file_name(line[4:], "a/")
        elif line.startswith("+++ "):
            new_name = _file_name(line[4:], "b/")
        elif line.startswith(("Binary files ", "GIT binary patch")):
            file.binary = True
            file.headers.append(line)
            i += 1
            while i < len(lines) and not lines[i].startswith("diff --"):
                i += 1  # the base85 blocks of a --binary patch: nothing to show
            break
        else:
            _header(file, line)
            file.headers.append(line)
        i += 1
    if new_name or old_name:
        file.path = new_name or old_name or file.path
        if old_name and new_name and old_name != new_name:
            file.old_path = old_name
    if file.old_path == file.path or file.change in ("added", "deleted"):
        file.old_path = None
    file.hunks = [_raw_hunk(header, body) for header, body in raw_hunks]  # ids are given in _with_items
    return file, i


def _header(file: FileDiff, line: str) -> None:
    key, _, value = line.partition(" ")
    if line.startswith("new file mode "):
        file.change, file.new_mode = "added", line.rsplit(" ", 1)[1]
    elif line.startswith("deleted file mode "):
        file.change, file.old_mode = "deleted", line.rsplit(" ", 1)[1]
    elif line.startswith("old mode "):
        file.old_mode = line.rsplit(" ", 1)[1]
    elif line.startswith("new mode "):
        file.new_mode = line.rsplit(" ", 1)[1]
    elif line.startswith(("rename from ", "copy from ")):
        file.old_path = unquote_name(line.split(" ", 2)[2])
        file.change = "renamed" if key == "rename" else "copied"
    elif line.startswith(("rename to ", "copy to ")):
        file.path = unquote_name(line.split(" ", 2)[2])
    elif key == "index" and value.count(" ") == 1:  # 'index a..b 100644': the mode did not change
        file.old_mode = file.new_mode = value.rsplit(" ", 1)[1]


def _hunk_body(lines: list[str], i: int) -> tuple[list[str], int, bool]:
    """The lines of the hunk whose header is lines[i], counted as its header says (git's own way: an empty
    line or one that looks like a header is then unambiguous). Returns (lines, next index, complete)."""
    match = _HUNK_HEADER.match(lines[i])
    if not match:
        return [], i + 1, False
    old_left = int(match.group(2) if match.group(2) is not None else 1)
    new_left = int(match.group(4) if match.group(4) is not None else 1)
    body: list[str] = []
    i += 1
    while i < len(lines) and (old_left > 0 or new_left > 0):
        line = lines[i]
        mark = line[:1]
        if mark in (" ", ""):  # '' is an empty context line (diff.suppressBlankEmpty)
            old_left, new_left = old_left - 1, new_left - 1
            line = line or " "
        elif mark == "-":
            old_left -= 1
        elif mark == "+":
            new_left -= 1
        elif mark != "\\":
            break
        body.append(line)
        i += 1
    complete = old_left <= 0 and new_left <= 0
    if i < len(lines) and lines[i].startswith("\\"):
        body.append(lines[i])  # 'No newline at end of file' after the last line
        i += 1
    return body, i, complete


def _raw_hunk(header: str, body: list[str]) -> Hunk:
    match = _HUNK_HEADER.match(header)
    numbers = [0, 0, 0, 0]
    if match:
        numbers = [int(match.group(1)), int(match.group(2) if match.group(2) is not None else 1),
                   int(match.group(3)), int(match.group(4) if match.group(4) is not None else 1)]
    return Hunk("", "", TEXT, header, tuple(body), *numbers)


def _merge_typechanges(files: list[FileDiff]) -> list[FileDiff]:
    """git shows a file that became a symbolic link (or the reverse) as a deletion and an addition of the
    same path: one change of one file here."""
    result: list[FileDiff] = []
    by_path: dict[str, FileDiff] = {}
    for file in files:
        earlier = by_path.get(file.path)
        if earlier is not None and {earlier.change, file.change} == {"added", "deleted"}:
            earlier.change = "typechange"
            earlier.headers += file.headers
            earlier.hunks += file.hunks
            earlier.old_mode = earlier.old_mode or file.old_mode
            earlier.new_mode = earlier.new_mode or file.new_mode
            continue
        by_path[file.path] = file
        result.append(file)
    return result


def _with_items(file: FileDiff) -> FileDiff:
    """Decide what can be acted on in a file, and give every item its id."""
    lines = [line for h in file.hunks for line in h.lines]
    # Submodule and LFS pointer diffs are a few lines long: longer files need not be searched for their marks.
    short = lines if len(lines) <= _POINTER_LINES else []
    kind = None
    if file.combined:
        kind = CONFLICT
    elif "160000" in (file.old_mode, file.new_mode) or any(
            line[1:].startswith("Subproject commit ") for line in short):
        kind = SUBMODULE
    elif file.change == "typechange":
        kind = TYPECHANGE
    elif file.binary:
        kind = BINARY
    elif any(line[1:].startswith(_LFS_MARK) for line in short):
        kind = LFS
    elif file.change in ("renamed", "copied") and not file.hunks:
        kind = RENAME
    elif not file.hunks and file.change in ("added", "deleted"):
        kind = EMPTY
    items: list[Hunk] = []
    if kind is not None:
        index = [line for line in file.headers if line.startswith("index ")]
        items.append(Hunk("", file.path, kind, f"{HEADERS[kind]}, {file.change}", tuple(index + lines)))
    else:
        if file.old_mode and file.new_mode and file.old_mode != file.new_mode and file.change == "modified":
            items.append(Hunk("", file.path, MODE, f"mode {file.old_mode} → {file.new_mode}",
                              (f"old mode {file.old_mode}", f"new mode {file.new_mode}")))
        items += [Hunk("", file.path, TEXT, *_fields(h)) for h in file.hunks]
    seen: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for n, item in enumerate(items):
        seen[(item.kind, item.lines)] += 1
        items[n] = _replace_id(item, hunk_id(file.path, item.kind, item.lines, seen[(item.kind, item.lines)]))
    file.hunks = items
    return file


def _fields(hunk: Hunk) -> tuple:
    return hunk.header, hunk.lines, hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count


def _replace_id(hunk: Hunk, new_id: str) -> Hunk:
    return Hunk(new_id, hunk.path, hunk.kind, *_fields(hunk))


def hunk_id(path: str, kind: str, lines: tuple[str, ...], occurrence: int = 1) -> str:
    """Twelve hex digits of the path, the kind and the lines; `occurrence` tells identical hunks of one file
    apart (the second copy of the same change)."""
    digest = hashlib.sha256()
    for part in (path, kind, "\n".join(lines), str(occurrence)):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def find_hunk(files: list[FileDiff], hunk_id: str) -> tuple[FileDiff, Hunk] | None:
    for file in files:
        hunk = file.hunk(hunk_id)
        if hunk is not None:
            return file, hunk
    return None


# ------------------------------------------------------------------------------------- paths


def _git_line_names(rest: str) -> tuple[str, str] | None:
    """The two names of 'diff --git a/x b/x'. Unquoted names with spaces are ambiguous; they are the same
    name twice unless the file was renamed, and a rename names them again in its own header lines."""
    if rest.startswith('"'):
        old, end = _read_quoted(rest)
        new = rest[end:].lstrip(" ")
        new = _read_quoted(new)[0] if new.startswith('"') else new
        return _strip_prefix(old, "a/"), _strip_prefix(new, "b/")
    if rest.endswith('"'):
        start = rest.rfind(' "')
        return _strip_prefix(rest[:start], "a/"), _strip_prefix(_read_quoted(rest[start + 1:])[0], "b/")
    half = (len(rest) - 1) // 2
    if len(rest) % 2 == 1 and rest[half] == " " and rest[2:half] == rest[half + 3:]:
        name = rest[2:half]
        return name, name
    old, _, new = rest.partition(" b/")
    return _strip_prefix(old, "a/"), new


def _file_name(value: str, prefix: str) -> str | None:
    value = value.rstrip("\t") if not value.startswith('"') else value  # git adds a tab after a name with spaces
    if value == "/dev/null":
        return None
    return _strip_prefix(unquote_name(value), prefix)


def _strip_prefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


def unquote_name(value: str) -> str:
    return _read_quoted(value)[0] if value.startswith('"') else value


def _read_quoted(value: str) -> tuple[str, int]:
    """A C-quoted name as git writes it ("a/tab\\there", octal bytes for the rest); returns the name and
    the index after its closing quote."""
    out = bytearray()
    i = 1
    while i < len(value):
        char = value[i]
        if char == '"':
            return out.decode("utf-8", "surrogateescape"), i + 1
        if char == "\\" and i + 1 < len(value):
            following = value[i + 1]
            if following in "01234567" and re.match(r"[0-7]{3}", value[i + 1:i + 4]):
                out.append(int(value[i + 1:i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(following, following).encode()
            i += 2
            continue
        out += char.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape"), len(value)


def quote_name(name: str) -> str:
    """A name as git would write it in a patch: C-quoted when it holds a quote, a backslash or a control
    character; other characters (non-ASCII included) as they are."""
    if not any(ch in _QUOTE_THESE or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return name
    out = []
    for ch in name:
        if ch in _QUOTE_THESE:
            out.append("\\" + _QUOTE_THESE[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# ------------------------------------------------------------------------------------ patches


def hunk_patch(file: FileDiff, hunk: Hunk) -> str:
    """A patch holding only `hunk`, for `git apply`. A hunk of a renamed file is a change of its new path
    (the rename itself stays); a new or deleted file's only hunk creates or removes it."""
    if hunk.kind not in (TEXT, MODE):
        raise UserError(f"{file.path}: {hunk.note or 'this change cannot be cut into hunks.'}")
    path = file.path
    a, b = quote_name("a/" + path), quote_name("b/" + path)
    out = [f"diff --git {a} {b}"]
    if hunk.kind == MODE:
        out += list(hunk.lines)
        return "\n".join(out) + "\n"
    old, new = a, b
    if file.change == "added":
        out.append(f"new file mode {file.new_mode or '100644'}")
        old = "/dev/null"
    elif file.change == "deleted":
        out.append(f"deleted file mode {file.old_mode or '100644'}")
        new = "/dev/null"
    out += [f"--- {old}", f"+++ {new}", _plain_header(hunk), *hunk.lines]
    return "\n".join(out) + "\n"


def _plain_header(hunk: Hunk) -> str:
    return f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@"


def apply_patch(git: GitService, patch: str, *flags: str) -> None:
    """`git apply <flags>` of `patch` in `git`'s repository (the caller holds its lock). A patch that no
    longer fits is a Conflict: the file changed since the person looked at it."""
    try:
        fd, name = tempfile.mkstemp(prefix="ccs-hunk-", suffix=".patch")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(patch.encode("utf-8", "surrogateescape"))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
    except OSError as exc:
        raise UserError(f"Could not write the patch to apply: {describe_os_error(exc)}") from None
    try:
        code, _, err = git.git("apply", "--whitespace=nowarn", "--recount", *flags, name, ok=(0, 1, 128))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    if code != 0:
        words = " ".join(line.strip().removeprefix("error: ") for line in err.splitlines() if line.strip())
        raise Conflict(f"That change no longer applies: the file changed since you looked (git: {words[:300]}). "
                       "Reload and try again.")
