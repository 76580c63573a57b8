"""The one rename dialog: a project's (sidebar) and a job's (its header)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components.common.format import text_of_input
from core.errors import UserError


def open_rename_dialog(label: str, current: str, rename: Callable[[str], object], done: Callable[[], None]) -> None:
    """Ask for a new name; `rename` raises UserError for a bad one (shown in the dialog, which stays open)."""
    with ui.dialog() as dialog, ui.card().classes("w-96"):
        name = ui.input(label, value=current).props("autofocus data-testid=rename-input").classes("w-full")
        error = ui.label("").classes("text-negative").props("data-testid=rename-error")

        def save() -> None:
            try:
                rename(text_of_input(name))
            except UserError as exc:
                error.set_text(str(exc))
                return
            dialog.close()
            done()

        name.on("keydown.enter", save)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Rename", on_click=save).props("data-testid=rename-save")
    dialog.open()
