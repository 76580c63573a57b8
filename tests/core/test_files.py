"""The file browser's domain (spec G2, J3): tree, previews, name and content search."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from core.errors import NotFound, UserError
from core.workspace.files.ignore import IgnoreFile
from core.workspace.files.service import FilePreview, FileService, FileServices
from core.workspace.paths import PathOutsideProject


def _write(root: Path, relative: str, text: str = "x\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    _write(root, ".gitignore", "*.log\n!important.log\nsecret/\n/rootonly.txt\n")
    _write(root, "src/app.py", "import os\n\n\ndef main():\n    print('Hello Needle')\n    return 0\n")
    _write(root, "src/util/helpers.py", "def helper():\n    return 'needle in helpers'\n")
    _write(root, "src/session_manager.py", "class SessionManager:\n    pass\n")
    _write(root, "src/.gitignore", "generated_*\n")
    _write(root, "src/generated_parser.py", "needle = 'generated'\n")
    _write(root, "src/rootonly.txt", "anchored pattern: this one stays\n")
    _write(root, "rootonly.txt", "hidden by an anchored pattern\n")
    _write(root, "debug.log", "needle in a log\n")
    _write(root, "important.log", "re-included\n")
    _write(root, "secret/key.txt", "needle secret\n")
    _write(root, "docs/readme.md", "# Docs\nThe needle is here.\n")
    for hidden in ("node_modules/pkg/index.js", "__pycache__/app.cpython-311.pyc", ".venv/pyvenv.cfg",
                   "env/pyvenv.cfg", "build/out.js", "dist/app.js", "pkg.egg-info/PKG-INFO",
                   ".mypy_cache/x.json", "src/.pytest_cache/v", "target/debug/app", ".next/page.js"):
        _write(root, hidden, "needle hidden\n")
    (root / "images").mkdir()
    (root / "images" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0needle")
    return root


@pytest.fixture
def files(project: Path):
    service = FileService(project, stale_after=0.05)
    yield service
    service.close()


@pytest.fixture
def outside(tmp_path: Path, project: Path) -> Path:
    """A sibling whose name extends the project's (`projX`) and a symlink leading to it."""
    sibling = tmp_path / "projX"
    _write(sibling, "secret", "top secret\n")
    os.symlink(sibling, project / "escape")
    os.symlink(sibling / "secret", project / "escape_file")
    return sibling


def _names(entries) -> list[str]:
    return [e.name for e in entries]


# ---------------------------------------------------------------------------------------------- tree


def test_tree_hides_tool_directories_and_respects_gitignore(files):
    root = files.list_dir("")
    assert _names(root) == ["docs", "images", "src", ".gitignore", "important.log"]
    assert [e.is_dir for e in root] == [True, True, True, False, False]


def test_nested_gitignore_and_anchored_patterns(files):
    src = files.list_dir("src")
    assert _names(src) == ["util", ".gitignore", "app.py", "rootonly.txt", "session_manager.py"]
    app = next(e for e in src if e.name == "app.py")
    assert app.path == "src/app.py" and app.size > 0 and app.mtime > 0
    assert _names(files.list_dir("./src/util/")) == ["helpers.py"]


def test_a_directory_whose_contents_are_ignored_still_shows_what_is_re_included(files, project):
    """`logs/*` with `!logs/.gitkeep`: git shows logs/.gitkeep, so logs/ itself must not be hidden."""
    _write(project, ".gitignore", "logs/*\n!logs/.gitkeep\n")
    _write(project, "logs/.gitkeep", "")
    _write(project, "logs/today.txt")
    assert "logs" in _names(files.list_dir(""))
    assert _names(files.list_dir("logs")) == [".gitkeep"]
    files.refresh()
    assert "logs/.gitkeep" in files.index.snapshot.paths and "logs/today.txt" not in files.index.snapshot.paths


def test_tree_errors_are_clear(files):
    with pytest.raises(NotFound):
        files.list_dir("nowhere")
    with pytest.raises(UserError, match="is a file"):
        files.list_dir("src/app.py")


def test_index_agrees_with_git_on_ignored_files(project, files):
    """The in-process .gitignore matcher gives the same answer as git itself."""
    _write(project, ".gitignore", "*.log\n!important.log\nsecret/\n/rootonly.txt\n**/deep/**\n!keep/**/*.md\n"
                                  "doc?/*.tmp\n[ab]*.bak\n")
    for name in ("a/deep/x.py", "deep/y.py", "docs/z.tmp", "keep/q/r.md", "a1.bak", "c1.bak", "x/docs/z.tmp"):
        _write(project, name)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "-z"], cwd=project, check=True,
                            capture_output=True, text=True).stdout.split("\0")
    hidden_parts = {"node_modules", "__pycache__", ".venv", "env", "build", "dist", "pkg.egg-info", ".mypy_cache",
                    ".pytest_cache", "target", ".next"}
    expected = {p for p in listed if p and not hidden_parts & set(p.split("/")[:-1])}
    files.refresh()
    assert set(files.index.snapshot.paths) == expected


