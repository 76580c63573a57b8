"""A table of path attacks against everything that takes a path from a request (spec J3).

The API has no file, memory or git routes yet, so the services the UI's panels call
are attacked directly: the file browser (tree, preview), git (diff, stage, unstage,
discard), memories (ids, rule names, planted links), cron's task file, image uploads,
and project creation through the API. Every attack must be refused with a UserError,
and nothing outside the project may be read or written.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from core.errors import UserError
from core.jobs.images import Image, from_base64
from core.jobs.prompts import Prompt
from core.workspace.cron import TASKS_FILE
from core.workspace.files.service import FileService
from core.workspace.git.service import GitService
from core.workspace.memory import MemoryService
from core.workspace.paths import resolve_in
from tests.support.api_server import api_client

SECRET = "top secret, outside the project\n"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
                       "AAAABJRU5ErkJggg==")


def attacks(name: str) -> list[str]:
    """`name` is the project's folder name: `../<name>X/secret` is the sibling-prefix attack."""
    return [
        "..", "../", "../secret.txt", f"../{name}X/secret.txt", f"sub/../../{name}X/secret.txt", "./../secret.txt",
        "%2e%2e/secret.txt", "%2E%2E%2Fsecret.txt", f"..%2f{name}X%2fsecret.txt",  # encoded
        "%252e%252e/secret.txt", "%25252e%25252e/secret.txt",  # double and triple encoded
        "/etc/passwd", "/", "//etc/passwd", "C:/Windows/win.ini",  # absolute
        "escape/secret.txt", "escape", "link-to-secret.txt", "sub/deeper-escape/secret.txt",  # symlinks out
        "ok.txt\x00", "sub/\x00../../secret.txt",  # NUL byte
        "a/" * 3000 + "x", "x" * 5000,  # very long
        "..\\secret.txt", "sub\\..\\..\\secret.txt", "\\etc\\passwd",  # backslashes
    ]


@pytest.fixture
def layout(tmp_path: Path, monkeypatch) -> dict:
    """base/proj (a git repository) beside base/projX/secret.txt and base/secret.txt, with links planted inside."""
    tmp_path = tmp_path / "base"  # apart from what other fixtures keep in tmp_path
    home = tmp_path / "home"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    project = tmp_path / "proj"
    sibling = tmp_path / "projX"
    for folder in (project / "sub", sibling):
        folder.mkdir(parents=True)
    (sibling / "secret.txt").write_text(SECRET)
    (tmp_path / "secret.txt").write_text(SECRET)
    (project / "ok.txt").write_text("inside\n")
    os.symlink(sibling, project / "escape")
    os.symlink(tmp_path / "secret.txt", project / "link-to-secret.txt")
    os.symlink(sibling, project / "sub" / "deeper-escape")
    git = GitService(project)
    git.init()
    for args in (["config", "user.name", "T"], ["config", "user.email", "t@example.com"]):
        subprocess.run(["git", *args], cwd=project, check=True)
    git.stage(["ok.txt"])
    git.commit("first")
    (project / "ok.txt").write_text("changed\n")
    return {"root": tmp_path, "project": project, "git": git, "files": FileService(project, stale_after=0),
            "memory": MemoryService(project, home)}


def outside_snapshot(layout: dict) -> dict[str, bytes]:
    """Every file outside the project (its git data aside), with its content."""
    root, project = layout["root"], layout["project"]
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and not path.is_relative_to(project):
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


