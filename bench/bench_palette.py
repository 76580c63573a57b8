"""Palette search over 10,000 jobs holding a million transcript lines (target: <= 50 ms median per query).

Run: python bench/bench_palette.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import events  # noqa: E402
from core.hub import Hub  # noqa: E402
from core.jobs.search import JobSearch  # noqa: E402
from core.models import Job, JobStatus  # noqa: E402

JOBS = 10_000
LINES_PER_JOB = 100
WORDS = [
    "parser",
    "token",
    "invoice",
    "billing",
    "cache",
    "render",
    "socket",
    "database",
    "migration",
    "schema",
    "tests",
    "deploy",
    "docker",
    "react",
    "python",
    "rust",
    "kernel",
    "memory",
    "thread",
    "async",
    "await",
    "queue",
    "worker",
    "cron",
    "flamingo",
    "pelican",
    "heron",
    "refactor",
    "rename",
    "config",
    "secret",
    "login",
    "session",
    "terminal",
    "branch",
    "commit",
    "merge",
    "rebase",
]


class _Logs:
    def __init__(self, texts):
        self.texts = texts

    def read_kinds(self, job_id, kinds):
        return [events.make(events.ASSISTANT, block={"type": "text", "text": t}) for t in self.texts[job_id]]


class _Projects:
    def list(self, include_archived=False):
        return [type("P", (), {"id": "p", "name": "bench"})()]


def main() -> None:
    random.seed(7)
    vocabulary = WORDS + [f"word{i}" for i in range(20_000)]
    jobs, texts = {}, {}
    for i in range(JOBS):
        job_id = f"job{i:05d}"
        jobs[job_id] = Job(
            id=job_id,
            project_id="p",
            name=" ".join(random.sample(WORDS, 3)),
            prompt=" ".join(random.sample(vocabulary, 12)),
            status=JobStatus.COMPLETED,
            updated_at=float(i),
        )
        texts[job_id] = [" ".join(random.choices(vocabulary, k=10)) for _ in range(LINES_PER_JOB)]
    manager = type("M", (), {"jobs": jobs, "logs": _Logs(texts), "projects": _Projects()})()
    search = JobSearch(manager, Hub())
    started = time.perf_counter()
    search.build()
    print(f"indexed {JOBS:,} jobs / {JOBS * LINES_PER_JOB:,} transcript lines in {time.perf_counter() - started:.1f} s")
    queries = [
        "flamingo",
        "refactr parser",
        "invoice billing",
        "word1234",
        "deploy docker",
        "pelican heron",
        "session termnal",
        "async queue worker",
        "kernel",
        "rebase branch",
    ]
    timings = []
    for _ in range(5):
        for query in queries:
            started = time.perf_counter()
            search.search(query)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(
        f"query: median {statistics.median(timings):.1f} ms, p95 {timings[int(len(timings) * 0.95)]:.1f} ms "
        f"(target <= 50 ms median)"
    )


if __name__ == "__main__":
    main()
