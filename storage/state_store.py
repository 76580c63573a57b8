"""Durable metadata store: projects, jobs and settings in TinyDB files under one root.

Layout::

    root/projects.json        one TinyDB file
    root/settings.json        one TinyDB file, documents {"key": ..., "value": ...}
    root/jobs/shard-NN.json   jobs spread over N_SHARDS TinyDB files

TinyDB rewrites a whole file on every change, so a status change on one of
10,000 jobs in a single file would serialise and fsync megabytes. Sharding by a
stable hash of the job id bounds each rewrite to ~1/N_SHARDS of the jobs.
Every save_* returns only after its file has been fsynced and renamed into
place (see atomic_json), which is the point at which a change is acknowledged.
"""

from __future__ import annotations

import contextlib
import gc
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tinydb import TinyDB

from storage.atomic_json import AtomicJSONStorage, dumps, loads

N_SHARDS = 64
_SHARD_RE = re.compile(r"shard-(\d+)\.json")
T = TypeVar("T")


def _clone(value: Any) -> Any:
    """Deep copy through JSON: callers can't alias our cache, and bad values fail before any write."""
    return loads(dumps(value))


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while many records are parsed or copied.

    Loading 10,000 jobs allocates some 200,000 dicts and lists, none of them garbage; each allocation
    burst triggers collections that walk every object the process holds (the imported packages
    included), which took three quarters of the load (120 ms of 160 ms)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _shard_of(job_id: str) -> int:
    # crc32, not hash(): Python's str hash is salted per process and would move jobs between runs.
    return zlib.crc32(job_id.encode()) % N_SHARDS


class _KeyedTable:
    """One TinyDB table whose documents are identified by a string field.

    Keeps key -> doc_id in memory so an update addresses its document directly
    instead of a Query scanning the table.
    """

    def __init__(self, path: Path, name: str, key: str) -> None:
        self._db = TinyDB(path, storage=AtomicJSONStorage)
        self._table = self._db.table(name)
        self._name = name
        self._key = key
        self.index: dict[str, int] = {doc[key]: int(doc_id) for doc_id, doc in self._raw().items() if key in doc}

    def _raw(self) -> dict[str, dict[str, Any]]:
        # The storage's cached dict, read through TinyDB's public ``storage``: iterating the
        # table would build a Document per record, which dominated loading 10,000 jobs.
        return (self._db.storage.read() or {}).get(self._name, {})

    def all(self) -> list[dict[str, Any]]:
        """Raw stored documents; callers must copy them before handing them out."""
        return list(self._raw().values())

    def get(self, key: str) -> dict[str, Any] | None:
        doc_id = self.index.get(key)
        return None if doc_id is None else self._table.get(doc_id=doc_id)

    def save(self, record: dict[str, Any]) -> None:
        """Replace the document with record's key, or insert it. *record* must be a private copy."""
        key = record[self._key]
        doc_id = self.index.get(key)
        if doc_id is not None:

            def replace(doc: dict[str, Any]) -> None:
                # update(dict) would merge and keep fields the caller removed.
                doc.clear()
                doc.update(record)

            self._table.update(replace, doc_ids=[doc_id])
        else:
            self.index[key] = self._table.insert(record)

    def save_many(self, records: list[dict[str, Any]]) -> None:
        """save() for many private copies, in at most two rewrites of the file (replacements, insertions)."""
        fresh = {r[self._key]: r for r in records}
        known = {k: r for k, r in fresh.items() if k in self.index}
        if known:
            def replace(doc: dict[str, Any]) -> None:
                record = known[doc[self._key]]
                doc.clear()
                doc.update(record)

            self._table.update(replace, doc_ids=[self.index[k] for k in known])
        new = [r for k, r in fresh.items() if k not in known]
        if new:
            for record, doc_id in zip(new, self._table.insert_multiple(new), strict=True):
                self.index[record[self._key]] = doc_id

    def delete(self, key: str) -> bool:
        doc_id = self.index.get(key)
        if doc_id is None:
            return False
        self._table.remove(doc_ids=[doc_id])
        del self.index[key]
        return True

    @property
    def storage(self) -> AtomicJSONStorage:
        return self._db.storage  # type: ignore[return-value]

    def close(self) -> None:
        self._db.close()


