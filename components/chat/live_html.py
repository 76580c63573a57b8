"""An element whose content changes many times a second: streamed text, the working timer.

NiceGUI renders the page from one Vue render function, so every element update re-renders and diffs the
whole page: about 19 ms for a job page in software-rendered Chromium, ten times a second per streaming
job. `show()` sends the new HTML with a method call instead, which only this element's component handles.
The first content goes with the element's creation; the browser sanitizes whatever it is given, and
markdown goes through the same rewrite as `components.common.markdown.Markdown` (no image loads, spec J6).
"""

from __future__ import annotations

import html as html_lib

from nicegui import ui

from components.common.markdown import ensure_assets, markdown_html


class LiveHtml(ui.element, component="live_html.js"):
    def __init__(self, html: str = "") -> None:
        super().__init__()
        self._props["html"] = html
        self._sent_once = False
        self.content = ""  # the text shown, before conversion (for tests and the user fixture)

    def show(self, html: str) -> None:
        if html == self._props["html"]:
            return
        with self._props.suspend_updates():  # no update for this: a later full one (a resync) carries it
            self._props["html"] = html
        if not self._sent_once:
            # The element may still be on its way to the browser, where a method call would find nothing:
            # the first change goes as an ordinary update, which also creates it there if need be.
            self._sent_once = True
            self.update()
            return
        self.run_method("show", html)

    def _displayed_contents(self, *, only_visible: bool) -> list:
        return [self.content]  # what `user.should_see(content=...)` matches in component tests

    def show_text(self, text: str) -> None:
        self.content = text
        self.show(html_lib.escape(text))

    def show_markdown(self, text: str, open_code: int | None = None) -> None:
        """`text` as markdown; from `open_code` on, a code block still being written (its fence line first).

        That block is shown as plain code until it closes: converted as markdown it would be a paragraph of
        raw text, and highlighting it again at every flush costs more the longer it gets.
        """
        ensure_assets()
        self.content = text
        if open_code is None:
            self.show(markdown_html(text))
            return
        code = text[open_code:].partition("\n")[2]
        self.show((markdown_html(text[:open_code]) if open_code else "")
                  + f'<div class="codehilite"><pre><code>{html_lib.escape(code, quote=False)}</code></pre></div>')
