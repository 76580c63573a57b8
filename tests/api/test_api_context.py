"""The context gauge's figures (spec N2): a live job's context window as the real CLI counts it; a job without a
running CLI gets a 409 that says why."""

from __future__ import annotations

from tests.support.api_server import api_client
from tests.support.helpers import wait_status, wait_until
from tests.support.scripted_model import text


async def test_a_live_jobs_context_is_measured_and_a_finished_one_says_why_not(services, project, scripted_model):
    scripted_model.add_response(text("Short answer."))
    scripted_model.add_response(text("A much longer answer. " * 400))
    job = services.jobs.submit(project.id, "hello", mode="session")
    await wait_status(services.jobs, job.id, "idle", timeout=60)
    async with api_client(services) as client:
        first = (await client.get(f"/jobs/{job.id}/context")).json()
        assert 0 < first["tokens"] < first["max_tokens"] and 0 < first["percent"] < 100
        assert first["parts"] and all(p["tokens"] >= 0 for p in first["parts"])
        assert first["parts"] == sorted(first["parts"], key=lambda p: -p["tokens"])

        services.jobs.follow_up(job.id, "tell me more " * 300)
        await wait_until(lambda: services.jobs.get(job.id).turns == 2 and services.jobs.get(job.id).status == "idle",
                         60, "the second turn")
        second = (await client.get(f"/jobs/{job.id}/context")).json()
        # Offline the CLI counts its tools, skills and memory here, not the scripted replies: it never shrinks.
        assert second["tokens"] >= first["tokens"] and second["max_tokens"] == first["max_tokens"]

        services.jobs.complete(job.id)
        await wait_until(lambda: job.id not in services.jobs.live, 30, "the session to end")
        gone = await client.get(f"/jobs/{job.id}/context")
        assert gone.status_code == 409 and "no running Claude Code process" in gone.json()["detail"]
        assert (await client.get("/jobs/nope/context")).status_code == 404
