"""The Files tab (spec G2): lazy tree and search on the left, the preview on the right."""

from __future__ import annotations

from collections.abc import Awaitable

from nicegui import ui

from components.workspace.common import blocking, ensure_style, message_of, when_shown
from components.workspace.file_preview import FilePreviewView
from components.workspace.file_search_view import FileSearchView
from components.workspace.file_tree import FileTree
from core.services import Services
from core.workspace.files.service import FileService


class FilesPanel:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None) -> None:
        ensure_style()
        self.services = services
        self.project_id = project_id
        self.job_id = job_id
        self.service: FileService | None = None
        self.tree: FileTree | None = None
        self.search: FileSearchView | None = None
        self.root = ui.element("div").classes("w-full")
        when_shown(self._build)

    def _build(self) -> Awaitable[None]:
        with self.root:
            with ui.splitter(value=32, limits=(15, 60)).classes("w-full").style(
                    "height: calc(100vh - 230px)") as split:
                with split.before:
                    self.left = ui.column().classes("w-full q-pa-sm gap-1")
                with split.after, ui.column().classes("w-full q-pa-sm gap-1"):
                    self.path_input = ui.input(placeholder="Open a path in the project, e.g. src/main.py").props(
                        "dense outlined clearable data-testid=file-path").classes("w-full")
                    self.path_input.on("keydown.enter", self._open_typed)
                    self.preview = FilePreviewView()
        return self._load()

    async def _load(self) -> None:
        try:
            # The first use of a project builds its file index (in the background): not on the event loop.
            self.service = await blocking(self.services.workspaces.files, self.project_id, self.job_id)
        except Exception as exc:
            with self.left:
                ui.label(message_of(exc)).classes("ws-error").props("data-testid=files-error")
            return
        with self.left:
            self.search = FileSearchView(self.service, self.open)
            with ui.row().classes("w-full items-center no-wrap q-mt-sm"):
                ui.label("Files").classes("text-subtitle2")
                ui.space()
                ui.button(icon="refresh", on_click=self._reload).props(
                    "flat dense round size=sm aria-label='Reload the tree' data-testid=files-reload")
            self.tree = FileTree(self.service, lambda path: self.open(path, None))
        await self.tree.load()

    async def _reload(self) -> None:
        if self.tree:
            await self.tree.load()

    async def _open_typed(self) -> None:
        path = (self.path_input.value or "").strip()
        if path:
            await self.open(path, None)

    async def open(self, path: str, line: int | None = None) -> None:
        """Show a file (at a line, from a content hit); refusals and missing files are shown, not raised."""
        if self.service is None:
            return
        try:
            preview = await blocking(self.service.read, path)
        except Exception as exc:
            self.preview.show_error(path, message_of(exc))
            return
        self.preview.show(preview, line)
        if self.tree and self.tree.current != preview.path:
            await self.tree.reveal(preview.path)
