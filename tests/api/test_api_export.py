"""Export and import of a conversation (spec N5): a real job's turns as Markdown, as an HTML page that loads and
runs nothing, and as JSON that imports back as the same conversation; bad files get a clear 400."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.api_server import api_client
from tests.support.helpers import wait_status
from tests.support.scripted_model import text, tool_use

REPLY = ("Wrote it. <script>alert(1)</script> See ![diagram](https://example.com/leak?d=secret) and "
         "`code`.")


def _conversation(events: list[dict]) -> list[tuple]:
    """What a reader sees of a transcript: prompts, replies, tool calls and results, in order."""
    seen = []
    for e in events:
        if e["kind"] == "user" and not e.get("echoed"):
            seen.append(("user", e["text"]))
        elif e["kind"] == "assistant":
            block = e["block"]
            seen.append(("assistant", block["type"], block.get("text") or block.get("name")))
        elif e["kind"] == "tool_result":
            seen.append(("tool_result", e["content"]))
    return seen


async def test_a_conversation_exports_three_ways_and_imports_back(services, project, scripted_model):
    target = Path(project.path) / "notes.txt"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "hello\n"}))
    scripted_model.add_response(text(REPLY))
    job = services.jobs.submit(project.id, "write the notes", name="Notes <b>job</b>",
                               permission_mode="acceptEdits")
    await wait_status(services.jobs, job.id, "idle", timeout=60)
    assert target.read_text() == "hello\n"
    original = services.jobs.events(job.id)

    async with api_client(services) as client:
        md = await client.get(f"/jobs/{job.id}/export", params={"format": "markdown"})
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
        assert 'filename="notes-b-job-b.md"' in md.headers["content-disposition"]
        assert md.text.index("## You\n\nwrite the notes") < md.text.index("**Write**") < md.text.index(REPLY)

        page = (await client.get(f"/jobs/{job.id}/export", params={"format": "html"})).text
        assert "default-src 'none'" in page and "<script>" not in page and "&lt;script&gt;" in page
        assert "<img" not in page and '<a href="https://example.com/leak?d=secret"' in page
        assert "<title>Notes &lt;b&gt;job&lt;/b&gt;</title>" in page

        exported = await client.get(f"/jobs/{job.id}/export", params={"format": "json"})
        body = exported.content
        imported = await client.post("/jobs/import", params={"project_id": project.id}, content=body)
        assert imported.status_code == 201, imported.text
        copy = imported.json()
        assert copy["name"] == "Notes <b>job</b>" and copy["status"] == "completed" and copy["id"] != job.id
        assert _conversation(services.jobs.events(copy["id"])) == _conversation(original)

        assert (await client.get(f"/jobs/{job.id}/export", params={"format": "pdf"})).status_code == 400
        for bad, reason in ((b"not json", "not JSON"), (b'{"format": "other"}', "not a conversation exported"),
                            (json.dumps({**json.loads(body), "version": 9}).encode(), "version 9"),
                            (json.dumps({**json.loads(body), "events": [{"kind": "delta"}]}).encode(),
                             "does not know")):
            response = await client.post("/jobs/import", params={"project_id": project.id}, content=bad)
            assert response.status_code == 400 and reason in response.json()["detail"], response.text
        missing = await client.post("/jobs/import", params={"project_id": "nope"}, content=body)
        assert missing.status_code == 404
