"""The reply a job is streaming, kept on disk as it grows (spec C12: a kill -9 keeps what was shown).

A kill -9 of the server does not lose the OS page cache, so what is written here (no
fsync) survives it; only a power loss can drop it. The file grows by small writes as the
text streams, a few times a second, instead of being rewritten whole: the cost of a write
is the new text, not the reply so far.

The format: sections, each a header line and a body line::

    {"i": 0, "type": "thinking", "at": 0}
    "the block's text, JSON-escaped, closed when the next section starts"
    {"i": 1, "type": "text", "at": 0}
    "the text still streaming when the process died, left open

A section puts its body into block `i` at character `at` (what was there from `at` on is
replaced), so a block may be continued or rewritten by a later section. The last body is
normally open: its closing quote comes with the next section. Reading is lenient: a
damaged line, a body cut inside an escape, or bytes that are no section are skipped.

Secrets are masked as everywhere on disk, with the server's redactor (`mask`, which keeps
lengths). A secret can arrive split over two writes, so each write starts again at the
last MASK_WINDOW characters already written (overwriting them in place, masked together
with the new text): a secret of up to that length is masked whole, on disk too, and what
was masked before stays masked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from storage.atomic_json import dumps, loads

Mask = Callable[[bytes], bytes]
MASK_WINDOW = 512  # characters rewritten with each write: longer than any key or token the server knows
_CLOSE = b'"\n'
_STAR = ord("*")  # what the redactor masks with


def _escape(text: str) -> bytes:
    """The JSON string body of `text`, without quotes. Escaping is per character, so the escape of a
    concatenation is the concatenation of the escapes: a tail's bytes can be found and rewritten."""
    try:
        return dumps(text)[1:-1]
    except (TypeError, ValueError):  # a lone surrogate, which JSON in UTF-8 cannot carry
        return dumps(text.encode("utf-8", "replace").decode("utf-8"))[1:-1]


class PartialReply:
    """Writes one job's streaming reply to its file. Not thread-safe: one owner (the event loop) writes."""

    def __init__(self, path: Path, mask: Mask | None = None) -> None:
        self.path = path
        self._mask = mask
        self._size = 0  # bytes written (the file's length while we own it)
        self._truncate = True  # the next write starts the file afresh
        self._open: tuple[int, str, int] | None = None  # (index, type, end char) of the open body
        self._tail = ""  # the open body's last characters (at most MASK_WINDOW), already on disk...
        self._tail_disk = b""  # ...as these bytes (escaped, masked)...
        self._tail_at = 0  # ...from this byte offset

    def reset(self) -> None:
        """Forget what was written: the next write replaces the file (a new message started)."""
        self._size = 0
        self._truncate = True
        self._open = None
        self._tail = ""
        self._tail_disk = b""

    def write(self, pieces: Iterable[tuple[int, str, int, str]]) -> None:
        """Put each (block index, block type, at, text) in place: `text` goes into the block at character `at`.
        One write call; on an error the file is started afresh next time (its state is then unknown)."""
        start = self._size
        out: list[bytes] = []
        length = 0
        for index, kind, at, text in pieces:
            if not text:
                continue
            continues = not out and self._open == (index, kind, at)
            if continues:  # the open body: its tail is written again with the new text, masked together
                start = self._tail_at
                window = self._tail + text
            else:
                head = (_CLOSE if self._open is not None else b"") + \
                    dumps({"i": index, "type": kind, "at": at}) + b'\n"'
                out.append(head)
                length += len(head)
                window = text
            body_at = start + length
            body = _escape(window)
            shown = self._mask(body) if self._mask is not None else body
            if continues and self._tail_disk != body[:len(self._tail_disk)]:
                # A secret was masked in the tail before, and may start before the window now: it stays masked.
                old = self._tail_disk
                shown = bytes(_STAR if o == _STAR else n for o, n in zip(old, shown, strict=False)) + shown[len(old):]
            out.append(shown)
            length += len(shown)
            self._open = (index, kind, at + len(text))
            self._tail = window[-MASK_WINDOW:]
            tail_length = len(_escape(self._tail))
            self._tail_disk = shown[len(shown) - tail_length:]
            self._tail_at = body_at + len(shown) - tail_length
        if not out:
            return
        data = b"".join(out)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if self._truncate else 0)
        try:
            fd = os.open(self.path, flags, 0o600)
            try:
                view = memoryview(data)
                offset = start
                while view:  # regular-file writes are normally complete; loop for a short one
                    written = os.pwrite(fd, view, offset)
                    view, offset = view[written:], offset + written
            finally:
                os.close(fd)
        except BaseException:
            self.reset()
            raise
        self._truncate = False
        self._size = start + len(data)

    def replace(self, blocks: list[dict[str, Any]]) -> None:
        """The whole reply at once: these blocks (type, text) in order."""
        self.reset()
        self.write((i, str(b.get("type") or "text"), 0, str(b.get("text") or "")) for i, b in enumerate(blocks))


def read_partial(data: bytes) -> list[dict[str, Any]]:
    """The blocks (type, text), in index order, of a partial reply file's bytes; [] for garbage."""
    if data.lstrip().startswith(b"["):
        return _read_legacy(data)
    blocks: dict[int, dict[str, Any]] = {}
    header: dict[str, Any] | None = None
    for line in data.split(b"\n"):
        if line.startswith(b"{"):
            header = _header(line)
            continue
        if header is not None and line.startswith(b'"'):
            text = _body(line)
            if text is not None:
                index, at = header["i"], header["at"]
                before = blocks[index]["text"][:at] if index in blocks else ""
                blocks[index] = {"type": header["type"], "text": before + text}
        header = None
    return [blocks[i] for i in sorted(blocks)]


def _header(line: bytes) -> dict[str, Any] | None:
    try:
        header = loads(line)
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    index, kind, at = header.get("i"), header.get("type"), header.get("at")
    if type(index) is not int or not isinstance(kind, str) or type(at) is not int or at < 0:
        return None
    return header


def _body(line: bytes) -> str | None:
    """A closed body, or the open one the process died writing (closed here; a cut escape is trimmed)."""
    candidates = [line] if len(line) > 1 and line.endswith(b'"') else []
    candidates += [line[:len(line) - cut] + b'"' for cut in range(0, 6) if len(line) - cut >= 1]
    for candidate in candidates:
        with contextlib.suppress(ValueError):
            text = loads(candidate)
            if isinstance(text, str):
                return text
    return None


def _read_legacy(data: bytes) -> list[dict[str, Any]]:
    """The format before this one: the blocks as one JSON array, rewritten whole about once a second."""
    try:
        blocks = loads(data)
    except ValueError:
        return []
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []
