"""Search across all jobs for the command palette (H2): names, prompts, projects and transcript text.

Names and prompts are few (one entry per job) and get RapidFuzz's fuzzy
scoring. Transcript text can run to millions of lines, so it goes into an
inverted word index; query words are matched against the vocabulary (prefix,
then fuzzy) and the posting sets intersected, which keeps a query in the
milliseconds however long the transcripts are.

Building the index reads every stored transcript, which takes a second or more with
thousands of jobs: it is not on the way to the first page. Started in a worker thread at
start (`Services.start`), it waits for the server's first pages, then works in short
slices with pauses, so it never holds the GIL (and with it the event loop) for more than
a few milliseconds at a time. Until it is done a search finds names, prompts, projects and
the transcripts read so far, and lifts the pacing: someone is waiting for the rest.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from core import events

_WORD = re.compile(r"[A-Za-z0-9_]{3,40}")
MAX_WORDS_PER_EVENT = 2000
INDEXED_KINDS = (events.USER, events.ASSISTANT)  # the kinds whose text _event_text returns
START_DELAY_S = 2.0  # a paced build waits this long: the first pages come first
SLICE_S = 0.005  # then works this long at a time (the interpreter's own switch interval)...
PAUSE_S = 0.010  # ...and sleeps this long, the GIL released


@dataclass
class SearchHit:
    job_id: str
    score: float
    field: str  # "name", "prompt", "project" or "content"


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)[:MAX_WORDS_PER_EVENT]}


def _event_text(event: dict[str, Any]) -> str:
    kind = event.get("kind")
    if kind == events.USER:
        return event.get("text", "")
    if kind == events.ASSISTANT:
        block = event.get("block") or {}
        return block.get("text") or block.get("thinking") or ""
    return ""


class JobSearch:
    def __init__(self, manager, hub) -> None:
        self._manager = manager
        self._postings: dict[str, set[str]] = defaultdict(set)
        self._vocabulary: list[str] = []
        self._vocabulary_dirty = True
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self._hurry = threading.Event()  # a search came before the index was whole: stop pacing
        hub.subscribe_every_job(self._on_event)

    def build(self, paced: bool | None = None) -> None:
        """Index every stored transcript (it reads every log once).

        `paced` (by default: when run off the main thread, as `Services.start` runs it) waits
        START_DELAY_S, then indexes in slices of SLICE_S with PAUSE_S between them; otherwise it
        indexes at once (tests, benches)."""
        if paced is None:
            paced = threading.current_thread() is not threading.main_thread()
        if paced:
            self._hurry.wait(START_DELAY_S)
        logs = self._manager.logs
        slice_end = time.monotonic() + SLICE_S
        for job_id in list(self._manager.jobs):
            self._index_words(job_id, {word for event in logs.read_kinds(job_id, INDEXED_KINDS)
                                       for word in _words(_event_text(event))})
            if paced and not self._hurry.is_set() and time.monotonic() >= slice_end:
                time.sleep(PAUSE_S)
                slice_end = time.monotonic() + SLICE_S
        self.ready.set()

    def _on_event(self, job_id: str, event: dict[str, Any]) -> None:
        if event.get("kind") != events.DELTA:
            self._index(job_id, event)

    def _index(self, job_id: str, event: dict[str, Any]) -> None:
        text = _event_text(event)
        if text:
            self._index_words(job_id, _words(text))

    def _index_words(self, job_id: str, words: set[str]) -> None:
        with self._lock:
            for word in words:
                postings = self._postings.get(word)
                if postings is None:
                    self._postings[word] = {job_id}
                    self._vocabulary_dirty = True
                else:
                    postings.add(job_id)

    def _content_matches(self, query: str) -> dict[str, float]:
        words = [w.lower() for w in _WORD.findall(query)]
        if not words:
            return {}
        with self._lock:
            if self._vocabulary_dirty:
                self._vocabulary = sorted(self._postings)
                self._vocabulary_dirty = False
            vocabulary = self._vocabulary
            result: dict[str, float] | None = None
            for word in words:
                scores: dict[str, float] = {}
                for candidate, score in self._similar_words(word, vocabulary):
                    for job_id in self._postings[candidate]:
                        scores[job_id] = max(scores.get(job_id, 0.0), score)
                result = scores if result is None else {j: min(s, scores[j]) for j, s in result.items() if j in scores}
                if not result:
                    return {}
        return result or {}

    @staticmethod
    def _similar_words(word: str, vocabulary: list[str]) -> list[tuple[str, float]]:
        from bisect import bisect_left

        found: list[tuple[str, float]] = []
        start = bisect_left(vocabulary, word)
        for candidate in vocabulary[start:start + 200]:
            if not candidate.startswith(word):
                break
            found.append((candidate, 100.0 if candidate == word else 90.0))
        if len(word) >= 4 and len(found) < 5:
            for candidate, score, _ in process.extract(word, vocabulary, scorer=fuzz.ratio, limit=5,
                                                       score_cutoff=80):
                found.append((candidate, score * 0.8))
        return found

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        query = (query or "").strip()
        if not query:
            return []
        if not self.ready.is_set():
            self._hurry.set()
        jobs = [j for j in self._manager.jobs.values() if j.status != "archived"]
        projects = {p.id: p.name for p in self._manager.projects.list(include_archived=True)}
        best: dict[str, SearchHit] = {}

        def offer(job_id: str, score: float, field: str) -> None:
            if job_id not in best or best[job_id].score < score:
                best[job_id] = SearchHit(job_id, score, field)

        names = {j.id: j.name for j in jobs}
        for _, score, job_id in process.extract(query, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=60):
            offer(job_id, score + 5, "name")
        prompts = {j.id: j.prompt[:300] for j in jobs}
        for _, score, job_id in process.extract(query, prompts, scorer=fuzz.partial_ratio, limit=limit,
                                                score_cutoff=75):
            offer(job_id, score, "prompt")
        project_jobs = {j.id: projects.get(j.project_id, "") for j in jobs}
        for _, score, job_id in process.extract(query, project_jobs, scorer=fuzz.WRatio, limit=limit,
                                                score_cutoff=80):
            offer(job_id, score - 10, "project")
        live = {j.id for j in jobs}
        for job_id, score in self._content_matches(query).items():
            if job_id in live:
                offer(job_id, score - 5, "content")
        return sorted(best.values(), key=lambda h: (-h.score, -self._manager.jobs[h.job_id].updated_at))[:limit]

    def recent(self, limit: int = 10) -> list[str]:
        jobs = sorted((j for j in self._manager.jobs.values() if j.status != "archived"),
                      key=lambda j: j.updated_at, reverse=True)
        return [j.id for j in jobs[:limit]]
