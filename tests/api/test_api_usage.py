"""Usage over the API (spec N1): turns the real CLI reports with known token counts add up to the cent per day,
project, model and job, and as CSV; a restart keeps them; bad periods get a clear 400."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from tests.support.api_server import api_client
from tests.support.helpers import wait_status
from tests.support.scripted_model import Response, text

MODEL = "claude-sonnet-4-5"
# Per turn: what the scripted model reports; the CLI prices it (sonnet: $3 in, $15 out, $0.30 cache reads,
# $3.75 cache writes per million tokens).
TURN_USAGE = {"input_tokens": 100_000, "output_tokens": 20_000, "cache_read_input_tokens": 50_000,
              "cache_creation_input_tokens": 10_000}
TURN_COST = 0.3 + 0.3 + 0.015 + 0.0375


def _reply(words: str) -> Response:
    return Response([text(words)], usage=TURN_USAGE)


async def _run(services, project, prompt: str, turns: int = 1):
    job = services.jobs.submit(project.id, prompt, model=MODEL, mode="session")
    await wait_status(services.jobs, job.id, "idle", timeout=60)
    for n in range(1, turns):
        services.jobs.follow_up(job.id, f"{prompt}, again {n}")
        await wait_until_turns(services, job.id, n + 1)
    return job


async def wait_until_turns(services, job_id: str, turns: int) -> None:
    from tests.support.helpers import wait_until

    await wait_until(lambda: services.jobs.get(job_id).turns >= turns and services.jobs.get(job_id).status == "idle",
                     60, f"{turns} turns")


async def test_costs_from_scripted_turns_add_up_to_the_cent(services_factory, project_factory, scripted_model):
    services = services_factory()
    web, api = project_factory(services, "web"), project_factory(services, "api")
    for _ in range(3):
        scripted_model.add(_reply("Done."))
    big = await _run(services, web, "the big job", turns=2)
    small = await _run(services, api, "the small job")

    jobs = [services.jobs.get(big.id), services.jobs.get(small.id)]
    assert jobs[0].cost_usd == pytest.approx(2 * TURN_COST, abs=0.005), "the CLI priced the scripted tokens"
    async with api_client(services) as client:
        report = (await client.get("/usage")).json()
        assert report["totals"]["cost_usd"] == pytest.approx(sum(j.cost_usd for j in jobs), abs=0.005)
        assert report["totals"]["turns"] == 3
        assert report["totals"]["input_tokens"] == 3 * 100_000
        assert report["totals"]["cache_read_tokens"] == 3 * 50_000
        assert report["totals"]["cache_write_tokens"] == 3 * 10_000
        assert [(r["project_name"], r["turns"]) for r in report["by_project"]] == [("web", 2), ("api", 1)]
        assert [r["model"] for r in report["by_model"]] == [MODEL]
        assert [(r["job_name"], round(r["cost_usd"], 2)) for r in report["top_jobs"]] == [
            ("the big job", round(jobs[0].cost_usd, 2)), ("the small job", round(jobs[1].cost_usd, 2))]
        assert report["by_day"][-1]["day"] == date.today().isoformat()
        assert report["by_day"][-1]["cost_usd"] == pytest.approx(report["totals"]["cost_usd"])

        only_api = (await client.get("/usage", params={"project_id": api.id})).json()
        assert only_api["totals"]["turns"] == 1 and [r["job_name"] for r in only_api["top_jobs"]] == ["the small job"]

        exported = await client.get("/usage/export.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert sorted((r["project"], r["job"], r["turns"]) for r in rows) == [
            ("api", "the small job", "1"), ("web", "the big job", "2")]
        assert sum(float(r["cost_usd"]) for r in rows) == pytest.approx(report["totals"]["cost_usd"])

    # After a restart the figures are the same.
    await services.shutdown()
    again = services_factory()
    async with api_client(again) as client:
        assert (await client.get("/usage")).json()["totals"] == report["totals"]


async def test_bad_periods_and_unknown_projects_get_a_clear_answer(services):
    async with api_client(services) as client:
        response = await client.get("/usage", params={"start": "yesterday"})
        assert response.status_code == 400 and "is not a day" in response.json()["detail"]
        long_ago = (date.today() - timedelta(days=5000)).isoformat()
        response = await client.get("/usage", params={"start": long_ago})
        assert response.status_code == 400 and "three years" in response.json()["detail"]
        assert (await client.get("/usage", params={"project_id": "nope"})).status_code == 404
        empty = (await client.get("/usage", params={"start": "2020-01-01", "end": "2020-01-07"})).json()
        assert empty["totals"]["turns"] == 0 and len(empty["by_day"]) == 7 and empty["top_jobs"] == []
        reversed_period = (await client.get("/usage", params={"start": "2020-01-07", "end": "2020-01-01"})).json()
        assert (reversed_period["start"], reversed_period["end"]) == ("2020-01-01", "2020-01-07")
