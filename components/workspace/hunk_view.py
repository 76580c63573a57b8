"""One file's diff as hunks, each with its own buttons (spec G3, L2): the Git tab's Stage, Unstage and Discard,
the Changes tab's Accept and Reject.

A hunk is a small box: its header line (the @@ numbers and context, its +/- counts, a mark, the
buttons) above its colored lines. Whole-file items (a binary file...) say why they are whole; items
that cannot be acted on (a submodule, a conflict) have no buttons. Long files show their first
hunks, and the rest on request: a diff is built on demand, one file at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from components.workspace.git_diff import hunk_lines_html, printable
from core.workspace.git.hunks import NOT_ACTIONABLE, FileDiff, Hunk

FIRST_HUNKS = 50


@dataclass
class HunkAction:
    label: str
    icon: str
    key: str  # the button's data-testid is hunk-<key>
    run: Callable[[FileDiff, Hunk], Any]
    color: str | None = "primary"
    shown: Callable[[Hunk], bool] = lambda hunk: True


def render_file(file: FileDiff, actions: list[HunkAction], accepted: set[str] | frozenset[str] = frozenset(),
                limit: int = FIRST_HUNKS) -> None:
    """The hunks of `file` in the current container (styled by the panels' `ensure_style`); `accepted` hunks
    carry an 'Accepted' mark."""
    if not file.hunks:
        ui.label("No textual difference.").classes("text-caption text-grey")
        return
    shown = file.hunks[:limit]
    for hunk in shown:
        _hunk(file, hunk, actions, hunk.id in accepted)
    if len(file.hunks) > limit:
        rest = ui.column().classes("w-full gap-2")
        with rest:
            def more() -> None:
                rest.clear()
                with rest:
                    for hunk in file.hunks[limit:]:
                        _hunk(file, hunk, actions, hunk.id in accepted)

            ui.button(f"Show {len(file.hunks) - limit:,} more hunks", on_click=more).props(
                "flat dense no-caps data-testid=hunks-more")


def _hunk(file: FileDiff, hunk: Hunk, actions: list[HunkAction], accepted: bool) -> None:
    with ui.column().classes("w-full gap-0 ws-box ws-hunk" + (" ws-hunk-done" if accepted else "")).props(
            f"data-testid=hunk data-hunk={hunk.id}"):
        with ui.row().classes("w-full items-center q-px-xs ws-hunk-head").style("gap: 0 8px"):
            ui.label(printable(hunk.header)).classes("ws-mono ellipsis text-grey").style("flex: 1 1 8rem; min-width: 0")
            # Counts, mark and buttons wrap as one group, at the right.
            with ui.row().classes("items-center gap-1 no-wrap").style("margin-left: auto"):
                if hunk.added or hunk.removed:
                    ui.label(f"+{hunk.added} −{hunk.removed}").classes("ws-mono text-grey q-mr-xs")
                if accepted:
                    ui.badge("Accepted", color="positive").props("outline data-testid=hunk-accepted")
                if hunk.kind not in NOT_ACTIONABLE:
                    for action in actions:
                        if action.shown(hunk):
                            ui.button(action.label, icon=action.icon, color=action.color,
                                      on_click=lambda a=action: a.run(file, hunk)).classes("ws-hunk-button").props(
                                f"flat dense no-caps padding='0 6px' data-testid=hunk-{action.key}")
        if hunk.note:
            ui.label(hunk.note).classes("text-caption q-px-sm q-py-xs").props("data-testid=hunk-note")
        if hunk.kind in ("text", "mode", "lfs", "submodule", "conflict") and hunk.lines:
            lines = hunk.lines if hunk.kind in ("text", "mode") else tuple(
                line for line in hunk.lines if not line.startswith("index "))
            ui.html(hunk_lines_html(lines), sanitize=False).classes("w-full ws-diff q-pa-xs")