@pytest.mark.parametrize(("patterns", "path", "is_dir", "ignored"), [
    ("*.log", "a/b/x.log", False, True),
    ("*.log\n!keep.log", "keep.log", False, False),
    ("/build", "src/build", True, None),
    ("doc/", "doc", False, None),
    ("doc/", "x/doc", True, True),
    ("a/**", "a", True, None),
    ("a/**", "a/x/y", False, True),
    ("a/**/b", "a/b", False, True),
    ("foo/bar", "x/foo/bar", False, None),
    ("[!abc].txt", "d.txt", False, True),
    ("\\#x", "#x", False, True),
    ("te?t", "te/t", False, None),
    ("foo\\ ", "foo ", False, True),
    ("logs/*\n!logs/.gitkeep", "logs", True, None),  # `x/*` is what is inside x, not x
    ("logs/*\n!logs/.gitkeep", "logs/.gitkeep", False, False),
    ("a**/b", "ab", False, True),  # as git: a `**` right after the leading text acts as a whole segment
    ("[!]a]", "b", False, True),  # a `]` first in a bracket is a member
    ("[b-a]", "b", False, True),  # a reversed range adds nothing, its first character stays
    ("a[", "a[", False, None),  # an unclosed bracket matches nothing
    ("a\\\\ ", "a\\", False, True),  # an escaped backslash does not keep the trailing space
])
def test_gitignore_pattern_semantics(patterns, path, is_dir, ignored):
    assert IgnoreFile.parse("", patterns).decide(path, is_dir) is ignored


# ---------------------------------------------------------------------------------------------- preview


def test_text_preview_has_language_and_content(files):
    preview = files.read("src/app.py")
    assert isinstance(preview, FilePreview)
    assert preview.language == "python" and "def main" in preview.text
    assert not preview.is_binary and not preview.too_large and preview.size == len(preview.text)


