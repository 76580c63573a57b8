"""Crash-safe JSON storage for TinyDB.

TinyDB's stock JSONStorage rewrites the file in place (seek/truncate/write), so
a kill -9 or power loss mid-write leaves a truncated, unparseable database.
Here every write goes to a temporary file that is fsynced and then atomically
renamed over the target: at any instant the path holds either the complete old
or the complete new document.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

try:  # orjson ships with nicegui; it is several times faster than json for both directions.
    import orjson

    def dumps(data: Any) -> bytes:
        # OPT_NON_STR_KEYS mirrors json.dumps, which turns int keys into strings.
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)

    loads = orjson.loads
except ImportError:  # pragma: no cover - exercised only where orjson is absent

    def dumps(data: Any) -> bytes:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def loads(data: bytes | str) -> Any:
        return json.loads(data)


_TMP_SUFFIX = ".tmp"
_NOT_LOADED = object()


def fsync_dir(directory: Path) -> None:
    """Make a rename/creation in *directory* durable (POSIX only; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, payload: bytes, durable: bool = True, mode: int | None = None) -> None:
    """Replace *path* with *payload*: temp file, fsync, rename, fsync directory.

    With durable=False the fsyncs are skipped: the replacement is still atomic and
    survives the process being killed (the data is in the OS), only not a power cut.
    The new file is readable by this user only (mkstemp's 0600) unless `mode` says otherwise.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def remove_stray_temps(path: Path) -> None:
    """Delete temp files left by a writer killed before its rename (they are never the truth)."""
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)  # not glob(): it compiles a pattern per file, 66 of them at every start
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(_TMP_SUFFIX):
            with contextlib.suppress(OSError):
                os.unlink(path.parent / name)


class AtomicJSONStorage(Storage):
    """TinyDB storage that writes atomically and serves reads from memory.

    Assumes this process is the only writer of *path*: TinyDB calls ``read()``
    before every operation, so re-parsing the file each time would dominate the
    cost; instead the last written (or first read) data is kept in memory.
    """

    def __init__(self, path: str | os.PathLike[str], create_dirs: bool = True, **_: Any) -> None:
        self.path = Path(path)
        if create_dirs:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stray_temps(self.path)
        self._data: Any = _NOT_LOADED
        self.durable = True  # a caller may relax one write at a time (see StateStore.save_job)

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._data is _NOT_LOADED:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                raw = b""
            try:
                self._data = loads(raw) if raw and not raw.isspace() else None
            except ValueError as exc:
                # Atomic writes cannot produce this; refuse to guess rather than overwrite it.
                raise ValueError(f"corrupt TinyDB file {self.path}: {exc}") from exc
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            write_atomic(self.path, dumps(data), self.durable)
        except BaseException:
            # TinyDB mutates the dict returned by read() in place before calling write(),
            # so after a failed write the memory copy no longer matches the disk: reload.
            self._data = _NOT_LOADED
            raise
        self._data = data

    def close(self) -> None:
        self._data = _NOT_LOADED
