"""The Changes tab of an isolated job (spec L2): what the job changed against its base, per file and per hunk,
with Accept and Reject; Merge into the base (a merge commit or a squash); a conflict in plain words, and a
button that asks Claude to resolve it.

Built to open fast on a job that changed a thousand files: the changes are read once, off the event
loop; the file list is one HTML block (one element, whatever its length) whose clicks name a row;
a file's hunks are built only when it is opened.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable

from nicegui import background_tasks, events, ui

from components.common.live_refresh import refresh_on_notices
from components.common.notify import toast
from components.workspace.common import (
    blocking,
    confirm_destructive,
    ensure_style,
    message_of,
    notify_error,
    when_shown,
)
from components.workspace.git_diff import printable
from components.workspace.hunk_view import HunkAction, render_file
from core.services import Services
from core.workspace.git.hunks import FileDiff, Hunk
from core.workspace.git.review import Changes

MAX_LISTED = 5000  # rows in the file list; beyond it the list says how many more
_LETTERS = {"added": "A", "deleted": "D", "modified": "M", "typechange": "T", "renamed": "R", "copied": "C"}
# The row clicked, by its index; its highlight moves at once, before the server answers.
_PICK = """(e) => {
  const row = e.target.closest('[data-i]');
  if (!row) return;
  row.parentElement.querySelectorAll('.ws-row-active').forEach((r) => r.classList.remove('ws-row-active'));
  row.classList.add('ws-row-active');
  emit(Number(row.dataset.i));
}"""


class ChangesPanel:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None) -> None:
        ensure_style()
        self.services = services
        self.project_id = project_id
        self.job_id = job_id or ""
        self.changes: Changes | None = None
        self.selected: str | None = None  # the path whose hunks are shown
        self.conflicts: list[str] = []
        self._loading = asyncio.Lock()
        self.accept_action = HunkAction("Accept", "check", "accept", self.accept, color="positive",
                                        shown=lambda hunk: self.changes is None or hunk.id not in self.changes.accepted)
        self.reject_action = HunkAction("Reject", "close", "reject", self.confirm_reject, color="negative")
        self.root = ui.column().classes("w-full q-pa-sm gap-2 ws-changes")
        when_shown(self._build)

    def _build(self) -> Awaitable[None]:
        with self.root:
            # The buttons stay together, at the right, when a long branch name wraps the row (a phone).
            with ui.row().classes("w-full items-center").style("gap: 4px 12px"):
                with ui.row().classes("items-center gap-2 no-wrap").style("flex: 1 1 18rem; min-width: 0"):
                    ui.icon("difference", size="20px")
                    with ui.column().classes("gap-0").style("min-width: 0"):
                        self.title = ui.label("…").classes("ws-mono text-weight-medium").style(
                            "overflow-wrap: anywhere; font-size: 13px").props("data-testid=changes-branch")
                        self.summary = ui.label().classes("text-caption text-grey").props(
                            "data-testid=changes-summary")
                with ui.row().classes("items-center gap-1 no-wrap").style("margin-left: auto"):
                    self.busy = ui.spinner(size="sm")
                    self.busy.visible = False
                    ui.button(icon="refresh", on_click=self.refresh).props(
                        "flat dense round aria-label=Refresh data-testid=changes-refresh").tooltip("Refresh")
                    self.merge_button = ui.button("Merge", icon="merge", on_click=self.open_merge).props(
                        "no-caps dense unelevated data-testid=changes-merge").classes("q-px-sm")
            self.notes = ui.column().classes("w-full gap-0").props("data-testid=changes-notes")
            self.error = ui.label().classes("w-full ws-error").props("data-testid=changes-error")
            self.error.visible = False
            self.outcome = ui.label().classes("w-full text-positive").props("data-testid=changes-outcome")
            self.outcome.visible = False
            with ui.column().classes("w-full gap-1 ws-box q-pa-sm").props("data-testid=changes-conflict") as card:
                ui.label("The merge would conflict").classes("text-subtitle2 text-negative")
                self.conflict_text = ui.label().classes("text-body2").props("data-testid=changes-conflict-text")
                self.conflict_files = ui.column().classes("gap-0").props("data-testid=changes-conflict-files")
                with ui.row().classes("items-center gap-2"):
                    self.resolve_button = ui.button("Ask Claude to resolve it", icon="smart_toy",
                                                    on_click=self.ask_to_resolve).props(
                        "no-caps dense unelevated data-testid=changes-resolve").classes("q-px-sm")
                    ui.label("Claude merges the base into its branch in its worktree and resolves the files; "
                             "then merge again.").classes("text-caption text-grey")
            self.conflict_card = card
            card.visible = False
            with ui.row().classes("w-full gap-4 items-start").style("flex-wrap: wrap"):
                with ui.column().classes("gap-1").style("flex: 1 1 280px; min-width: 0"):
                    self.empty = ui.label().classes("text-grey").props("data-testid=changes-empty")
                    self.empty.visible = False
                    self.file_list = ui.html("", sanitize=False).classes("w-full").style(
                        "max-height: calc(100vh - 300px); overflow: auto").props("data-testid=changes-files")
                    self.file_list.on("click", self._picked, js_handler=_PICK)
                with ui.column().classes("gap-2").style("flex: 2 1 420px; min-width: 0"):
                    self.diff_title = ui.label("Select a file to see its changes.").classes(
                        "text-caption text-grey ws-mono").style("overflow-wrap: anywhere").props(
                        "data-testid=changes-diff-title")
                    self.diff = ui.column().classes("w-full gap-2 no-wrap").style(
                        "max-height: calc(100vh - 300px); overflow: auto").props("data-testid=changes-diff")
            refresh_on_notices(self.services.hub, self._on_job_notice, self._is_this_job, interval=1.5)
        return self.refresh()

    def _is_this_job(self, notice: dict) -> bool:
        return notice.get("kind") == "job" and notice["job"]["id"] == self.job_id

    def _on_job_notice(self) -> None:
        if not self._loading.locked():
            background_tasks.create(self.refresh(), name="changes refresh")

    # -- reading -------------------------------------------------------------------------

    async def refresh(self) -> None:
        async with self._loading:
            self.busy.visible = True
            try:
                changes = await blocking(self.services.reviews.changes, self.job_id)
            except Exception as exc:
                self.error.text = message_of(exc)
                self.error.visible = True
                return
            finally:
                self.busy.visible = False
            self.error.visible = False
            self.changes = changes
            self._render()

    def _render(self) -> None:
        changes = self.changes
        if changes is None:
            return
        base = changes.base
        self.title.text = f"{printable(changes.branch)} → {printable(base)}" if base else printable(changes.branch)
        added = sum(f.added for f in changes.files)
        removed = sum(f.removed for f in changes.files)
        count = len(changes.files)
        self.summary.text = (f"{count:,} file{'s' if count != 1 else ''} · +{added:,} −{removed:,} · "
                             f"{len(changes.accepted)} of {changes.hunk_count} hunks accepted")
        self.merge_button.text = f"Merge into {printable(base)}" if base else "Merge"
        self.merge_button.set_enabled(bool(base) and bool(changes.files))
        self.notes.clear()
        with self.notes:
            for note in changes.notes():
                ui.label(note).classes("text-caption text-warning").props("data-testid=changes-note")
        self.empty.text = f"Nothing to review: the job's branch has no changes against {printable(base or 'its base')}."
        self.empty.visible = not changes.files
        self.file_list.content = self._list_html(changes)
        file = self._file(self.selected)
        if file is None:
            self.selected = None
            self.diff.clear()
            self.diff_title.text = "Select a file to see its changes." if changes.files else ""
        else:
            self._show(file)

    def _list_html(self, changes: Changes) -> str:
        """One row per file, three elements each: its letter and counts are drawn by CSS from data attributes."""
        rows = []
        for i, file in enumerate(changes.files[:MAX_LISTED]):
            path = html.escape(printable(file.path))
            done = bool(file.hunks) and all(h.id in changes.accepted for h in file.hunks)
            counts = 'data-a="bin"' if file.binary else f'data-a="+{file.added}" data-d="−{file.removed}"'
            rows.append(
                f'<div class="ws-row{" ws-row-active" if file.path == self.selected else ""}" data-i="{i}" '
                f'data-c="{_LETTERS.get(file.change, "?")}" data-path="{path}" data-testid="change-file">'
                f'<span class="ws-path">{path}</span>'
                + ('<b data-testid="change-file-done">✓</b>' if done else "")
                + f"<i {counts}></i></div>")
        if len(changes.files) > MAX_LISTED:
            rows.append(f'<div class="text-caption text-grey">… {len(changes.files) - MAX_LISTED:,} more files</div>')
        return "".join(rows)

    def _file(self, path: str | None) -> FileDiff | None:
        if path is None or self.changes is None:
            return None
        return next((f for f in self.changes.files if f.path == path), None)

    def _picked(self, event: events.GenericEventArguments) -> None:
        if self.changes is None or not isinstance(event.args, int) or not 0 <= event.args < len(self.changes.files):
            return
        file = self.changes.files[event.args]
        self.selected = file.path
        self._show(file)

    def _show(self, file: FileDiff) -> None:
        accepted = self.changes.accepted if self.changes else set()
        done = sum(1 for h in file.hunks if h.id in accepted)
        self.diff_title.text = (f"{printable(file.path)} · {file.change} · +{file.added} −{file.removed} · "
                                f"{done} of {len(file.hunks)} accepted")
        self.diff.clear()
        with self.diff:
            render_file(file, [self.accept_action, self.reject_action], accepted)

    # -- acting on one hunk --------------------------------------------------------------

    # The clicked button is rebuilt (gone) once the file is shown again: the handlers work from the panel's root.

    async def accept(self, file: FileDiff, hunk: Hunk) -> None:
        with self.root:
            await self._on_hunk(self.services.reviews.accept, file, hunk)

    async def confirm_reject(self, file: FileDiff, hunk: Hunk) -> None:
        with self.root:
            await self._confirm_reject(file, hunk)

    async def _confirm_reject(self, file: FileDiff, hunk: Hunk) -> None:
        confirmed = await confirm_destructive(
            "Reject this change?", f"{printable(file.path)} · {printable(hunk.header)}",
            "It is undone in the job's worktree (a new file is deleted, a deleted one comes back). A change that came "
            "in one of the job's commits stays in its history, undone by an uncommitted change.",
            action="Reject", testid="reject", irreversible=False)
        if confirmed:
            await self._on_hunk(self.services.reviews.reject, file, hunk)

    async def _on_hunk(self, action, file: FileDiff, hunk: Hunk) -> None:
        self.busy.visible = True
        try:
            review = await blocking(action, self.job_id, hunk.id, file.path)
        except Exception as exc:
            notify_error(exc)
            await self.refresh()  # whatever changed under our feet is shown as it is now
            return
        finally:
            self.busy.visible = False
        changes = self.changes
        if changes is None:
            return
        index = next((i for i, f in enumerate(changes.files) if f.path == review.path), None)
        if index is not None:
            if review.file is None:
                del changes.files[index]
            else:
                changes.files[index] = review.file
        changes.accepted = {h for h in changes.accepted if self._path_of(h) not in (review.path, None)}
        changes.accepted |= review.accepted
        self._render()

    def _path_of(self, hunk_id: str) -> str | None:
        for file in self.changes.files if self.changes else []:
            if file.hunk(hunk_id):
                return file.path
        return None

    # -- merging -------------------------------------------------------------------------

    async def open_merge(self) -> None:
        with self.root:
            await self._open_merge()

    async def _open_merge(self) -> None:
        changes = self.changes
        if changes is None or not changes.base:
            return
        job = self.services.jobs.get(self.job_id)
        open_hunks = changes.hunk_count - len(changes.accepted)
        with ui.dialog() as dialog, ui.card().classes("max-w-full").style("width: 34rem"):
            ui.label(f"Merge into {printable(changes.base)}").classes("text-h6")
            ui.label(f"{printable(changes.branch)} → {printable(changes.base)}, in the project's own checkout").classes(
                "ws-mono text-caption").style("overflow-wrap: anywhere")
            how = ui.radio({"merge": "A merge commit (the job's commits stay as they are)",
                            "squash": "Squash: one new commit with all the changes"}, value="merge").props(
                "data-testid=merge-how")
            message = ui.input("Commit message", value=job.name).props(
                "outlined dense data-testid=merge-message").classes("w-full")
            ui.label("The worktree's uncommitted work is committed to the job's branch first. Everything still in "
                     "the changes is merged"
                     + (f", including {open_hunks} hunk{'s' if open_hunks != 1 else ''} not accepted yet."
                        if open_hunks else ".")).classes("text-caption")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat data-testid=merge-cancel")
                ui.button("Merge", icon="merge", on_click=lambda: dialog.submit(
                    (how.value == "squash", message.value or ""))).props("data-testid=merge-confirm")
        chosen = await dialog
        dialog.delete()
        if chosen:
            await self.merge(*chosen)

    async def merge(self, squash: bool, message: str) -> None:
        self.busy.visible = True
        self.merge_button.props("loading")
        try:
            result = await self.services.reviews.merge(self.job_id, squash, message)
        except Exception as exc:
            self.error.text = notify_error(exc)
            self.error.visible = True
            return
        finally:
            self.busy.visible = False
            self.merge_button.props(remove="loading")
        self.error.visible = False
        if result.merged:
            self.conflict_card.visible = False
            self.outcome.text = result.message
            self.outcome.visible = True
            toast(result.message, type="positive")
        else:
            self.outcome.visible = False
            self.conflicts = result.conflicts
            self.conflict_text.text = result.message
            self.conflict_files.clear()
            with self.conflict_files:
                for path in result.conflicts:
                    ui.label(printable(path)).classes("ws-mono").props("data-testid=changes-conflict-file")
            self.resolve_button.set_enabled(True)
            self.conflict_card.visible = True
        await self.refresh()

    def ask_to_resolve(self) -> None:
        try:
            self.services.reviews.ask_to_resolve(self.job_id, self.conflicts)
        except Exception as exc:
            notify_error(exc)
            return
        self.resolve_button.set_enabled(False)
        toast("Claude was asked to resolve the conflict: follow it in the Chat tab, then merge again.",
                  type="positive")