def test_binary_file_is_reported_not_loaded(files, project):
    preview = files.read("images/logo.png")
    assert preview.is_binary and preview.text is None
    (project / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert files.read("latin1.txt").is_binary


def test_huge_sparse_file_returns_at_once(files, project):
    with open(project / "huge.bin", "wb") as handle:
        handle.truncate(1 << 30)
    started = time.perf_counter()
    preview = files.read("huge.bin")
    assert time.perf_counter() - started < 0.5
    assert preview.too_large and preview.size == 1 << 30 and preview.text is None


def test_large_text_file_shows_only_its_head(files, project):
    _write(project, "big.txt", "line of text é\n" * 200_000)
    preview = files.read("big.txt")
    assert preview.too_large and not preview.is_binary
    assert preview.text.startswith("line of text") and len(preview.text.encode()) <= 64 * 1024


def test_read_errors_are_clear(files, project):
    with pytest.raises(NotFound):
        files.read("src/missing.py")
    with pytest.raises(UserError, match="is a directory"):
        files.read("src")
    os.symlink(project / "loop_b", project / "loop_a")
    os.symlink(project / "loop_a", project / "loop_b")
    with pytest.raises(UserError, match="loop"):
        files.read("loop_a")
    assert "loop_a" not in _names(files.list_dir(""))


# ---------------------------------------------------------------------------------------------- confinement


ATTACKS = ["..", "../projX/secret", "src/../../projX/secret", "%2e%2e/projX/secret", "/etc/passwd",
           "escape/secret", "escape_file", "src\\..\\..\\projX"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_paths_leading_outside_are_refused(files, outside, attack):
    for call in (files.read, files.list_dir):
        with pytest.raises(PathOutsideProject) as refused:
            call(attack)
        assert refused.value.status_code == 403


def test_symlinks_leading_outside_are_not_listed_or_indexed(files, outside):
    assert "escape" not in _names(files.list_dir("")) and "escape_file" not in _names(files.list_dir(""))
    files.refresh()
    assert not [p for p in files.index.snapshot.paths if p.startswith("escape")]


# ---------------------------------------------------------------------------------------------- name search


def test_fuzzy_search_finds_a_file_by_a_sloppy_query(files):
    assert files.search_names("helprs")[0].path == "src/util/helpers.py"
    assert files.search_names("sesion manger")[0].path == "src/session_manager.py"
    assert files.search_names("sesmgr")[0].path == "src/session_manager.py"
    assert files.search_names("util/help")[0].path == "src/util/helpers.py"
    found = {m.path for m in files.search_names("py", limit=100)}
    assert "src/generated_parser.py" not in found and not [p for p in found if "node_modules" in p]


def test_index_picks_up_new_and_deleted_files(files, project):
    assert "src/brand_new_widget.py" not in [m.path for m in files.search_names("brand_new_widget")]
    _write(project, "src/brand_new_widget.py")
    (project / "src" / "util" / "helpers.py").unlink()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        paths = [m.path for m in files.search_names("brand_new_widget")]
        if paths and paths[0] == "src/brand_new_widget.py":
            break
        time.sleep(0.05)
    assert paths[0] == "src/brand_new_widget.py"
    assert "src/util/helpers.py" not in files.index.snapshot.paths


def test_changed_gitignore_rebuilds_the_index(files, project):
    files.refresh()
    assert "docs/readme.md" in files.index.snapshot.paths
    with open(project / ".gitignore", "a") as handle:
        handle.write("docs/\n")
    files.refresh()
    assert "docs/readme.md" not in files.index.snapshot.paths


def test_complete_prefers_path_prefixes(files):
    assert files.complete("src/u")[0] == "src/util/helpers.py"
    assert files.complete("./src/app")[0] == "src/app.py"
    assert "src/app.py" in files.complete("", limit=50)


# ---------------------------------------------------------------------------------------------- content search


def test_content_search_returns_line_numbers_and_context(files):
    matches = files.search_content("hello needle")
    assert [(m.path, m.line_number) for m in matches] == [("src/app.py", 5)]
    assert matches[0].line == "    print('Hello Needle')"
    assert matches[0].before == ["", "def main():"] and matches[0].after == ["    return 0"]  # no line 7


def test_content_search_skips_ignored_hidden_binary_and_huge_files(files, project):
    _write(project, "big.txt", "needle\n" * 200_000)
    paths = {m.path for m in files.search_content("needle")}
    assert paths == {"src/app.py", "src/util/helpers.py", "docs/readme.md"}


def test_content_search_context_of_neighbouring_matches_and_odd_paths(files, project):
    _write(project, "notes/a:b-c.txt", "one needle\ntwo needle\nthree\nfour\nfive\nsix needle\n")
    matches = files.search_content("needle", context=1)
    odd = [(m.line_number, m.before, m.after) for m in matches if m.path == "notes/a:b-c.txt"]
    assert odd == [(1, [], ["two needle"]), (2, ["one needle"], ["three"]), (6, ["five"], [])]


def test_content_search_options(files):
    assert files.search_content("hello needle", case_sensitive=True) == []
    assert [m.path for m in files.search_content(r"needle\s+in\s+\w+", regex=True)] == ["src/util/helpers.py"]
    assert len(files.search_content("needle", limit=2)) == 2
    assert files.search_content("needle", context=0)[0].before == []
    with pytest.raises(UserError, match="Invalid regular expression"):
        files.search_content("needle(", regex=True)
    assert files.search_content("needle(") == []  # a literal query may contain anything


def test_content_search_in_a_repository_covers_tracked_and_untracked_files(files, project):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "src/app.py"], cwd=project, check=True)
    paths = {m.path for m in files.search_content("needle")}
    assert paths == {"src/app.py", "src/util/helpers.py", "docs/readme.md"}


def test_symlinks_inside_the_project_are_followed(files, project):
    os.symlink(project / "src" / "util", project / "docs" / "util_link")
    os.symlink(project / "src" / "app.py", project / "docs" / "app_link.py")
    assert [(e.name, e.is_dir) for e in files.list_dir("docs")] == [("util_link", True), ("app_link.py", False),
                                                                     ("readme.md", False)]
    assert "Hello Needle" in files.read("docs/app_link.py").text
    assert _names(files.list_dir("docs/util_link")) == ["helpers.py"]


def test_a_huge_tree_is_indexed_partly(files, monkeypatch):
    monkeypatch.setattr("core.workspace.files.index.MAX_FILES", 3)
    files.index._rebuild()
    snapshot = files.index.snapshot
    assert snapshot.truncated and len(snapshot.paths) <= 3


# ---------------------------------------------------------------------------------------------- registry


def test_registry_gives_one_service_per_project_and_closes_them(project, tmp_path):
    registry = FileServices()
    first = registry.get(project)
    assert registry.get(str(project) + "/") is first
    assert first.index.wait_ready(10)
    registry.close_all()
    assert first.index._thread is None or not first.index._thread.is_alive()
