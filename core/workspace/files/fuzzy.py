"""Fuzzy ranking of file paths (spec G2 name search, F3 `@` completion) over an index snapshot.

Scoring every one of 100,000 paths carefully would blow a 100 ms budget, so three
cheap passes over the *distinct* basenames (about half as many as files) make a
shortlist: RapidFuzz's partial_ratio (fragments with typos), ratio on the stems
(whole names misspelled) and a regex subsequence scan (abbreviations). A finer
score ranks the shortlist, and the ranked names expand to their paths, shortest
first. A query with a '/' also weighs the directories.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import heapq
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

MAX_SUBSEQUENCE_HITS = 20_000
ABBREVIATION_BONUS = 15.0
_WORD_BREAK = re.compile(r"[\W_]+|(?<=[a-z0-9])(?=[A-Z])")


@dataclass
class Match:
    path: str
    score: float


@dataclass
class Snapshot:
    """An immutable view of the index; searches use one while a refresh builds the next."""

    paths: list[str]  # relative POSIX paths, in case-insensitive order
    sizes: list[int]
    lowered: list[str]  # the paths lower-cased, same order: sorted, so a prefix is a bisect away
    names: list[str]  # distinct lower-cased basenames: many files share one (index.ts, __init__.py)
    by_name: dict[str, list[int]]  # basename -> indices into paths
    dirs: list[str]  # distinct lower-cased parent directories ('' for the root)
    by_dir: dict[str, list[int]]
    names_text: str  # the names joined by newlines, for one regex pass over all of them
    name_starts: list[int]
    stems: list[str]  # distinct names without their extension
    names_by_stem: dict[str, list[str]]
    truncated: bool = False
    venv_dirs: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, items: list[tuple[str, int]], truncated: bool, venv_dirs: list[str] | None = None) -> Snapshot:
        with _collector_paused():
            return cls._build(items, truncated, venv_dirs)

    @classmethod
    def _build(cls, items: list[tuple[str, int]], truncated: bool, venv_dirs: list[str] | None) -> Snapshot:
        rows = sorted((path.lower(), path, size) for path, size in items)
        lowered = [row[0] for row in rows]
        by_name: dict[str, list[int]] = {}
        by_dir: dict[str, list[int]] = {}
        for i, path in enumerate(lowered):
            parent, _, name = path.rpartition("/")
            by_name.setdefault(name, []).append(i)
            by_dir.setdefault(parent, []).append(i)
        names = list(by_name)
        names_by_stem: dict[str, list[str]] = {}
        for name in names:
            names_by_stem.setdefault(name.rsplit(".", 1)[0], []).append(name)
        starts = [0, *itertools.accumulate(len(name) + 1 for name in names)][:len(names)]
        return cls(paths=[row[1] for row in rows], sizes=[row[2] for row in rows], lowered=lowered, names=names,
                   by_name=by_name, dirs=list(by_dir), by_dir=by_dir, names_text="\n".join(names),
                   name_starts=starts, stems=list(names_by_stem), names_by_stem=names_by_stem, truncated=truncated,
                   venv_dirs=venv_dirs or [])


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a build allocates ~300,000 acyclic containers for 100,000
    files, and the collections they trigger (scanning the whole heap) doubled its time, measured."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


EMPTY = Snapshot.build([], False)


def search(snap: Snapshot, query: str, limit: int = 50) -> list[Match]:
    """Fuzzy search on file names, weighted with their directories when the query has a '/'."""
    query = query.strip().lower()
    if not query or limit <= 0:
        return []
    dir_query, _, name_query = query.rpartition("/")
    dir_query = dir_query.strip("/")
    scores: dict[int, float] = {}
    if name_query:
        for index, score in _name_candidates(snap, name_query, max(200, 4 * limit), limit):
            scores[index] = score
    if dir_query:
        near_dirs = process.extract(dir_query, snap.dirs, scorer=fuzz.partial_ratio, processor=None, limit=100,
                                    score_cutoff=60)
        for d, _, _ in near_dirs:
            for index in snap.by_dir[d][:1000]:
                scores.setdefault(index, 0.0)
        for index in list(scores):
            parent, _, name = snap.paths[index].rpartition("/")
            dir_score = fuzz.partial_ratio(dir_query, parent.lower())
            name_score = _name_score(name_query, name.lower(), _words(name)) if name_query else 100.0
            scores[index] = 0.6 * name_score + 0.4 * dir_score
    ranked = sorted(scores.items(), key=lambda item: (-item[1], len(snap.paths[item[0]]), snap.paths[item[0]]))
    return [Match(snap.paths[i], round(min(score, 100.0), 1)) for i, score in ranked[:limit]]


def complete(snap: Snapshot, query: str, limit: int = 20) -> list[str]:
    """`@` completion: paths starting with the query first, then fuzzy matches."""
    prefix = query.strip().lower().removeprefix("./")
    if not prefix:  # nothing typed yet: the files nearest the root
        return heapq.nsmallest(limit, snap.paths, key=lambda p: (p.count("/"), p))
    start = bisect.bisect_left(snap.lowered, prefix)
    end = bisect.bisect_left(snap.lowered, prefix + "\U0010ffff", start)  # past every path with the prefix
    result = heapq.nsmallest(limit, snap.paths[start:end], key=lambda p: (len(p), p))
    if len(result) < limit:
        seen = set(result)
        result += [m.path for m in search(snap, query, limit) if m.path not in seen][:limit - len(result)]
    return result


def _name_score(query: str, name: str, words: list[str] | None = None) -> float:
    """How well a file name answers a query, 0-100 plus bonuses for exact names, prefixes and
    word-prefix abbreviations ('serlex' for server_lexer)."""
    stem = name.rsplit(".", 1)[0]
    queries = {query, query.replace(" ", "_")}  # 'session manger' is typed for session_manager
    targets = (name, stem) if "." not in query else (name,)
    score = max(_similarity(q, target) for q in queries for target in targets)
    if query in name:
        score += 8
        if name.startswith(query):
            score += 4
        if query in (name, stem):
            score += 10
    elif words and len(query) >= 3 and _abbreviates(query.replace(" ", ""), words):
        score += ABBREVIATION_BONUS
    return score


def _similarity(query: str, target: str) -> float:
    """The better of: the whole name misspelled ('gama' for gamma), or the query inside the name,
    typos allowed, a little below a whole match ('gama' is not as good in gamma_main).

    Not WRatio: it is symmetric, and rates 'test.py' highly for 'testreacc' because the name is
    in the query; a file finder wants the query in the name.
    """
    whole = fuzz.ratio(query, target)
    inside = fuzz.partial_ratio(query, target) if len(target) >= len(query) else whole
    score = max(whole, 0.9 * inside + 0.1 * whole)
    tokens = query.split()
    if len(tokens) > 1:  # 'manager session' for session_manager: each word on its own, in any order
        score = max(score, 0.9 * sum(fuzz.partial_ratio(t, target) for t in tokens) / len(tokens))
    return score


def _words(name: str) -> list[str]:
    """The lower-cased words of a file name's stem: snake_case, kebab-case, dotted and camelCase."""
    return [w.lower() for w in _WORD_BREAK.split(name.rsplit(".", 1)[0]) if w]


