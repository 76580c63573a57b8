"""Fuzzy file-name search and content search (with line numbers and context); a result opens its file."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from nicegui import ui

from components.workspace.common import blocking, message_of
from core.workspace.files.service import ContentMatch, FileService, Match

NAME_LIMIT = 50
CONTENT_LIMIT = 200
CONTEXT_LINES = 2

Opener = Callable[[str, int | None], Awaitable[None]]


class FileSearchView:
    def __init__(self, service: FileService, on_open: Opener) -> None:
        self.service = service
        self.on_open = on_open
        self._generation = 0  # a slow search must not overwrite the results of a newer one
        self.query = ui.input(placeholder="Search files…").props(
            "dense outlined clearable debounce=250 data-testid=file-search").classes("w-full")
        with ui.row().classes("w-full items-center gap-2"):
            self.mode = ui.toggle({"names": "Names", "content": "Content"}, value="names").props(
                "dense no-caps data-testid=file-search-mode")
            with ui.row().classes("items-center gap-2") as content_options:
                self.regex = ui.checkbox("Regex").props("dense data-testid=file-search-regex")
                self.case = ui.checkbox("Match case").props("dense")
            content_options.bind_visibility_from(self.mode, "value", value="content")
        self.status = ui.label().classes("text-caption text-grey").props("data-testid=file-search-status")
        self.results = ui.column().classes("w-full gap-0").props("data-testid=file-search-results")
        # Names follow the typing; content search reads files, so it waits for Enter.
        self.query.on_value_change(lambda: self.mode.value == "names" and self.search())
        # Enter carries the box's text: the debounced value may not have reached the server yet.
        self.query.on("keydown.enter", lambda e: self.search(e.args), js_handler="(e) => emit(e.target.value)")
        self.mode.on_value_change(self.search)
        for box in (self.regex, self.case):
            box.on_value_change(lambda: self.mode.value == "content" and self.search())

    async def search(self, typed: str | None = None) -> None:
        self._generation += 1
        generation = self._generation
        query = (self.query.value if typed is None else typed or "").strip()
        if not query:
            self.status.text = ""
            self.results.clear()
            return
        self.status.text = "Searching…"
        try:
            if self.mode.value == "names":
                found = await blocking(self.service.search_names, query, NAME_LIMIT)
            else:
                found = await blocking(self.service.search_content, query, regex=self.regex.value,
                                       case_sensitive=self.case.value, limit=CONTENT_LIMIT, context=CONTEXT_LINES)
        except Exception as exc:  # a bad regex, git missing: say so where the results would be
            if generation == self._generation:
                self.results.clear()
                self.status.text = ""
                with self.results:
                    ui.label(message_of(exc)).classes("ws-error text-caption").props("data-testid=file-search-error")
            return
        if generation != self._generation:
            return
        self.results.clear()
        with self.results:
            if self.mode.value == "names":
                self._names(found)
            else:
                self._content(found)

    def _names(self, matches: list[Match]) -> None:
        self.status.text = f"{len(matches)} file{'s' if len(matches) != 1 else ''}" + (
            f" (first {NAME_LIMIT})" if len(matches) >= NAME_LIMIT else "")
        for match in matches:
            folder, _, name = match.path.rpartition("/")
            with ui.row().classes("w-full ws-row items-baseline gap-2 no-wrap q-px-xs").props(
                    "data-testid=file-search-hit") as row:
                ui.label(name).classes("ws-mono")
                ui.label(folder).classes("text-caption text-grey ellipsis")
            row.on("click", lambda p=match.path: self.on_open(p, None))

    def _content(self, matches: list[ContentMatch]) -> None:
        files = len({m.path for m in matches})
        more = f" (first {CONTENT_LIMIT})" if len(matches) >= CONTENT_LIMIT else ""
        self.status.text = f"{len(matches)} line{'s' if len(matches) != 1 else ''} in {files} file" \
                           f"{'s' if files != 1 else ''}{more}"
        current = None
        for match in matches:
            if match.path != current:
                current = match.path
                ui.label(match.path).classes("ws-mono text-weight-bold q-mt-sm")
            # One element per hit, not per line: 200 hits with context would be a thousand elements.
            hit = ui.html(_hit_html(match), sanitize=False).classes("w-full ws-row ws-pre q-px-xs").props(
                "data-testid=file-search-hit")
            hit.on("click", lambda p=match.path, n=match.line_number: self.on_open(p, n))


def _hit_html(match: ContentMatch) -> str:
    """The matching line and its context, numbered; every text is escaped here (the element is not sanitized)."""
    first = match.line_number - len(match.before)
    rows = [(first + i, line, "text-grey") for i, line in enumerate(match.before)]
    rows.append((match.line_number, match.line, "text-weight-bold"))
    rows += [(match.line_number + i, line, "text-grey") for i, line in enumerate(match.after, start=1)]
    # The number in a column of its own: a long line wraps under its text, not under the numbers.
    return "".join(f'<div class="ws-hit-line {css}"><span class="ws-hit-no">{number}</span>'
                   f'<span class="ws-hit-text">{html.escape(line)}</span></div>' for number, line, css in rows)
