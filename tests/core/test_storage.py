"""Behaviour of the storage package: durability, crash recovery, paging."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.security.redact import Redactor
from storage import atomic_json
from storage.atomic_json import AtomicJSONStorage
from storage.event_log import INDEX_STRIDE, EventLog, EventLogStore
from storage.partial_reply import read_partial
from storage.state_store import N_SHARDS, StateStore

REPO = Path(__file__).resolve().parents[2]


def stray_temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


# -- AtomicJSONStorage ------------------------------------------------------------------------


def test_atomic_storage_missing_and_empty_file_read_as_none(tmp_path: Path) -> None:
    assert AtomicJSONStorage(tmp_path / "sub" / "db.json").read() is None
    (tmp_path / "empty.json").write_bytes(b"")
    assert AtomicJSONStorage(tmp_path / "empty.json").read() is None


def test_atomic_storage_round_trip_and_cached_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.json"
    AtomicJSONStorage(path).write({"t": {"1": {"a": [1, 2]}}})
    storage = AtomicJSONStorage(path)
    assert storage.read() == {"t": {"1": {"a": [1, 2]}}}

    def no_parse(_: bytes) -> None:
        raise AssertionError("read() re-parsed the file")

    monkeypatch.setattr(atomic_json, "loads", no_parse)
    for _ in range(3):
        assert storage.read() == {"t": {"1": {"a": [1, 2]}}}


def test_atomic_storage_removes_stray_temp_files_on_open(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    AtomicJSONStorage(path).write({"t": {}})
    (tmp_path / ".db.json.abc123.tmp").write_bytes(b'{"t": {"1": {"half')
    (tmp_path / ".other.json.x.tmp").write_bytes(b"not ours")
    AtomicJSONStorage(path)
    assert not (tmp_path / ".db.json.abc123.tmp").exists()
    assert (tmp_path / ".other.json.x.tmp").exists()


def test_failed_write_keeps_old_file_and_memory_in_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(tmp_path)
    store.save_job({"id": "j1", "status": "queued"})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(atomic_json.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save_job({"id": "j1", "status": "running"})
    monkeypatch.undo()

    # TinyDB had already changed its in-memory copy; the store must not report the unsaved value.
    assert store.jobs() == [{"id": "j1", "status": "queued"}]
    assert StateStore(tmp_path).jobs() == [{"id": "j1", "status": "queued"}]
    assert stray_temps(tmp_path) == []
    store.save_job({"id": "j1", "status": "done"})
    assert StateStore(tmp_path).jobs() == [{"id": "j1", "status": "done"}]


# -- StateStore -------------------------------------------------------------------------------


def test_state_store_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "fresh" / "root")  # directory does not exist yet
    assert store.projects() == [] and store.jobs() == []
    assert store.get_setting("theme", "light") == "light"

    store.save_project({"id": "p1", "name": "One", "path": "/src/one"})
    store.save_job({"id": "j1", "project_id": "p1", "status": "queued", "extra": {"x": 1}})
    store.save_job({"id": "j2", "project_id": "p1", "status": "queued"})
    store.set_setting("theme", "dark")
    store.set_setting("limits", {"max_jobs": 4, "models": ["a", "b"]})

    # Upsert replaces the whole record: a field the caller dropped is gone.
    store.save_job({"id": "j1", "project_id": "p1", "status": "running"})
    store.save_project({"id": "p1", "name": "Renamed"})

    assert store.projects() == [{"id": "p1", "name": "Renamed"}]
    assert sorted(store.jobs(), key=lambda j: j["id"]) == [
        {"id": "j1", "project_id": "p1", "status": "running"},
        {"id": "j2", "project_id": "p1", "status": "queued"},
    ]
    assert store.get_setting("theme") == "dark"
    assert store.get_setting("limits") == {"max_jobs": 4, "models": ["a", "b"]}

    store.delete_job("j2")
    store.delete_job("never-existed")
    store.delete_project("p1")
    assert [j["id"] for j in store.jobs()] == ["j1"]
    assert store.projects() == []


def test_state_store_persists_across_instances(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    for i in range(300):
        store.save_job({"id": f"job-{i}", "status": "queued", "n": i})
    store.save_job({"id": "job-7", "status": "done", "n": 7})
    store.delete_job("job-8")
    store.save_project({"id": "p", "name": "P"})
    store.set_setting("k", [1, None, "x"])
    store.close()

    again = StateStore(tmp_path)
    jobs = {j["id"]: j for j in again.jobs()}
    assert len(jobs) == 299 and "job-8" not in jobs
    assert jobs["job-7"] == {"id": "job-7", "status": "done", "n": 7}
    assert again.projects() == [{"id": "p", "name": "P"}]
    assert again.get_setting("k") == [1, None, "x"]
    # Updates after reload go to the record's existing document, not a duplicate.
    again.save_job({"id": "job-9", "status": "failed"})
    assert [j for j in StateStore(tmp_path).jobs() if j["id"] == "job-9"] == [{"id": "job-9", "status": "failed"}]


def test_job_update_rewrites_only_its_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(tmp_path)
    for i in range(500):
        store.save_job({"id": f"job-{i}", "status": "queued"})
    assert len(list((tmp_path / "jobs").glob("shard-*.json"))) == N_SHARDS

    written: list[Path] = []
    real = atomic_json.write_atomic
    monkeypatch.setattr(atomic_json, "write_atomic", lambda p, b, d=True: (written.append(p), real(p, b, d)))
    store.save_job({"id": "job-123", "status": "running"})
    assert len(written) == 1 and written[0].parent == tmp_path / "jobs"


def test_returned_records_are_copies(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    record = {"id": "j", "tags": ["a"]}
    store.save_job(record)
    record["tags"].append("mutated-after-save")
    store.jobs()[0]["tags"].append("mutated-after-read")
    store.set_setting("s", {"v": [1]})
    store.get_setting("s")["v"].append(2)
    assert store.jobs() == [{"id": "j", "tags": ["a"]}]
    assert store.get_setting("s") == {"v": [1]}


def test_invalid_records_are_rejected_without_side_effects(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save_job({"id": "j", "status": "queued"})
    with pytest.raises(TypeError):
        store.save_job({"id": "j", "status": object()})
    with pytest.raises(ValueError):
        store.save_job({"status": "no id"})
    with pytest.raises(ValueError):
        store.save_project({"id": 5})
    assert store.jobs() == [{"id": "j", "status": "queued"}]
    assert StateStore(tmp_path).jobs() == [{"id": "j", "status": "queued"}]


def test_kill_between_temp_write_and_rename_loads_previous_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save_job({"id": "j1", "status": "queued"})
    store.save_project({"id": "p1", "name": "old"})
    shard = next(p for p in (tmp_path / "jobs").glob("shard-*.json"))
    # What a writer killed after writing its temp file (complete or torn) but before the rename leaves.
    (shard.parent / f".{shard.name}.k1ll.tmp").write_bytes(b'{"jobs": {"1": {"id": "j1", "status": "runn')
    (tmp_path / ".projects.json.k1ll.tmp").write_bytes(
        b'{"projects": {"1": {"id": "p1", "name": "new, never acknowledged"}}}'
    )

    reloaded = StateStore(tmp_path)
    assert reloaded.jobs() == [{"id": "j1", "status": "queued"}]
    assert reloaded.projects() == [{"id": "p1", "name": "old"}]
    assert stray_temps(tmp_path) == []


def test_corrupt_database_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    StateStore(tmp_path).save_project({"id": "p"})
    (tmp_path / "projects.json").write_bytes(b'{"projects": {"1": ')
    with pytest.raises(ValueError, match="projects.json"):
        StateStore(tmp_path)
    assert (tmp_path / "projects.json").read_bytes() == b'{"projects": {"1": '


# -- EventLog ---------------------------------------------------------------------------------


def events(first: int, last: int) -> list[dict]:
    return [{"seq": s, "type": "msg", "text": f"event {s}"} for s in range(first, last + 1)]


def test_event_log_round_trip_and_reopen(tmp_path: Path) -> None:
    logs = EventLogStore(tmp_path)
    log = logs.log("job-1")
    assert logs.log("job-1") is log
    assert log.last_seq() == 0 and log.read() == [] and log.read_before(10, 5) == []

    log.append({"type": "start", "seq": 1})  # seq need not be the first key the caller wrote
    log.append_many(events(2, 10))
    assert log.last_seq() == 10
    assert [e["seq"] for e in log.read()] == list(range(1, 11))
    assert log.read()[0] == {"seq": 1, "type": "start"}

    reopened = EventLogStore(tmp_path).log("job-1")
    assert reopened.last_seq() == 10 and len(reopened) == 10
    assert reopened.read(after_seq=8) == events(9, 10)


def test_event_log_rejects_non_increasing_seq(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "j.jsonl")
    log.append_many(events(1, 3))
    for bad in ({"seq": 3}, {"seq": 2}, {"seq": "4"}, {"seq": True}, {"no": "seq"}):
        with pytest.raises(ValueError):
            log.append(bad)
    with pytest.raises(ValueError):  # a bad event anywhere in a batch writes nothing
        log.append_many([{"seq": 4}, {"seq": 4}])
    assert log.last_seq() == 3 and len(log.read()) == 3


def test_partial_trailing_line_is_skipped_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    EventLog(path).append_many(events(1, 5))
    with open(path, "ab") as f:
        f.write(b'{"seq":6,"type":"msg","text":"torn mid-wri')  # writer killed mid-append

    log = EventLog(path)
    assert log.last_seq() == 5
    assert [e["seq"] for e in log.read()] == [1, 2, 3, 4, 5]
    log.append({"seq": 6, "type": "msg", "text": "after crash"})
    assert log.read(after_seq=5) == [{"seq": 6, "type": "msg", "text": "after crash"}]
    assert path.read_bytes().count(b"\n") == 6
    assert EventLog(path).read(after_seq=4)[-1]["text"] == "after crash"


def test_damaged_line_in_the_middle_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    EventLog(path).append_many(events(1, 3))
    with open(path, "ab") as f:
        f.write(b"\x00\x00garbage\n")
    log = EventLog(path)
    log.append_many(events(4, 5))
    assert [e["seq"] for e in log.read()] == [1, 2, 3, 4, 5]
    assert [e["seq"] for e in EventLog(path).read_before(6, 3)] == [3, 4, 5]


def test_paging_matches_a_plain_filter(tmp_path: Path) -> None:
    # Gappy seqs across several index blocks, checked against the obvious list filter.
    seqs = [s * 3 for s in range(1, 5 * INDEX_STRIDE + 8)]
    log = EventLog(tmp_path / "j.jsonl")
    for chunk_start in range(0, len(seqs), 50):
        log.append_many({"seq": s, "v": s} for s in seqs[chunk_start : chunk_start + 50])
    log = EventLog(log.path)  # index rebuilt from disk must agree with the one built by appends

    probes = [0, 1, 2, 3, 4, 100, 191, 192, 193, 500, seqs[-1] - 1, seqs[-1], seqs[-1] + 1, 10_000]
    for after in probes:
        for limit in (None, 1, 5, 64, 65, 200):
            want = [s for s in seqs if s > after][:limit]
            assert [e["seq"] for e in log.read(after, limit)] == want, (after, limit)
    for before in probes:
        for limit in (None, 1, 5, 64, 65, 200):
            older = [s for s in seqs if s < before]
            want = older if limit is None else older[max(len(older) - limit, 0) :]
            assert [e["seq"] for e in log.read_before(before, limit)] == want, (before, limit)
    assert log.read(0, 0) == [] and log.read_before(100, 0) == []


def test_copy_for_fork(tmp_path: Path) -> None:
    logs = EventLogStore(tmp_path)
    logs.log("parent").append_many(events(1, 200))

    child = logs.copy("parent", "child", up_to_seq=150)
    assert child is logs.log("child")
    assert child.last_seq() == 150 and child.read() == events(1, 150)
    child.append({"seq": 151, "type": "msg", "text": "child's own"})
    assert logs.log("parent").read(after_seq=150, limit=1) == events(151, 151)
    assert EventLogStore(tmp_path).log("child").last_seq() == 151

    with pytest.raises(FileExistsError):
        logs.copy("parent", "child", up_to_seq=10)
    assert logs.copy("parent", "empty-child", up_to_seq=0).read() == []
    assert logs.copy("parent", "whole", up_to_seq=10_000).last_seq() == 200


def test_delete(tmp_path: Path) -> None:
    logs = EventLogStore(tmp_path)
    old = logs.log("gone")
    old.append_many(events(1, 3))
    logs.delete("gone")
    assert not (tmp_path / "gone.jsonl").exists()
    with pytest.raises(ValueError):
        old.append({"seq": 4})  # a stale handle must not resurrect the file
    assert not (tmp_path / "gone.jsonl").exists()
    fresh = logs.log("gone")
    assert fresh is not old and fresh.last_seq() == 0
    logs.delete("never-existed")


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", "a\\b", "a.b", "x\n", "é", "a" * 200, None])
def test_job_ids_cannot_escape_root(tmp_path: Path, bad: object) -> None:
    logs = EventLogStore(tmp_path / "logs")
    for call in (lambda: logs.log(bad), lambda: logs.delete(bad), lambda: logs.copy("ok", bad, 1)):
        with pytest.raises(ValueError):
            call()
    assert list(tmp_path.rglob("*.jsonl")) == []


def test_racing_appends_keep_seqs_unique_and_lines_whole(tmp_path: Path) -> None:
    log = EventLogStore(tmp_path).log("race")
    per_thread = 300

    def writer(name: str) -> None:
        done = 0
        while done < per_thread:
            try:  # without the lock two threads could both pass the seq check
                log.append({"seq": log.last_seq() + 1, "by": name, "pad": "z" * 500})
                done += 1
            except ValueError:
                pass

    def reader(stop: threading.Event, seen: list[int]) -> None:
        while not stop.is_set():
            tail = log.read(after_seq=max(log.last_seq() - 20, 0))
            seqs = [e["seq"] for e in tail]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True
            seen.append(len(seqs))

    stop, seen = threading.Event(), []
    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    watcher = threading.Thread(target=reader, args=(stop, seen))
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()

    total = 4 * per_thread
    assert [e["seq"] for e in log.read()] == list(range(1, total + 1))
    assert [e["seq"] for e in EventLog(log.path).read()] == list(range(1, total + 1))
    assert seen  # the reader ran


# -- kill -9 ----------------------------------------------------------------------------------

CHILD = r"""
import os, sys
from pathlib import Path
from storage.event_log import EventLogStore
from storage.state_store import StateStore

