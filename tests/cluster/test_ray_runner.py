"""The Ray runner against a real cluster, through the HTTP API (spec O2); the browser flow is in
tests/browser/test_ray_cluster.py.

`python main.py` runs with RUNNER=ray against a head started by the test (tests/support/ray_cluster.py),
with its own HOME and folders; the CLIs on it talk to the scripted model.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.main_process import run_main, start_main
from tests.support.ray_cluster import RayCluster, git, git_project
from tests.support.scripted_model import text, tool_results, tool_use

TURN_S = 90.0


def wait_for_status(api, job_id: str, *wanted: str, timeout: float = TURN_S) -> dict:
    deadline = time.monotonic() + timeout
    while (job := api.get(f"/api/jobs/{job_id}").json())["status"] not in wanted:
        assert time.monotonic() < deadline, f"job {job_id} stayed {job['status']}: {job.get('error')}"
        time.sleep(0.2)
    return job


def ray_env(cluster: RayCluster) -> dict[str, str]:
    return {"RUNNER": "ray", "RAY_ADDRESS": cluster.address, "RAY_AGENT_MEMORY_MB": "512",
            "GRACE_PERIOD_SECONDS": "600"}


def _loaded_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_with_runner_unset_nothing_of_ray_is_loaded(claude_env, scripted_model, tmp_path):
    scripted_model.add_response(text("Local as ever."))
    with run_main(tmp_path / "server", claude_env.projects_root) as server, server.bearer() as api:
        project_id, _ = git_project(api, "local")
        job = api.post("/api/jobs", json={"project_id": project_id, "prompt": "hi", "isolated": True}).json()
        assert wait_for_status(api, job["id"], "idle", "completed")["runs_on"] is None
        assert api.get("/api/cluster").json() == {"runner": "local", "address": None, "agent_cpus": 1.0,
                                                  "agent_memory_mb": 1024, "machines": []}
        maps = _loaded_libraries(server.proc.pid)
        assert ".so" in maps  # the server's shared libraries are listed: Ray's would be among them
        assert "/ray/" not in maps and "_raylet" not in maps


def test_a_loose_project_is_refused_and_stop_and_close_work_on_a_remote_job(claude_env, scripted_model,
                                                                           ray_cluster, tmp_path):
    scripted_model.add_response(text("A long answer that never ends", chunk=4, delay=0.05, stall=True))
    scripted_model.add_response(text("Short this time."))
    with run_main(tmp_path / "server", claude_env.projects_root, env=ray_env(ray_cluster)) as server, \
            server.bearer() as api:
        # A project that is not a git repository cannot run on the cluster: said plainly, nothing made.
        loose_id, loose = git_project(api, "loose files", committed=False)
        answer = api.post("/api/jobs", json={"project_id": loose_id, "prompt": "hi"})
        assert answer.status_code == 400, answer.text
        assert "is not a git repository, so it cannot run there" in answer.json()["detail"]
        assert api.get("/api/jobs", params={"project_id": loose_id}).json() == []
        assert list(loose.iterdir()) == []

        project_id, _ = git_project(api, "stopped")
        job = api.post("/api/jobs", json={"project_id": project_id, "prompt": "go on and on"}).json()
        scripted_model.wait_for_requests(1, timeout=TURN_S)
        agents = Path(ray_cluster.nodes[0].folder, "agents", job["id"])
        assert agents.is_dir()
        assert api.post(f"/api/jobs/{job['id']}/stop").status_code == 200
        stopped = wait_for_status(api, job["id"], "idle")
        assert stopped["runs_on"] and stopped["error"] is None
        # The same CLI on the node takes the next message, with the model changed in between.
        changed = api.patch(f"/api/jobs/{job['id']}/settings", json={"model": "claude-haiku-4-5"})
        assert changed.status_code == 200, changed.text
        api.post(f"/api/jobs/{job['id']}/messages", json={"prompt": "shorter please"})
        scripted_model.wait_for_requests(2, timeout=TURN_S)
        wait_for(lambda: api.get(f"/api/jobs/{job['id']}").json()["turns"] == 2, "the second turn to end")
        assert "shorter please" in str(scripted_model.requests[-1]["messages"])
        assert scripted_model.requests[-1]["model"] == "claude-haiku-4-5"
        assert api.post(f"/api/jobs/{job['id']}/complete").status_code == 200
        wait_for_status(api, job["id"], "completed")
        wait_for(lambda: not agents.exists(), "the agent's folder on the node to go")


def test_a_machine_lost_between_turns_leaves_the_job_resting_and_resumable_elsewhere(
        claude_env, scripted_model, ray_cluster, tmp_path):
    scripted_model.add_response(text("First answer, from the second machine."))
    scripted_model.add_response(text("Second answer, from the head."))
    with run_main(tmp_path / "server", claude_env.projects_root, env=ray_env(ray_cluster)) as server, \
            server.bearer() as api:
        project_id, _ = git_project(api, "rest")
        with ray_cluster.head_held():
            second = ray_cluster.add_node()
            job = api.post("/api/jobs", json={"project_id": project_id, "prompt": "first question"}).json()
            assert second.address in wait_for_status(api, job["id"], "idle")["runs_on"]
            machines = {m["address"]: m for m in api.get("/api/cluster").json()["machines"]}
            assert [j["id"] for j in machines[second.address]["jobs"]] == [job["id"]]
            head = next(m for m in machines.values() if m["head"])
            assert head["alive"] and head["jobs"] == [] and head["cpus_free"] == 0  # held by another program
            second.lose()
            wait_for(lambda: api.get(f"/api/jobs/{job['id']}").json()["hibernated"], "the job to rest", 60)
        resting = api.get(f"/api/jobs/{job['id']}").json()
        assert resting["status"] == "idle" and resting["error"] is None
        said = [e["message"] for e in api.get(f"/api/jobs/{job['id']}/transcript").json()["events"]
                if e["kind"] == "warning"]
        assert any(m.startswith("The machine running this job was lost") and "No turn was running" in m
                   for m in said), said

        api.post(f"/api/jobs/{job['id']}/messages", json={"prompt": "second question"})
        wait_for(lambda: api.get(f"/api/jobs/{job['id']}").json()["turns"] == 2, "the second turn", TURN_S)
        assert ray_cluster.nodes[0].address in api.get(f"/api/jobs/{job['id']}").json()["runs_on"]
        assert "First answer, from the second machine." in str(scripted_model.requests[-1]["messages"])


def _sleeps_then_writes(body: dict):
    if tool_results({"messages": [body["messages"][-1]]}):
        return text("Written after a while.")
    return [text("This takes a moment."), tool_use("Bash", {"command": "sleep 4; echo late > late.txt"})]


def test_after_a_server_crash_the_agent_left_on_the_cluster_hands_its_work_back(
        claude_env, scripted_model, ray_cluster, tmp_path):
    scripted_model.add_response(_sleeps_then_writes)
    scripted_model.add_response(_sleeps_then_writes)
    server = start_main(tmp_path / "server", claude_env.projects_root, env=ray_env(ray_cluster))
    with server.bearer() as api:
        project_id, root = git_project(api, "crash")
        job = api.post("/api/jobs", json={"project_id": project_id, "prompt": "write late",
                                          "permission_mode": "bypassPermissions"}).json()
    scripted_model.wait_for_requests(1, timeout=TURN_S)
    time.sleep(1.5)  # the command is running on the node
    os.killpg(server.proc.pid, signal.SIGKILL)  # the server dies; the agent is not its child and goes on
    server.proc.wait(10)
    scripted_model.wait_for_requests(2, timeout=30)  # the turn went on without the server
    time.sleep(1.0)

    agents = Path(ray_cluster.nodes[0].folder, "agents", job["id"])
    assert (agents / "work" / "late.txt").read_text() == "late\n"
    with run_main(tmp_path / "server", claude_env.projects_root, env=ray_env(ray_cluster),
                  port=server.port) as again, again.bearer() as api:
        deadline = time.monotonic() + TURN_S
        while "late.txt" not in _branch_files(root):
            assert time.monotonic() < deadline, f"the agent's work did not come back\n{again.log()}"
            time.sleep(0.3)
        found = api.get(f"/api/jobs/{job['id']}").json()
        assert found["status"] == "failed" and found["error"] == "Interrupted by a server restart."
        assert git(root, "show", f"{found['branch']}:late.txt") == "late\n"
        assert Path(found["worktree"], "late.txt").read_text() == "late\n"
        notices = api.get(f"/api/jobs/{job['id']}/transcript").json()["events"]
        said = [e.get("message", "") for e in notices if e.get("subtype") == "reclaimed"]
        assert said and "was still running on" in said[0], notices[-5:]
        wait_for(lambda: not agents.exists(), "the agent's folder on the node to go")

        # The conversation came back too: a follow-up resumes it (on the cluster again).
        scripted_model.add_response(text("I remember writing late.txt."))
        api.post(f"/api/jobs/{job['id']}/messages", json={"prompt": "what did you write?"})
        assert wait_for_status(api, job["id"], "idle")["status"] == "idle"
        assert "write late" in str(scripted_model.requests[-1]["messages"])


def _branch_files(root: Path) -> str:
    branches = subprocess.run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads/claude/"], cwd=root,
                              capture_output=True, text=True).stdout.split()
    if not branches:
        return ""
    name = branches[0]
    return subprocess.run(["git", "ls-tree", "-r", "--name-only", name], cwd=root, capture_output=True,
                          text=True).stdout


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_runner_settings_are_checked_before_anything_starts():
    from core.settings import SettingsError, load_settings

    assert load_settings([], env={}, dotenv_path=None).runner == "local"
    ray = load_settings(["--runner", "ray", "--ray-address", "10.0.0.5:6379"],
                        env={"RAY_AGENT_CPUS": "0.5", "RAY_AGENT_MEMORY_MB": "2048"}, dotenv_path=None)
    assert (ray.runner, ray.ray_address, ray.ray_agent_cpus, ray.ray_agent_memory_mb) == (
        "ray", "10.0.0.5:6379", 0.5, 2048)
    assert load_settings([], env={"RUNNER": " Ray "}, dotenv_path=None).runner == "ray"
    for env, said in (({"RUNNER": "kubernetes"}, "RUNNER='kubernetes' is not one of local, ray"),
                      ({"RAY_AGENT_CPUS": "0"}, "RAY_AGENT_CPUS must be above 0"),
                      ({"RAY_AGENT_MEMORY_MB": "100"}, "at least 256")):
        with pytest.raises(SettingsError, match=re.escape(said)):
            load_settings([], env=env, dotenv_path=None)