OPERATIONS = {
    "files.list_dir": lambda s, p: s["files"].list_dir(p),
    "files.read": lambda s, p: s["files"].read(p),
    "git.diff": lambda s, p: s["git"].diff(p),
    "git.diff_staged": lambda s, p: s["git"].diff(p, staged=True),
    "git.stage": lambda s, p: s["git"].stage([p]),
    "git.unstage": lambda s, p: s["git"].unstage([p]),
    "git.discard": lambda s, p: s["git"].discard([p]),
    "memory.read": lambda s, p: s["memory"].read(p),
    "memory.write": lambda s, p: s["memory"].write(p, "pwned"),
    "memory.rule_id": lambda s, p: s["memory"].read(f"project-rule:{p}"),
    "memory.create_rule": lambda s, p: s["memory"].create_rule("project", p),
    "resolve_in": lambda s, p: resolve_in(s["project"], p),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_path_attack_is_refused_and_nothing_outside_is_touched(layout, operation):
    before = outside_snapshot(layout)
    refused = []
    table = attacks("proj")
    if operation == "memory.create_rule":  # it takes a file name: plain names like 'escape' are fine there
        table = [a for a in table if any(c in a for c in "/\\%\x00") or ".." in a or len(a) > 100]
    for attack in table:
        try:
            result = OPERATIONS[operation](layout, attack)
        except UserError as exc:
            refused.append(attack)
            assert "secret" not in str(exc).lower().replace("secret.txt", ""), "the error shows no content"
        else:
            pytest.fail(f"{operation}({attack[:60]!r}) was not refused: {str(result)[:200]}")
    assert len(refused) == len(table)
    assert outside_snapshot(layout) == before, "a file outside the project changed"
    assert (layout["project"] / "ok.txt").read_text() == "changed\n", "a refused discard discarded nothing"


def test_the_tree_and_search_never_show_what_links_point_at_outside(layout):
    files = layout["files"]
    names = {entry.name for entry in files.list_dir("")}
    assert {"escape", "link-to-secret.txt"}.isdisjoint(names) and "ok.txt" in names
    assert not any("secret" in match.path for match in files.search_names("secret"))
    assert files.search_content("top secret") == []


def test_memory_files_planted_as_links_outside_are_read_only_and_refused(layout):
    project, outside = layout["project"], layout["root"] / "secret.txt"
    memory = layout["memory"]
    (project / "CLAUDE.md").symlink_to(outside)
    (project / ".claude").symlink_to(layout["root"] / "projX")  # .claude/CLAUDE.md and .claude/rules lead out
    listed = {f.id: f for f in memory.list()}
    assert listed["project"].editable is False and listed["project-claude"].editable is False
    for file_id in ("project", "project-claude"):
        with pytest.raises(UserError):
            memory.write(file_id, "pwned")
        with pytest.raises(UserError):
            memory.read(file_id)
    with pytest.raises(UserError):
        memory.create_rule("project", "planted")
    assert outside.read_text() == SECRET and not (layout["root"] / "projX" / "rules").exists()


def test_a_cron_task_file_linked_outside_is_not_read(layout, services, project):
    project_dir = Path(project.path)
    target = layout["root"] / "tasks.json"
    target.write_text('{"tasks": [{"id": "x", "cron": "* * * * *", "prompt": "leaked", "createdAt": 1}]}')
    (project_dir / ".claude").mkdir()
    (project_dir / TASKS_FILE).symlink_to(target)
    assert services.cron._durable(project_dir) == []


def test_image_names_are_labels_never_paths(layout, tmp_path):
    before = outside_snapshot(layout)
    for name in ("../../escape.png", "/etc/passwd", "a\x00b", "..\\..\\x.png", "x" * 10_000):
        image = from_base64("image/png", base64.b64encode(PNG).decode(), name)
        prompt = Prompt("look", [image])
        assert prompt.message()["message"]["content"][0]["source"]["data"]  # sent inline, as base64
    assert outside_snapshot(layout) == before
    assert not list(tmp_path.rglob("escape.png")) and not list(tmp_path.rglob("x.png"))
    with pytest.raises(UserError):
        Prompt("look", [Image("image/png", b"not a png", "../../x.png")])


@pytest.mark.parametrize("body", [
    {"name": "../escape"}, {"name": "..", "path": None}, {"name": "a/b"}, {"name": "%2e%2e"}, {"name": "nul\x00"},
    {"name": "x" * 5000}, {"name": ".hidden"},
    {"name": "root", "path": "/"}, {"name": "etc", "path": "/etc"}, {"name": "etc2", "path": "/etc/"},
    {"name": "usr", "path": "/usr"}, {"name": "bin", "path": "/usr/bin"}, {"name": "ssh", "path": "/etc/ssh"},
    {"name": "proc", "path": "/proc/self"}, {"name": "dotdot", "path": "/tmp/../etc"},
    {"name": "relative", "path": "relative/dir"}, {"name": "nulpath", "path": "/tmp/\x00x"},
    {"name": "long", "path": "/" + "a" * 5000}, {"name": "home", "path": "HOME"},
    {"name": "linked-root", "path": "LINK_TO_ROOT"}, {"name": "linked-home", "path": "LINK_TO_HOME"},
    {"name": "missing", "path": "/no/such/directory"},
])
async def test_projects_cannot_be_created_at_the_root_home_or_a_system_directory(services, tmp_path, body):
    home = Path.home()
    (tmp_path / "to-root").symlink_to("/")
    (tmp_path / "to-home").symlink_to(home)
    path = {"HOME": str(home), "LINK_TO_ROOT": str(tmp_path / "to-root"),
            "LINK_TO_HOME": str(tmp_path / "to-home")}.get(body.get("path"), body.get("path"))
    before = {p.name for p in services.settings.projects_root.parent.iterdir()}
    async with api_client(services) as client:
        response = await client.post("/projects", json={**body, "path": path} if "path" in body else body)
        assert response.status_code in (400, 409, 422), response.text
        assert response.json()["detail"]
        assert (await client.get("/projects")).json() == []
    assert {p.name for p in services.settings.projects_root.parent.iterdir()} == before
