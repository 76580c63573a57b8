"""Append-only JSON-lines event logs, one file per job.

Transcripts grow without bound, so they never go through TinyDB (which rewrites
whole files). Each line is one event whose first key is its int ``seq``; seqs
strictly increase within a log. An append is one ``os.write`` on an O_APPEND
descriptor: when append() returns the bytes are in the OS page cache, which
survives a kill -9 of this process. Only a power loss can drop them, so there is
no fsync per event; ``sync()`` exists for milestones.

A sparse in-memory index (byte offset of every INDEX_STRIDE-th event) lets a
read seek next to its target instead of parsing from the top of a large file.

A `mask` (the server's secret redactor) rewrites each serialised line before it
is written: a key that a tool printed never reaches the disk.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import os
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from storage.atomic_json import dumps, fsync_dir, loads
from storage.partial_reply import PartialReply, read_partial

INDEX_STRIDE = 64
PARTIAL_SUFFIX = ".partial"  # <job>.partial: the reply it is streaming (storage/partial_reply.py)
LEGACY_PARTIAL_SUFFIX = ".partial.json"  # the same, as an older version kept it: read once at start
_JOB_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
# seq is written first, so it can be read off a line without parsing the whole event.
Mask = Callable[[bytes], bytes]
_SEQ_PREFIX_RE = re.compile(rb'\{\s*"seq"\s*:\s*(-?\d+)\s*[,}]')


def _line_seq(line: bytes) -> int | None:
    """seq of a complete line, or None if it is not a valid event (e.g. damaged by a power loss)."""
    if m := _SEQ_PREFIX_RE.match(line):
        return int(m.group(1))
    try:
        seq = loads(line).get("seq")
    except (ValueError, AttributeError):
        return None
    return seq if type(seq) is int else None


def _parse(lines: Iterable[bytes]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        with contextlib.suppress(ValueError):  # a damaged body behind a valid prefix is skipped too
            out.append(loads(line))
    return out


class EventLog:
    """One job's event log. Appends are serialised by a lock; reads only take it to snapshot."""

    def __init__(self, path: Path, mask: Mask | None = None) -> None:
        self.path = Path(path)
        self._mask = mask
        self._lock = threading.Lock()
        self._deleted = False
        self._load()

    def _load(self) -> None:
        """Build the index and cut off a torn last line, so the next append starts a fresh line."""
        self._index: list[tuple[int, int]] = []  # (seq, offset) of every INDEX_STRIDE-th event
        self._count = 0
        self._last_seq = 0
        self._size = 0  # end of the last complete line; readers never look past it
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            return
        with f:
            offset = 0
            for line in f:
                if not line.endswith(b"\n"):
                    break  # a writer died mid-append; the event was never acknowledged
                seq = _line_seq(line)
                if seq is not None and seq > self._last_seq:
                    self._note(seq, offset)
                offset += len(line)
            torn = os.fstat(f.fileno()).st_size > offset
        if torn:
            os.truncate(self.path, offset)
        self._size = offset

    def _note(self, seq: int, offset: int) -> None:
        if self._count % INDEX_STRIDE == 0:
            self._index.append((seq, offset))
        self._count += 1
        self._last_seq = seq

    # -- writing ----------------------------------------------------------------------------
    def append(self, event: dict[str, Any]) -> None:
        self.append_many([event])

    def append_many(self, events: Iterable[dict[str, Any]]) -> None:
        """Append events in one write. Each needs an int "seq" greater than every earlier one."""
        with self._lock:
            if self._deleted:
                raise ValueError(f"event log {self.path} was deleted")
            last, lines, seqs = self._last_seq, [], []
            for event in events:
                seq = event.get("seq")
                if type(seq) is not int or seq <= last:
                    raise ValueError(f"seq must be an int > {last}, got {seq!r}")
                # {"seq": seq, **event} puts seq first (dict order) and keeps the event's value.
                lines.append(dumps({"seq": seq, **event}) + b"\n")
                seqs.append(seq)
                last = seq
            if not lines:
                return
            if self._mask is not None:  # a mask keeps the length, so each line stays where it was counted
                lines = [self._mask(line) for line in lines]
            # Opened per call: thousands of jobs would otherwise pin thousands of descriptors.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(b"".join(lines))
                while view:  # regular-file writes are normally complete; loop for a short write
                    view = view[os.write(fd, view) :]
            except BaseException:
                # e.g. ENOSPC mid-write: drop the fragment so the next append starts a clean line.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self._size)
                raise
            finally:
                os.close(fd)
            offset = self._size
            for seq, line in zip(seqs, lines, strict=True):
                self._note(seq, offset)
                offset += len(line)
            self._size = offset

    def sync(self) -> None:
        """fsync the log, for callers wanting power-loss durability at a milestone."""
        with self._lock, contextlib.suppress(FileNotFoundError):
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_dir(self.path.parent)

    # -- reading ----------------------------------------------------------------------------
    def last_seq(self) -> int:
        return self._last_seq

    def __len__(self) -> int:
        return self._count

    def read(self, after_seq: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Events with seq > after_seq, oldest first, at most *limit* of them."""
        if limit is not None and limit <= 0:
            return []
        lines: list[bytes] = []
        with self._lock:
            block = bisect.bisect_right(self._index, after_seq, key=_first) - 1
            start, end = self._span(max(block, 0))
        for seq, line in self._scan(start, end):
            if seq > after_seq:
                lines.append(line)
                if limit is not None and len(lines) >= limit:
                    break
        return _parse(lines)

    def read_before(self, before_seq: int, limit: int | None = None) -> list[dict[str, Any]]:
        """The last *limit* events with seq < before_seq, oldest first (paging backwards)."""
        if limit is not None and limit <= 0:
            return []
        with self._lock:
            block = bisect.bisect_left(self._index, before_seq, key=_first) - 1
            if block < 0:
                return []
            # Each block holds INDEX_STRIDE events, so this many blocks back covers >= limit events.
            first = 0 if limit is None else max(block - (limit + INDEX_STRIDE - 1) // INDEX_STRIDE, 0)
            start, end = self._span(first)
        tail: collections.deque[bytes] = collections.deque(maxlen=limit)
        for seq, line in self._scan(start, end):
            if seq >= before_seq:
                break
            tail.append(line)
        return _parse(tail)

    def prefix_size(self, up_to_seq: int) -> int:
        """Byte length of the file prefix holding exactly the events with seq <= up_to_seq."""
        with self._lock:
            block = bisect.bisect_right(self._index, up_to_seq, key=_first) - 1
            start, end = self._span(max(block, 0))
        offset = start
        with contextlib.suppress(FileNotFoundError), open(self.path, "rb") as f:
            f.seek(start)
            while offset < end and (line := f.readline()):
                seq = _line_seq(line)
                if seq is not None and seq > up_to_seq:
                    break
                offset += len(line)
        return offset

    def _span(self, block: int) -> tuple[int, int]:
        # Called under the lock; bytes before _size never change, so the scan needs no lock.
        return (self._index[block][1] if self._index else 0), self._size

    def _scan(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """(seq, raw line) of valid events in [start, end), skipping damaged or out-of-order lines."""
        if start >= end:
            return
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - generator; closed by the with below
        except FileNotFoundError:
            return
        with f:
            f.seek(start)
            offset, prev = start, None
            while offset < end:
                line = f.readline()
                if not line:
                    return
                offset += len(line)
                seq = _line_seq(line)
                if seq is not None and (prev is None or seq > prev):
                    prev = seq
                    yield seq, line

    def _mark_deleted(self) -> None:
        with self._lock:
            self._deleted = True
            self._load()


def _first(entry: tuple[int, int]) -> int:
    return entry[0]


class EventLogStore:
    """Event logs for all jobs under *root*, one ``<job_id>.jsonl`` file each."""

    def __init__(self, root: Path, mask: Mask | None = None) -> None:
        self.root = Path(root)
        self._mask = mask
        self.root.mkdir(parents=True, exist_ok=True)
        for stray in self.root.glob(".*.jsonl.tmp"):  # from a copy() killed before its rename
            stray.unlink(missing_ok=True)
        self._lock = threading.Lock()
        self._logs: dict[str, EventLog] = {}

    def _path(self, job_id: str) -> Path:
        # Job ids become file names: no separators or dots, so nothing can escape root.
        if not isinstance(job_id, str) or not _JOB_ID_RE.fullmatch(job_id):
            raise ValueError(f"invalid job id {job_id!r}")
        return self.root / f"{job_id}.jsonl"

    def log(self, job_id: str) -> EventLog:
        # Asked for every streamed delta (its seq is the log's last): a known job's log is a dict lookup, without
        # checking the id and building its path again. A dict read needs no lock.
        log = self._logs.get(job_id)
        if log is not None:
            return log
        path = self._path(job_id)
        with self._lock:
            log = self._logs.get(job_id)
            if log is None:
                log = self._logs[job_id] = EventLog(path, self._mask)
            return log

    def read_kinds(self, job_id: str, kinds: Collection[str]) -> Iterator[dict[str, Any]]:
        """The stored events of these kinds, oldest first, for a reader of every log once (the search index).

        Straight from the file: no EventLog (and no index of it) is built and kept for each of thousands of
        jobs, and only lines that could hold one of the kinds are parsed. A torn last line is skipped.
        """
        needles = [dumps(kind) for kind in kinds]  # b'"user"': in any line whose kind it is
        try:
            f = open(self._path(job_id), "rb")  # noqa: SIM115 - generator; closed by the with below
        except FileNotFoundError:
            return
        with f:
            for line in f:
                if line.endswith(b"\n") and any(needle in line for needle in needles):
                    try:
                        event = loads(line)
                    except ValueError:
                        continue
                    if isinstance(event, dict) and event.get("kind") in kinds:
                        yield event

    # -- the reply being streamed, kept so a crash does not lose what people saw (spec C12) --------

    def _partial_path(self, job_id: str) -> Path:
        return self._path(job_id).with_suffix(PARTIAL_SUFFIX)

    def partial_writer(self, job_id: str) -> PartialReply:
        """A writer of the job's streaming reply (storage/partial_reply.py); it starts the file afresh."""
        return PartialReply(self._partial_path(job_id), self._mask)

    def save_partial(self, job_id: str, blocks: list[dict[str, Any]]) -> None:
        """Replace the job's kept reply with these blocks (type, text) at once."""
        self.partial_writer(job_id).replace(blocks)

    def drop_partial(self, job_id: str) -> None:
        self._partial_path(job_id).unlink(missing_ok=True)

    def take_partial(self, job_id: str) -> list[dict[str, Any]]:
        """The kept blocks (type, text), the files removed; [] if there are none or they are unreadable."""
        blocks: list[dict[str, Any]] = []
        for path in (self._partial_path(job_id), self._path(job_id).with_suffix(LEGACY_PARTIAL_SUFFIX)):
            with contextlib.suppress(OSError):
                blocks = blocks or read_partial(path.read_bytes())
            path.unlink(missing_ok=True)
        return blocks

    def jobs_with_partial(self) -> list[str]:
        found = set()
        with os.scandir(self.root) as entries:  # one pass over a folder of thousands of logs
            for entry in entries:
                for suffix in (PARTIAL_SUFFIX, LEGACY_PARTIAL_SUFFIX):
                    if entry.name.endswith(suffix) and _JOB_ID_RE.fullmatch(entry.name.removesuffix(suffix)):
                        found.add(entry.name.removesuffix(suffix))
        return sorted(found)

    def delete(self, job_id: str) -> None:
        path = self._path(job_id)
        with self._lock:
            log = self._logs.pop(job_id, None)
            path.unlink(missing_ok=True)
            self._partial_path(job_id).unlink(missing_ok=True)
            path.with_suffix(LEGACY_PARTIAL_SUFFIX).unlink(missing_ok=True)
            if log is not None:
                log._mark_deleted()  # holders of the old object must not recreate the file

    def copy(self, src_job_id: str, dst_job_id: str, up_to_seq: int) -> EventLog:
        """Start dst's log with src's events whose seq <= up_to_seq (forking a job).

        Raw bytes are copied (no re-encoding) into a temp file renamed into place,
        so dst ends up with the whole prefix or nothing. dst must have no events yet.
        """
        if src_job_id == dst_job_id:
            raise ValueError("cannot copy a log onto itself")
        dst_path = self._path(dst_job_id)
        src, dst = self.log(src_job_id), self.log(dst_job_id)
        with self._lock, dst._lock:  # dst's lock keeps appends out until the copy is in place
            if dst._count or (dst_path.exists() and dst_path.stat().st_size):
                raise FileExistsError(f"event log for {dst_job_id!r} already has events")
            size = src.prefix_size(up_to_seq)
            if size:
                tmp = dst_path.with_name(f".{dst_path.name}.tmp")
                _copy_prefix(src.path, tmp, size)
                os.replace(tmp, dst_path)
                fsync_dir(self.root)
            dst._load()
            return dst


def _copy_prefix(src: Path, dst: Path, size: int) -> None:
    # The prefix is immutable (appends only extend src), so it is copied without src's lock.
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while size > 0 and (chunk := fin.read(min(size, 1 << 20))):
            fout.write(chunk)
            size -= len(chunk)
        fout.flush()
        os.fsync(fout.fileno())


__all__ = ["INDEX_STRIDE", "EventLog", "EventLogStore"]
