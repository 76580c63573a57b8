"""A project's files, git and memory over HTTP (spec I1, G2-G4, J3, J5).

The API is served by a real uvicorn in the test's loop (tests/support/api_server.py);
files are written and checked on disk directly, everything else goes through HTTP.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.api_server import api_client, job_status
from tests.support.scripted_model import text, tool_use

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.fixture(autouse=True)
def git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No system or user git configuration reaches the tests; commits still have an author."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "API Tester")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "api@example.com")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def refused(response, status: int, fragment: str) -> None:
    assert response.status_code == status, (status, response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/json"
    assert fragment in response.json()["detail"], response.text[:300]


# ----------------------------------------------------------------------------------- files


async def test_files_are_listed_read_and_searched(services, project):
    root = Path(project.path)
    write(root, "src/app.py", "def main():\n    return 'Hello'\n")
    write(root, "src/util.py", "HELLO = 1\n")
    write(root, "README.md", "# Demo\nsay hello\n")
    write(root, "logo.png", PNG_HEADER + b"\x00" * 64)
    write(root, "big.log", "line\n" * 300_000)  # 1.5 MB: over the preview limit
    write(root, "node_modules/dep/index.js", "hello from a dependency\n")
    async with api_client(services) as api:
        base = f"/projects/{project.id}/files"
        top = await api.get(base)
        assert top.status_code == 200, top.text
        assert top.json()["path"] == ""
        assert [(e["name"], e["is_dir"]) for e in top.json()["entries"]] == \
            [("src", True), ("big.log", False), ("logo.png", False), ("README.md", False)]
        src = (await api.get(base, params={"path": "src"})).json()
        assert src["path"] == "src" and [e["path"] for e in src["entries"]] == ["src/app.py", "src/util.py"]
        assert src["entries"][0]["size"] == len("def main():\n    return 'Hello'\n")

        preview = (await api.get(f"{base}/content", params={"path": "src/app.py"})).json()
        assert preview["text"] == "def main():\n    return 'Hello'\n" and preview["language"] == "python"
        assert not preview["is_binary"] and not preview["too_large"] and preview["note"] is None
        binary = (await api.get(f"{base}/content", params={"path": "logo.png"})).json()
        assert binary["is_binary"] and binary["text"] is None and "binary" in binary["note"]
        large = (await api.get(f"{base}/content", params={"path": "big.log"})).json()
        assert large["too_large"] and large["size"] == 1_500_000 and "first" in large["note"]
        assert 0 < len(large["text"]) < large["size"]

        names = (await api.get(f"{base}/search/names", params={"query": "app"})).json()
        assert names[0]["path"] == "src/app.py" and names[0]["score"] > 0
        assert all("node_modules" not in m["path"] for m in names)

        hits = (await api.get(f"{base}/search/content", params={"query": "hello"})).json()
        assert sorted((h["path"], h["line_number"]) for h in hits) == \
            [("README.md", 2), ("src/app.py", 2), ("src/util.py", 1)]
        exact = (await api.get(f"{base}/search/content", params={"query": "Hello", "case_sensitive": True})).json()
        assert [(h["path"], h["line"]) for h in exact] == [("src/app.py", "    return 'Hello'")]
        assert exact[0]["before"] == ["def main():"]
        pattern = (await api.get(f"{base}/search/content", params={"query": r"^[A-Z]+ = \d", "regex": True})).json()
        assert [h["path"] for h in pattern] == ["src/util.py"]
        plain = (await api.get(f"{base}/search/content", params={"query": r"^[A-Z]+ = \d"})).json()
        assert plain == [], "without regex the query is plain text"

        refused(await api.get(f"{base}/search/content", params={"query": "(", "regex": True}), 400,
                "Invalid regular expression")
        refused(await api.get(f"{base}/search/content", params={"query": "a\x00b"}), 400, "NUL")
        refused(await api.get(f"{base}/content", params={"path": "src"}), 400, "is a directory")
        refused(await api.get(base, params={"path": "README.md"}), 400, "not a directory")
        refused(await api.get(f"{base}/content", params={"path": "src/nope.py"}), 404, "does not exist")
        refused(await api.get(f"{base}/content"), 422, "path (query)")


async def test_paths_that_lead_out_of_the_project_are_refused(services, project, tmp_path):
    root = Path(project.path)
    outside = tmp_path / "outside"
    write(outside, "secret.txt", "the secret\n")
    os.symlink(outside, root / "door")
    os.symlink(outside / "secret.txt", root / "leak.txt")
    write(root, "inside.txt", "fine\n")
    async with api_client(services) as api:
        base = f"/projects/{project.id}"
        for path, why in [("../outside/secret.txt", "'..' is not allowed"),
                          ("src/../../x", "'..' is not allowed"),
                          ("%2e%2e/outside/secret.txt", "'..' is not allowed"),
                          ("/etc/passwd", "absolute paths are not accepted"),
                          ("leak.txt", "leads outside the project"),
                          ("door/secret.txt", "leads outside the project")]:
            for route in ("/files/content", "/files", "/git/diff"):
                response = await api.get(base + route, params={"path": path})
                refused(response, 403, why)
                assert "the secret" not in response.text
        refused(await api.get(f"{base}/files", params={"path": "door"}), 403, "leads outside the project")
        listed = (await api.get(f"{base}/files")).json()["entries"]
        assert [e["name"] for e in listed] == ["inside.txt"], "links out of the project are not even listed"

        assert (await api.post(f"{base}/git/init")).status_code == 200
        for path in ("../outside/secret.txt", "/etc/passwd", "leak.txt"):
            for action in ("stage", "unstage", "discard"):
                refused(await api.post(f"{base}/git/{action}", json={"paths": [path]}), 403, "Refused path")
        assert (outside / "secret.txt").read_text() == "the secret\n", "nothing outside was touched"


async def test_names_and_text_that_are_not_utf8_are_served_with_replacement_characters(services, project):
    root = Path(project.path)
    (root / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"plain\n")
    write(root, "latin.txt", b"na\xefve\n")
    async with api_client(services) as api:
        listed = await api.get(f"/projects/{project.id}/files")
        assert listed.status_code == 200, listed.text
        assert [e["name"] for e in listed.json()["entries"]] == ["caf\ufffd.txt", "latin.txt"]
        latin = (await api.get(f"/projects/{project.id}/files/content", params={"path": "latin.txt"})).json()
        assert latin["is_binary"] and latin["text"] is None, "not UTF-8: shown as binary, as in the Files tab"

        base = f"/projects/{project.id}/git"
        await api.post(f"{base}/init")
        await api.post(f"{base}/stage", json={"paths": ["latin.txt"]})
        await api.post(f"{base}/commit", json={"message": "latin"})
        write(root, "latin.txt", b"na\xefve\nencore\xe0\n")
        diff = await api.get(f"{base}/diff", params={"path": "latin.txt"})
        assert diff.status_code == 200, diff.text
        assert "+encore\ufffd" in diff.json()["diff"]
        status = await api.get(f"{base}/status")
        assert status.status_code == 200, status.text
        assert [c["path"] for c in status.json()["untracked"]] == ["caf\ufffd.txt"]


# ------------------------------------------------------------------------------------- git


async def test_git_init_status_diff_stage_commit_log_discard(services, project):
    root = Path(project.path)
    write(root, "notes.txt", "first line\n")
    async with api_client(services) as api:
        base = f"/projects/{project.id}/git"
        status = (await api.get(f"{base}/status")).json()
        assert status["is_repo"] is False and status["untracked"] == []
        refused(await api.get(f"{base}/log"), 400, "not a git repository")
        for action, body in [("commit", {"message": "x"}), ("discard", {"paths": ["notes.txt"]}),
                             ("stage", {"paths": ["notes.txt"]}), ("push", None)]:
            refused(await api.post(f"{base}/{action}", json=body), 400, "not a git repository")

        initialised = await api.post(f"{base}/init")
        assert initialised.status_code == 200, initialised.text
        assert initialised.json()["is_repo"] and initialised.json()["head"] is None
        refused(await api.post(f"{base}/init"), 409, "already a git repository")
        status = (await api.get(f"{base}/status")).json()
        assert [(c["path"], c["change"]) for c in status["untracked"]] == [("notes.txt", "untracked")]
        new_file = (await api.get(f"{base}/diff", params={"path": "notes.txt"})).json()
        assert "+first line" in new_file["diff"] and new_file["staged"] is False
        assert (await api.get(f"{base}/log")).json() == []

        refused(await api.post(f"{base}/commit", json={"message": "too soon"}), 400, "Nothing is staged")
        staged = await api.post(f"{base}/stage", json={"paths": ["notes.txt"]})
        assert staged.status_code == 200, staged.text
        assert [(c["path"], c["change"]) for c in staged.json()["staged"]] == [("notes.txt", "added")]
        assert "+first line" in (await api.get(f"{base}/diff", params={"path": "notes.txt", "staged": True})
                                 ).json()["diff"]
        refused(await api.post(f"{base}/commit", json={"message": "   "}), 400, "needs a message")
        refused(await api.post(f"{base}/commit", json={"message": "a\x00b"}), 400, "NUL")
        committed = await api.post(f"{base}/commit", json={"message": "Add notes"})
        assert committed.status_code == 200, committed.text
        sha = committed.json()["sha"]
        assert len(sha) == 40 and committed.json()["status"]["staged"] == []
        [entry] = (await api.get(f"{base}/log")).json()
        assert (entry["sha"], entry["subject"], entry["author"]) == (sha, "Add notes", "API Tester")

        write(root, "notes.txt", "first line\nsecond line\n")
        write(root, "scratch.txt", "throwaway\n")
        status = (await api.get(f"{base}/status")).json()
        assert [(c["path"], c["change"]) for c in status["modified"]] == [("notes.txt", "modified")]
        assert [c["path"] for c in status["untracked"]] == ["scratch.txt"]
        change = (await api.get(f"{base}/diff", params={"path": "notes.txt"})).json()["diff"]
        assert "+second line" in change and "-first line" not in change

        discarded = await api.post(f"{base}/discard", json={"paths": ["notes.txt", "scratch.txt"]})
        assert discarded.status_code == 200, discarded.text
        assert (root / "notes.txt").read_text() == "first line\n" and not (root / "scratch.txt").exists()
        assert discarded.json()["modified"] == discarded.json()["untracked"] == []
        refused(await api.post(f"{base}/discard", json={"paths": ["notes.txt"]}), 400, "No unstaged changes")

        write(root, "notes.txt", "changed\n")
        all_staged = (await api.post(f"{base}/stage-all")).json()
        assert [c["path"] for c in all_staged["staged"]] == ["notes.txt"] and all_staged["modified"] == []
        unstaged = (await api.post(f"{base}/unstage", json={"paths": ["notes.txt"]})).json()
        assert unstaged["staged"] == [] and [c["path"] for c in unstaged["modified"]] == ["notes.txt"]

        refused(await api.post(f"{base}/push"), 400, "no remote to push to")
        refused(await api.post(f"{base}/pull"), 400, "git pull failed")
        refused(await api.post(f"{base}/stage", json={"paths": []}), 422, "paths (body)")
        refused(await api.post(f"{base}/stage", json={"paths": "notes.txt"}), 422, "paths (body)")
        refused(await api.post(f"{base}/stage", json={"paths": ["."]}), 400, "not the project itself")
        refused(await api.post(f"{base}/stage", json={"paths": ["missing.txt"]}), 400, "did not match any files")
        assert (await api.get(f"{base}/status")).status_code == 200, "the server still answers"


async def test_push_and_pull_reach_a_remote(services, project, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    root = Path(project.path)
    async with api_client(services) as api:
        base = f"/projects/{project.id}/git"
        await api.post(f"{base}/init")
        subprocess.run(["git", "remote", "add", "origin", str(remote)], cwd=root, check=True)
        write(root, "a.txt", "one\n")
        await api.post(f"{base}/stage-all")
        await api.post(f"{base}/commit", json={"message": "one"})
        pushed = await api.post(f"{base}/push")
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["status"]["upstream"] and pushed.json()["status"]["ahead"] == 0
        pulled = await api.post(f"{base}/pull")
        assert pulled.status_code == 200, pulled.text
        assert "up to date" in pulled.json()["output"].lower()


# ---------------------------------------------------------------------------------- memory


async def test_memory_files_are_listed_written_read_and_rules_created(services, project, claude_env):
    root = Path(project.path)
    async with api_client(services) as api:
        base = f"/projects/{project.id}/memory"
        listed = await api.get(base)
        assert listed.status_code == 200, listed.text
        by_id = {f["id"]: f for f in listed.json()}
        assert {"user", "project", "project-claude", "local", "auto:MEMORY.md"} <= set(by_id)
        assert by_id["project"]["exists"] is False and by_id["project"]["editable"] is True
        assert by_id["auto:MEMORY.md"]["editable"] is False

        written = await api.put(f"{base}/project", json={"text": "# Rules\nUse tabs.\n"})
        assert written.status_code == 200, written.text
        assert written.json()["exists"] and written.json()["size"] == len("# Rules\nUse tabs.\n")
        assert (root / "CLAUDE.md").read_text() == "# Rules\nUse tabs.\n"
        read = (await api.get(f"{base}/project")).json()
        assert read["text"] == "# Rules\nUse tabs.\n" and read["label"] == "CLAUDE.md"
        (root / "CLAUDE.md").write_text("edited on disk\n")
        assert (await api.get(f"{base}/project")).json()["text"] == "edited on disk\n"
        assert (await api.get(f"{base}/local")).json()["text"] == "", "a file not created yet reads as empty"

        rule = await api.post(f"{base}/rules", json={"level": "project", "name": "style"})
        assert rule.status_code == 201, rule.text
        assert rule.json()["id"] == "project-rule:style.md" and rule.json()["exists"]
        assert (root / ".claude/rules/style.md").read_text() == ""
        assert (await api.put(f"{base}/project-rule:style.md", json={"text": "Be brief.\n"})).status_code == 200
        assert (root / ".claude/rules/style.md").read_text() == "Be brief.\n"
        user_rule = await api.post(f"{base}/rules", json={"level": "user", "name": "mine.md"})
        assert user_rule.status_code == 201 and (claude_env.claude_dir / "rules/mine.md").is_file()
        assert "project-rule:style.md" in {f["id"] for f in (await api.get(base)).json()}

        refused(await api.post(f"{base}/rules", json={"level": "project", "name": "style.md"}), 409,
                "already exists")
        refused(await api.post(f"{base}/rules", json={"level": "project", "name": "../evil"}), 400, "no folders")
        refused(await api.post(f"{base}/rules", json={"level": "team", "name": "x"}), 422, "level (body)")
        refused(await api.put(f"{base}/auto:MEMORY.md", json={"text": "x"}), 400, "read-only")
        refused(await api.get(f"{base}/nope"), 404, "No memory file 'nope'")
        refused(await api.put(f"{base}/..%2F..%2Fetc%2Fpasswd", json={"text": "x"}), 404, "No memory file")
        refused(await api.put(f"{base}/project", json={"text": "a\x00b"}), 400, "NUL")
        refused(await api.put(f"{base}/project", content=b'{"text": "\\udcff"}',
                              headers={"content-type": "application/json"}), 422, "text (body)")
        refused(await api.put(f"{base}/project", json={}), 422, "text (body)")


# ------------------------------------------------------------------------------- projects


async def test_unknown_and_archived_projects_get_the_usual_errors(services, project):
    write(Path(project.path), "a.txt", "a\n")
    routes = [("GET", "/files", None), ("GET", "/files/content?path=a.txt", None),
              ("GET", "/files/search/names?query=a", None), ("GET", "/files/search/content?query=a", None),
              ("GET", "/git/status", None), ("POST", "/git/init", None), ("POST", "/git/stage-all", None),
              ("GET", "/memory", None), ("PUT", "/memory/project", {"text": "x"})]
    async with api_client(services) as api:
        for method, route, body in routes:
            refused(await api.request(method, f"/projects/nope{route}", json=body), 404, "No project with id 'nope'")
        await api.post(f"/projects/{project.id}/archive")
        for method, route, body in routes:
            refused(await api.request(method, f"/projects/{project.id}{route}", json=body), 409, "archived")
        assert not (Path(project.path) / ".git").exists() and not (Path(project.path) / "CLAUDE.md").exists()
        await api.post(f"/projects/{project.id}/restore")
        assert (await api.get(f"/projects/{project.id}/files")).status_code == 200


async def test_openapi_document_lists_the_workspace_routes(services):
    async with api_client(services) as api:
        spec = (await api.get("/openapi.json")).json()
    paths = set(spec["paths"])
    base = "/projects/{project_id}"
    assert {f"{base}/files", f"{base}/files/content", f"{base}/files/search/names", f"{base}/files/search/content",
            f"{base}/git/status", f"{base}/git/diff", f"{base}/git/log", f"{base}/git/commit", f"{base}/git/push",
            f"{base}/memory", f"{base}/memory/rules", f"{base}/memory/{{file_id}}"} <= paths
    schemas = spec["components"]["schemas"]
    assert {"FilePreviewOut", "GitStatusOut", "GitPaths", "MemoryFileText", "RuleCreate"} <= set(schemas)
    assert schemas["RuleCreate"]["properties"]["level"]["enum"] == ["user", "project"]


# ------------------------------------------------------------------------------ with a job


async def test_a_file_written_by_a_job_shows_in_the_files_and_git_routes(services, project, scripted_model):
    target = Path(project.path) / "docs" / "plan.md"
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "# Plan\nShip it.\n"}))
    scripted_model.add_response(text("Wrote the plan."))
    async with api_client(services) as api:
        base = f"/projects/{project.id}"
        assert (await api.post(f"{base}/git/init")).status_code == 200
        job = (await api.post("/jobs", json={"project_id": project.id, "prompt": "write a plan",
                                             "permission_mode": "bypassPermissions"})).json()
        done = await job_status(api, job["id"], "idle", "failed")
        assert done["status"] == "idle", done["error"]
        assert [e["path"] for e in (await api.get(f"{base}/files", params={"path": "docs"})).json()["entries"]] == \
            ["docs/plan.md"]
        preview = (await api.get(f"{base}/files/content", params={"path": "docs/plan.md"})).json()
        assert preview["text"] == "# Plan\nShip it.\n" and preview["language"] == "markdown"
        names = (await api.get(f"{base}/files/search/names", params={"query": "plan"})).json()
        assert names[0]["path"] == "docs/plan.md"
        hits = (await api.get(f"{base}/files/search/content", params={"query": "ship"})).json()
        assert [(h["path"], h["line_number"]) for h in hits] == [("docs/plan.md", 2)]
        status = (await api.get(f"{base}/git/status")).json()
        assert [(c["path"], c["change"]) for c in status["untracked"]] == [("docs/plan.md", "untracked")]
        assert str(target) in (await api.get(f"/jobs/{job['id']}")).json()["files_touched"]
