"""The same files under two roots: the server's folders and a node's (spec O2).

A job on a node works in a clone at another path and keeps the CLI's files in another
config folder. What crosses between them (the CLI's messages, what the server writes to
it, the CLI's session file) is rewritten so that each side only ever sees its own paths:
the server's job log, approvals and file tracking hold server paths, the CLI node paths.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_NOT_ALPHANUMERIC = re.compile(r"[^a-zA-Z0-9]")
_LONGEST_KEY = 200  # the CLI's own limit; longer keys get a hash it computes differently from us


def project_key(directory: str) -> str:
    """The folder name the CLI files a directory's conversations under (`projects/<key>/<session>.jsonl`)."""
    key = _NOT_ALPHANUMERIC.sub("-", directory)
    if len(key) > _LONGEST_KEY:
        raise ValueError(f"{directory} is too long a path for a job that moves between machines")
    return key


@dataclass(frozen=True)
class PathMap:
    """Pairs of (server path, node path), longest first so a root never replaces part of a deeper one."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, *pairs: tuple[str, str]) -> PathMap:
        kept = [(s.rstrip("/"), n.rstrip("/")) for s, n in pairs if s and n and s != n]
        return cls(tuple(sorted(kept, key=lambda p: -max(len(p[0]), len(p[1])))))

    def to_node(self, text: str) -> str:
        return self._swap(text, 0, 1)

    def to_server(self, text: str) -> str:
        return self._swap(text, 1, 0)

    def message_to_server(self, message: dict[str, Any]) -> dict[str, Any]:
        """A parsed CLI message with node paths made server paths (untouched, and not copied, when none)."""
        raw = json.dumps(message, ensure_ascii=False)
        swapped = self._swap(raw, 1, 0, escaped=True)
        return message if swapped is raw else json.loads(swapped)

    def _swap(self, text: str, src: int, dst: int, escaped: bool = False) -> str:
        for pair in self.pairs:
            old, new = pair[src], pair[dst]
            if escaped:  # inside JSON text a path's backslashes and quotes are escaped
                old, new = json.dumps(old)[1:-1], json.dumps(new)[1:-1]
            if old in text:
                text = text.replace(old, new)
        return text
