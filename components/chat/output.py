"""Long text in a card: the first lines inline, everything in a full-screen dialog on demand.

The dialog is built on the first click, so a transcript full of long outputs
costs the page only the previews.
"""

from __future__ import annotations

from nicegui import ui

from components.chat.fmt import fenced, mini_button, tag
from components.common.markdown import Markdown

PREVIEW_LINES = 12
PREVIEW_CHARS = 4000
FULL_VIEW_CHARS = 2_000_000  # beyond this even the full view is cut: the browser would choke


def preview(text: str, max_lines: int = PREVIEW_LINES) -> tuple[str, bool]:
    """The head of `text` and whether anything was left out."""
    lines = text.splitlines()
    head = "\n".join(lines[:max_lines])
    whole = len(lines) <= max_lines and len(head) <= PREVIEW_CHARS
    return head[:PREVIEW_CHARS], not whole


def text_block(text: str, language: str = "", classes: str = "") -> ui.element:
    """Highlighted when a language is known (markdown + Pygments), plain pre-wrapped text otherwise."""
    if language:
        return Markdown(fenced(text, language)).classes(f"ccs-code w-full {classes}")
    return ui.label(text).classes(f"ccs-pre w-full {classes}")


def output(text: str, *, title: str = "Output", language: str = "", max_lines: int = PREVIEW_LINES,
           classes: str = "") -> None:
    """Show `text` collapsed to `max_lines`; a button opens the whole of it full screen."""
    head, cut = preview(text, max_lines)
    text_block(head, language, classes)
    if cut:
        full_view_button(text, title, language)


def full_view_button(text: str, title: str, language: str = "") -> None:
    container = ui.element("div")
    made: list[ui.dialog] = []

    def open_full() -> None:
        if not made:
            with container:
                made.append(fullscreen_dialog(title, text, language))
        made[0].open()

    count = len(text.splitlines())
    tag(mini_button("open_in_full", open_full, label=f"Show all {count:,} lines"), "show-full")


def fullscreen_dialog(title: str, text: str, language: str = "") -> ui.dialog:
    shown = text if len(text) <= FULL_VIEW_CHARS else text[:FULL_VIEW_CHARS] + "\n… (cut at 2 MB)"
    with ui.dialog().props("maximized") as dialog, ui.card().classes("w-full h-full no-wrap"):
        tag(dialog, "full-view")
        with ui.row().classes("w-full items-center no-wrap"):
            ui.label(title).classes("text-subtitle1 ellipsis grow")
            ui.button(icon="close", on_click=dialog.close).props("flat round dense")
        with ui.scroll_area().classes("w-full grow"):
            text_block(shown, language)
    return dialog
