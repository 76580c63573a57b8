"""Facts about unified diff text shared by the chat's Edit cards and the git panel."""

from __future__ import annotations


def diff_stats(diff: str) -> tuple[int, int]:
    """(added, removed) line counts, not counting the ---/+++ file headers."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed
