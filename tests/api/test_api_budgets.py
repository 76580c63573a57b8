"""Budgets (spec N3) against the real CLI, which prices the scripted model's token counts (sonnet: $3 per million
input tokens): a job stops at its cap in the middle of a turn with a message saying by how much, refuses the
next turn until continued deliberately; a project's monthly budget stops the next job; bad budgets get 400."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api_server import api_client
from tests.support.helpers import wait_status, wait_until
from tests.support.scripted_model import Response, text, tool_use

MODEL = "claude-sonnet-4-5"
CALL = {"input_tokens": 100_000, "output_tokens": 0, "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0}  # $0.30 a model call


def _costly(*blocks) -> Response:
    return Response(list(blocks), usage=CALL)


def _errors(services, job_id: str) -> list[str]:
    return [e["message"] for e in services.jobs.events(job_id) if e["kind"] == "error"]


async def test_a_job_stops_at_its_cap_and_continues_only_deliberately(services, project, scripted_model):
    target = Path(project.path) / "second.txt"
    scripted_model.add(_costly(text("First turn.")))  # $0.30 of the $0.50
    # The second turn would call the model twice; after the first call ($0.60 in all) the CLI stops the turn, so
    # the next answer in the script goes to the turn continued deliberately.
    scripted_model.add(_costly(tool_use("Write", {"file_path": str(target), "content": "x\n"})))
    scripted_model.add(_costly(text("Continued deliberately.")))
    async with api_client(services) as client:
        created = await client.post("/jobs", json={"project_id": project.id, "prompt": "start", "model": MODEL,
                                                   "mode": "session", "budget_usd": 0.5,
                                                   "permission_mode": "acceptEdits"})
        assert created.status_code == 201 and created.json()["budget_usd"] == 0.5
        job_id = created.json()["id"]
        await wait_status(services.jobs, job_id, "idle", timeout=60)
        assert services.jobs.get(job_id).cost_usd == pytest.approx(0.30, abs=0.01)

        assert (await client.post(f"/jobs/{job_id}/messages", json={"prompt": "go on"})).status_code == 202
        await wait_until(lambda: _errors(services, job_id), 60, "the budget message")
        message = _errors(services, job_id)[-1]
        assert "reached its budget: $0.60 spent of $0.50 ($0.10 over)" in message, message
        await wait_status(services.jobs, job_id, "idle", timeout=60)
        assert len(scripted_model.requests) == 2, "the stopped turn made no second model call"

        refused = await client.post(f"/jobs/{job_id}/messages", json={"prompt": "more"})
        assert refused.status_code == 409 and "reached its budget" in refused.json()["detail"]
        went_on = await client.post(f"/jobs/{job_id}/messages", json={"prompt": "more", "over_budget": True})
        assert went_on.status_code == 202
        await wait_until(lambda: "Continued deliberately." in [
            e["block"].get("text") for e in services.jobs.events(job_id) if e["kind"] == "assistant"], 60,
            "the deliberate turn")

        raised = await client.patch(f"/jobs/{job_id}/settings", json={"budget_usd": 5})
        assert raised.json()["budget_usd"] == 5
        for bad in (0, -1, "ten", 10**9):
            response = await client.patch(f"/jobs/{job_id}/settings", json={"budget_usd": bad})
            assert response.status_code in (400, 422), (bad, response.text)


async def test_a_projects_monthly_budget_stops_the_next_job(services, project, scripted_model):
    scripted_model.add(_costly(text("Spent thirty cents.")))
    scripted_model.add(_costly(text("Started anyway.")))
    async with api_client(services) as client:
        updated = await client.patch(f"/projects/{project.id}", json={"monthly_budget_usd": 0.25})
        assert updated.json()["monthly_budget_usd"] == 0.25
        first = (await client.post("/jobs", json={"project_id": project.id, "prompt": "one",
                                                  "model": MODEL})).json()
        await wait_status(services.jobs, first["id"], "idle", timeout=60)

        refused = await client.post("/jobs", json={"project_id": project.id, "prompt": "two", "model": MODEL})
        assert refused.status_code == 409
        assert f"Project '{project.name}' has used its budget" in refused.json()["detail"]
        assert "$0.30 spent of $0.25 ($0.05 over)" in refused.json()["detail"]
        anyway = await client.post("/jobs", json={"project_id": project.id, "prompt": "two", "model": MODEL,
                                                  "over_budget": True})
        assert anyway.status_code == 201
        await wait_status(services.jobs, anyway.json()["id"], "idle", timeout=60)

        assert (await client.patch(f"/projects/{project.id}", json={"monthly_budget_usd": None})).json()[
            "monthly_budget_usd"] is None
        bad = await client.patch(f"/projects/{project.id}", json={"monthly_budget_usd": -5})
        assert bad.status_code == 400 and "more than $0" in bad.json()["detail"]
