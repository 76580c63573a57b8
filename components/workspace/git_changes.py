"""The change groups of the Git tab: staged, conflicted, modified and untracked files with their actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nicegui import ui

from core.workspace.git.status import GitChange, GitStatus

MAX_ROWS = 500  # per group; git status itself stops at 5,000
_LETTERS = {"modified": "M", "added": "A", "deleted": "D", "renamed": "R", "copied": "C", "typechange": "T",
            "untracked": "U", "conflicted": "!"}
_COLORS = {"added": "positive", "untracked": "positive", "deleted": "negative", "conflicted": "negative"}


@dataclass
class ChangeActions:
    show_diff: Callable[[str, bool], object]  # (path, staged)
    stage: Callable[[list[str]], object]
    unstage: Callable[[list[str]], object]
    discard: Callable[[list[str]], object]


def render_groups(status: GitStatus, touched: set[str], actions: ChangeActions) -> None:
    groups = [("Staged", "staged", status.staged, True), ("Conflicts", "conflicted", status.conflicted, False),
              ("Changes", "modified", status.modified, False), ("Untracked", "untracked", status.untracked, False)]
    if not any(changes for _, _, changes, _ in groups):
        ui.label("No changes: the working tree is clean.").classes("text-grey").props("data-testid=git-clean")
    for title, key, changes, staged in groups:
        if not changes:
            continue
        with ui.row().classes("w-full items-center no-wrap q-mt-sm"):
            ui.label(f"{title} ({len(changes)})").classes("text-subtitle2").props(f"data-testid=git-group-{key}")
            ui.space()
            paths = [c.path for c in changes]
            if staged:
                ui.button("Unstage all", on_click=lambda p=paths: actions.unstage(p)).props(
                    "flat dense size=sm no-caps data-testid=git-unstage-all")
        with ui.column().classes("w-full gap-0").props(f"data-testid=git-{key}"):
            for change in changes[:MAX_ROWS]:
                _row(change, staged, change.path in touched, actions)
            if len(changes) > MAX_ROWS:
                ui.label(f"… {len(changes) - MAX_ROWS:,} more").classes("text-caption text-grey")
    if status.truncated:
        ui.label("git reported more changes than shown.").classes("text-caption text-warning")


def _row(change: GitChange, staged: bool, touched: bool, actions: ChangeActions) -> None:
    with ui.row().classes("w-full ws-row items-center gap-1 no-wrap q-px-xs").props("data-testid=git-file") as row:
        row.props["data-path"] = change.path
        ui.badge(_LETTERS.get(change.change, "?"), color=_COLORS.get(change.change, "warning")).props(
            "outline").tooltip(change.change)
        shown = f"{change.orig_path} → {change.path}" if change.orig_path else change.path
        # Cut short with … where there is room for the whole row; wrapped on a phone, so it can be read.
        name = ui.label(shown).classes("ws-mono ellipsis grow ws-wrap-phone").style("min-width: 0")
        name.props["title"] = shown
        if touched:
            ui.icon("smart_toy", size="16px", color="primary").props("data-testid=git-touched").tooltip(
                "Touched by this job")
        # The buttons' clicks must not also open the diff (the row's own click).
        with ui.row().classes("gap-0 no-wrap").on("click", js_handler="(e) => e.stopPropagation()"):
            if staged:
                ui.button(icon="remove", on_click=lambda p=change.path: actions.unstage([p])).props(
                    "flat dense round size=sm aria-label=Unstage data-testid=git-unstage").tooltip("Unstage")
            elif change.change != "conflicted":
                ui.button(icon="undo", on_click=lambda p=change.path: actions.discard([p])).props(
                    "flat dense round size=sm aria-label=Discard data-testid=git-discard").tooltip("Discard changes")
                ui.button(icon="add", on_click=lambda p=change.path: actions.stage([p])).props(
                    "flat dense round size=sm aria-label=Stage data-testid=git-stage").tooltip("Stage")
            else:
                ui.button(icon="add", on_click=lambda p=change.path: actions.stage([p])).props(
                    "flat dense round size=sm aria-label='Mark resolved' data-testid=git-stage").tooltip(
                    "Mark resolved (stage)")
    row.on("click", lambda p=change.path, s=staged: actions.show_diff(p, s))
