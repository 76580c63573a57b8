"""The Git tab (spec G3): branch, ahead/behind, change groups, diffs, stage/unstage/discard of files or of single
hunks, commit, push, pull.

Every git call blocks on a subprocess, so it runs in a worker thread; the status
refreshes after each action and when a job of the project changes state (its
tools may have changed files).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from nicegui import background_tasks, ui

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
from components.workspace.git_changes import ChangeActions, render_groups
from components.workspace.git_diff import printable
from components.workspace.hunk_view import HunkAction, render_file
from core.errors import UserError
from core.services import Services
from core.workspace.git.hunks import FileDiff, Hunk
from core.workspace.git.service import GitStatus, LogEntry, touched_marks

LOG_LIMIT = 10


class GitPanel:
    def __init__(self, services: Services, project_id: str, job_id: str | None = None) -> None:
        ensure_style()
        self.services = services
        self.job_id = job_id
        self.git = services.workspaces.git(project_id, job_id)  # shared with the API
        self.status: GitStatus | None = None
        self.selected: tuple[str, bool] | None = None  # the file (and side) whose diff is shown
        self._refreshing = asyncio.Lock()
        self.actions = ChangeActions(self.show_diff, self.stage, self.unstage, self.confirm_discard)
        self.staged_hunk_actions = [HunkAction("Unstage", "remove", "unstage", self.unstage_hunk)]
        self.unstaged_hunk_actions = [HunkAction("Stage", "add", "stage", self.stage_hunk),
                                      HunkAction("Discard", "undo", "discard", self.confirm_discard_hunk,
                                                 color="negative")]
        self.project_id = project_id
        self.root = ui.column().classes("w-full q-pa-sm gap-2")
        when_shown(self._build)

    def _build(self) -> Awaitable[None]:
        with self.root:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.icon("account_tree", size="20px")
                self.branch = ui.label("…").classes("text-subtitle1 text-weight-medium").props(
                    "data-testid=git-branch")
                self.tracking = ui.label().classes("text-caption text-grey whitespace-nowrap").props(
                    "data-testid=git-tracking")
                ui.space()
                self.busy = ui.spinner(size="sm")
                self.busy.visible = False
                ui.button(icon="refresh", on_click=self.refresh).props(
                    "flat dense round aria-label=Refresh data-testid=git-refresh").tooltip("Refresh")
                # Icons only on a phone (common.CSS): with their words the row does not fit.
                self.pull_button = ui.button("Pull", icon="download", on_click=lambda: self._network("pull")).props(
                    "flat dense no-caps aria-label=Pull data-testid=git-pull").classes("ws-icons-phone")
                self.push_button = ui.button("Push", icon="upload", on_click=lambda: self._network("push")).props(
                    "flat dense no-caps aria-label=Push data-testid=git-push").classes("ws-icons-phone")
            self.output = ui.label().classes("w-full ws-pre ws-box q-pa-sm").props("data-testid=git-output")
            self.output.visible = False
            self.error = ui.label().classes("ws-error").props("data-testid=git-error")
            self.error.visible = False
            with ui.column().classes("gap-2") as self.not_repo:
                ui.label("This project is not a git repository.").props("data-testid=git-not-repo")
                ui.button("Initialise a repository (git init)", icon="add", on_click=self.init).props(
                    "no-caps data-testid=git-init")
            self.not_repo.visible = False
            # Built once and kept: a refresh must not lose a half-typed commit message or the open diff.
            # Side by side when there is room; on a phone the diff goes below the changes.
            with ui.row().classes("w-full gap-4 items-start").style("flex-wrap: wrap") as self.repo_view:
                with ui.column().classes("gap-1").style("flex: 1 1 300px; min-width: 0"):
                    self.message = ui.textarea(placeholder="Commit message").props(
                        "dense outlined autogrow data-testid=git-message").classes("w-full")
                    with ui.row().classes("w-full items-center gap-2"):
                        self.commit_button = ui.button("Commit", icon="check", on_click=self.commit).props(
                            "no-caps dense data-testid=git-commit")
                        self.stage_all_button = ui.button("Stage all", icon="playlist_add",
                                                          on_click=self.stage_all).props(
                            "flat no-caps dense data-testid=git-stage-all")
                    self.groups = ui.column().classes("w-full gap-1")
                    self.history = ui.column().classes("w-full gap-0")
                with ui.column().classes("gap-1").style("flex: 1.2 1 360px; min-width: 0"):
                    self.diff_title = ui.label("Select a file to see its diff.").classes(
                        "text-caption text-grey").props("data-testid=git-diff-title")
                    # One box per hunk, each with its own Stage / Unstage / Discard.
                    self.diff = ui.column().classes("w-full gap-2 no-wrap").style(
                        "max-height: calc(100vh - 330px); overflow: auto").props("data-testid=git-diff")
                    self.diff.visible = False
            self.repo_view.visible = False
            refresh_on_notices(self.services.hub, self._on_job_notice, self._is_project_job, interval=1.0)
        return self.refresh()

    def _is_project_job(self, notice: dict) -> bool:
        return notice.get("kind") == "job" and notice["job"]["project_id"] == self.project_id

    def _on_job_notice(self) -> None:
        background_tasks.create(self.refresh(), name="git refresh")

    # -- reading -------------------------------------------------------------------------

    async def refresh(self) -> None:
        async with self._refreshing:
            try:
                status = await blocking(self.git.status)
                log = await blocking(self.git.log, LOG_LIMIT) if status.is_repo and status.has_commits else []
            except Exception as exc:
                self._render_error(message_of(exc))
                return
            self.status = status
            self.selected = _still_changed(status, self.selected)
            self._render(status, log)
            if self.selected:
                await self.show_diff(*self.selected)

    def _render_error(self, text: str) -> None:
        self.error.text = text
        self.error.visible = True

    def _render(self, status: GitStatus, log: list[LogEntry]) -> None:
        self.error.visible = False
        self._header(status)
        self.not_repo.visible = not status.is_repo
        self.repo_view.visible = status.is_repo
        if not status.is_repo:
            return
        # Nothing staged: nothing to commit, and the button does not look like it would do something.
        staged = len(status.staged)
        self.commit_button.text = f"Commit ({staged} staged)" if staged else "Commit (nothing staged)"
        self.commit_button.set_enabled(bool(staged))
        if staged:
            self.commit_button.props(remove="flat")
        else:
            self.commit_button.props("flat")
        self.stage_all_button.set_enabled(bool(status.modified or status.untracked or status.conflicted))
        self.groups.clear()
        with self.groups:
            render_groups(status, self._touched(status), self.actions)
        self.history.clear()
        with self.history:
            self._log(log)
        if self.selected is None:
            self.diff_title.text = "Select a file to see its diff."
            self.diff.visible = False

    def _header(self, status: GitStatus) -> None:
        if not status.is_repo:
            self.branch.text, self.tracking.text = "no repository", ""
        else:
            self.branch.text = status.branch or f"detached at {status.head or '?'}"
            if status.upstream:
                self.tracking.text = f"{status.upstream} · ↑{status.ahead} ↓{status.behind}"
            else:
                self.tracking.text = "no upstream" if status.has_commits else "no commits yet"
        for button in (self.pull_button, self.push_button):
            button.set_enabled(status.is_repo)

    def _touched(self, status: GitStatus) -> set[str]:
        if not self.job_id:
            return set()
        try:
            return touched_marks(status, self.services.jobs.get(self.job_id).files_touched)
        except UserError:
            return set()

    def _log(self, log: list[LogEntry]) -> None:
        if not log:
            return
        ui.label("Recent commits").classes("text-subtitle2 q-mt-md")
        with ui.column().classes("w-full gap-0").props("data-testid=git-log"):
            for entry in log:
                with ui.row().classes("w-full no-wrap gap-2 items-baseline"):
                    ui.label(entry.short_sha).classes("ws-mono text-grey")
                    ui.label(entry.subject).classes("ellipsis").props("data-testid=git-log-subject")
                    ui.space()
                    ui.label(entry.author).classes("text-caption text-grey")

    async def show_diff(self, path: str, staged: bool) -> None:
        self.selected = (path, staged)
        try:
            files: list[FileDiff] = await blocking(self.git.diff_files, staged=staged, paths=[path])
        except Exception as exc:
            files, error = [], message_of(exc)
        else:
            error = None
        if self.selected != (path, staged):
            return  # another file was clicked meanwhile: its diff wins
        if error:
            self.diff_title.text = error
            self.diff.visible = False
            return
        side = "staged" if staged else "unstaged"
        added, removed = sum(f.added for f in files), sum(f.removed for f in files)
        self.diff_title.text = f"{printable(path)} · {side} · +{added} −{removed}"
        self.diff.clear()
        with self.diff:
            if not files:
                ui.label("(no textual difference)").classes("text-caption text-grey")
            for file in files:
                render_file(file, self.staged_hunk_actions if staged else self.unstaged_hunk_actions)
        self.diff.visible = True

    # -- changing ------------------------------------------------------------------------

    async def _act(self, fn, *args, done: str | None = None) -> bool:
        """Run one git action; its error is shown, the status is refreshed either way."""
        with self.root:  # the clicked button may be gone after the refresh: notify from the panel itself
            return await self._act_here(fn, *args, done=done)

    async def _act_here(self, fn, *args, done: str | None = None) -> bool:
        self.busy.visible = True
        try:
            await blocking(fn, *args)
        except Exception as exc:
            self._show_output(notify_error(exc), error=True)
            return False
        finally:
            self.busy.visible = False
            await self.refresh()
        self.output.visible = False  # an earlier error no longer applies
        if done:
            toast(done, type="positive")
        return True

    async def stage(self, paths: list[str]) -> None:
        await self._act(self.git.stage, paths)

    async def unstage(self, paths: list[str]) -> None:
        await self._act(self.git.unstage, paths)

    async def stage_hunk(self, file: FileDiff, hunk: Hunk) -> None:
        await self._act(self.git.stage_hunk, hunk.id, file.path)

    async def unstage_hunk(self, file: FileDiff, hunk: Hunk) -> None:
        await self._act(self.git.unstage_hunk, hunk.id, file.path)

    async def confirm_discard_hunk(self, file: FileDiff, hunk: Hunk) -> None:
        whole = file.change == "added" or hunk.whole_file
        with self.root:
            confirmed = await confirm_destructive(
                "Discard this change?", f"{printable(file.path)} · {printable(hunk.header)}",
                "The whole file is deleted or put back." if whole else
                "Only this hunk goes back to its staged or committed content.", action="Discard", testid="git-discard")
        if confirmed:
            await self._act(self.git.discard_hunk, hunk.id, file.path, done="Change discarded.")

    async def stage_all(self) -> None:
        await self._act(self.git.stage_all)

    async def init(self) -> None:
        await self._act(self.git.init, done="Repository initialised.")

    async def confirm_discard(self, paths: list[str]) -> None:
        untracked = {c.path for c in self.status.untracked} if self.status else set()
        deleting = [p for p in paths if p in untracked]
        with self.root:
            confirmed = await confirm_destructive(
                "Discard changes?", ", ".join(paths),
                "Untracked files are deleted." if deleting else
                "The file goes back to its staged or committed content.", action="Discard", testid="git-discard")
        if confirmed:
            await self._act(self.git.discard, paths, done="Changes discarded.")

    async def commit(self) -> None:
        message = self.message.value or ""
        if await self._act(self.git.commit, message, done="Committed."):
            self.message.value = ""

    async def _network(self, action: str) -> None:
        """Push or pull, with git's own output shown (it can say more than 'done')."""
        button = self.push_button if action == "push" else self.pull_button
        button.props("loading")
        self._show_output(f"git {action} …", error=False)
        try:
            output = await blocking(getattr(self.git, action))
        except Exception as exc:
            self._show_output(notify_error(exc), error=True)
        else:
            self._show_output(output or f"git {action}: done.", error=False)
        finally:
            button.props(remove="loading")
            await self.refresh()

    def _show_output(self, text: str, error: bool) -> None:
        self.output.text = text
        self.output.classes(replace="w-full ws-pre ws-box q-pa-sm" + (" ws-error" if error else ""))
        self.output.visible = True


def _still_changed(status: GitStatus, selected: tuple[str, bool] | None) -> tuple[str, bool] | None:
    """The diff to keep showing after a refresh: the same file, on the side where it still has changes."""
    if selected is None or not status.is_repo:
        return None
    path, staged = selected
    staged_paths = {c.path for c in status.staged}
    unstaged_paths = {c.path for c in (*status.modified, *status.untracked, *status.conflicted)}
    sides = [s for s in (staged, not staged) if path in (staged_paths if s else unstaged_paths)]
    return (path, sides[0]) if sides else None
