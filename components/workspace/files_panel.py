"""The Files tab (spec G2): lazy tree and search on the left, the preview on the right."""

from __future__ import annotations

from collections.abc import Awaitable

from nicegui import background_tasks, ui

from components.common.live_refresh import refresh_on_notices
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
        self._seen: dict[str, tuple[int, str | None]] = {}  # per job: files touched and status, as last noticed
        self.root = ui.element("div").classes("w-full")
        when_shown(self._build)

    def _build(self) -> Awaitable[None]:
        with self.root:
            # Side by side; on a phone the tree goes above the file (common.CSS, .ws-files).
            with ui.splitter(value=32, limits=(15, 60)).classes("w-full ws-files").style(
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
            # A job of the project wrote a file, or ended a turn (a shell command may have written some): the
            # tree shows it without a reload.
            self._seen = {job.id: (len(job.files_touched), job.status)
                          for job in self.services.jobs.list(self.project_id)}
            refresh_on_notices(self.services.hub, self._refresh_soon, self._files_may_have_changed, interval=1.0)
        await self.tree.load()

    def _files_may_have_changed(self, notice: dict) -> bool:
        job = notice.get("job") if notice.get("kind") == "job" else None
        if not isinstance(job, dict) or job.get("project_id") != self.project_id:
            return False
        seen = self._seen.get(job["id"])
        now = (len(job.get("files_touched") or []), job.get("status"))
        self._seen[job["id"]] = now
        if seen is None:  # a job started since the panel opened
            return now[0] > 0
        return now[0] != seen[0] or (seen[1] == "running" and now[1] != "running")

    def _refresh_soon(self) -> None:
        if self.tree is not None:
            background_tasks.create(self.tree.refresh(), name=f"refresh files {self.project_id}")

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
