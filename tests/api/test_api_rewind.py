"""`POST /api/jobs/{id}/rewind` (spec L3): restore files to before a user message, over HTTP only."""

from __future__ import annotations

from pathlib import Path

from tests.support.api_server import api_client, job_turns, poll, transcript
from tests.support.scripted_model import text, tool_use


async def test_rewind_lists_then_restores_files_and_refuses_clearly(services, project, scripted_model):
    notes = Path(project.path) / "notes.txt"
    notes.write_text("before\n")
    scripted_model.add_response(text("Writing."), tool_use("Write", {"file_path": str(notes), "content": "after\n"}))
    scripted_model.add_response(text("Written."))
    async with api_client(services) as api:
        job = (await api.post("/jobs", json={"project_id": project.id, "prompt": "rewrite notes.txt",
                                             "mode": "session", "permission_mode": "acceptEdits"})).json()
        await job_turns(api, job["id"], 1)
        [user] = [e for e in await transcript(api, job["id"]) if e["kind"] == "user"]
        url = f"/jobs/{job['id']}/rewind"

        plan = await api.post(url, json={"user_seq": user["seq"], "dry_run": True})
        assert plan.status_code == 200, plan.text
        assert plan.json() == {"user_seq": user["seq"], "dry_run": True, "can_rewind": True, "files": ["notes.txt"],
                               "insertions": 1, "deletions": 1, "error": None}
        assert notes.read_text() == "after\n"
        done = await api.post(url, json={"user_seq": user["seq"]})
        assert done.status_code == 200 and done.json()["files"] == ["notes.txt"] and not done.json()["dry_run"]
        assert notes.read_text() == "before\n"
        [event] = [e for e in await transcript(api, job["id"]) if e["kind"] == "rewind"]
        assert event["user_seq"] == user["seq"] and event["files"] == ["notes.txt"]

        assert (await api.post("/jobs/nope/rewind", json={"user_seq": 1})).status_code == 404
        missing = await api.post(url, json={"user_seq": 10_000})
        assert missing.status_code == 404 and "no message #10000" in missing.json()["detail"]
        not_yours = await api.post(url, json={"user_seq": user["seq"] + 1})
        assert not_yours.status_code == 400 and "your own messages" in not_yours.json()["detail"]
        for body, words in (({}, "user_seq (body): Field required"), ({"user_seq": 0}, "user_seq (body)"),
                            ({"user_seq": 1, "dry_run": "perhaps"}, "dry_run (body)"),
                            ({"user_seq": 1, "files": []}, "files (body)")):
            invalid = await api.post(url, json=body)
            assert invalid.status_code == 422 and words in invalid.json()["detail"], invalid.text

        scripted_model.add_response(text("A long answer", chunk=4, delay=0.05, stall=True))
        await api.post(f"/jobs/{job['id']}/messages", json={"prompt": "take your time"})
        await poll(lambda: api.get(f"/jobs/{job['id']}"), lambda r: r.json()["status"] == "running",
                   what="the turn running")
        busy = await api.post(url, json={"user_seq": user["seq"], "dry_run": True})
        assert busy.status_code == 409 and "wait for the turn to end" in busy.json()["detail"]
        await api.post(f"/jobs/{job['id']}/stop")


async def test_the_rewind_route_is_in_the_openapi_document(services):
    async with api_client(services) as api:
        spec = (await api.get("/openapi.json")).json()
    route = spec["paths"]["/jobs/{job_id}/rewind"]["post"]
    assert route["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Rewind")
    out = spec["components"]["schemas"]["RewindOut"]["properties"]
    assert {"can_rewind", "files", "insertions", "deletions", "error"} <= set(out)
