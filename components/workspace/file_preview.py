"""A file's preview: read-only CodeMirror with highlighting; binary and huge files are described, not loaded."""

from __future__ import annotations

from typing import get_args

from nicegui import ui
from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES

from components.workspace.common import editor_theme
from core.workspace.files.service import HEAD_BYTES, FilePreview

_EDITOR_LANGUAGES = {name.lower(): name for name in get_args(SUPPORTED_LANGUAGES)}
# core's names (shared with Pygments) that CodeMirror knows under another name
_ALIASES = {"bash": "Shell", "fish": "Shell", "cpp": "C++", "csharp": "C#", "objectivec": "Objective-C",
            "ini": "Properties files"}


def editor_language(language: str) -> str | None:
    """CodeMirror's name for a language, or None: an unknown name makes it log a console error."""
    return _ALIASES.get(language) or _EDITOR_LANGUAGES.get(language.lower())


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


class FilePreviewView:
    def __init__(self) -> None:
        with ui.row().classes("w-full items-center gap-2 no-wrap"):
            self.title = ui.label("Open a file from the tree or the search.").classes(
                "ws-mono ellipsis ws-wrap-phone").props("data-testid=preview-path")
            ui.space()
            self.meta = ui.label().classes("text-caption text-grey whitespace-nowrap").props(
                "data-testid=preview-meta")
        self.notice = ui.label().classes("text-caption").props("data-testid=preview-notice")
        self.notice.visible = False
        self.editor = ui.codemirror("", theme=editor_theme(), line_wrapping=False).classes("w-full ws-preview").style(
            "height: calc(100vh - 300px); min-height: 240px").props("data-testid=preview")
        self.editor.disable()  # a viewer: edits here would be lost and could race Claude's
        self.editor.visible = False

    def show(self, preview: FilePreview, line: int | None = None) -> None:
        self.title.text = preview.path
        self.meta.text = f"{human_size(preview.size)} · {preview.language}"
        if preview.is_binary:
            self._notice(f"Binary file ({human_size(preview.size)}): not shown.", "warning")
            self.editor.visible = False
            return
        if preview.too_large:
            self._notice(f"Large file ({human_size(preview.size)}): showing the first {HEAD_BYTES // 1024} KB "
                         "only.", "warning")
        else:
            self._notice("", "")
        self.editor.language = editor_language(preview.language)
        self.editor.value = preview.text or ""
        self.editor.decorations = [{"kind": "line", "line": line, "class": "ws-hit"}] if line else []
        self.editor.visible = True
        if line:
            self.editor.reveal_line(line)

    def show_error(self, path: str, message: str) -> None:
        self.title.text = path
        self.meta.text = ""
        self._notice(message, "negative")
        self.editor.visible = False

    def _notice(self, text: str, color: str) -> None:
        self.notice.text = text
        self.notice.visible = bool(text)
        self.notice.classes(replace=f"text-caption text-{color}" if color else "text-caption")
