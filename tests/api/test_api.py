"""The JSON API drives everything the UI does, over HTTP only (spec I1, J5).

Each test builds services on its own PROJECTS_ROOT, serves their API with a real
uvicorn in the test's loop, and touches the services only through HTTP; the real
Claude Code CLI answers from the scripted model.
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.support.api_server import api_client, job_status, job_turns, poll, transcript
from tests.support.helpers import PNG_1PX
from tests.support.scripted_model import text, tool_use

QUESTION = {"questions": [{"question": "Which colour?", "header": "Colour", "multiSelect": False,
                           "options": [{"label": "Red", "description": "warm"},
                                       {"label": "Blue", "description": "cool"}]}]}


async def test_projects_are_created_listed_renamed_archived_and_restored(services, tmp_path):
    async with api_client(services) as api:
        created = await api.post("/projects", json={"name": "alpha"})
        assert created.status_code == 201, created.text
        alpha = created.json()
        assert created.headers["location"].endswith(f"/api/projects/{alpha['id']}")
        assert Path(alpha["path"]).is_dir() and not alpha["external"]
        outside = tmp_path / "existing"
        outside.mkdir()
        beta = (await api.post("/projects", json={"name": "beta", "path": str(outside)})).json()
        assert beta["external"] and beta["path"] == str(outside)

        assert [p["name"] for p in (await api.get("/projects")).json()] == ["alpha", "beta"]
        assert (await api.get(f"/projects/{alpha['id']}")).json()["name"] == "alpha"
        renamed = await api.patch(f"/projects/{alpha['id']}", json={"name": "gamma"})
        assert renamed.json()["name"] == "gamma" and renamed.json()["path"] == alpha["path"]

        archived = await api.post(f"/projects/{beta['id']}/archive")
        assert archived.json()["archived"] is True
        assert [p["name"] for p in (await api.get("/projects")).json()] == ["gamma"]
        every = (await api.get("/projects", params={"include_archived": "true"})).json()
        assert sorted(p["name"] for p in every) == ["beta", "gamma"]
        assert (await api.post(f"/projects/{beta['id']}/restore")).json()["archived"] is False
        assert outside.is_dir(), "archiving deletes nothing"

        duplicate = await api.post("/projects", json={"name": "GAMMA"})
        assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
        bad = await api.post("/projects", json={"name": "..escape"})
        assert bad.status_code == 400 and "'..'" in bad.json()["detail"]
        relative = await api.post("/projects", json={"name": "rel", "path": "some/dir"})
        assert relative.status_code == 422 and "absolute path" in relative.json()["detail"]
        missing = await api.get("/projects/nope")
        assert missing.status_code == 404 and missing.json() == {"detail": "No project with id 'nope'."}


async def test_a_job_runs_asks_a_question_takes_a_follow_up_and_forks(services, scripted_model):
    scripted_model.add_response(text("Let me ask."), tool_use("AskUserQuestion", QUESTION))
    scripted_model.add_response(text("Blue it is."))
    scripted_model.add_response(text("Painted blue."))
    scripted_model.add_response(text("Forked: painted red instead."))
    scripted_model.add_response(text("Edited: green then."))
    async with api_client(services) as api:
        project = (await api.post("/projects", json={"name": "paint"})).json()
        response = await api.post("/jobs", json={"project_id": project["id"], "prompt": "pick a colour",
                                                 "mode": "session", "permission_mode": "bypassPermissions"})
        assert response.status_code == 201, response.text
        job = response.json()
        assert response.headers["location"].endswith(f"/api/jobs/{job['id']}")
        assert job["name"] == "pick a colour" and job["mode"] == "session"

        approvals = await poll(lambda: api.get("/approvals"), lambda r: r.json(), what="a pending approval")
        [approval] = approvals.json()
        assert approval["kind"] == "question" and approval["job_id"] == job["id"]
        assert approval["input"]["questions"][0]["question"] == "Which colour?"
        assert (await api.get(f"/jobs/{job['id']}/approvals")).json() == approvals.json()
        incomplete = await api.post(f"/approvals/{approval['id']}", json={"behavior": "allow", "answers": {}})
        assert incomplete.status_code == 400 and "answer" in incomplete.json()["detail"]
        answered = await api.post(f"/approvals/{approval['id']}",
                                  json={"behavior": "allow", "answers": {"Which colour?": "Blue"}})
        assert answered.status_code == 200, answered.text
        assert answered.json()["allow"] and answered.json()["answers"] == {"Which colour?": "Blue"}
        again = await api.post(f"/approvals/{approval['id']}", json={"behavior": "deny"})
        assert again.status_code == 404 and "no longer pending" in again.json()["detail"]

        detail = await job_turns(api, job["id"], 1)
        assert detail["session_id"] and detail["live_info"]["live"] is True
        assert any("Blue" in r.content for r in scripted_model.tool_results(scripted_model.requests[1]))

        sent = await api.post(f"/jobs/{job['id']}/messages", json={"prompt": "now paint it"})
        assert sent.status_code == 202, sent.text
        await job_turns(api, job["id"], 2)
        events = await transcript(api, job["id"])
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        kinds = [e["kind"] for e in events]
        assert {"user", "assistant", "approval", "approval_resolved", "result", "status"} <= set(kinds)
        assert [e["text"] for e in events if e["kind"] == "user" and not e.get("echoed")] == \
            ["pick a colour", "now paint it"]

        first_answer = next(e for e in events if e["kind"] == "assistant" and e["block"].get("text") == "Blue it is.")
        fork = await api.post(f"/jobs/{job['id']}/fork", json={"at_seq": first_answer["seq"], "prompt": "red instead"})
        assert fork.status_code == 201, fork.text
        child = fork.json()
        assert child["parent_job_id"] == job["id"] and child["id"] != job["id"]
        await job_turns(api, child["id"], 1)
        seen = scripted_model.user_texts(scripted_model.requests[-1])
        assert "pick a colour" in seen and "red instead" in seen and "now paint it" not in seen

        second_prompt = next(e for e in events if e["kind"] == "user" and e.get("text") == "now paint it")
        edit = await api.post(f"/jobs/{job['id']}/edit", json={"user_seq": second_prompt["seq"], "prompt": "green"})
        assert edit.status_code == 201, edit.text
        await job_turns(api, edit.json()["id"], 1)
        seen = scripted_model.user_texts(scripted_model.requests[-1])
        assert "green" in seen and "now paint it" not in seen

        children = (await api.get("/jobs", params={"project_id": project["id"]})).json()
        assert {j["id"] for j in children} == {job["id"], child["id"], edit.json()["id"]}
        not_a_turn = await api.post(f"/jobs/{job['id']}/fork", json={"at_seq": 10**6, "prompt": "x"})
        assert not_a_turn.status_code == 400 and "finished assistant turn" in not_a_turn.json()["detail"]


async def test_job_controls_stop_pin_complete_resume_close_archive_restore(services, project, scripted_model):
    scripted_model.add_response(text("never finishes"), hang=True)
    scripted_model.add_response(text("Done."))
    async with api_client(services) as api:
        job = (await api.post("/jobs", json={"project_id": project.id, "prompt": "a long task"})).json()
        await job_status(api, job["id"], "running")
        assert (await api.post(f"/jobs/{job['id']}/pin")).status_code == 200
        stopped = await api.post(f"/jobs/{job['id']}/stop")
        assert stopped.status_code == 200, stopped.text
        await job_status(api, job["id"], "idle")
        again = await api.post(f"/jobs/{job['id']}/stop")
        assert again.status_code == 409 and "running or queued" in again.json()["detail"]
        pinned = (await api.get(f"/jobs/{job['id']}")).json()
        assert pinned["mode"] == "session" and pinned["grace_deadline"] is None

        closed = await api.post(f"/jobs/{job['id']}/complete")  # Close Session
        assert closed.status_code == 200, closed.text
        await job_status(api, job["id"], "completed")
        assert (await api.post(f"/jobs/{job['id']}/pin")).status_code == 409
        resumed = await api.post(f"/jobs/{job['id']}/resume")
        assert resumed.status_code == 200, resumed.text
        detail = await job_status(api, job["id"], "idle")
        assert detail["live_info"]["live"]
        await api.post(f"/jobs/{job['id']}/complete")
        await job_status(api, job["id"], "completed")

        renamed = await api.patch(f"/jobs/{job['id']}", json={"name": "  Renamed job "})
        assert renamed.json()["name"] == "Renamed job"
        assert (await api.patch(f"/jobs/{job['id']}", json={"name": " "})).status_code == 400

        settings = await api.patch(f"/jobs/{job['id']}/settings",
                                   json={"model": "claude-opus-4-1", "effort": "high", "thinking_tokens": 2048,
                                         "permission_mode": "acceptEdits"})
        assert settings.status_code == 200, settings.text
        assert (settings.json()["model"], settings.json()["effort"], settings.json()["thinking_tokens"]) == \
            ("claude-opus-4-1", "high", 2048)
        cleared = (await api.patch(f"/jobs/{job['id']}/settings", json={"effort": None})).json()
        assert cleared["effort"] is None and cleared["model"] == "claude-opus-4-1"
        bad = await api.patch(f"/jobs/{job['id']}/settings", json={"thinking_tokens": 5})
        assert bad.status_code == 400 and "1024" in bad.json()["detail"]
        assert (await api.patch(f"/jobs/{job['id']}/settings", json={"effort": "extreme"})).status_code == 422

        archived = await api.post(f"/jobs/{job['id']}/archive")
        assert archived.json()["status"] == "archived"
        assert job["id"] not in {j["id"] for j in (await api.get("/jobs")).json()}
        assert [j["id"] for j in (await api.get("/jobs", params={"status": "archived"})).json()] == [job["id"]]
        with_archived = (await api.get("/jobs", params={"include_archived": True})).json()
        assert job["id"] in {j["id"] for j in with_archived}
        refused = await api.post(f"/jobs/{job['id']}/messages", json={"prompt": "hello?"})
        assert refused.status_code == 409 and "archived" in refused.json()["detail"]
        assert (await api.post(f"/jobs/{job['id']}/restore")).json()["status"] == "completed"
        assert (await api.get("/jobs", params={"project_id": "nope"})).status_code == 404


async def test_images_reach_the_model_and_bad_ones_are_refused(services, project, scripted_model):
    png = base64.b64encode(PNG_1PX).decode()
    async with api_client(services) as api:
        response = await api.post("/jobs", json={"project_id": project.id, "prompt": "what is this?",
                                                 "images": [{"media_type": "image/png", "data": png,
                                                             "name": "dot.png"}]})
        assert response.status_code == 201, response.text
        await job_status(api, response.json()["id"], "idle")
        [image] = scripted_model.images(scripted_model.requests[0])
        assert image["source"]["data"] == png
        [user] = [e for e in await transcript(api, response.json()["id"]) if e["kind"] == "user"]
        assert user["images"] == [{"name": "dot.png", "media_type": "image/png", "size": len(PNG_1PX)}]

        fake = base64.b64encode(b"not a png at all").decode()
        for image, message in [({"media_type": "image/png", "data": fake}, "not a valid PNG"),
                               ({"media_type": "image/bmp", "data": png}, "not supported"),
                               ({"media_type": "image/png", "data": "@@@"}, "not valid base64")]:
            refused = await api.post("/jobs", json={"project_id": project.id, "prompt": "x", "images": [image]})
            assert refused.status_code == 400 and message in refused.json()["detail"], refused.text
        eleven = [{"media_type": "image/png", "data": png}] * 11
        refused = await api.post("/jobs", json={"project_id": project.id, "prompt": "x", "images": eleven})
        assert refused.status_code == 400 and "At most 10 images" in refused.json()["detail"]
        assert len((await api.get("/jobs")).json()) == 1, "refused submissions create no job"


async def test_bad_requests_get_clear_json_errors(services, project):
    async with api_client(services) as api:
        cases = [
            (api.post("/jobs", content=b"{not json", headers={"content-type": "application/json"}), 422,
             "not valid JSON"),
            (api.post("/jobs"), 422, "needs a JSON body"),
            (api.post("/jobs", json={"prompt": "x"}), 422, "project_id (body): Field required"),
            (api.post("/jobs", json={"project_id": project.id, "prompt": "x", "colour": 1}), 422,
             "colour (body): Extra inputs are not permitted"),
            (api.post("/jobs", json={"project_id": project.id, "prompt": "   "}), 400, "empty"),
            (api.post("/jobs", json={"project_id": project.id, "prompt": "x" * 500_001}), 400, "limit"),
            (api.post("/jobs", json={"project_id": "nope", "prompt": "x"}), 404, "No project"),
            (api.post("/jobs", json={"project_id": project.id, "prompt": "x", "mode": "forever"}), 422, "'job'"),
            (api.get("/jobs/nope/transcript"), 404, "No job"),
            (api.get("/jobs/nope/transcript", params={"limit": 0}), 422, "limit (query)"),
            (api.get("/jobs/nope/events"), 404, "No job"),
            (api.get("/nothing/here"), 404, "no API route"),
            (api.delete("/projects"), 405, "not allowed"),
            (api.post("/approvals/nope", json={"behavior": "maybe"}), 422, "behavior (body)"),
            (api.post("/approvals/nope", json={"behavior": "allow"}), 404, "no longer pending"),
            (api.post("/projects", content=b"x" * (41 * 2**20)), 413, "MiB limit"),
        ]
        for request, status, fragment in cases:
            response = await request
            assert response.status_code == status, (status, response.text[:300])
            assert response.headers["content-type"] == "application/json", (status, response.text[:300])
            assert fragment in response.json()["detail"], response.text[:300]


async def test_credentials_never_appear_in_any_response(services_factory, scripted_model, monkeypatch):
    secret = "sk-ant-api03-this-is-the-real-secret-key-0123456789"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    services = services_factory(anthropic_api_key=secret)
    project = services.projects.create("leaky")
    scripted_model.add_response(text(f"The key is {secret}, oops."))
    async with api_client(services) as api:
        job = (await api.post("/jobs", json={"project_id": project.id, "prompt": f"print {secret}"})).json()
        await job_status(api, job["id"], "idle")
        bodies = [(await api.get(path)).text for path in
                  ("/projects", "/jobs", f"/jobs/{job['id']}", f"/jobs/{job['id']}/transcript", "/openapi.json")]
        bodies.append((await api.post("/jobs", json={"project_id": secret, "prompt": "x"})).text)
    assert all(secret not in body for body in bodies)
    assert any("*" * len(secret) in body for body in bodies), "the transcript did carry it, masked"


async def test_openapi_document_lists_every_route(services):
    async with api_client(services) as api:
        spec = (await api.get("/openapi.json")).json()
        docs = await api.get("/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text
    paths = set(spec["paths"])
    assert {"/projects", "/projects/{project_id}", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/messages",
            "/jobs/{job_id}/fork", "/jobs/{job_id}/edit", "/jobs/{job_id}/transcript", "/jobs/{job_id}/events",
            "/approvals", "/approvals/{approval_id}", "/events"} <= paths
    assert spec["components"]["schemas"]["JobCreate"]["properties"]["permission_mode"]
