"""What agents cost and used, per day, project, model and job (spec N1).

Every turn's result adds one record: its cost (the CLI's own figure for the turn), its
tokens (input, output, cache reads, cache writes) and the model that did most of it. The
records are appended to `usage/turns.jsonl` in the state directory (one short line, no
fsync: a crash loses at most the last few, which the jobs' own totals still hold) and
summed into rows keyed by (local day, project, model, job): with 100,000 turns over
10,000 jobs that is some 10,000 rows, so a report for any period reads the rows, never
the transcripts. The rows are written whole to `usage/summary.json` now and then, with
how far into the turn log they reach; a start reads that and the log's tail.

Jobs finished before usage was kept (or imported) have no turn records: each counts once,
on the day it last changed, with the totals kept on the job.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import UserError
from storage.atomic_json import dumps, loads, write_atomic

log = logging.getLogger(__name__)

SNAPSHOT_EVERY = 2_000  # turns appended since the last summary before it is written whole again
FIELDS = ("cost_usd", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "turns")
_Key = tuple[str, str, str, str]  # (day, project id, model, job id)


def day_of(timestamp: float) -> str:
    """The local calendar day of a moment, as people read their bills."""
    return time.strftime("%Y-%m-%d", time.localtime(timestamp))


@dataclass
class TurnUsage:
    job_id: str
    project_id: str
    model: str
    cost_usd: float
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    at: float = field(default_factory=time.time)

    @classmethod
    def from_result(cls, job_id: str, project_id: str, cost_usd: float, usage: dict[str, Any] | None,
                    model_usage: dict[str, Any] | None, fallback_model: str | None) -> TurnUsage:
        """A turn from the CLI's result: `usage` holds the turn's tokens, `model_usage` names the models."""
        usage = usage or {}
        return cls(job_id=job_id, project_id=project_id, model=_main_model(model_usage) or fallback_model or "default",
                   cost_usd=max(0.0, float(cost_usd or 0.0)),
                   input_tokens=_count(usage.get("input_tokens")), output_tokens=_count(usage.get("output_tokens")),
                   cache_read_tokens=_count(usage.get("cache_read_input_tokens")),
                   cache_write_tokens=_count(usage.get("cache_creation_input_tokens")))


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and value > 0 else 0


def _main_model(model_usage: dict[str, Any] | None) -> str | None:
    """The model that cost the most in the CLI's per-model figures (a turn may use a small one for titles)."""
    if not model_usage:
        return None
    return max(model_usage, key=lambda name: float((model_usage[name] or {}).get("costUSD") or 0.0))


@dataclass
class UsageReport:
    start: str
    end: str
    totals: dict[str, float]
    by_day: list[dict[str, Any]]
    by_project: list[dict[str, Any]]
    by_model: list[dict[str, Any]]
    top_jobs: list[dict[str, Any]]


