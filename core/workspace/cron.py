"""Scheduled tasks Claude created in a project (spec G5).

Two sources, because the CLI keeps two kinds:
- durable tasks live in `<project>/.claude/scheduled_tasks.json`
  (`{"tasks": [{id, cron, prompt, createdAt, recurring?, lastFiredAt?, maxAgeMs?, createdBySessionId?}]}`),
  the file is the truth: a task missing from it was deleted or has fired for good;
- session tasks live only inside one CLI process; we rebuild them from the job's
  CronCreate / CronDelete tool calls and their results, and they exist only while
  that job's CLI process is alive.

Fire times are computed here from the 5-field expression, the way the CLI reads
it (local time; `*`, lists, ranges, steps; no names; day-of-month and
day-of-week match either when both are restricted). The CLI adds a small
per-task delay to each fire so that many tasks don't hit the API at once; the
next run shown here is the nominal time.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core import events
from core.claude_home import find_session_file
from core.errors import UserError
from core.workspace.paths import resolve_in

log = logging.getLogger(__name__)

TASKS_FILE = ".claude/scheduled_tasks.json"
# How long a recurring task lives, as the bundled CLI (2.1.337) decides it: the task's own maxAgeMs, 7 days
# when it has none, and never more than recurringMaxAgeMs (30 days), which CronCreate also stamps on each
# task it makes. A remote configuration can change recurringMaxAgeMs; that is invisible from here.
RECURRING_MAX_AGE_S = 30 * 24 * 3600
UNSTAMPED_MAX_AGE_S = 7 * 24 * 3600
_AUTO_EXPIRES = re.compile(r"Auto-expires after (\d+) days")  # what CronCreate tells the model
_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))  # minute hour day-of-month month day-of-week
_CREATED = re.compile(r"Scheduled (recurring job|one-shot task) (\S+) \(")
_SEARCH_YEARS = 8  # long enough for "29 Feb on a Monday"-style expressions


# -- cron expressions --------------------------------------------------------------------


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    def day_matches(self, moment: datetime) -> bool:
        all_days, all_weekdays = len(self.days) == 31, len(self.weekdays) == 7
        weekday = (moment.weekday() + 1) % 7
        if all_days and all_weekdays:
            return True
        if all_days:
            return weekday in self.weekdays
        if all_weekdays:
            return moment.day in self.days
        return moment.day in self.days or weekday in self.weekdays


def _parse_field(text: str, low: int, high: int) -> frozenset[int]:
    weekday = (low, high) == (0, 6)
    values: set[int] = set()
    for part in text.split(","):
        if m := re.fullmatch(r"\*(?:/(\d+))?", part):
            step = int(m.group(1) or 1)
            if step < 1:
                raise ValueError(f"step 0 in {text!r}")
            values.update(range(low, high + 1, step))
        elif m := re.fullmatch(r"(\d+)-(\d+)(?:/(\d+))?", part):
            start, end, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
            if start > end or step < 1 or start < low or end > (7 if weekday else high):
                raise ValueError(f"bad range {part!r}")
            values.update(0 if weekday and v == 7 else v for v in range(start, end + 1, step))
        elif re.fullmatch(r"\d+", part):
            value = int(part)
            value = 0 if weekday and value == 7 else value
            if not low <= value <= high:
                raise ValueError(f"{part!r} is outside {low}-{high}")
            values.add(value)
        else:
            raise ValueError(f"cannot read {part!r}")
    return frozenset(values)


def parse_cron(expression: str) -> CronSchedule:
    """A 5-field expression (minute hour day-of-month month day-of-week); ValueError if unreadable."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"{expression!r} does not have 5 fields")
    return CronSchedule(*(_parse_field(p, low, high) for p, (low, high) in zip(parts, _FIELDS, strict=True)))