root = Path(sys.argv[1])
store = StateStore(root / "state")
log = EventLogStore(root / "events").log("crash-job")
i, seq = len(store.jobs()), log.last_seq()

def report(line):  # one write() per line, straight to the pipe: no buffering to lose
    os.write(1, (line + "\n").encode())

report(f"READY {i} {seq}")
while True:
    job_id = f"job-{i}"
    store.save_job({"id": job_id, "status": "queued", "version": 0, "pad": "p" * (i % 300)})
    report(f"J {job_id} 0")
    store.save_job({"id": job_id, "status": "running", "version": 1})
    report(f"J {job_id} 1")
    seq += 1
    log.append({"seq": seq, "job": job_id, "text": "t" * (seq % 700)})
    report(f"E {seq}")
    i += 1
"""


def test_kill_9_at_random_moments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    acked_versions: dict[str, int] = {}
    acked_seq = 0
    for iteration in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE
        )
        assert child.stdout is not None
        if iteration % 4 == 3:
            delay = rng.uniform(0.0, 0.3)  # may land during start-up and recovery
        else:
            assert child.stdout.readline().startswith(b"READY"), "child failed to start"
            delay = rng.uniform(0.0, 0.08)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        output = child.stdout.read()
        child.wait()
        child.stdout.close()

        for line in output.decode().splitlines(keepends=True):
            if not line.endswith("\n"):
                continue
            kind, *rest = line.split()
            if kind == "J":
                acked_versions[rest[0]] = max(acked_versions.get(rest[0], 0), int(rest[1]))
            elif kind == "E":
                acked_seq = max(acked_seq, int(rest[0]))

        where = f"iteration {iteration}, killed after {delay:.3f}s"
        jobs = {j["id"]: j for j in StateStore(tmp_path / "state").jobs()}
        for job_id, version in acked_versions.items():
            assert job_id in jobs, f"acknowledged {job_id} lost ({where})"
            assert jobs[job_id]["version"] >= version, f"acknowledged update of {job_id} lost ({where})"
        # Saves are sequential and durable, so what survives is always a gap-free prefix.
        assert sorted(jobs, key=lambda j: int(j.split("-")[1])) == [f"job-{n}" for n in range(len(jobs))]

        log = EventLogStore(tmp_path / "events").log("crash-job")
        assert log.last_seq() >= acked_seq, where
        assert [e["seq"] for e in log.read()] == list(range(1, log.last_seq() + 1)), where

    assert len(acked_versions) > 20, "the child was killed before it saved anything worth checking"
    assert stray_temps(tmp_path / "state") == []


def test_relaxed_job_saves_skip_fsync_but_stay_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(tmp_path)
    synced: list[int] = []
    real_fsync = atomic_json.os.fsync
    monkeypatch.setattr(atomic_json.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    store.save_job({"id": "j1", "status": "running"}, durable=False)
    assert synced == []
    store.save_job({"id": "j1", "status": "completed"})
    assert len(synced) == 2, "a final state is fsynced: the file, then its directory"
    assert StateStore(tmp_path).jobs() == [{"id": "j1", "status": "completed"}]


def test_streaming_checkpoints_survive_garbage_and_go_with_their_job(tmp_path: Path):
    logs = EventLogStore(tmp_path / "logs")
    logs.save_partial("job1", [{"type": "text", "text": "half a sen"}])
    logs.save_partial("job1", [{"type": "text", "text": "half a sentence"}])  # replaced, not appended
    logs.save_partial("job2", [{"type": "thinking", "text": "hmm"}])
    assert sorted(logs.jobs_with_partial()) == ["job1", "job2"]
    assert logs.take_partial("job1") == [{"type": "text", "text": "half a sentence"}]
    assert logs.take_partial("job1") == [], "taken once"
    for garbage in (b'{"type": "text", "te', b"\x00\x00\x00", b'"no header"\n{"i": "x"}\n"bad header"', b"[1, 2"):
        (tmp_path / "logs" / "job3.partial").write_bytes(garbage)  # cut by a crash, or not ours
        assert logs.take_partial("job3") == [] and "job3" not in logs.jobs_with_partial()
    # An older version's checkpoint (one JSON array), found at the first start of this one.
    (tmp_path / "logs" / "job4.partial.json").write_bytes(b'[1, "x", {"type": "text", "text": "ok"}]')
    assert logs.jobs_with_partial() == ["job2", "job4"]
    assert logs.take_partial("job4") == [{"type": "text", "text": "ok"}]
    logs.delete("job2")
    assert logs.jobs_with_partial() == []
    with pytest.raises(ValueError):
        logs.save_partial("../escape", [])


def test_a_streaming_reply_is_kept_by_small_writes_and_read_back_whatever_the_cut(tmp_path: Path):
    """Spec C12: the reply grows on disk piece by piece; a file cut anywhere (a power loss mid-write) still
    reads as a prefix of what was written, and JSON escapes, quotes and non-ASCII text survive."""
    logs = EventLogStore(tmp_path / "logs")
    writer = logs.partial_writer("job1")
    thinking, reply = 'a "quoted" \\ thought\nover lines, é 漢字 ', 'The answer: \\d+ "x"\t' * 40
    for at in range(0, len(thinking), 7):
        writer.write([(0, "thinking", at, thinking[at:at + 7])])
    sizes = []
    for at in range(0, len(reply), 11):
        writer.write([(1, "text", at, reply[at:at + 11])])
        sizes.append(logs._partial_path("job1").stat().st_size)
    assert sizes == sorted(sizes) and sizes[-1] < 2 * len(reply.encode()) + 200, "appends, not rewrites"
    data = logs._partial_path("job1").read_bytes()
    assert read_partial(data) == [{"type": "thinking", "text": thinking}, {"type": "text", "text": reply}]
    for cut in range(1, len(data)):
        blocks = read_partial(data[:cut])
        assert all(block["text"] == whole[:len(block["text"])] for block, whole in
                   zip(blocks, (thinking, reply), strict=False)), cut
    writer.write([(1, "text", 5, "REWRITTEN")])  # a later section replaces the block from `at` on
    assert logs.take_partial("job1")[1]["text"] == reply[:5] + "REWRITTEN"
    writer.reset()  # a new message: the file starts again
    writer.write([(0, "text", 0, "next")])
    assert logs.take_partial("job1") == [{"type": "text", "text": "next"}]


def test_a_secret_streamed_in_pieces_is_masked_whole_on_disk(tmp_path: Path):
    secret = "sk-ant-api03-" + "k" * 95
    masked = "*" * len(secret)
    logs = EventLogStore(tmp_path / "logs", mask=Redactor([secret]).data)
    writer = logs.partial_writer("job1")
    reply = f"the key is {secret}, and again {secret}" + " padding" * 100 + f" and at last {secret}."
    for at in range(0, len(reply), 9):  # every secret is split over several writes
        writer.write([(0, "text", at, reply[at:at + 9])])
    data = logs._partial_path("job1").read_bytes()
    assert b"sk-ant" not in data and b"kkkk" not in data
    assert read_partial(data) == [{"type": "text", "text": reply.replace(secret, masked)}]
