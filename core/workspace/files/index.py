"""The index of a project's file paths: fuzzy name search and `@` completion (spec G2, F3).

Freshness: rather than an OS watcher (inotify needs a watch per directory,
node_modules included, and a thread per project), the index remembers every
directory's mtime. A search on an index older than `stale_after` seconds
starts a background refresh that stats the known directories and re-lists only
those whose mtime moved (creating, deleting or renaming a file changes its
directory's mtime), and answers at once from the current index. So changes
show up within a keystroke or two, an idle project costs nothing, and ignored
trees are never visited. A changed .gitignore makes the next refresh a full
rebuild.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.workspace.files.fuzzy import EMPTY, Match, Snapshot, complete, search
from core.workspace.files.ignore import IgnoreFile, IgnoreRules, is_hidden_name, is_venv_dir

MAX_FILES = 300_000  # a project bigger than this (a home directory?) is indexed partly
RACY_NS = 2_000_000_000  # a directory changed this recently may change again within the same mtime tick


@dataclass
class _Dir:
    mtime: int  # -1 forces a re-list at the next refresh
    parent_chain: list[IgnoreFile]
    chain: list[IgnoreFile]
    has_gitignore: bool
    files: dict[str, int] = field(default_factory=dict)  # name -> size
    subdirs: list[str] = field(default_factory=list)
    venvs: list[str] = field(default_factory=list)  # virtual environments by content, whatever their name


class FileIndex:
    """Blocking API: async callers use `asyncio.to_thread` (the first search waits for the build)."""

    def __init__(self, root: Path, stale_after: float = 2.0) -> None:
        self.root = root.resolve()
        self.stale_after = stale_after
        self.snapshot = EMPTY
        self._rules = IgnoreRules(root)  # its own cache: a reload elsewhere must not hide a change from us
        self._dirs: dict[str, _Dir] = {}
        self._ready = threading.Event()
        self._lock = threading.Lock()  # one build or refresh at a time
        self._thread: threading.Thread | None = None
        self._closed = False
        self._refreshed_at = 0.0
        self._listed = 0  # files indexed, counted during walks: stops a walk of a whole home directory
        self._cut_short = False

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Build in the background (idempotent)."""
        if self._thread is None and not self._closed:
            self._spawn(self._build)

    def wait_ready(self, timeout: float | None = None) -> bool:
        self.start()
        return self._ready.wait(timeout)

    def close(self) -> None:
        """Stops a running build or refresh and waits for it."""
        self._closed = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def refresh(self) -> None:
        """Bring the index up to date now (blocking)."""
        if not self._ready.is_set():
            self.wait_ready()
        self._refresh()

    def current(self, timeout: float | None = None) -> Snapshot:
        """The snapshot to answer from; starts a background refresh when it may be stale."""
        if not self.wait_ready(timeout):
            return self.snapshot
        thread = self._thread
        if time.monotonic() - self._refreshed_at > self.stale_after and (thread is None or not thread.is_alive()):
            self._spawn(self._refresh)
        return self.snapshot

    def _spawn(self, target) -> None:
        self._thread = threading.Thread(target=target, name=f"file-index:{self.root.name}", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- walking

    def _build(self) -> None:
        try:
            with self._lock:
                if not self._closed:
                    self._rebuild()
        finally:
            self._ready.set()  # even after an error: waiters get the (empty) index rather than hang

    def _rebuild(self) -> None:
        self._dirs = {}
        self._listed = 0
        self._cut_short = False
        self._rules = IgnoreRules(self.root)
        self._scan_tree("", self._rules.root_chain())
        self._publish()

    def _refresh(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._rules.changed():
                self._rebuild()
                return
            changed = False
            for rel in list(self._dirs):
                known = self._dirs.get(rel)
                if known is None or self._closed:
                    continue  # dropped with a parent
                try:
                    mtime = os.stat(self._abs(rel)).st_mtime_ns
                except OSError:
                    mtime = None
                if mtime == known.mtime:
                    continue
                changed = True
                if mtime is None:
                    self._drop(rel)
                    continue
                fresh = self._scan_dir(rel, known.parent_chain)
                if fresh.has_gitignore != known.has_gitignore:  # the rules of the whole subtree moved
                    self._rebuild()
                    return
                for gone in set(known.subdirs) - set(fresh.subdirs):
                    self._drop(_join(rel, gone))
                for new in set(fresh.subdirs) - set(known.subdirs):
                    self._scan_tree(_join(rel, new), fresh.chain)
            if changed:
                self._publish()
            else:
                self._refreshed_at = time.monotonic()

    def _scan_tree(self, top: str, parent_chain: list[IgnoreFile]) -> None:
        stack = [(top, parent_chain)]
        while stack and not self._closed and self._listed <= MAX_FILES:
            rel, chain = stack.pop()
            scanned = self._scan_dir(rel, chain)
            stack.extend((_join(rel, sub), scanned.chain) for sub in scanned.subdirs)
        self._cut_short = self._cut_short or bool(stack)

    def _scan_dir(self, rel: str, parent_chain: list[IgnoreFile]) -> _Dir:
        path = self._abs(rel)
        try:
            mtime = os.stat(path).st_mtime_ns
            with os.scandir(path) as it:
                entries = list(it)
        except OSError:
            entries, mtime = [], -1
        if time.time_ns() - mtime < RACY_NS:
            mtime = -1
        # The root's .gitignore is part of root_chain(), whose changes IgnoreRules.changed() sees.
        has_gitignore = bool(rel) and any(e.name == ".gitignore" for e in entries)
        chain = self._rules.child_chain(parent_chain, rel, has_gitignore) if rel else parent_chain
        scanned = _Dir(mtime, parent_chain, chain, has_gitignore)
        for entry in entries:
            entry_rel = _join(rel, entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if is_hidden_name(entry.name) or IgnoreRules.is_ignored(chain, entry_rel, True):
                        continue
                    if is_venv_dir(entry.path):
                        scanned.venvs.append(entry.name)
                    else:
                        scanned.subdirs.append(entry.name)
                elif entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if target.is_file() and target.is_relative_to(self.root) and \
                            not IgnoreRules.is_ignored(chain, entry_rel, False):
                        scanned.files[entry.name] = target.stat().st_size
                elif entry.is_file(follow_symlinks=False) and not IgnoreRules.is_ignored(chain, entry_rel, False):
                    scanned.files[entry.name] = entry.stat(follow_symlinks=False).st_size
            except (OSError, RuntimeError):  # RuntimeError: a symlink loop
                continue  # vanished while we looked
        self._dirs[rel] = scanned
        self._listed += len(scanned.files)
        return scanned

    def _drop(self, rel: str) -> None:
        gone = self._dirs.pop(rel, None)
        if gone is not None:
            for sub in gone.subdirs:
                self._drop(_join(rel, sub))

    def _publish(self) -> None:
        items: list[tuple[str, int]] = []
        venvs: list[str] = []
        for rel, scanned in self._dirs.items():
            items.extend((_join(rel, name), size) for name, size in scanned.files.items())
            venvs.extend(_join(rel, name) for name in scanned.venvs)
        self._listed = len(items)
        truncated = self._cut_short or len(items) > MAX_FILES
        self.snapshot = Snapshot.build(items[:MAX_FILES], truncated, venvs)
        self._refreshed_at = time.monotonic()

    def _abs(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else str(self.root)

    # ----------------------------------------------------------------- queries

    def search(self, query: str, limit: int = 50, timeout: float | None = None) -> list[Match]:
        """Fuzzy search on file names (waits up to `timeout` for the first build; None: as long as it takes)."""
        return search(self.current(timeout), query, limit)

    def complete(self, query: str, limit: int = 20, timeout: float | None = 0.2) -> list[str]:
        """`@` completion; waits at most `timeout` for a first build, so a composer never hangs on a huge project."""
        return complete(self.current(timeout), query, limit)


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name