def next_run(expression: str | CronSchedule, after: float) -> float | None:
    """The first matching minute strictly after `after` (epoch seconds), in local time; None if none."""
    schedule = parse_cron(expression) if isinstance(expression, str) else expression
    moment = datetime.fromtimestamp(after).replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = moment + timedelta(days=366 * _SEARCH_YEARS)
    while moment < limit:  # jump whole months, days and hours where they cannot match
        if moment.month not in schedule.months:
            moment = (moment.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0)
        elif not schedule.day_matches(moment):
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
        elif moment.hour not in schedule.hours:
            moment = (moment + timedelta(hours=1)).replace(minute=0)
        elif moment.minute not in schedule.minutes:
            moment += timedelta(minutes=1)
        else:
            return moment.timestamp()
    return None


# -- tasks -------------------------------------------------------------------------------


@dataclass
class CronTask:
    id: str
    cron: str
    prompt: str
    recurring: bool
    durable: bool
    job_id: str | None = None
    created_at: float | None = None
    last_run: float | None = None
    next_run: float | None = None  # for a missed one-shot task this lies in the past
    expires_at: float | None = None
    valid: bool = True  # False: the CLI cannot read the expression and will never fire it

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _JobScan:
    """What one job's log said about cron tasks so far; logs only grow, so scans resume."""

    last_seq: int = 0
    calls: dict[str, tuple[str, dict[str, Any], float]] = field(default_factory=dict)  # tool_use id -> call
    created: dict[str, CronTask] = field(default_factory=dict)  # task id -> task
    deleted: set[str] = field(default_factory=set)


def max_age_s(max_age_ms: Any) -> float:
    """How long after its creation a recurring, non-permanent task with this `maxAgeMs` entry is deleted.

    The CLI's rule: a missing (or non-numeric) entry means 7 days; 0 means no limit of the task's own,
    which leaves the 30-day cap; anything longer is cut to the cap."""
    own = max_age_ms / 1000 if isinstance(max_age_ms, int | float) and not isinstance(max_age_ms, bool) \
        else UNSTAMPED_MAX_AGE_S
    return min(own or RECURRING_MAX_AGE_S, RECURRING_MAX_AGE_S)


def _with_times(task: CronTask, now: float) -> CronTask:
    try:
        schedule = parse_cron(task.cron)
    except ValueError:
        task.valid, task.next_run = False, None
        return task
    base = task.last_run or task.created_at or now
    if task.recurring:
        task.next_run = next_run(schedule, max(base, now))
    elif task.last_run is None:
        task.next_run = next_run(schedule, task.created_at or now)
    return task


