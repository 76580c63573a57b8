"""No secret of the server is readable by a tool or the terminal, and none is stored unmasked (spec J6).

`/proc/<pid>/environ` shows a process's environment as it was when it started, so the
server re-execs itself at once without its secrets (core/security/handoff.py): a tool, or
the terminal whose parent the server is, finds nothing there.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.scripted_model import text, tool_results, tool_use
from tests.support.security_clients import run_server

SECRETS = {"AUTH_TOKEN": "operators-token-0123456789", "CCS_PASSWORD": "a password of the operator",
           "STORAGE_SECRET": "storage-secret-0123456789", "ANTHROPIC_API_KEY": "sk-ant-secret-key-0123456789"}
SERVER_ONLY = ("AUTH_TOKEN", "CCS_PASSWORD", "STORAGE_SECRET")
SEPARATOR = "----8x----8x----"


def _environment_of(pid: int) -> str:
    return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").replace("\0", "\n")


def test_no_secret_is_left_in_the_servers_start_environment_for_tools_or_the_terminal(claude_env, tmp_path):
    model = claude_env.model
    with run_server(tmp_path, [], SECRETS) as server, server.bearer(SECRETS["AUTH_TOKEN"]) as client:
        start_environment = _environment_of(server.proc.pid)
        for name, value in SECRETS.items():
            assert value not in start_environment and f"{name}=" not in start_environment, name

        # What a prompt-injected agent would do: read the server's start environment, and its own.
        command = (f"tr '\\0' '\\n' < /proc/{server.proc.pid}/environ; echo {SEPARATOR}; env; "
                   f"echo {SEPARATOR}; echo 'said: {SECRETS['CCS_PASSWORD']}'")
        model.add_response(tool_use("Bash", {"command": command}))
        model.add_response(text("Read them."))
        project = client.post("/api/projects", json={"name": "curious"}).json()
        job = client.post("/api/jobs", json={"project_id": project["id"], "prompt": "read the environment",
                                             "permission_mode": "bypassPermissions"}).json()
        deadline = time.monotonic() + 90
        while client.get(f"/api/jobs/{job['id']}").json()["status"] not in ("idle", "failed", "completed"):
            assert time.monotonic() < deadline, server.log(3000)
            time.sleep(0.2)
        seen_by_model = next(r.content for request in model.requests for r in tool_results(request))
        assert SEPARATOR in seen_by_model, seen_by_model[:2000]
        server_env, tool_env, echoed = seen_by_model.split(SEPARATOR)
        assert "PATH=" in server_env and "PATH=" in tool_env, seen_by_model[:500]
        for name, value in SECRETS.items():
            assert value not in server_env, f"{name} readable from the server's start environment"
        for name in SERVER_ONLY:
            assert SECRETS[name] not in tool_env and f"{name}=" not in tool_env, f"{name} reached the agent's shell"
        assert SECRETS["CCS_PASSWORD"] in echoed  # the tool did print it...

        transcript = client.get(f"/api/jobs/{job['id']}/transcript").text
        assert SECRETS["CCS_PASSWORD"] not in transcript, "...and the plain password is masked like the others"
        assert "said: " + "*" * len(SECRETS["CCS_PASSWORD"]) in transcript


def test_what_a_tool_prints_is_masked_before_it_is_stored(claude_env, tmp_path):
    """The hole: a key a tool printed was kept in clear in `.server/logs/*.jsonl`."""
    key = "sk-ant-stored-key-0123456789abcdef"
    model = claude_env.model
    model.add_response(tool_use("Bash", {"command": f"echo 'the key: {key}'"}))
    model.add_response(text(f"I saw {key}, streaming slowly.", chunk=3, delay=0.01))
    root = tmp_path / "projects"
    with run_server(tmp_path, [], {"ANTHROPIC_API_KEY": key}, projects_root=root) as server, \
            server.bearer() as client:
        project = client.post("/api/projects", json={"name": "stored"}).json()
        job = client.post("/api/jobs", json={"project_id": project["id"], "prompt": "print the key",
                                             "permission_mode": "bypassPermissions"}).json()
        deadline = time.monotonic() + 90
        while client.get(f"/api/jobs/{job['id']}").json()["turns"] < 1:
            assert time.monotonic() < deadline, server.log(3000)
            time.sleep(0.2)
    stored = [path for path in (root / ".server").rglob("*") if path.is_file()]
    assert any(path.suffix == ".jsonl" for path in stored)
    for path in stored:
        assert key.encode() not in path.read_bytes(), f"{path.relative_to(root)} holds the key in clear"
    log = (root / ".server" / "logs" / f"{job['id']}.jsonl").read_text()
    assert "the key: " + "*" * len(key) in log and "I saw " + "*" * len(key) in log
