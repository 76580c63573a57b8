"""MCP servers (spec N4) with a real stdio server written with the `mcp` package, which the real CLI starts: a
project's server added over the API is called by a job's CLI; turned off for the job, the model no longer gets
its tool; a malformed `.mcp.json` is reported with its line and never overwritten."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.api_server import api_client
from tests.support.helpers import wait_status, wait_until
from tests.support.scripted_model import text, tool_use

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_demo_server.py"
TOOL = "mcp__demo__add"


def _withdrawn(request: dict) -> list[str]:
    """The tools the CLI tells the model are gone (it lists MCP tools as deferred ones, found by ToolSearch)."""
    gone = []
    for message in request.get("messages") or []:
        for block in message.get("content") if isinstance(message.get("content"), list) else []:
            body = block.get("text") or "" if isinstance(block, dict) else ""
            if "deferred tools are no longer available" in body:
                gone += [line for line in body.splitlines() if line.startswith("mcp__")]
    return gone


async def test_a_projects_server_is_called_then_turned_off_for_the_job(services, project, scripted_model, tmp_path):
    calls = tmp_path / "calls.txt"
    scripted_model.add_response(tool_use(TOOL, {"a": 2, "b": 3}))
    scripted_model.add_response(text("Two and three make five."))
    scripted_model.add_response(text("No adding tool now."))
    async with api_client(services) as client:
        added = await client.put(f"/projects/{project.id}/mcp/demo", json={
            "type": "stdio", "command": sys.executable, "args": [str(SERVER)], "env": {"DEMO_CALLS": str(calls)}})
        assert added.status_code == 200, added.text
        assert json.loads((Path(project.path) / ".mcp.json").read_text())["mcpServers"]["demo"]["args"] == [
            str(SERVER)]

        job = services.jobs.submit(project.id, "add two and three", mode="session", permission_mode="bypassPermissions")
        await wait_status(services.jobs, job.id, "idle", timeout=60)
        assert calls.read_text() == "add 2 3\n", "the CLI started the server and called its tool"
        result = [e for e in services.jobs.events(job.id) if e["kind"] == "tool_result"]
        assert "The sum is 5." in str(result[0]["content"])
        listed = (await client.get(f"/jobs/{job.id}/mcp")).json()
        assert [(s["name"], s["status"], s["tools"], s["enabled"]) for s in listed] == [
            ("demo", "connected", ["add"], True)]

        off = await client.post(f"/jobs/{job.id}/mcp/demo", json={"enabled": False})
        assert off.status_code == 200 and off.json()["mcp_disabled"] == ["demo"]
        assert [s["status"] for s in (await client.get(f"/jobs/{job.id}/mcp")).json()] == ["disabled"]
        before = len(scripted_model.requests)
        services.jobs.follow_up(job.id, "add again")
        await wait_until(lambda: len(scripted_model.requests) > before, 60, "the next request")
        assert f"\\n{TOOL}\\n" in json.dumps(scripted_model.requests[0]), "offered to the model at first"
        assert _withdrawn(scripted_model.requests[-1]) == [TOOL], "and then withdrawn, as the CLI tells the model"
        await wait_status(services.jobs, job.id, "idle", timeout=60)
        assert calls.read_text() == "add 2 3\n"


async def test_a_malformed_mcp_json_is_reported_and_never_overwritten(services, project, scripted_model):
    broken = '{\n  "mcpServers": {\n    "demo": {"command": "x",}\n  }\n}\n'
    (Path(project.path) / ".mcp.json").write_text(broken)
    async with api_client(services) as client:
        read = (await client.get(f"/projects/{project.id}/mcp")).json()
        assert read["malformed"] and "line 3" in read["problems"][0]
        refused = await client.put(f"/projects/{project.id}/mcp/other", json={"command": "y"})
        assert refused.status_code == 409 and "line 3" in refused.json()["detail"]
        assert (Path(project.path) / ".mcp.json").read_text() == broken

        job = services.jobs.submit(project.id, "hello")
        await wait_status(services.jobs, job.id, "idle", timeout=60)
        warnings = [e["message"] for e in services.jobs.events(job.id) if e["kind"] == "warning"]
        assert any("line 3" in w and "None of them is started" in w for w in warnings), warnings

        (Path(project.path) / ".mcp.json").write_text('{"mcpServers": {"bad name!": {"command": "x"},'
                                                      ' "web": {"type": "http", "url": "ftp://x"}}}')
        problems = (await client.get(f"/projects/{project.id}/mcp")).json()["problems"]
        assert len(problems) == 2 and "url" in problems[1]
        for name, config, reason in (("ok", {"type": "stdio"}, "command"), ("ok", {"type": "ws"}, "type must be"),
                                     ("ok", {"command": "x", "args": "no"}, "args")):
            response = await client.put(f"/projects/{project.id}/mcp/{name}", json=config)
            assert response.status_code == 400 and reason in response.json()["detail"], response.text
