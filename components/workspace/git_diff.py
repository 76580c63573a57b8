"""A diff's lines as colored HTML (added, removed, notes), escaped: the element showing them is not sanitized."""

from __future__ import annotations

import html

MAX_HUNK_LINES = 2000  # the browser's cost grows with lines; the rest is one `git diff` away in the terminal


def printable(text: str) -> str:
    """Text for the browser: bytes that are not UTF-8 (a Latin-1 file, a name from another system) as U+FFFD;
    the page's JSON cannot carry them as they come from the disk."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def hunk_lines_html(lines: tuple[str, ...] | list[str], limit: int = MAX_HUNK_LINES) -> str:
    """A hunk's lines, colored by their first character only: inside a hunk '+++ x' is an added line, not a
    file header."""
    css = {"+": "add", "-": "del", "\\": "meta"}
    out = [f'<div class="{css.get(line[:1], "")}">{html.escape(printable(line)) or "&nbsp;"}</div>'
           for line in lines[:limit]]
    if len(lines) > limit:
        out.append(f'<div class="meta">… {len(lines) - limit:,} more lines not shown</div>')
    return "".join(out)
