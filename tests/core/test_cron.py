"""Cron tasks (spec G5): the 5-field expression reader, and the tasks a real CLI run creates."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.claude_home import find_session_file
from core.workspace.cron import CronService, next_run, parse_cron
from tests.support.helpers import wait_status
from tests.support.scripted_model import text, tool_results, tool_use


def at(*args: int) -> float:
    return datetime(*args).timestamp()  # local time, as the CLI reads expressions


def when(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts)


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("*/5 * * * *", (2026, 1, 5, 10, 7), (2026, 1, 5, 10, 10)),
    ("* * * * *", (2026, 1, 5, 10, 7, 59), (2026, 1, 5, 10, 8)),
    ("30 14 * * *", (2026, 1, 5, 14, 30), (2026, 1, 6, 14, 30)),  # strictly after
    ("0 9 * * 1-5", (2026, 1, 9, 10, 0), (2026, 1, 12, 9, 0)),  # Friday -> Monday
    ("0 0 1,15 * *", (2026, 1, 2, 0, 0), (2026, 1, 15, 0, 0)),
    ("0 12 * * 7", (2026, 1, 5, 0, 0), (2026, 1, 11, 12, 0)),  # 7 is Sunday too
    ("0 12 * * 0", (2026, 1, 5, 0, 0), (2026, 1, 11, 12, 0)),
    ("0 0 13 * 5", (2026, 2, 1, 0, 0), (2026, 2, 6, 0, 0)),  # both restricted: either matches
    ("0 0 13 * 5", (2026, 2, 10, 0, 0), (2026, 2, 13, 0, 0)),
    ("0 0 1 3 *", (2026, 1, 20, 8, 0), (2026, 3, 1, 0, 0)),
    ("0 0 29 2 *", (2026, 1, 1, 0, 0), (2028, 2, 29, 0, 0)),
    ("10-20/5 8 * * *", (2026, 1, 5, 8, 16), (2026, 1, 5, 8, 20)),
    ("59 23 31 12 *", (2026, 6, 1, 0, 0), (2026, 12, 31, 23, 59)),
])
def test_next_run(expression, after, expected):
    assert when(next_run(expression, at(*after))) == datetime(*expected)


def test_an_expression_that_never_matches_has_no_next_run():
    assert next_run("0 0 31 4 *", at(2026, 1, 1)) is None


@pytest.mark.parametrize("expression", [
    "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
    "*/0 * * * *", "5-1 * * * *", "MON * * * *", "* * * * MON", "1/5 * * * *", "", "1,,2 * * * *",
])
def test_unreadable_expressions_are_refused(expression):
    with pytest.raises(ValueError):
        parse_cron(expression)


def _brute_force(expression: str, after: float) -> float:
    schedule = parse_cron(expression)
    moment = datetime.fromtimestamp(after).replace(second=0, microsecond=0)
    for _ in range(60 * 24 * 70):
        moment += timedelta(minutes=1)
        if moment.minute in schedule.minutes and moment.hour in schedule.hours \
                and moment.month in schedule.months and schedule.day_matches(moment):
            return moment.timestamp()
    raise AssertionError("no match within 70 days")


def test_next_run_agrees_with_a_minute_by_minute_search():
    rng = random.Random(5)
    fields = [["*", "*/7", "5", "0,30", "10-40/10"], ["*", "9", "*/6", "8-17", "0,12"],
              ["*", "1", "13", "1-10", "*/10"], ["*", "*", "*", "2,3"], ["*", "1-5", "0", "6,0", "3"]]
    start = at(2026, 1, 28, 22, 13)
    for _ in range(25):
        expression = " ".join(rng.choice(options) for options in fields)
        assert next_run(expression, start) == _brute_force(expression, start), expression


# -- tasks from a real CLI run -----------------------------------------------------------------


def _stated_max_age_days(body: dict) -> int:
    """The lifetime CronCreate told the model a recurring task has ("Auto-expires after N days")."""
    for result in tool_results(body):
        if m := re.search(r"Auto-expires after (\d+) days", result.content):
            return int(m.group(1))
    raise AssertionError("no CronCreate result states when a recurring task expires")


def _created_id(body: dict, prompt_marker: str) -> str:
    for result in reversed(tool_results(body)):
        if m := re.search(r"Scheduled recurring job (\S+) ", result.content):
            return m.group(1)
    raise AssertionError(f"no created task for {prompt_marker}")


async def test_tasks_from_the_file_and_from_the_jobs_tool_calls(services, project, scripted_model):
    scripted_model.add_response(tool_use("CronCreate", {"cron": "*/5 * * * *", "prompt": "check the build",
                                                        "recurring": True, "durable": True}))
    scripted_model.add_response(tool_use("CronCreate", {"cron": "0 9 * * 1-5", "prompt": "standup notes",
                                                        "recurring": True}))
    scripted_model.add_response(tool_use("CronCreate", {"cron": "30 14 * * *", "prompt": "remind me once",
                                                        "recurring": False}))
    scripted_model.add_response(tool_use("CronCreate", {"cron": "0 * * * *", "prompt": "hourly, then cancelled"}))
    scripted_model.add_response(lambda body: tool_use("CronDelete", {"id": _created_id(body, "hourly")}))
    stated: list[int] = []
    scripted_model.add_response(lambda body: stated.append(_stated_max_age_days(body)) or text("Scheduled."))
    started = time.time()
    job = services.jobs.submit(project.id, "set up my reminders", permission_mode="bypassPermissions")
    await wait_status(services.jobs, job.id, "idle", timeout=90)
    cron = CronService(services)
    timed = time.perf_counter()
    tasks = {t.prompt: t for t in cron.tasks(project.id)}
    elapsed_ms = (time.perf_counter() - timed) * 1000
    assert set(tasks) == {"check the build", "standup notes", "remind me once"}, "the cancelled one is gone"

    durable = tasks["check the build"]
    on_disk = json.loads((Path(project.path) / ".claude" / "scheduled_tasks.json").read_text())["tasks"]
    assert [t["id"] for t in on_disk] == [durable.id]
    assert durable.durable and durable.recurring and durable.job_id == job.id and durable.valid
    assert durable.cron == "*/5 * * * *" and durable.last_run is None
    assert started - 1 < durable.created_at < time.time()
    assert time.time() < durable.next_run <= time.time() + 300 and when(durable.next_run).minute % 5 == 0
    # The lifetime the CLI states, stamps on the task and applies: 30 days in CLI 2.1.337.
    assert stated == [30] and on_disk[0]["maxAgeMs"] == 30 * 86400 * 1000
    assert durable.expires_at == pytest.approx(durable.created_at + 30 * 86400)

    standup = tasks["standup notes"]
    assert not standup.durable and standup.recurring and standup.job_id == job.id
    assert standup.expires_at == pytest.approx(standup.created_at + 30 * 86400)
    assert when(standup.next_run).hour == 9 and when(standup.next_run).weekday() < 5

    once = tasks["remind me once"]
    assert not once.durable and not once.recurring and once.expires_at is None
    assert once.next_run == next_run("30 14 * * *", once.created_at)

    # A fire of a session task is in the CLI's transcript only, as a scheduled user entry.
    transcript = find_session_file(services.jobs.get(job.id).session_id)
    fired_at = datetime.now().astimezone()
    with open(transcript, "a") as f:
        for prompt in ("standup notes", "remind me once"):
            f.write(json.dumps({"type": "user", "message": {"role": "user", "content": prompt}, "isMeta": True,
                                "turnOrigin": "scheduled", "timestamp": fired_at.isoformat(),
                                "uuid": "u-" + prompt}, separators=(",", ":")) + "\n")
    tasks = {t.prompt: t for t in cron.tasks(project.id)}
    assert tasks["standup notes"].last_run == pytest.approx(fired_at.timestamp(), abs=0.01)
    assert "remind me once" not in tasks, "a one-shot task deletes itself when it fires"

    services.jobs.complete(job.id)
    await wait_status(services.jobs, job.id, "completed")
    assert [t.prompt for t in cron.tasks(project.id)] == ["check the build"], "session tasks die with the CLI"
    assert {t.prompt for t in cron.tasks(project.id, include_inactive=True)} == {"check the build", "standup notes"}
    print(f"\ntasks() after a 6-call job: {elapsed_ms:.1f} ms")


async def test_a_broken_tasks_file_is_no_tasks(services, project):
    path = Path(project.path) / ".claude" / "scheduled_tasks.json"
    path.parent.mkdir()
    path.write_text("{not json")
    assert CronService(services).tasks(project.id) == []
    path.write_text(json.dumps({"tasks": [{"id": "a1", "cron": "bogus", "prompt": "p", "createdAt": 1}, {"id": 3}]}))
    [task] = CronService(services).tasks(project.id)
    assert task.id == "a1" and not task.valid and task.next_run is None and task.job_id is None


@pytest.mark.parametrize(("entry", "lifetime_days"), [
    ({}, 7),  # written by hand or by an older CLI: no maxAgeMs of its own
    ({"maxAgeMs": "soon"}, 7),  # not a number: ignored, as the CLI ignores it
    ({"maxAgeMs": 3 * 86400_000}, 3),
    ({"maxAgeMs": 30 * 86400_000}, 30),  # what CronCreate stamps
    ({"maxAgeMs": 90 * 86400_000}, 30),  # never beyond the CLI's cap
    ({"maxAgeMs": 0}, 30),  # no limit of its own leaves the cap
    ({"permanent": True}, None),
    ({"recurring": False}, None),  # a one-shot task fires once instead
], ids=["unstamped", "not-a-number", "own-3d", "stamped-30d", "over-the-cap", "zero", "permanent", "one-shot"])
def test_a_durable_task_expires_when_the_cli_deletes_it(services, project, entry, lifetime_days):
    created_ms = 1_767_225_600_000
    raw = {"id": "t1", "cron": "0 9 * * *", "prompt": "p", "createdAt": created_ms, "recurring": True, **entry}
    path = Path(project.path) / ".claude" / "scheduled_tasks.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"tasks": [raw]}))
    [task] = CronService(services).tasks(project.id)
    expected = None if lifetime_days is None else created_ms / 1000 + lifetime_days * 86400
    assert task.expires_at == expected