class UsageLedger:
    def __init__(self, directory: Path, jobs: Any) -> None:
        self.directory = directory
        self._jobs = jobs  # JobRecords: the totals of jobs that have no turn records
        self._turns_path = directory / "turns.jsonl"
        self._summary_path = directory / "summary.json"
        self._rows: dict[_Key, list[float]] = {}
        self._months: dict[tuple[str, str], float] = {}  # (YYYY-MM, project id) -> cost: budgets ask often
        self._day_keys: dict[str, list[_Key]] = {}  # day -> its rows' keys: a report reads only its period's
        self._recorded_jobs: set[str] = set()
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._snapshotter: threading.Thread | None = None
        self._loaded = threading.Event()
        self._since_snapshot = 0

    # -- keeping ----------------------------------------------------------------------------

    def record(self, turn: TurnUsage) -> None:
        """Add one turn: a line appended to the log and the summary row updated (microseconds)."""
        line = dumps({"at": round(turn.at, 3), "job": turn.job_id, "project": turn.project_id, "model": turn.model,
                      "cost": round(turn.cost_usd, 8), "in": turn.input_tokens, "out": turn.output_tokens,
                      "cr": turn.cache_read_tokens, "cw": turn.cache_write_tokens}) + b"\n"
        with self._lock:  # the line and the row together: a load in another thread sees both or neither
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                with open(self._turns_path, "ab") as f:
                    f.write(line)
            except OSError as exc:  # a full disk must not fail the turn; the job's totals still count it
                log.warning("could not keep the usage of a turn of %s: %s", turn.job_id, exc)
            if self._loaded.is_set():
                self._add(turn.at, turn.project_id, turn.model, turn.job_id,
                          (turn.cost_usd, turn.input_tokens, turn.output_tokens, turn.cache_read_tokens,
                           turn.cache_write_tokens, 1))
                self._since_snapshot += 1
                if self._since_snapshot >= SNAPSHOT_EVERY:
                    self._since_snapshot = 0
                    # Copying and writing tens of thousands of rows takes a while: not on the loop that ended the turn.
                    self._snapshotter = threading.Thread(target=self._write_snapshot, daemon=True,
                                                         name="usage-summary")
                    self._snapshotter.start()

    def month_spent(self, project_id: str, month: str) -> float:
        """What the project's jobs cost in `month` (YYYY-MM), jobs from before the ledger included."""
        self.load()
        with self._lock:
            spent = self._months.get((month, project_id), 0.0)
            recorded = set(self._recorded_jobs)
        return spent + sum(values[0] for (day, project, _, _), values in self._unrecorded_rows(recorded)
                           if project == project_id and day.startswith(month))

    def _add(self, at: float, project_id: str, model: str, job_id: str, values: tuple[float, ...]) -> None:
        key = (day_of(at), project_id, model, job_id)
        month = (key[0][:7], project_id)
        self._months[month] = self._months.get(month, 0.0) + values[0]
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = list(values)
            self._day_keys.setdefault(key[0], []).append(key)
        else:
            for i, value in enumerate(values):
                row[i] += value
        self._recorded_jobs.add(job_id)

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        """Read the summary and the turns logged after it (once; in a worker thread at start)."""
        with self._lock:
            if self._loaded.is_set():
                return
            offset = 0
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
                snapshot = loads(self._summary_path.read_bytes())
                self._rows = {tuple(row[:4]): [float(v) for v in row[4:]] for row in snapshot["rows"]}
                offset = int(snapshot["offset"])
            self._months, self._day_keys = {}, {}
            for key, values in self._rows.items():
                month = (key[0][:7], key[1])
                self._months[month] = self._months.get(month, 0.0) + values[0]
                self._day_keys.setdefault(key[0], []).append(key)
            self._recorded_jobs = {key[3] for key in self._rows}
            self._since_snapshot = self._read_turns(offset)
            self._loaded.set()

    def _read_turns(self, offset: int) -> int:
        try:
            with open(self._turns_path, "rb") as f:
                if offset > os.fstat(f.fileno()).st_size:
                    offset = 0  # the log was replaced: the summary does not describe it
                    self._rows.clear()
                    self._months.clear()
                    self._day_keys.clear()
                f.seek(offset)
                count = 0
                for line in f:
                    if not line.endswith(b"\n"):
                        break  # a line being written when the process died
                    try:
                        t = loads(line)
                        self._add(float(t["at"]), str(t["project"]), str(t["model"]), str(t["job"]),
                                  (float(t["cost"]), int(t["in"]), int(t["out"]), int(t["cr"]), int(t["cw"]), 1))
                    except (ValueError, TypeError, KeyError):
                        continue
                    count += 1
                return count
        except FileNotFoundError:
            return 0

    def settle(self) -> None:
        """Wait for a summary being written (tests, benches)."""
        if self._snapshotter is not None:
            self._snapshotter.join()

    def _write_snapshot(self) -> None:
        """The summary, with how far into the turn log it reaches (a start reads the log from there)."""
        with self._snapshot_lock:  # two writers in a row: the later one wins, whole
            with self._lock:  # the rows and the log's length at one moment
                rows = [[*key, *values] for key, values in self._rows.items()]
                offset = self._turns_path.stat().st_size if self._turns_path.exists() else 0
            try:
                write_atomic(self._summary_path, dumps({"offset": offset, "rows": rows}), durable=False)
            except OSError as exc:
                log.warning("could not write the usage summary: %s", exc)

    # -- reading ----------------------------------------------------------------------------

    def report(self, start: date, end: date, project_id: str | None = None, top: int = 20) -> UsageReport:
        """Totals and breakdowns for the days from `start` to `end`, both included."""
        if end < start:
            start, end = end, start
        self.load()
        first, last = start.isoformat(), end.isoformat()
        by_day: dict[str, list[float]] = {}
        by_project: dict[str, list[float]] = {}
        by_model: dict[str, list[float]] = {}
        by_job: dict[str, list[float]] = {}
        days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
        with self._lock:  # only the period's rows: the day index finds them
            rows = [(key, values) for day in days for key in self._day_keys.get(day, ())
                    for values in (self._rows[key],)]
            recorded = set(self._recorded_jobs)
        for (day, project, model, job_id), values in rows + self._unrecorded_rows(recorded):
            if not first <= day <= last or (project_id and project != project_id):
                continue
            _accumulate(by_day, day, values)
            _accumulate(by_project, project, values)
            _accumulate(by_model, model, values)
            _accumulate(by_job, job_id, values)
        totals = [sum(row[i] for row in by_day.values()) for i in range(len(FIELDS))]
        projects = self._ranked(by_project, "project_id")
        for row in projects:
            row["project_name"] = self.project_name(row["project_id"])
        jobs = self._ranked(by_job, "job_id")[:top]
        for row in jobs:
            job = self._jobs.jobs.get(row["job_id"])
            row.update(job_name=job.name if job else "(deleted job)", project_id=job.project_id if job else None)
        return UsageReport(
            start=first, end=last, totals=_named(totals),
            by_day=[{"day": d, **_named(by_day.get(d, [0.0] * len(FIELDS)))} for d in days],
            by_project=projects, by_model=self._ranked(by_model, "model"), top_jobs=jobs)

    def csv(self, start: date, end: date, project_id: str | None = None) -> str:
        """The period's rows (a day, project, model and job each) as CSV, with the projects' and jobs' names."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["day", "project", "model", "job", *FIELDS])
        for row in self.rows(start, end, project_id):
            job = self._jobs.jobs.get(row["job_id"])
            writer.writerow([row["day"], _cell(self.project_name(row["project_id"])), _cell(row["model"]),
                             _cell(job.name if job else "(deleted job)"), *(row[name] for name in FIELDS)])
        return out.getvalue()

    def project_name(self, project_id: str) -> str:
        try:
            return self._jobs.projects.get(project_id).name
        except UserError:
            return "(deleted project)"

    def rows(self, start: date, end: date, project_id: str | None = None) -> list[dict[str, Any]]:
        """The summary rows of the period (a day, project, model and job each), oldest first: the CSV export."""
        if end < start:
            start, end = end, start
        self.load()
        first, last = start.isoformat(), end.isoformat()
        with self._lock:
            rows = list(self._rows.items())
            recorded = set(self._recorded_jobs)
        return [{"day": day, "project_id": project, "model": model, "job_id": job_id, **_named(values)}
                for (day, project, model, job_id), values in sorted(rows + self._unrecorded_rows(recorded))
                if first <= day <= last and (not project_id or project == project_id)]

    def _unrecorded_rows(self, recorded: set[str]) -> list[tuple[_Key, list[float]]]:
        """Jobs with no turn records: their own totals, on the day they last changed."""
        rows = []
        for job in list(self._jobs.jobs.values()):
            if job.id in recorded or not (job.cost_usd or job.input_tokens or job.output_tokens):
                continue
            rows.append(((day_of(job.updated_at), job.project_id, job.model or "default", job.id),
                         [job.cost_usd, job.input_tokens, job.output_tokens, 0, 0, job.turns]))
        return rows

    @staticmethod
    def _ranked(table: dict[str, list[float]], name: str) -> list[dict[str, Any]]:
        return [{name: key, **_named(values)} for key, values in sorted(table.items(), key=lambda kv: -kv[1][0])]


def _accumulate(table: dict[str, list[float]], key: str, values: list[float]) -> None:
    row = table.get(key)
    if row is None:
        table[key] = list(values)
    else:  # the six figures, unrolled: a year's report adds some 100,000 rows four times
        row[0] += values[0]
        row[1] += values[1]
        row[2] += values[2]
        row[3] += values[3]
        row[4] += values[4]
        row[5] += values[5]


def _named(values: list[float]) -> dict[str, float]:
    named: dict[str, float] = {}
    for name, value in zip(FIELDS, values, strict=True):
        named[name] = round(value, 6) if name == "cost_usd" else int(value)
    return named


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (a job named '=HYPERLINK(...)')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def parse_day(text: str | None, default: date) -> date:
    """A YYYY-MM-DD day from a query; ValueError with the reason otherwise."""
    if not text:
        return default
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{text!r} is not a day (YYYY-MM-DD).") from None
