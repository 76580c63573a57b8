"""The confinement helper refuses every way out of a project (spec J3)."""

from __future__ import annotations

import os

import pytest

from core.workspace.paths import PathOutsideProject, resolve_in


@pytest.fixture
def layout(tmp_path):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "ok.txt").write_text("fine")
    sibling = tmp_path / "projX"
    sibling.mkdir()
    (sibling / "secret").write_text("secret")
    os.symlink(tmp_path / "projX", project / "escape")
    os.symlink(project / "src", project / "inside")
    return project


@pytest.mark.parametrize("attack", [
    "..", "../projX/secret", "src/../../projX/secret", "%2e%2e/projX/secret", "%252e%252e/projX/secret",
    "/etc/passwd", "escape/secret", "src\\..\\..\\projX", "ok\x00.txt", "a/" * 3000, "C:/Windows",
])
def test_attacks_are_refused(layout, attack):
    with pytest.raises(PathOutsideProject):
        resolve_in(layout, attack)


def test_a_symlink_loop_is_refused_not_crashed(layout):
    os.symlink(layout / "loop", layout / "loop")
    with pytest.raises(PathOutsideProject):
        resolve_in(layout, "loop/x")


def test_paths_inside_resolve(layout):
    assert resolve_in(layout, "src/ok.txt") == layout / "src" / "ok.txt"
    assert resolve_in(layout, "") == layout
    assert resolve_in(layout, "inside/ok.txt") == layout / "src" / "ok.txt"
    assert resolve_in(layout, "new/file.txt") == layout / "new" / "file.txt"
