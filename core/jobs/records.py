"""Every job's record and event log: read them, change them, and tell the pages.

Every change to a job is persisted before it is published, so what a page or an
API client was told has already reached the disk. The live sessions are listed
here too (`live`), because what is published about a job says whether it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core import events
from core.errors import Conflict, NotFound
from core.models import Job, JobStatus, now

if TYPE_CHECKING:
    from core.jobs.live_session import LiveSession

Listener = Callable[[dict[str, Any]], None]


class JobRecords:
    def __init__(self, store, logs, hub) -> None:
        self.store = store
        self.logs = logs
        self.hub = hub
        self.jobs: dict[str, Job] = {job.id: job for job in store.read_jobs(Job.from_dict)}
        self.live: dict[str, LiveSession] = {}

    # -- reading -------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        try:
            return self.jobs[job_id]
        except KeyError:
            raise NotFound(f"No job with id {job_id!r}.") from None

    def list(self, project_id: str | None = None, include_archived: bool = False,
             status: str | None = None) -> list[Job]:
        jobs = [j for j in list(self.jobs.values())  # a copy: worker threads list jobs too (cron, search)
                if (project_id is None or j.project_id == project_id)
                and (include_archived or j.status != JobStatus.ARCHIVED)
                and (status is None or j.status == status)]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def is_live(self, job_id: str) -> bool:
        session = self.live.get(job_id)
        return bool(session and session.connected and not session.closing)

    def events(self, job_id: str, after_seq: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        self.get(job_id)
        return self.logs.log(job_id).read(after_seq, limit)

    def events_before(self, job_id: str, before_seq: int, limit: int) -> list[dict[str, Any]]:
        self.get(job_id)
        return self.logs.log(job_id).read_before(before_seq, limit)

    def follow(self, job_id: str, listener: Listener, after_seq: int = 0) -> tuple[list[dict[str, Any]],
                                                                                    Callable[[], None]]:
        """The stored events after `after_seq`, then every new one through `listener`.

        Reading and subscribing happen with no await in between, so nothing is
        missed or delivered twice.
        """
        backlog = self.events(job_id, after_seq)
        return backlog, self.hub.subscribe(job_id, listener)

    # -- writing -------------------------------------------------------------------------

    def add(self, job: Job, *first_events: dict[str, Any]) -> None:
        """A new job. The log first, then the record: a crash in between leaves an orphan log nobody sees,
        never a job whose transcript lacks its first message (spec J4)."""
        for event in first_events:
            self.emit(job, event)
        self.jobs[job.id] = job
        self.save(job)

    def add_imported_job(self, job: Job, history: list[dict[str, Any]]) -> Job:
        """Record a finished job built elsewhere (a CLI session imported from disk) with its transcript."""
        if job.id in self.jobs:
            raise Conflict(f"A job with id {job.id!r} already exists.")
        self.jobs[job.id] = job
        log = self.logs.log(job.id)
        log.append_many([{**event, "seq": log.last_seq() + i} for i, event in enumerate(history, start=1)])
        self.save(job)
        return job

    def save(self, job: Job) -> None:
        job.updated_at = now()
        # Running and idle are rewritten by restart recovery whatever the disk says, so their
        # saves need atomicity (a kill -9 is survived) but not an fsync (a power cut).
        transient = job.status in (JobStatus.RUNNING, JobStatus.IDLE, JobStatus.QUEUED)
        self.store.save_job(job.to_dict(), durable=not transient)
        self.hub.publish_global({"kind": "job", "job": job.to_dict(), "live": self.is_live(job.id)})

    def emit(self, job: Job, event: dict[str, Any]) -> dict[str, Any]:
        """Append an event to the job's log, then publish it to whoever follows the job."""
        log = self.logs.log(job.id)
        event["seq"] = log.last_seq() + 1
        log.append(event)
        self.hub.publish(job.id, event)
        return event

    def set_status(self, job: Job, status: str, *, error: str | None = None, finished: bool = False,
                   reason: str | None = None) -> None:
        previous = job.status
        job.status = JobStatus(status)
        if error is not None or status != JobStatus.FAILED:
            job.error = error
        if finished:
            job.finished_at = now()
            job.grace_deadline = None
        self.save(job)
        if previous != job.status or reason:
            self.emit(job, events.make(events.STATUS, status=job.status.value, previous=str(previous),
                                       reason=reason, error=job.error))
