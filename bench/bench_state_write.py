"""Storage benchmark: python bench/bench_state_write.py

Prints the cost of a job status change with 10,000 jobs stored (target <= 5 ms
median), loading those jobs, raw fsync cost on this disk, and event-log append
and tail-read speed. Everything happens in a temporary directory.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.atomic_json import write_atomic  # noqa: E402
from storage.event_log import EventLogStore  # noqa: E402
from storage.state_store import N_SHARDS, StateStore  # noqa: E402

N_JOBS = 10_000
N_UPDATES = 500
N_EVENTS = 5_000


def job(i: int, status: str = "queued") -> dict:
    # Roughly the shape of a real job record (~350 bytes of JSON).
    return {
        "id": f"job-{i:06d}-3f9c2a1b",
        "project_id": f"proj-{i % 20}",
        "parent_id": None,
        "title": f"Fix the flaky integration test number {i} in the payments module",
        "status": status,
        "model": "claude-sonnet",
        "created_at": 1_700_000_000.0 + i,
        "updated_at": 1_700_000_000.0 + i,
        "cost_usd": 0.0123,
        "session_id": f"sess-{i:08x}-aaaa-bbbb-cccc-dddddddddddd",
        "tags": ["bench"],
    }


def timed(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for k in range(n):
        t0 = time.perf_counter()
        fn(k)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):.3f} ms, p95 {p95:.3f} ms"


def bench_state(root: Path) -> None:
    store = StateStore(root)
    t0 = time.perf_counter()
    for i in range(N_JOBS):
        store.save_job(job(i))
    print(f"insert {N_JOBS} jobs one by one: {time.perf_counter() - t0:.2f} s")

    statuses = ("running", "waiting", "done", "failed")
    rows = timed(lambda k: store.save_job(job((k * 7919) % N_JOBS, statuses[k % 4])), N_UPDATES)
    print(f"save_job status change, {N_JOBS} jobs in {N_SHARDS} shards: {summary(rows)}  (target <= 5 ms)")

    real_fsync = os.fsync
    os.fsync = lambda fd: None  # isolate CPU/filesystem cost from the disk flush
    try:
        rows = timed(lambda k: store.save_job(job((k * 7919) % N_JOBS, statuses[k % 4])), N_UPDATES)
    finally:
        os.fsync = real_fsync
    print(f"  same without fsync (CPU + rename only): {summary(rows)}")

    payload = b"x" * (root / "jobs" / "shard-00.json").stat().st_size
    rows = timed(lambda k: write_atomic(root / "fsync-probe.json", payload), 200)
    print(f"  raw write_atomic of one shard-sized file ({len(payload)} B, 2 fsyncs): {summary(rows)}")
    store.close()

    t0 = time.perf_counter()
    loaded = StateStore(root)
    n = len(loaded.jobs())
    print(f"load StateStore + jobs() with {n} jobs: {(time.perf_counter() - t0) * 1000:.1f} ms")


def bench_events(root: Path) -> None:
    logs = EventLogStore(root)
    log = logs.log("bench-job")
    event = {"type": "assistant", "text": "Reading the file and planning the change. " * 6}
    t0 = time.perf_counter()
    for seq in range(1, N_EVENTS + 1):
        log.append({"seq": seq, **event})
    dt = time.perf_counter() - t0
    print(f"event log append: {N_EVENTS / dt:,.0f} events/s ({dt / N_EVENTS * 1e6:.1f} us each)")

    t0 = time.perf_counter()
    log.append_many({"seq": seq, **event} for seq in range(N_EVENTS + 1, 2 * N_EVENTS + 1))
    dt = time.perf_counter() - t0
    print(f"event log append_many: {N_EVENTS / dt:,.0f} events/s")

    t0 = time.perf_counter()
    EventLogStore(root).log("bench-job")
    print(f"open {2 * N_EVENTS}-event log (index build): {(time.perf_counter() - t0) * 1000:.2f} ms")

    small = EventLogStore(root).log("tail-job")
    small.append_many({"seq": seq, **event} for seq in range(1, N_EVENTS + 1))
    last = small.last_seq()
    rows = timed(lambda k: small.read(after_seq=last - 50), 200)
    print(f"tail read, last 50 of {N_EVENTS} events (read after_seq): {summary(rows)}")
    rows = timed(lambda k: small.read_before(last + 1, 50), 200)
    print(f"tail read, last 50 of {N_EVENTS} events (read_before): {summary(rows)}")
    rows = timed(lambda k: small.read_before(N_EVENTS // 2, 50), 200)
    print(f"page back 50 from the middle of {N_EVENTS} events: {summary(rows)}")
    rows = timed(lambda k: small.read(), 20)
    print(f"full read of {N_EVENTS} events: {summary(rows)}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-storage-", dir=os.environ.get("BENCH_DIR")) as tmp:
        print(f"temp dir: {tmp}")
        bench_state(Path(tmp) / "state")
        bench_events(Path(tmp) / "events")


if __name__ == "__main__":
    main()