class CronService:
    def __init__(self, services) -> None:
        self._services = services
        self._scans: dict[str, _JobScan] = {}
        self._fires: dict[str, tuple[int, dict[str, float]]] = {}  # session file -> (offset, prompt -> last fire)
        self._lock = threading.Lock()

    def tasks(self, project_id: str, include_inactive: bool = False) -> list[CronTask]:
        """Durable tasks, then the session tasks of live jobs (of finished jobs too with include_inactive).

        Safe to call from worker threads: the incremental scans it keeps are updated under a lock."""
        with self._lock:
            return self._tasks(project_id, include_inactive)

    def _tasks(self, project_id: str, include_inactive: bool) -> list[CronTask]:
        project = self._services.projects.get(project_id)
        jobs = self._services.jobs.list(project_id, include_archived=True)
        scans = {job.id: self._scan(job.id) for job in jobs}
        creator = {task_id: job_id for job_id, scan in scans.items() for task_id in scan.created}
        by_session = {job.session_id: job.id for job in jobs if job.session_id}
        now = datetime.now().timestamp()
        found = []
        for raw in self._durable(Path(project.path)):
            task = CronTask(id=raw["id"], cron=raw["cron"], prompt=raw["prompt"], recurring=bool(raw.get("recurring")),
                            durable=True, created_at=raw["createdAt"] / 1000,
                            job_id=creator.get(raw["id"]) or by_session.get(raw.get("createdBySessionId")))
            if isinstance(raw.get("lastFiredAt"), int | float):
                task.last_run = raw["lastFiredAt"] / 1000
            if task.recurring and not raw.get("permanent"):
                task.expires_at = task.created_at + max_age_s(raw.get("maxAgeMs"))
            found.append(_with_times(task, now))
        for job in jobs:
            live = self._services.jobs.is_live(job.id)
            if not (live or include_inactive):
                continue
            fires = self._fired(job.session_id) if job.session_id else {}
            for task in scans[job.id].created.values():
                if task.durable or task.id in scans[job.id].deleted:
                    continue
                task = CronTask(**task.to_dict())
                fired = fires.get(task.prompt)
                task.last_run = fired if fired and fired >= (task.created_at or 0) else None
                if not task.recurring and task.last_run:
                    continue  # a one-shot task deletes itself once it has fired
                found.append(_with_times(task, now))
        return found

    # -- sources -------------------------------------------------------------------------

    def _durable(self, project_dir: Path) -> list[dict[str, Any]]:
        try:
            path = resolve_in(project_dir, TASKS_FILE)
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError, UserError) as exc:
            log.warning("cannot read %s in %s: %s", TASKS_FILE, project_dir, exc)
            return []
        tasks = data.get("tasks") if isinstance(data, dict) else None
        # The CLI skips malformed entries the same way.
        return [t for t in tasks or [] if isinstance(t, dict) and isinstance(t.get("id"), str)
                and isinstance(t.get("cron"), str) and isinstance(t.get("prompt"), str)
                and isinstance(t.get("createdAt"), int | float)]

    def _scan(self, job_id: str) -> _JobScan:
        scan = self._scans.setdefault(job_id, _JobScan())
        for event in self._services.jobs.events(job_id, scan.last_seq):
            scan.last_seq = max(scan.last_seq, event.get("seq", 0))
            block = event.get("block") or {}
            if event["kind"] == events.ASSISTANT and block.get("type") == "tool_use" \
                    and block.get("name") in ("CronCreate", "CronDelete"):
                scan.calls[block["id"]] = (block["name"], block.get("input") or {}, event.get("ts") or 0.0)
            elif event["kind"] == events.TOOL_RESULT and not event.get("is_error") \
                    and event.get("tool_use_id") in scan.calls:
                name, tool_input, ts = scan.calls.pop(event["tool_use_id"])
                content = str(event.get("content") or "")
                if name == "CronDelete" and tool_input.get("id"):
                    scan.deleted.add(str(tool_input["id"]))
                elif name == "CronCreate" and (m := _CREATED.search(content)):
                    recurring = m.group(1) == "recurring job"
                    said = _AUTO_EXPIRES.search(content)
                    max_age = int(said.group(1)) * 86400 if said else RECURRING_MAX_AGE_S
                    scan.created[m.group(2)] = CronTask(
                        id=m.group(2), cron=str(tool_input.get("cron", "")), prompt=str(tool_input.get("prompt", "")),
                        recurring=recurring, durable="Persisted to" in content, job_id=job_id, created_at=ts,
                        expires_at=ts + max_age if recurring else None)
        return scan

    def _fired(self, session_id: str) -> dict[str, float]:
        """When each scheduled prompt last fired in a session, from the CLI's transcript.

        Our event log only sees an unasked turn; the transcript records the prompt
        as a user entry with turnOrigin "scheduled". Read incrementally: it only grows.
        """
        path = find_session_file(session_id)
        if path is None:
            return {}
        key = str(path)
        offset, fires = self._fires.get(key, (0, {}))
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
        except OSError:
            return fires
        end = chunk.rfind(b"\n") + 1  # a half-written last line is read next time
        for line in chunk[:end].splitlines():
            if b'"turnOrigin":"scheduled"' not in line:
                continue
            try:
                entry = json.loads(line)
                content = entry["message"]["content"]
                when = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(content, str):
                fires[content] = max(fires.get(content, 0.0), when)
        self._fires[key] = (offset + end, fires)
        return fires
