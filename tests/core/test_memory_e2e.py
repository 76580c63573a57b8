"""Memory files (spec G4): the CLAUDE.md hierarchy, edited here, reaches the real CLI's model requests."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from core.errors import Conflict, NotFound, UserError
from core.workspace.memory import MemoryService, default_auto_memory_dir
from core.workspace.paths import PathOutsideProject
from tests.support.helpers import wait_status, wait_until


def _sent(request: dict) -> str:
    """Everything the model was shown: the CLI puts memory in a <system-reminder> of the first user message."""
    return json.dumps(request.get("messages", [])) + json.dumps(request.get("system", ""))


async def test_saved_memory_reaches_the_model(services, project, scripted_model, claude_env):
    memory = services.workspaces.memory(project.id)
    listed = {f.id: f for f in memory.list()}
    fixed = ["user", "project", "project-claude", "local", "auto:MEMORY.md"]
    assert all(i in listed and not listed[i].exists for i in fixed), "fixed entries show before they exist"
    assert listed["user"].path == str(claude_env.claude_dir / "CLAUDE.md")
    assert listed["auto:MEMORY.md"].editable is False

    saved = memory.write("project", "Always answer in French. MARK-PROJECT\n")
    assert saved.exists and saved.size == len("Always answer in French. MARK-PROJECT\n")
    memory.write("project-claude", "MARK-DOT-CLAUDE\n")  # creates .claude/ on first save
    memory.write("local", "MARK-LOCAL\n")
    memory.write("user", "MARK-USER\n")  # creates ~/.claude/ on first save
    rule = memory.create_rule("project", "style")
    assert rule.id == "project-rule:style.md" and rule.label == ".claude/rules/style.md" and rule.size == 0
    memory.write(rule.id, "MARK-PROJECT-RULE\n")
    user_rule = memory.create_rule("user", "tone.md")
    memory.write(user_rule.id, "MARK-USER-RULE\n")
    assert memory.read("project") == "Always answer in French. MARK-PROJECT\n"
    assert (Path(project.path) / ".claude" / "rules" / "style.md").read_text() == "MARK-PROJECT-RULE\n"

    job = services.jobs.submit(project.id, "hello")
    await wait_status(services.jobs, job.id, "idle", timeout=90)
    sent = _sent(scripted_model.requests[0])
    for mark in ("MARK-PROJECT", "MARK-DOT-CLAUDE", "MARK-LOCAL", "MARK-USER", "MARK-PROJECT-RULE",
                 "MARK-USER-RULE"):
        assert mark in sent, mark

    # The CLI reports its auto-memory folder; the service finds the same one before any session did.
    reported = services.workspaces.memory(project.id).auto_dir
    assert Path(reported) == default_auto_memory_dir(Path(project.path), claude_env.claude_dir)
    Path(reported).mkdir(parents=True)
    (Path(reported) / "MEMORY.md").write_text("- [notes](notes.md)\n")
    (Path(reported) / "notes.md").write_text("MARK-AUTO\n")
    auto = {f.id: f for f in memory.list() if f.level == "auto"}
    assert set(auto) == {"auto:MEMORY.md", "auto:notes.md"} and all(f.exists and not f.editable for f in auto.values())
    assert memory.read("auto:notes.md") == "MARK-AUTO\n"
    with pytest.raises(UserError, match="read-only"):
        memory.write("auto:notes.md", "overwritten")
    again = services.jobs.submit(project.id, "hello again")
    await wait_status(services.jobs, again.id, "idle", timeout=90)
    assert "[notes](notes.md)" in _sent(scripted_model.requests[-1]), "the CLI loads the auto-memory index"


async def test_an_edit_applies_to_the_next_session(services, project, scripted_model):
    """A live CLI keeps the memory it started with: the change shows in the next session, not the open one."""
    memory = services.workspaces.memory(project.id)
    memory.write("project", "MARK-BEFORE\n")
    job = services.jobs.submit(project.id, "first", mode="session")
    await wait_status(services.jobs, job.id, "idle", timeout=90)
    memory.write("project", "MARK-AFTER\n")
    services.jobs.follow_up(job.id, "second")
    await wait_until(lambda: len(scripted_model.requests) == 2, 90, "the follow-up request")
    assert "MARK-AFTER" not in _sent(scripted_model.requests[-1])
    fresh = services.jobs.submit(project.id, "third")
    await wait_status(services.jobs, fresh.id, "idle", timeout=90)
    assert "MARK-AFTER" in _sent(scripted_model.requests[-1])


def test_parent_files_and_git_root(tmp_path):
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "CLAUDE.md").write_text("parent rules\n")
    home = tmp_path / "home"
    memory = MemoryService(repo / "app", home)
    parents = [f for f in memory.list() if f.level == "parent"]
    assert [(f.id, f.path, f.editable) for f in parents] == [("parent:1:CLAUDE.md", str(repo / "CLAUDE.md"), False)]
    assert memory.read("parent:1:CLAUDE.md") == "parent rules\n"
    with pytest.raises(UserError, match="read-only"):
        memory.write("parent:1:CLAUDE.md", "x")
    # Auto-memory is keyed by the repository, so every folder of it shares one.
    key = re.sub("[^A-Za-z0-9]", "-", str(repo.resolve()))
    assert memory.auto_dir == home / ".claude" / "projects" / key / "memory"


def test_ids_not_paths_and_no_way_out(tmp_path):
    project, home, outside = tmp_path / "p", tmp_path / "home", tmp_path / "outside.txt"
    project.mkdir()
    outside.write_text("secret\n")
    memory = MemoryService(project, home)
    for bad in ("../outside.txt", str(outside), "project-rule:../../outside.txt", "project-rule:missing.md", ""):
        with pytest.raises(NotFound):
            memory.read(bad)
        with pytest.raises(NotFound):
            memory.write(bad, "x")
    for bad in ("../x", "a/b", ".hidden", "", "x" * 90, "nul\x00.md"):
        with pytest.raises(UserError):
            memory.create_rule("project", bad)
    with pytest.raises(UserError):
        memory.create_rule("auto", "x")
    memory.create_rule("project", "ok")
    with pytest.raises(Conflict):
        memory.create_rule("project", "ok.md")
    with pytest.raises(UserError):
        memory.write("project", "nul\x00")
    with pytest.raises(UserError):
        memory.write("project", "x" * (1024 * 1024 + 1))

    # A link planted in the project must not turn an edit into a write elsewhere.
    (project / "CLAUDE.local.md").symlink_to(outside)
    listed = {f.id: f for f in memory.list()}
    assert listed["local"].editable is False
    with pytest.raises(PathOutsideProject):
        memory.write("local", "pwned")
    with pytest.raises(PathOutsideProject):
        memory.read("local")
    assert outside.read_text() == "secret\n"
    # A link that stays inside is followed, and the link itself survives the atomic save.
    (project / "docs").mkdir()
    (project / "docs" / "AGENTS.md").write_text("old\n")
    (project / "CLAUDE.md").symlink_to(project / "docs" / "AGENTS.md")
    memory.write("project", "new\n")
    assert (project / "CLAUDE.md").is_symlink() and (project / "docs" / "AGENTS.md").read_text() == "new\n"


def test_saving_keeps_permissions(tmp_path):
    memory = MemoryService(tmp_path, tmp_path / "home")
    memory.write("project", "one\n")
    target = tmp_path / "CLAUDE.md"
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o600)
    memory.write("project", "two\n")
    assert target.stat().st_mode & 0o777 == 0o600 and target.read_text() == "two\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
