"""A lazy file tree: a directory's entries are listed when it is first expanded.

Quasar's tree shows an expand arrow only for a node with children, so an
unlisted directory holds one placeholder child until it is opened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.workspace.common import blocking, message_of
from core.workspace.files.service import Entry, FileService

MAX_ENTRIES = 1000  # per directory: a huge folder shows its first entries and points to the search
_PLACEHOLDER = "\0loading"


def _placeholder(path: str) -> dict[str, Any]:
    return {"id": f"{path}/{_PLACEHOLDER}", "label": "Loading…", "selectable": False, "icon": "hourglass_empty"}


def _node(entry: Entry) -> dict[str, Any]:
    if entry.is_dir:
        return {"id": entry.path, "label": entry.name, "icon": "folder", "children": [_placeholder(entry.path)]}
    return {"id": entry.path, "label": entry.name, "icon": "description"}


class FileTree:
    def __init__(self, service: FileService, on_open: Callable[[str], Awaitable[None] | None]) -> None:
        self.service = service
        self.on_open = on_open
        self._dirs: dict[str, dict[str, Any]] = {}  # directory path -> its node (listed or not)
        self._listed: set[str] = set()
        self.current: str | None = None  # the file shown in the preview, kept marked
        self.error = ui.label().classes("ws-error text-caption").props("data-testid=tree-error")
        self.error.visible = False
        self.tree = ui.tree([], on_select=self._selected, on_expand=self._expanded).props(
            "dense no-transition no-selection-unset data-testid=file-tree").classes("w-full")

    async def load(self) -> None:
        """(Re)list the root; every directory folds and lists again when opened."""
        self._dirs.clear()
        self._listed.clear()
        self.tree.props["expanded"] = []
        children = await self._list("")
        if children is not None:
            self.tree.props["nodes"] = children
            self._register(self.tree.props["nodes"])
            self.tree.update()

    async def refresh(self) -> None:
        """List again what is shown (the root and the open folders), keeping them open and the file marked:
        files a job wrote since appear, deleted ones go."""
        expanded = [p for p in (self.tree.props.get("expanded") or []) if p in self._listed]
        children = await self._list("")
        if children is None:
            return
        self._dirs.clear()
        self._listed.clear()
        self.tree.props["nodes"] = children
        self._register(self.tree.props["nodes"])
        still = []
        for path in sorted(expanded, key=lambda p: p.count("/")):  # parents first: they register their children
            if path in self._dirs:
                await self._open_dir(path, update=False)
                still.append(path)
        self.tree.props["expanded"] = still
        self.tree.update()

    async def _list(self, path: str) -> list[dict[str, Any]] | None:
        try:
            entries = await blocking(self.service.list_dir, path)
        except Exception as exc:  # every failure becomes a message in the panel
            self._show_error(message_of(exc))
            return None
        self._show_error("")
        nodes = [_node(e) for e in entries[:MAX_ENTRIES]]
        if len(entries) > MAX_ENTRIES:
            nodes.append({"id": f"{path}/\0more", "label": f"… {len(entries) - MAX_ENTRIES:,} more: use the search",
                          "selectable": False, "icon": "more_horiz"})
        return nodes

    def _register(self, nodes: list[dict[str, Any]]) -> None:
        """Remember the folder nodes as the tree holds them: props store copies of what is assigned."""
        for node in nodes:
            if "children" in node:
                self._dirs[node["id"]] = node

    def _show_error(self, text: str) -> None:
        self.error.text = text
        self.error.visible = bool(text)

    async def _expanded(self, event) -> None:
        for path in set(event.value or []) - set(event.previous_value or []):
            await self._open_dir(path)

    async def _open_dir(self, path: str, update: bool = True) -> None:
        node = self._dirs.get(path)
        if node is None or path in self._listed:
            return
        children = await self._list(path)
        if children is None:
            node["children"] = []
            self.tree.collapse([path])
        else:
            node["children"] = children
            self._register(node["children"])
            self._listed.add(path)
        if update:
            self.tree.update()

    async def _selected(self, event) -> None:
        path = event.value
        if not path or path == self.current:
            return
        if path in self._dirs:  # a folder: a click on its name folds or unfolds it, the open file stays marked
            self.tree.props["selected"] = self.current
            if path in (self.tree.props.get("expanded") or []):
                self.tree.collapse([path])
            else:
                self.tree.expand([path])
                await self._open_dir(path)
            self.tree.update()
            return
        self.current = path
        result = self.on_open(path)
        if result is not None:
            await result

    async def reveal(self, path: str) -> None:
        """Unfold the folders above a file opened from the search, and mark it."""
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in self._dirs:
                return
            self.tree.expand([folder])
            await self._open_dir(folder)
        self.current = path
        self.tree.props["selected"] = path
        self.tree.update()
