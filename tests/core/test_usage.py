"""The usage ledger (spec N1): turns summed by day, project, model and job; kept across restarts; a torn last
line, a lost summary and jobs from before the ledger are all counted right."""

from __future__ import annotations

import time
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from core.errors import NotFound
from core.usage import TurnUsage, UsageLedger, day_of, parse_day

DAY = 86_400


class _Projects:
    def get(self, project_id: str):
        if project_id == "gone":
            raise NotFound(project_id)
        return SimpleNamespace(id=project_id, name=f"Project {project_id}")


def _jobs(*jobs):
    return SimpleNamespace(jobs={j.id: j for j in jobs}, projects=_Projects())


def _old_job(job_id: str, cost: float, at: float):
    return SimpleNamespace(id=job_id, name="An old job", project_id="p2", model=None, cost_usd=cost, input_tokens=100,
                           output_tokens=50, turns=3, updated_at=at)


def _turn(job: str, project: str, model: str, cost: float, at: float, tokens: int = 10) -> TurnUsage:
    return TurnUsage(job_id=job, project_id=project, model=model, cost_usd=cost, input_tokens=tokens,
                     output_tokens=2 * tokens, cache_read_tokens=3 * tokens, cache_write_tokens=4 * tokens, at=at)


def test_turns_add_up_by_day_project_model_and_job_and_survive_a_restart(tmp_path):
    now = time.time()
    ledger = UsageLedger(tmp_path, _jobs())
    ledger.load()
    ledger.record(_turn("a", "p1", "opus", 0.10, now))
    ledger.record(_turn("a", "p1", "opus", 0.20, now))
    ledger.record(_turn("b", "p1", "haiku", 0.0004, now - DAY))
    ledger.record(_turn("c", "p2", "opus", 1.00, now - 40 * DAY))  # outside a 30-day period

    today = date.fromtimestamp(now)
    for reader in (ledger, UsageLedger(tmp_path, _jobs())):  # the same after a restart
        report = reader.report(today - timedelta(days=29), today)
        assert report.totals["cost_usd"] == pytest.approx(0.3004)
        assert report.totals["turns"] == 3 and report.totals["input_tokens"] == 30
        assert report.totals["cache_write_tokens"] == 120
        assert [(r["job_id"], r["cost_usd"]) for r in report.top_jobs] == [("a", 0.3), ("b", 0.0004)]
        assert [(r["model"], r["turns"]) for r in report.by_model] == [("opus", 2), ("haiku", 1)]
        assert len(report.by_day) == 30 and report.by_day[-1]["cost_usd"] == pytest.approx(0.3)
        assert report.by_day[-2]["cost_usd"] == pytest.approx(0.0004)
        assert reader.report(today, today, project_id="p2").totals["turns"] == 0


def test_a_torn_line_and_a_stale_summary_lose_nothing_else(tmp_path, monkeypatch):
    import core.usage

    monkeypatch.setattr(core.usage, "SNAPSHOT_EVERY", 2)
    now = time.time()
    ledger = UsageLedger(tmp_path, _jobs())
    ledger.load()
    for n in range(5):  # a summary is written after the 2nd and 4th turn
        ledger.record(_turn("a", "p1", "opus", 0.01, now, tokens=n))
    ledger.settle()
    assert (tmp_path / "summary.json").exists()
    with open(tmp_path / "turns.jsonl", "ab") as f:
        f.write(b'{"at": 1, "job": "torn"')  # the process died in the middle of a line
    report = UsageLedger(tmp_path, _jobs()).report(date.fromtimestamp(now), date.fromtimestamp(now))
    assert report.totals["turns"] == 5 and report.totals["input_tokens"] == 10

    (tmp_path / "summary.json").unlink()  # lost: the log alone gives the same figures
    again = UsageLedger(tmp_path, _jobs()).report(date.fromtimestamp(now), date.fromtimestamp(now))
    assert again.totals == report.totals


def test_jobs_from_before_the_ledger_count_once_on_their_last_day(tmp_path):
    now = time.time()
    old = _old_job("old", 2.5, now - 3 * DAY)
    ledger = UsageLedger(tmp_path, _jobs(old))
    ledger.record(_turn("new", "p1", "opus", 0.5, now))
    today = date.fromtimestamp(now)
    report = ledger.report(today - timedelta(days=6), today)
    assert report.totals["cost_usd"] == pytest.approx(3.0) and report.totals["turns"] == 4
    assert report.top_jobs[0] == {"job_id": "old", "cost_usd": 2.5, "input_tokens": 100, "output_tokens": 50,
                                  "cache_read_tokens": 0, "cache_write_tokens": 0, "turns": 3,
                                  "job_name": "An old job", "project_id": "p2"}
    assert [(r["project_name"], r["cost_usd"]) for r in report.by_project] == [("Project p2", 2.5),
                                                                              ("Project p1", 0.5)]
    assert next(r for r in report.by_day if r["day"] == day_of(now - 3 * DAY))["cost_usd"] == 2.5


def test_a_period_with_nothing_in_it_and_bad_days():
    assert parse_day(None, date(2026, 1, 2)) == date(2026, 1, 2)
    assert parse_day("2026-02-28", date.today()) == date(2026, 2, 28)
    with pytest.raises(ValueError, match="is not a day"):
        parse_day("2026-02-30", date.today())
    with pytest.raises(ValueError, match="is not a day"):
        parse_day("last week", date.today())


def test_an_empty_period_reports_zeros_for_every_day(tmp_path):
    report = UsageLedger(tmp_path, _jobs()).report(date(2026, 3, 5), date(2026, 3, 1))  # reversed: swapped
    assert (report.start, report.end) == ("2026-03-01", "2026-03-05")
    assert [r["turns"] for r in report.by_day] == [0] * 5 and report.top_jobs == []
    assert report.totals["cost_usd"] == 0