def _abbreviates(query: str, words: list[str]) -> bool:
    """True when the query is word prefixes in order ('testreacc' for test_tree_account).

    A prefix must have three letters (or be the whole word): with shorter ones every typo
    abbreviates something ('acconut' would be ac-con-ut in account_controller_util).
    """

    @functools.cache
    def match(q: int, w: int) -> bool:
        if q == len(query):
            return True
        if w == len(words):
            return False
        word = words[w]
        for k in range(min(len(word), len(query) - q), 0, -1):
            if (k >= 3 or k == len(word)) and query[q:q + k] == word[:k] and match(q + k, w + 1):
                return True
        return match(q, w + 1)

    return match(0, 0)


def _name_candidates(snap: Snapshot, query: str, per_scorer: int, limit: int) -> Iterator[tuple[int, float]]:
    """Cheap scorers over the distinct basenames make a shortlist; _name_score ranks it.

    partial_ratio catches fragments with typos, ratio whole names, and the subsequence pass
    abbreviations ('sesmgr' for session_manager.py) that edit distances rate poorly.
    """
    shortlist = {name for name, _, _ in process.extract(query, snap.names, scorer=fuzz.partial_ratio,
                                                       processor=None, limit=per_scorer, score_cutoff=50)}
    # Whole-name typos rarely touch the extension: compare with the stems ('acconut' ~ account).
    for stem, _, _ in process.extract(query.replace(" ", "_"), snap.stems, scorer=fuzz.ratio, processor=None,
                                      limit=per_scorer, score_cutoff=40):
        shortlist.update(snap.names_by_stem[stem])
    shortlist.update(_subsequence_matches(snap, query, per_scorer))
    for name in shortlist:
        indices = snap.by_name[name]
        score = _name_score(query, name, _words(snap.paths[indices[0]].rpartition("/")[2]))
        if len(indices) > limit:  # index.ts five thousand times: only the shortest paths can rank
            indices = heapq.nsmallest(limit, indices, key=lambda i: len(snap.paths[i]))
        for index in indices:
            yield index, score


def _subsequence_matches(snap: Snapshot, query: str, keep: int) -> list[str]:
    """The `keep` names holding the query's characters in order most tightly.

    Only a shortlist source, not a score: long names hold many loose subsequences.
    """
    chars = [c for c in query if not c.isspace()]
    if len(chars) < 3:
        return []
    # Possessive skips ([^c]*+c) make the scan linear: no backtracking on names that fail.
    pattern = re.escape(chars[0]) + "".join(f"[^\\n{re.escape(c)}]*+{re.escape(c)}" for c in chars[1:])
    spans: dict[int, int] = {}
    for found, match in enumerate(re.finditer(pattern, snap.names_text)):
        if found >= MAX_SUBSEQUENCE_HITS:
            break
        line = bisect.bisect_right(snap.name_starts, match.start()) - 1
        span = match.end() - match.start()
        if span < spans.get(line, span + 1):
            spans[line] = span
    best = sorted(spans.items(), key=lambda item: item[1])[:keep]
    return [snap.names[line] for line, _ in best]
