"""The Memories tab (spec G4): the CLAUDE.md hierarchy, viewed as markdown and edited in CodeMirror.

Files are named by id, never by path: the core resolves and confines each one.
A missing file shows empty and is created by its first save.
"""

from __future__ import annotations

from collections.abc import Awaitable

from nicegui import ui

from components.common.markdown import Markdown
from components.common.notify import toast
from components.workspace.common import blocking, editor_theme, ensure_style, message_of, notify_error, when_shown
from core.services import Services
from core.workspace.memory import MemoryFile, MemoryService

LEVELS = {"user": "User", "project": "Project", "local": "Local", "parent": "Parent folder", "auto": "Auto memory"}
LEVEL_COLORS = {"user": "purple", "project": "primary", "local": "teal", "parent": "grey", "auto": "orange"}
NOTE = ("Claude reads these files when a session starts: a running session keeps what it loaded, "
        "so an edit reaches Claude from its next session (a new job, or after the session restarts).")


class MemoriesPanel:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None) -> None:
        ensure_style()
        self.services = services
        self.project_id = project_id
        self.job_id = job_id
        self.memory: MemoryService | None = None
        self.current: MemoryFile | None = None
        self.saved_text = ""
        self.root = ui.element("div").classes("w-full")
        when_shown(self._build)

    def _build(self) -> Awaitable[None]:
        # On a phone the list goes above the editor (common.CSS, .ws-files).
        with self.root, ui.splitter(value=32, limits=(15, 50)).classes("w-full ws-files").style(
                "height: calc(100vh - 230px)") as split:
            with split.before, ui.column().classes("w-full q-pa-sm gap-1"):
                self._list_column()
            with split.after, ui.column().classes("w-full q-pa-sm gap-1"):
                self._file_column()
        return self._load()

    def _list_column(self) -> None:
        with ui.row().classes("w-full items-center no-wrap"):
            ui.label("Memory files").classes("text-subtitle2")
            ui.space()
            ui.button(icon="add", on_click=self._new_rule).props(
                "flat dense round size=sm aria-label='New rule' data-testid=memory-new-rule").tooltip("New rules file")
        self.listing = ui.column().classes("w-full gap-0").props("data-testid=memory-list")

    def _file_column(self) -> None:
        ui.label(NOTE).classes("text-caption text-grey").props("data-testid=memory-note")
        self.title = ui.label("Choose a file.").classes("ws-mono text-weight-medium").props("data-testid=memory-title")
        self.detail = ui.label().classes("text-caption text-grey")
        with ui.row().classes("w-full items-center gap-2") as self.controls:
            self.mode = ui.toggle({"view": "View", "edit": "Edit"}, value="view", on_change=self._mode_changed).props(
                "dense no-caps size=sm data-testid=memory-mode")
            ui.space()
            self.status = ui.label().classes("text-caption").props("data-testid=memory-status")
            self.save_button = ui.button("Save", icon="save", on_click=self.save).props(
                "dense no-caps data-testid=memory-save")
        self.controls.visible = False
        self.view = Markdown().classes("w-full ws-box q-pa-sm").props("data-testid=memory-view")
        self.view.visible = False
        self.editor = ui.codemirror("", language="Markdown", theme=editor_theme(), line_wrapping=True,
                                    on_change=self._edited).classes("w-full ws-preview").style(
            "height: calc(100vh - 360px); min-height: 200px").props("data-testid=memory-editor")
        self.editor.visible = False

    async def _load(self) -> None:
        try:
            self.memory = await blocking(self.services.workspaces.memory, self.project_id, self.job_id)
        except Exception as exc:
            with self.listing:
                ui.label(message_of(exc)).classes("ws-error")
            return
        await self.render_list()

    async def render_list(self) -> None:
        try:
            files = await blocking(self.memory.list)
        except Exception as exc:
            files = []
            notify_error(exc)
        self.listing.clear()
        with self.listing:
            for file in files:
                self._row(file)

    def _row(self, file: MemoryFile) -> None:
        active = self.current is not None and self.current.id == file.id
        with ui.column().classes("w-full ws-row gap-0 q-px-xs q-py-xs" + (" ws-row-active" if active else "")).props(
                "data-testid=memory-file") as row:
            row.props["data-id"] = file.id
            ui.label(file.label).classes("ws-mono ellipsis w-full").tooltip(file.path)
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.badge(LEVELS.get(file.level, file.level), color=LEVEL_COLORS.get(file.level, "grey")).props(
                    "outline")
                if not file.exists:
                    ui.label("not created").classes("text-caption text-grey")
                if not file.editable:
                    ui.icon("lock", size="14px").classes("text-grey").tooltip("Read-only here")
        row.on("click", lambda f=file: self.open(f.id))

    @property
    def dirty(self) -> bool:
        return self.current is not None and self.editor.value != self.saved_text

    async def open(self, file_id: str) -> None:
        if self.dirty and not await _confirm(f"Discard your unsaved edits to {self.current.label}?"):
            return
        try:
            file = await blocking(self.memory.get, file_id)
            text = await blocking(self.memory.read, file_id)
        except Exception as exc:
            notify_error(exc)
            return
        self.current, self.saved_text = file, text
        self.title.text = file.label
        where = file.path + ("" if file.exists else " · not created yet: saving creates it")
        self.detail.text = f"{file.description} · {where}" if file.description else where
        self.editor.value = text
        self.controls.visible = True
        self.mode.set_enabled(file.editable)
        self.save_button.visible = file.editable
        self.mode.value = "edit" if file.editable and not text else "view"  # nothing to read yet: write
        self._mode_changed()
        self.status.text = "" if file.editable else "read-only"
        await self.render_list()

    def _mode_changed(self) -> None:
        editing = self.mode.value == "edit" and self.current is not None and self.current.editable
        if not editing:
            self.view.content = self.editor.value or "*(empty)*"
        self.view.visible = not editing
        self.editor.visible = editing

    def _edited(self) -> None:
        self.status.text = "unsaved changes" if self.dirty else ""

    async def save(self) -> None:
        if self.current is None:
            return
        text = self.editor.value or ""
        try:
            file = await blocking(self.memory.write, self.current.id, text)
        except Exception as exc:
            self.status.text = notify_error(exc)
            return
        created = not self.current.exists
        self.current, self.saved_text = file, text
        self.status.text = "created" if created else "saved"
        self.detail.text = f"{file.description} · {file.path}" if file.description else file.path
        toast(f"{file.label} {'created' if created else 'saved'}.", type="positive")
        await self.render_list()

    def _new_rule(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[28rem] max-w-full"):
            ui.label("New rules file").classes("text-h6")
            level = ui.toggle({"project": "This project (.claude/rules)", "user": "Every project (~/.claude/rules)"},
                              value="project").props("no-caps dense")
            name = ui.input("File name", placeholder="style.md").props(
                "autofocus outlined dense data-testid=memory-rule-name").classes("w-full")
            error = ui.label().classes("ws-error text-caption")

            async def create() -> None:
                try:
                    file = await blocking(self.memory.create_rule, level.value, name.value or "")
                except Exception as exc:
                    error.text = message_of(exc)
                    return
                dialog.close()
                await self.open(file.id)

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create", on_click=create).props("data-testid=memory-rule-create")
        dialog.open()


async def _confirm(question: str) -> bool:
    with ui.dialog() as dialog, ui.card():
        ui.label(question)
        with ui.row().classes("w-full justify-end"):
            ui.button("Keep editing", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button("Discard", color="negative", on_click=lambda: dialog.submit(True)).props(
                "data-testid=memory-discard")
    answer = await dialog
    dialog.delete()
    return bool(answer)