class StateStore:
    """Projects, jobs and settings persisted under *root*. Thread-safe; one process per root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        jobs_dir = self.root / "jobs"
        jobs_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._projects = _KeyedTable(self.root / "projects.json", "projects", "id")
        self._settings = _KeyedTable(self.root / "settings.json", "settings", "key")
        # Existing shard files are loaded whatever their number, so records stay reachable
        # through the id -> shard index even if N_SHARDS changes; new jobs go by hash.
        shard_nos = set(range(N_SHARDS))
        for p in jobs_dir.glob("shard-*.json"):
            m = _SHARD_RE.fullmatch(p.name)
            if m and p.name == f"shard-{int(m.group(1)):02d}.json":  # only names we would produce
                shard_nos.add(int(m.group(1)))
        with _bulk():
            self._shards = {n: _KeyedTable(jobs_dir / f"shard-{n:02d}.json", "jobs", "id") for n in shard_nos}
        self._job_shard: dict[str, int] = {}
        for n, shard in self._shards.items():
            self._job_shard.update(dict.fromkeys(shard.index, n))

    # -- projects ---------------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        with self._lock:
            return _clone(self._projects.all())

    def save_project(self, record: dict[str, Any]) -> None:
        record = _checked(record)
        with self._lock:
            self._projects.save(record)

    def delete_project(self, id: str) -> None:
        with self._lock:
            self._projects.delete(id)

    # -- jobs -------------------------------------------------------------------------------
    def jobs(self) -> list[dict[str, Any]]:
        """All jobs, in no particular order."""
        with self._lock, _bulk():
            return _clone([doc for shard in self._shards.values() for doc in shard.all()])

    def read_jobs(self, build: Callable[[dict[str, Any]], T]) -> list[T]:
        """`build(record)` for every job, in no particular order, without copying the records first (a tenth
        of a second with 10,000 jobs, at every start): `build` must copy what it keeps and change nothing."""
        with self._lock, _bulk():
            return [build(doc) for shard in self._shards.values() for doc in shard.all()]

    def save_job(self, record: dict[str, Any], durable: bool = True) -> None:
        """durable=False skips the fsyncs: for states that restart recovery rewrites anyway."""
        record = _checked(record)
        job_id = record["id"]
        with self._lock:
            n = self._job_shard.get(job_id)
            if n is None:
                n = _shard_of(job_id)
            shard = self._shards[n]
            shard.storage.durable = durable
            try:
                shard.save(record)
            finally:
                shard.storage.durable = True
            self._job_shard[job_id] = n

    def save_jobs(self, records: list[dict[str, Any]]) -> None:
        """Save many jobs with one rewrite per shard touched (an import, a bench filling a store), not one
        per job: 10,000 single saves would rewrite each shard some 150 times."""
        checked = [_checked(record) for record in records]
        with self._lock:
            by_shard: dict[int, list[dict[str, Any]]] = {}
            for record in checked:
                n = self._job_shard.get(record["id"])
                by_shard.setdefault(_shard_of(record["id"]) if n is None else n, []).append(record)
            for n, shard_records in by_shard.items():
                self._shards[n].save_many(shard_records)
                self._job_shard.update(dict.fromkeys((r["id"] for r in shard_records), n))

    def delete_job(self, id: str) -> None:
        with self._lock:
            n = self._job_shard.get(id)
            if n is not None:
                self._shards[n].delete(id)
                del self._job_shard[id]

    # -- settings ---------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self._lock:
            doc = self._settings.get(key)
            return default if doc is None else _clone(doc["value"])

    def set_setting(self, key: str, value: Any) -> None:
        record = _clone({"key": key, "value": value})
        with self._lock:
            self._settings.save(record)

    def close(self) -> None:
        with self._lock:
            for table in (self._projects, self._settings, *self._shards.values()):
                table.close()


def _checked(record: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(record.get("id"), str) or not record["id"]:
        raise ValueError("record needs a non-empty string 'id'")
    return _clone(record)
