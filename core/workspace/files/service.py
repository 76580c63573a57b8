"""The file browser's domain (spec G2): lazy tree, previews, fuzzy name and content search.

Every path from a caller goes through `resolve_in` (spec J3). All methods block
(disk, git subprocesses): async callers use `asyncio.to_thread`.
"""

from __future__ import annotations

import codecs
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from core.errors import NotFound, UserError
from core.workspace.files.content_search import ContentMatch, TrackedFiles, is_git_worktree, search_content
from core.workspace.files.ignore import IgnoreRules, is_hidden_name, is_venv_dir
from core.workspace.files.index import FileIndex, Match
from core.workspace.files.languages import guess_language
from core.workspace.paths import resolve_in

__all__ = ["ContentMatch", "Entry", "FilePreview", "FileService", "FileServices", "Match"]

MAX_PREVIEW_BYTES = 1_000_000  # larger files are not loaded, nor searched for content
HEAD_BYTES = 64 * 1024  # what a too-large text file shows of itself
BINARY_SNIFF_BYTES = 8192  # git's heuristic: a NUL byte in the first 8 KB means binary


@dataclass
class Entry:
    name: str
    path: str  # relative to the project, POSIX
    is_dir: bool
    size: int
    mtime: float


@dataclass
class FilePreview:
    path: str
    size: int
    mtime: float
    language: str  # a Pygments/highlight.js name, "text" when unknown
    text: str | None  # None for binary files; only the first HEAD_BYTES when too_large
    is_binary: bool
    too_large: bool


def _normalize(relative: str) -> str:
    return "/".join(part for part in relative.split("/") if part not in ("", "."))


class FileService:
    def __init__(self, root: str | os.PathLike[str], *, max_preview_bytes: int = MAX_PREVIEW_BYTES,
                 stale_after: float = 2.0) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotFound(f"Project directory {self.root} does not exist.")
        self.max_preview_bytes = max_preview_bytes
        self.index = FileIndex(self.root, stale_after=stale_after)
        self._rules = IgnoreRules(self.root)
        self._tracked = TrackedFiles(self.root)

    def start(self) -> None:
        """Build the name index in the background, so the first search need not wait."""
        self.index.start()

    def close(self) -> None:
        self.index.close()

    def _existing(self, relative: str) -> Path:
        try:
            target = resolve_in(self.root, relative)
        except RuntimeError:  # Path.resolve on a symlink loop (Python 3.11)
            raise UserError(f"{relative!r} is a loop of symbolic links.") from None
        if not target.exists():
            raise NotFound(f"{relative!r} does not exist in this project.")
        return target

    # ----------------------------------------------------------------- tree

    def list_dir(self, relative: str = "") -> list[Entry]:
        """One level of the tree, directories first, without hidden and ignored entries."""
        target = self._existing(relative)
        if not target.is_dir():
            raise UserError(f"{relative!r} is a file, not a directory.")
        rel_dir = _normalize(relative)
        chain = self._rules.for_dir(rel_dir)
        entries: list[Entry] = []
        with os.scandir(target) as it:
            for item in it:
                path = f"{rel_dir}/{item.name}" if rel_dir else item.name
                try:
                    if item.is_symlink() and not Path(item.path).resolve().is_relative_to(self.root):
                        continue  # it could not be opened (J3); listing it would only leak its target's size
                    info = item.stat()
                except (OSError, RuntimeError):  # RuntimeError: a symlink loop
                    continue  # a dangling link or a file that vanished while we looked
                is_dir = stat.S_ISDIR(info.st_mode)
                if is_dir and (is_hidden_name(item.name) or is_venv_dir(item.path)):
                    continue
                if IgnoreRules.is_ignored(chain, path, is_dir):
                    continue
                entries.append(Entry(item.name, path, is_dir, 0 if is_dir else info.st_size, info.st_mtime))
        entries.sort(key=lambda e: (not e.is_dir, e.name.lower(), e.name))
        return entries

    # ----------------------------------------------------------------- preview

    def read(self, relative: str) -> FilePreview:
        """A file's text for the preview; binary and too-large files are reported, not loaded."""
        target = self._existing(relative)
        if target.is_dir():
            raise UserError(f"{relative!r} is a directory; open a file to preview it.")
        info = target.stat()
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{relative!r} is not a regular file (a pipe or device?).")
        path = _normalize(relative)
        language = guess_language(path.rsplit("/", 1)[-1])
        too_large = info.st_size > self.max_preview_bytes
        with open(target, "rb") as handle:  # reads at most the limit: a 1 GB file costs a 64 KB read
            data = handle.read(HEAD_BYTES if too_large else self.max_preview_bytes)
        text = _decode(data, complete=not too_large)
        return FilePreview(path, info.st_size, info.st_mtime, language, text, text is None, too_large)

    # ----------------------------------------------------------------- search

    def search_names(self, query: str, limit: int = 50) -> list[Match]:
        """Fuzzy file-name search over every non-ignored file (waits for the first index build)."""
        return self.index.search(query, limit)

    def complete(self, query: str, limit: int = 20) -> list[str]:
        """`@` completion for the composer: path prefixes first, then fuzzy matches; never waits long."""
        return self.index.complete(query, limit)

    def search_content(self, query: str, regex: bool = False, case_sensitive: bool = False, limit: int = 200,
                       context: int = 2) -> list[ContentMatch]:
        """Lines matching `query` in non-ignored text files under the size limit."""
        if not query:
            return []
        self.index.refresh()  # incremental, milliseconds of stats: a file created a moment ago is searched
        snapshot = self.index.snapshot
        files = list(zip(snapshot.paths, snapshot.sizes, strict=True))
        large = [path for path, size in files if size > self.max_preview_bytes]
        untracked = None
        if is_git_worktree(self.root):
            tracked = self._tracked.get()
            untracked = [path for path, size in files if path not in tracked and size <= self.max_preview_bytes]
        return search_content(self.root, query, regex=regex, case_sensitive=case_sensitive, limit=limit,
                              context=context, large=large, skip_dirs=snapshot.venv_dirs, untracked=untracked)

    def refresh(self) -> None:
        """Update the name index now (after a job finished, say) instead of at the next stale search."""
        self.index.refresh()


def _decode(data: bytes, complete: bool) -> str | None:
    """Text, or None when the bytes look binary (a NUL early on, or not UTF-8)."""
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return None
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        # A head may end inside a multi-byte character: only a complete file must decode to its end.
        return decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        return None


class FileServices:
    """One FileService per project directory, created on first use (`core.workspace.workspaces` holds one)."""

    def __init__(self, stale_after: float = 2.0) -> None:
        self._services: dict[str, FileService] = {}
        self._lock = threading.Lock()
        self._stale_after = stale_after

    def get(self, root: str | os.PathLike[str]) -> FileService:
        key = str(Path(root).resolve())
        with self._lock:
            service = self._services.get(key)
            if service is None:
                service = self._services[key] = FileService(key, stale_after=self._stale_after)
                service.start()
            return service

    def forget(self, root: str | os.PathLike[str]) -> None:
        """Drop a project's service (archived, moved): stops its index thread."""
        with self._lock:
            service = self._services.pop(str(Path(root).resolve()), None)
        if service is not None:
            service.close()

    def close_all(self) -> None:
        with self._lock:
            services, self._services = list(self._services.values()), {}
        for service in services:
            service.close()
