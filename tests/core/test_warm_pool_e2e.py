"""The warm pool of started CLIs (spec O1), against the real CLI: a new job takes a CLI started before it, in
its own project's folder, with its own model and permission mode; nothing crosses projects; a dead CLI is
replaced; the live-session cap counts the pool; resumes, forks and isolated jobs start their own CLI."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest
from claude_agent_sdk import ClaudeAgentOptions, HookMatcher

from core.errors import Busy
from core.jobs.runner import LocalRunner, cli_pid
from core.jobs.warm_match import Forward, blank, disk_stamp, spawn_shape, starts_fresh
from core.jobs.warm_pool import WarmPool
from tests.support.helpers import cli_processes, wait_status, wait_until
from tests.support.scripted_model import text, tool_results, tool_use


def _pool(services) -> WarmPool:
    assert isinstance(services.jobs.runner, WarmPool)
    return services.jobs.runner


async def _warm_pid(services, directory, timeout: float = 60.0, other_than: int | None = None) -> int:
    """The process of the ready member for `directory`, once there is one."""
    def ready() -> list[int]:
        return [m["pid"] for m in _pool(services).snapshot()
                if m["cwd"] == str(directory) and m["ready"] and m["pid"] != other_than]

    await wait_until(ready, timeout, f"a warm CLI for {directory}")
    return ready()[0]


def _pool_pids(services) -> set[int]:
    return {m["pid"] for m in _pool(services).snapshot() if m["pid"]}


def _session_pid(services, job_id: str) -> int | None:
    session = services.jobs.live.get(job_id)
    return cli_pid(session.client) if session else None


async def _idle_job(services, project, prompt: str = "hello", **options):
    job = services.jobs.submit(project.id, prompt, **options)
    await wait_status(services.jobs, job.id, "idle", timeout=60)
    return job


# -- matching, without a CLI ----------------------------------------------------------------


async def _callback(*_args):
    return {}


def test_the_spawn_shape_ignores_what_changes_live_and_keeps_what_does_not(tmp_path):
    base = ClaudeAgentOptions(cwd=str(tmp_path), env={"ANTHROPIC_API_KEY": "k"}, permission_mode="default",
                              can_use_tool=_callback, hooks={"PreToolUse": [HookMatcher("Bash", [_callback])]})
    live_changes = replace(base, model="other", permission_mode="acceptEdits", can_use_tool=_callback,
                           hooks={"PreToolUse": [HookMatcher("Bash", [_callback])]})
    assert spawn_shape(base) == spawn_shape(live_changes) == spawn_shape(blank(base))
    for fixed in (replace(base, cwd=str(tmp_path / "other")), replace(base, env={"ANTHROPIC_API_KEY": "x"}),
                  replace(base, effort="high"), replace(base, thinking={"type": "disabled"}),
                  replace(base, permission_mode="bypassPermissions"), replace(base, can_use_tool=None),
                  replace(base, hooks={"PreToolUse": [HookMatcher("Write", [_callback])]})):
        assert spawn_shape(fixed) != spawn_shape(base)
    assert starts_fresh(base) and starts_fresh(blank(replace(base, resume="abc", fork_session=True)))
    assert not starts_fresh(replace(base, resume="abc")) and not starts_fresh(replace(base, continue_conversation=True))


async def test_forwarding_callbacks_reach_the_session_that_took_the_cli(tmp_path):
    seen = []

    async def allow(name, tool_input, ctx):
        seen.append(("tool", name))
        return "allowed"

    async def hook(hook_input, tool_use_id, ctx):
        seen.append(("hook", tool_use_id))
        return {"ok": True}

    request = ClaudeAgentOptions(cwd=str(tmp_path), can_use_tool=allow, stderr=lambda line: seen.append(line),
                                 hooks={"PostToolUse": [HookMatcher("Write", [hook])]})
    forward = Forward()
    started = forward.options_for(blank(request))
    forward.stderr("said before anyone took it")
    denied = await started.can_use_tool("Bash", {}, None)
    assert "No session" in denied.message
    assert await started.hooks["PostToolUse"][0].hooks[0]({}, "t0", None) == {}
    forward.adopt(request)
    assert await started.can_use_tool("Bash", {}, None) == "allowed"
    assert await started.hooks["PostToolUse"][0].hooks[0]({}, "t1", None) == {"ok": True}
    assert seen == ["said before anyone took it", ("tool", "Bash"), ("hook", "t1")]


def test_the_disk_stamp_changes_when_memory_or_settings_do(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "config"))
    project = tmp_path / "project"
    project.mkdir()
    options = ClaudeAgentOptions(cwd=str(project))
    before = disk_stamp(options)
    assert disk_stamp(options) == before
    (project / "CLAUDE.md").write_text("remember this\n")
    after_memory = disk_stamp(options)
    assert after_memory != before
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text("{}")
    assert disk_stamp(options) != after_memory


# -- the pool, with the real CLI ------------------------------------------------------------


async def test_a_new_job_takes_a_warm_cli_in_its_folder_with_its_own_model_and_mode(services_factory,
                                                                                      project_factory,
                                                                                      scripted_model):
    services = services_factory(warm_pool_size=2)
    project = project_factory(services)
    await _idle_job(services, project, "the first job starts its own CLI", permission_mode="acceptEdits")
    warm = await _warm_pid(services, project.path)
    assert _pool(services).snapshot()[0]["permission_mode"] == "acceptEdits"

    target = Path(project.path) / "written.txt"
    scripted_model.add_response(tool_use("Bash", {"command": "pwd"}))
    scripted_model.add_response(tool_use("Write", {"file_path": str(target), "content": "warm\n"}))
    scripted_model.add_response(text("Done."))
    requests_before = len(scripted_model.requests)
    job = services.jobs.submit(project.id, "where are you?", model="claude-warm-test", permission_mode="default")
    await wait_until(lambda: services.jobs.live[job.id].connected, 30, "the session to connect")
    assert _session_pid(services, job.id) == warm, "the job runs in the CLI started before it"
    asked: list[str] = []

    async def answer_every_request() -> None:
        while True:
            for approval in services.jobs.approvals.pending(job.id):
                asked.append(approval.tool_name)
                services.jobs.approvals.answer(approval.id, "allow")
            await asyncio.sleep(0.05)

    answering = asyncio.create_task(answer_every_request())
    try:
        await wait_status(services.jobs, job.id, "idle", timeout=60)
    finally:
        answering.cancel()

    mine = scripted_model.requests[requests_before:]
    assert {r["model"] for r in mine} == {"claude-warm-test"}
    pwd = next(r for request in mine for r in tool_results(request))
    assert os.path.realpath(pwd.content.strip()) == os.path.realpath(project.path)
    assert "Write" in asked, "the job's own mode (default) asks before a write, and its approvals hear it"
    assert target.read_text() == "warm\n"
    assert services.jobs.get(job.id).files_touched == [str(target)], "the hooks reach the job"
    await _warm_pid(services, project.path, other_than=warm)


async def test_warm_clis_never_cross_projects_and_the_least_recently_used_gives_way(services_factory,
                                                                                     project_factory,
                                                                                     scripted_model):
    services = services_factory(warm_pool_size=2)
    first, second, third = (project_factory(services) for _ in range(3))
    await _idle_job(services, first)
    first_warm = await _warm_pid(services, first.path)

    job = await _idle_job(services, second)
    assert _session_pid(services, job.id) != first_warm
    assert services.jobs.live[job.id].setup.cwd == str(second.path)
    second_warm = await _warm_pid(services, second.path)
    assert _pool_pids(services) == {first_warm, second_warm}

    await _idle_job(services, third)  # a third project: the pool holds two, the first project's goes
    third_warm = await _warm_pid(services, third.path)
    await wait_until(lambda: _pool_pids(services) == {second_warm, third_warm}, 30, "the oldest to give way")
    assert {m["cwd"] for m in _pool(services).snapshot()} == {str(second.path), str(third.path)}


async def test_a_dead_warm_cli_is_replaced_and_never_handed_out(services_factory, project_factory, scripted_model):
    services = services_factory(warm_pool_size=1)
    project = project_factory(services)
    await _idle_job(services, project)
    dead = await _warm_pid(services, project.path)
    os.kill(dead, signal.SIGKILL)
    replacement = await _warm_pid(services, project.path, other_than=dead)  # noticed while idle, and replaced
    assert dead not in _pool_pids(services)

    os.kill(replacement, signal.SIGKILL)
    await wait_until(lambda: not Path(f"/proc/{replacement}").exists(), 10, "the killed CLI to be reaped")
    job = services.jobs.submit(project.id, "still fine?")  # before the pool's own check comes round
    await wait_until(lambda: job.id in services.jobs.live and services.jobs.live[job.id].connected, 30,
                     "the session to connect")
    assert _session_pid(services, job.id) not in (dead, replacement)
    await wait_status(services.jobs, job.id, "idle", timeout=60)
    assert services.jobs.get(job.id).turns == 1 and not services.jobs.get(job.id).error


async def test_the_live_session_cap_counts_warm_clis_and_releases_them_first(services_factory, project_factory,
                                                                              scripted_model):
    services = services_factory(warm_pool_size=2, max_live_sessions=2, max_running_jobs=1, hibernate_after_s=3600)
    jobs = services.jobs
    here, there = project_factory(services), project_factory(services)
    first = await _idle_job(services, here)
    warm = await _warm_pid(services, here.path)  # one session and one warm CLI: the cap is full

    second = services.jobs.submit(here.id, "same project")  # takes the warm CLI: no process added
    assert not jobs.live[first.id].closing
    await wait_status(jobs, second.id, "idle", timeout=60)
    assert _session_pid(services, second.id) == warm
    await asyncio.sleep(1.5)  # past the refill delay
    assert _pool(services).snapshot() == [] and len(cli_processes()) == 2, "no refill beyond the cap"

    jobs.complete(second.id)
    await wait_until(lambda: second.id not in jobs.live, 30, "the second session to end")
    await _warm_pid(services, here.path)  # room again: the pool takes it
    third = services.jobs.submit(there.id, "another project")  # the warm CLI goes, not the idle session
    assert not jobs.live[first.id].closing
    await wait_status(jobs, third.id, "idle", timeout=60)
    await wait_until(lambda: len(cli_processes()) == 2, 30, "the released warm CLI to end")
    assert _pool(services).snapshot() == [] and not jobs.get(first.id).hibernated

    scripted_model.add_response(text("slow"), hang=True)  # hold both sessions busy: nothing can give way
    scripted_model.add_response(text("slow"), hang=True)
    jobs.follow_up(first.id, "busy")
    jobs.follow_up(third.id, "busy")
    await wait_status(jobs, first.id, "running", "queued", timeout=30)
    await wait_status(jobs, third.id, "running", "queued", timeout=30)
    with pytest.raises(Busy, match="All 2 live sessions are busy"):
        jobs.submit(here.id, "one too many")
    assert len(cli_processes()) <= 2
    scripted_model.release()


async def test_resumes_forks_and_isolated_jobs_start_their_own_cli(services_factory, project_factory,
                                                                    scripted_model, monkeypatch):
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Warm Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "warm@example.com")
    services = services_factory(warm_pool_size=2)
    project = project_factory(services)
    scripted_model.add_response(text("Answer one."))
    parent = await _idle_job(services, project, "question one")
    warm = await _warm_pid(services, project.path)

    services.jobs.complete(parent.id)
    await wait_status(services.jobs, parent.id, "completed")
    services.jobs.follow_up(parent.id, "and then?")  # resumes its conversation
    await wait_until(lambda: services.jobs.live.get(parent.id) and services.jobs.live[parent.id].connected, 30,
                     "the resumed session")
    assert _session_pid(services, parent.id) != warm
    await wait_status(services.jobs, parent.id, "idle", timeout=60)

    answer = next(e for e in services.jobs.events(parent.id)
                  if e["kind"] == "assistant" and e["block"].get("text") == "Answer one.")
    child = services.jobs.fork(parent.id, answer["seq"], "another way")
    await wait_until(lambda: services.jobs.live.get(child.id) and services.jobs.live[child.id].connected, 30,
                     "the fork's session")
    assert _session_pid(services, child.id) != warm
    await wait_status(services.jobs, child.id, "idle", timeout=60)

    services.workspaces.git(project.id).init(first_commit=True)
    isolated = services.jobs.submit(project.id, "in a worktree", isolated=True)
    await wait_status(services.jobs, isolated.id, "idle", timeout=60)
    assert services.jobs.live[isolated.id].setup.runner is services.jobs.local_runner
    assert _session_pid(services, isolated.id) != warm
    assert warm in _pool_pids(services), "the warm CLI waits for a new job of its project"
    assert {m["cwd"] for m in _pool(services).snapshot()} == {str(project.path)}, "none for a worktree"


async def test_a_warm_cli_started_before_a_memory_edit_is_not_used(services_factory, project_factory,
                                                                    scripted_model):
    services = services_factory(warm_pool_size=1)
    project = project_factory(services)
    await _idle_job(services, project)
    stale = await _warm_pid(services, project.path)
    (Path(project.path) / "CLAUDE.md").write_text("The codeword is heron.\n")  # a CLI reads it once, at start
    job = await _idle_job(services, project, "what is the codeword?")
    assert _session_pid(services, job.id) != stale
    assert "The codeword is heron." in str(scripted_model.requests[-1]["messages"])


async def test_unused_warm_clis_end_after_their_time_to_live(services_factory, project_factory, scripted_model):
    services = services_factory(warm_pool_size=1, warm_pool_ttl_s=2)
    project = project_factory(services)
    await _idle_job(services, project)
    warm = await _warm_pid(services, project.path)
    await wait_until(lambda: not _pool(services).snapshot(), 15, "the unused CLI to be released")
    await wait_until(lambda: not Path(f"/proc/{warm}").exists(), 15, "its process to end")
    assert len(cli_processes()) == 1, "not replaced: nobody used the project since"


async def test_with_the_pool_off_nothing_is_started_ahead(services_factory, project_factory, scripted_model):
    services = services_factory(warm_pool_size=0)
    project = project_factory(services)
    assert isinstance(services.jobs.runner, LocalRunner)
    job = await _idle_job(services, project)
    assert services.jobs.live[job.id].setup.runner is services.jobs.runner
    second = await _idle_job(services, project)
    assert _session_pid(services, second.id) != _session_pid(services, job.id)
    assert len(cli_processes()) == 2



async def test_opening_a_project_readies_a_cli_that_its_first_job_takes(services_factory, project_factory,
                                                                        scripted_model):
    services = services_factory(warm_pool_size=2)
    project, archived = project_factory(services), project_factory(services)
    services.projects.set_archived(archived.id, True)
    services.jobs.warm_up(archived.id)  # an archived project starts no jobs: nothing is started for it
    (Path(project.path) / ".mcp.json").write_text("{broken")  # said in the job that runs, not in a stand-in
    services.jobs.warm_up(project.id)  # what the project page does when it opens
    warm = await _warm_pid(services, project.path)
    assert [m["cwd"] for m in _pool(services).snapshot()] == [str(project.path)]
    assert list(services.jobs.jobs) == [] and not list(services.logs.root.glob("warm-up*"))

    scripted_model.add_response(text("The first job, at once."))
    job = services.jobs.submit(project.id, "the project's very first job")
    await wait_status(services.jobs, job.id, "idle", timeout=60)
    assert _session_pid(services, job.id) == warm
    assert [e["block"]["text"] for e in services.jobs.events(job.id) if e["kind"] == "assistant"] == [
        "The first job, at once."]
    assert any(".mcp.json, line 1" in e["message"] for e in services.jobs.events(job.id) if e["kind"] == "warning")
