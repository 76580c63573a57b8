"""A unified diff as colored HTML lines (added, removed, hunk headers, file headers)."""

from __future__ import annotations

import html

MAX_DIFF_LINES = 4000  # the browser's cost grows with lines; the rest is one `git diff` away in the terminal


def _css(line: str) -> str:
    if line.startswith(("+++", "---", "diff ", "index ", "new file", "deleted file", "similarity", "rename ",
                        "old mode", "new mode", "Binary files")):
        return "meta"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return ""


def diff_html(diff: str) -> str:
    """Every line escaped (the element showing this is not sanitized), at most MAX_DIFF_LINES of them."""
    lines = diff.splitlines()
    shown = lines[:MAX_DIFF_LINES]
    out = [f'<div class="{_css(line)}">{html.escape(line) or "&nbsp;"}</div>' for line in shown]
    if len(lines) > MAX_DIFF_LINES:
        out.append(f'<div class="meta">… {len(lines) - MAX_DIFF_LINES:,} more lines not shown</div>')
    return "".join(out)
