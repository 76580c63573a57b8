"""Where markdown can be cut so that each piece, converted alone, renders as it would inside the whole.

Converting markdown costs time that grows faster than its length (0.7 MB: 1.25 s in one piece, half that
in 200-line pieces), and what the browser gets grows with it. Two users: the reply being streamed converts
the part that later text cannot change once (`stable_prefix`), and a long finished reply is converted and
shown in parts (`parts`).

A cut goes at the start of a line that follows a blank line and cannot continue the block above it: not
inside a code fence or a raw HTML block, not before an indented line (a list item's continuation, indented
code) or a list item (a loose list; a cut would restart its numbering). Reference links are the one thing
that reaches across blocks: `link_definitions` are added to every piece, where they render as nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_MAY_CONTINUE = re.compile(r"[ \t]|[-*+](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)")
# Raw HTML at the start of a line holds what follows (a <details> block, a comment) until it closes: markdown2
# keeps some such blocks whole, and the browser nests what follows an open tag inside it.
_HTML_OPENING = re.compile(r" {0,3}<(!--|[a-zA-Z][a-zA-Z0-9-]*(?=[\s/>]|$))")
_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# markdown2's own pattern for a link definition, which it strips from anywhere in the text.
_LINK_DEFINITION = re.compile(r"""
    ^[ ]{0,3}\[(.+)\]:[ \t]*\n?[ \t]*<?(.+?)>?[ \t]*
    (?:\n?[ \t]*(?<=\s)['"(]([^\n]*)['")][ \t]*)?
    (?:\n+|\Z)""", re.X | re.M)


def _html_closer(line: str) -> str | None:
    """What closes the raw HTML block `line` opens, or None when it opens none (or closes it itself)."""
    opening = _HTML_OPENING.match(line)
    if not opening:
        return None
    name = opening.group(1).lower()
    if name in _VOID_TAGS or line.rstrip().endswith("/>"):
        return None
    closer = "-->" if name == "!--" else f"</{name}>"
    return None if closer in line[opening.end():].lower() else closer


def _walk(text: str, start: int) -> Iterator[tuple[str, int]]:
    """("cut", position) at every place a cut may go, ("open", ...) and ("close", ...) at the lines that open and
    close a code fence; among the complete lines of `text` after `start`."""
    fence: str | None = None
    html: str | None = None
    after_blank = False
    position = start
    for line in text[start:].split("\n")[:-1]:  # the last piece has no newline yet: it may still grow
        if fence:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
                yield "close", position
            after_blank = False
        elif html:
            if html in line.lower():
                html = None
            after_blank = not line.strip()
        else:
            if after_blank and line and not _MAY_CONTINUE.match(line):
                yield "cut", position
            opening = _FENCE.match(line)
            fence = opening.group(1) if opening else None
            if fence:
                yield "open", position
            html = None if fence else _html_closer(line)
            after_blank = not fence and not html and not line.strip()
        position += len(line) + 1


def cuts(text: str, start: int = 0) -> Iterator[int]:
    """Every place after `start` where `text` can be cut, in order, among its complete lines (the last
    piece, with no newline yet, may still grow). `start` must itself be such a place (or 0)."""
    return (position for kind, position in _walk(text, start) if kind == "cut")


def open_fence(text: str, start: int = 0) -> int | None:
    """Where the code fence still open at the end of `text` begins (after `start`, a place to cut), or None."""
    opened = None
    for kind, position in _walk(text, start):
        if kind != "cut":
            opened = position if kind == "open" else None
    return opened


def stable_prefix(text: str, start: int = 0) -> int:
    """Where the part of `text` that later text cannot change ends (at least `start`)."""
    split = start
    for split in cuts(text, start):  # noqa: B007 - the last one is the answer
        pass
    return split


def parts(text: str, size: int) -> list[str]:
    """`text` in pieces of at least `size` characters (but the last), cut where each renders alone as it would
    in the whole; a piece is longer where no cut comes sooner (one long code block). Joined, they are `text`."""
    pieces: list[str] = []
    begin = 0
    for cut in cuts(text + "\n"):  # the text is complete: its last line too
        if cut - begin >= size:
            pieces.append(text[begin:cut])
            begin = cut
    pieces.append(text[begin:])
    return pieces


def link_definitions(text: str) -> str:
    """The reference-link definitions in `text`, to be added to each piece of it (they render as nothing)."""
    if "]:" not in text:
        return ""
    return "".join(match.group(0).rstrip("\n") + "\n" for match in _LINK_DEFINITION.finditer(text))
