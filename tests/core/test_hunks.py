"""Unified diffs as files and hunks, and one hunk staged, unstaged or discarded on its own (spec G3, L2).

The parsing is tested on diff text as git writes it; the applying on real repositories.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import Conflict, UserError
from core.workspace.git.hunks import (
    BINARY,
    CONFLICT,
    EMPTY,
    LFS,
    MODE,
    RENAME,
    SUBMODULE,
    TEXT,
    TYPECHANGE,
    hunk_id,
    hunk_patch,
    parse_diff,
    quote_name,
    unquote_name,
)
from core.workspace.git.service import GitService
from tests.support.git_env import git, isolated_git  # noqa: F401 - isolated_git: an autouse fixture

TWO_HUNKS = """\
diff --git a/many.txt b/many.txt
index 97b3d1a5707f8a11fa5fa8bc6c3bd7b3965601fd..441e05aecb3db6f00743713892daf4cbfcbfae9c 100644
--- a/many.txt
+++ b/many.txt
@@ -1,5 +1,5 @@
 1
-2
+two
 3
 4
 5
@@ -11,5 +11,6 @@ def section():
 11
 12
 13
-14
+fourteen
+fourteen and a half
 15
"""


def only(text: str):
    files = parse_diff(text)
    assert len(files) == 1, files
    return files[0]


# ------------------------------------------------------------------------------------ parsing


def test_a_modified_file_with_two_hunks():
    file = only(TWO_HUNKS)
    assert (file.path, file.old_path, file.change, file.binary) == ("many.txt", None, "modified", False)
    assert file.old_mode == file.new_mode == "100644"
    first, second = file.hunks
    assert (first.kind, first.header, first.lines) == (TEXT, "@@ -1,5 +1,5 @@", (" 1", "-2", "+two", " 3", " 4", " 5"))
    assert (second.old_start, second.old_count, second.new_start, second.new_count) == (11, 5, 11, 6)
    assert second.header == "@@ -11,5 +11,6 @@ def section():"
    assert (first.added, first.removed, second.added, second.removed) == (1, 1, 2, 1)
    assert (file.added, file.removed) == (3, 2)
    assert first.id != second.id and len(first.id) == 12
    assert file.hunk(second.id) is second and file.hunk("nope") is None
    assert not first.whole_file and first.note is None


def test_an_id_survives_a_move_but_not_a_change():
    moved = TWO_HUNKS.replace("@@ -11,5 +11,6 @@ def section():", "@@ -40,5 +52,6 @@ elsewhere")
    changed = TWO_HUNKS.replace("+fourteen and a half", "+fourteen and three quarters")
    original = only(TWO_HUNKS).hunks
    assert [h.id for h in only(moved).hunks] == [h.id for h in original]
    assert only(changed).hunks[0].id == original[0].id
    assert only(changed).hunks[1].id != original[1].id


def test_identical_hunks_of_one_file_and_the_same_hunk_in_two_files_have_their_own_ids():
    hunk = "@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
    twice = "diff --git a/x b/x\n--- a/x\n+++ b/x\n" + hunk + hunk.replace("-1,2 +1,2", "-9,2 +9,2")
    ids = [h.id for h in only(twice).hunks]
    assert len(set(ids)) == 2
    other = "diff --git a/y b/y\n--- a/y\n+++ b/y\n" + hunk
    assert only(other).hunks[0].id not in ids
    assert ids[0] == hunk_id("x", TEXT, (" a", "-b", "+c"), 1)


def test_new_and_deleted_files():
    new, gone = parse_diff(
        "diff --git a/new.txt b/new.txt\nnew file mode 100755\nindex 0000000..3e75765\n--- /dev/null\n"
        "+++ b/new.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n"
        "diff --git a/old.txt b/old.txt\ndeleted file mode 100644\nindex 3e75765..0000000\n--- a/old.txt\n"
        "+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n")
    assert (new.path, new.change, new.new_mode, new.old_path, new.added) == ("new.txt", "added", "100755", None, 2)
    assert (gone.path, gone.change, gone.old_mode, gone.removed) == ("old.txt", "deleted", "100644", 1)
    assert gone.hunks[0].header == "@@ -1 +0,0 @@" and (gone.hunks[0].old_count, gone.hunks[0].new_count) == (1, 0)


def test_no_newline_at_end_of_file_belongs_to_the_line_before_it():
    file = only("diff --git a/n b/n\n--- a/n\n+++ b/n\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n"
                "+b\n+c\n\\ No newline at end of file\n")
    # The old side ended without a newline; the new side adds a line, again without one.
    assert file.hunks[0].lines == (" a", "-b", "\\ No newline at end of file", "+b", "+c",
                                   "\\ No newline at end of file")
    assert (file.added, file.removed) == (2, 1)


def test_hunk_lines_are_counted_so_lines_that_look_like_headers_stay_content():
    text = ("diff --git a/t b/t\n--- a/t\n+++ b/t\n@@ -1,3 +1,3 @@\n--- a/looks-like-a-header\n"
            "+++ b/so does this\n \n-diff --git a/x b/x\n+@@ -1 +1 @@\n")
    file = only(text)
    assert file.hunks[0].lines == ("--- a/looks-like-a-header", "+++ b/so does this", " ",
                                   "-diff --git a/x b/x", "+@@ -1 +1 @@")


def test_an_empty_context_line_counts_as_a_blank_context_line():
    """diff.suppressBlankEmpty writes a blank context line as '' instead of ' '."""
    plain = only("diff --git a/e b/e\n--- a/e\n+++ b/e\n@@ -1,3 +1,3 @@\n a\n \n-b\n+c\n")
    suppressed = only("diff --git a/e b/e\n--- a/e\n+++ b/e\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n")
    assert suppressed.hunks[0].lines == plain.hunks[0].lines == (" a", " ", "-b", "+c")
    assert suppressed.hunks[0].id == plain.hunks[0].id


def test_carriage_returns_and_other_line_breaks_stay_inside_their_line():
    file = only("diff --git a/w b/w\n--- a/w\n+++ b/w\n@@ -1 +1 @@\n-dos\r\n+page\x0cbreak\x1c\r\n")
    assert file.hunks[0].lines == ("-dos\r", "+page\x0cbreak\x1c\r")


def test_a_hunk_header_without_counts_means_one_line():
    hunk = only("diff --git a/o b/o\n--- a/o\n+++ b/o\n@@ -3 +3 @@\n-a\n+b\n").hunks[0]
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (3, 1, 3, 1)


def test_a_diff_cut_short_keeps_the_complete_hunks_only():
    cut = TWO_HUNKS[:TWO_HUNKS.index("+fourteen and a half")]
    file = only(cut)
    assert [h.header for h in file.hunks] == ["@@ -1,5 +1,5 @@"]


def test_binary_files_are_one_whole_file_item():
    file = only("diff --git a/img.png b/img.png\nindex 1111111111111111111111111111111111111111.."
                "2222222222222222222222222222222222222222 100644\nBinary files a/img.png and b/img.png differ\n")
    assert file.binary and file.path == "img.png"
    (item,) = file.hunks
    assert item.kind == BINARY and item.whole_file and "binary" in item.note
    assert (item.added, item.removed) == (0, 0)
    other = only("diff --git a/img.png b/img.png\nindex 1111111111111111111111111111111111111111.."
                 "3333333333333333333333333333333333333333 100644\nBinary files a/img.png and b/img.png differ\n")
    assert other.hunks[0].id != item.id  # new content: a new id


def test_a_binary_patch_body_is_skipped():
    files = parse_diff("diff --git a/b.bin b/b.bin\nnew file mode 100644\nindex 0000000..d00491f\nGIT binary patch\n"
                       "literal 3\nKcmZQzWB>pF\n\nliteral 0\nHcmV?d00001\n\n" + TWO_HUNKS)
    assert [f.path for f in files] == ["b.bin", "many.txt"]
    assert files[0].binary and len(files[1].hunks) == 2


def test_a_mode_change_is_an_item_of_its_own_beside_the_text_hunks():
    file = only("diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\nindex 1..2\n--- a/run.sh\n"
                "+++ b/run.sh\n@@ -1 +1 @@\n-echo a\n+echo b\n")
    assert (file.old_mode, file.new_mode) == ("100644", "100755")
    mode, text = file.hunks
    assert (mode.kind, mode.lines, mode.whole_file) == (MODE, ("old mode 100644", "new mode 100755"), False)
    assert mode.header == "mode 100644 → 100755" and text.kind == TEXT
    bare = only("diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n")
    assert [h.kind for h in bare.hunks] == [MODE]


def test_renames_and_copies():
    pure = only("diff --git a/old name.txt b/new name.txt\nsimilarity index 100%\nrename from old name.txt\n"
                "rename to new name.txt\n")
    assert (pure.old_path, pure.path, pure.change) == ("old name.txt", "new name.txt", "renamed")
    assert [h.kind for h in pure.hunks] == [RENAME]
    edited = only("diff --git a/a.py b/b.py\nsimilarity index 80%\nrename from a.py\nrename to b.py\n"
                  "index 1..2 100644\n--- a/a.py\n+++ b/b.py\n@@ -1 +1 @@\n-x\n+y\n")
    assert (edited.old_path, edited.path, edited.change) == ("a.py", "b.py", "renamed")
    assert [h.kind for h in edited.hunks] == [TEXT]
    copied = only("diff --git a/a b/c\nsimilarity index 100%\ncopy from a\ncopy to c\n")
    assert (copied.old_path, copied.path, copied.change) == ("a", "c", "copied")
    # A hunk of a renamed file is a change of its new path: the rename itself is not part of it.
    patch = hunk_patch(edited, edited.hunks[0])
    assert patch.startswith("diff --git a/b.py b/b.py\n--- a/b.py\n+++ b/b.py\n")


def test_quoted_and_spaced_names():
    tab = only('diff --git "a/tab\\there" "b/tab\\there"\n--- "a/tab\\there"\n+++ "b/tab\\there"\n'
               "@@ -1 +1 @@\n-a\n+b\n")
    assert tab.path == "tab\there"
    octal = only('diff --git "a/caf\\303\\251 \\"q\\"" "b/caf\\303\\251 \\"q\\""\nindex 1..2 100644\n'
                 'Binary files "a/caf\\303\\251 \\"q\\"" and "b/caf\\303\\251 \\"q\\"" differ\n')
    assert octal.path == 'café "q"'
    spaced = only("diff --git a/with space.txt b/with space.txt\n--- a/with space.txt\t\n+++ b/with space.txt\t\n"
                  "@@ -1 +1 @@\n-a\n+b\n")
    assert spaced.path == "with space.txt"
    # With no ---/+++ lines, the name comes from the diff line: the same name twice.
    binary = only("diff --git a/a b/c.bin b/a b/c.bin\nindex 1..2 100644\nBinary files a/a b/c.bin and b/a b/c.bin "
                  "differ\n")
    assert binary.path == "a b/c.bin"
    assert only("diff --git a/ü.txt b/ü.txt\n--- a/ü.txt\n+++ b/ü.txt\n@@ -1 +1 @@\n-a\n+b\n").path == "ü.txt"


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_quoting_a_name_round_trips(name):
    assert unquote_name(quote_name(name)) == name
    if not any(ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        assert quote_name(name) == name


def test_submodules_lfs_pointers_typechanges_empty_files_and_conflicts_are_whole():
    submodule = only("diff --git a/lib b/lib\nindex 1111111..2222222 160000\n--- a/lib\n+++ b/lib\n@@ -1 +1 @@\n"
                     "-Subproject commit 1111111111111111111111111111111111111111\n"
                     "+Subproject commit 2222222222222222222222222222222222222222\n")
    assert [h.kind for h in submodule.hunks] == [SUBMODULE]
    assert "own repository" in submodule.hunks[0].note
    lfs = only("diff --git a/big.bin b/big.bin\nindex 1..2 100644\n--- a/big.bin\n+++ b/big.bin\n@@ -1,3 +1,3 @@\n"
               " version https://git-lfs.github.com/spec/v1\n-oid sha256:aaa\n-size 10\n+oid sha256:bbb\n+size 12\n")
    assert [h.kind for h in lfs.hunks] == [LFS] and lfs.hunks[0].whole_file
    typechange = parse_diff("diff --git a/l b/l\ndeleted file mode 100644\nindex 1..0\n--- a/l\n+++ /dev/null\n"
                            "@@ -1 +0,0 @@\n-text\ndiff --git a/l b/l\nnew file mode 120000\nindex 0..2\n"
                            "--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+target\n\\ No newline at end of file\n")
    assert len(typechange) == 1 and typechange[0].change == "typechange"
    assert [h.kind for h in typechange[0].hunks] == [TYPECHANGE]
    empty = only("diff --git a/empty b/empty\nnew file mode 100644\nindex 0000000..e69de29\n")
    assert (empty.change, [h.kind for h in empty.hunks]) == ("added", [EMPTY])
    combined = parse_diff("diff --cc both.txt\nindex 1,2..0000000\n--- a/both.txt\n+++ b/both.txt\n"
                          "@@@ -1,1 -1,1 +1,5 @@@\n++<<<<<<< HEAD\n +ours\n++=======\n+ theirs\n++>>>>>>> side\n"
                          "* Unmerged path both.txt\n" + TWO_HUNKS)
    assert [f.path for f in combined] == ["both.txt", "many.txt"]
    assert [h.kind for h in combined[0].hunks] == [CONFLICT]
    with pytest.raises(UserError, match="conflict"):
        hunk_patch(combined[0], combined[0].hunks[0])


def test_a_patch_holds_one_hunk_and_parses_back_to_it():
    file = only(TWO_HUNKS)
    patch = hunk_patch(file, file.hunks[1])
    assert patch.startswith("diff --git a/many.txt b/many.txt\n--- a/many.txt\n+++ b/many.txt\n@@ -11,5 +11,6 @@\n")
    again = only(patch)
    assert [h.id for h in again.hunks] == [file.hunks[1].id]
    new = only("diff --git a/n b/n\nnew file mode 100755\nindex 0..1\n--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+x\n")
    assert "new file mode 100755\n--- /dev/null\n+++ b/n\n" in hunk_patch(new, new.hunks[0])
    quoted = only('diff --git "a/q\\"" "b/q\\""\n--- "a/q\\""\n+++ "b/q\\""\n@@ -1 +1 @@\n-a\n+b\n')
    assert hunk_patch(quoted, quoted.hunks[0]).startswith('diff --git "a/q\\"" "b/q\\""\n--- "a/q\\""\n')


def test_garbage_is_no_file():
    assert parse_diff("") == [] and parse_diff("warning: LF will be replaced by CRLF\n") == []
    assert only("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ nonsense @@\n-a\n").hunks == []


# ------------------------------------------------------------------------- on real repositories


def new_repo(root: Path, files: dict[str, str | bytes]) -> GitService:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Person")
    git(root, "config", "user.email", "test@example.com")
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return GitService(root)


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


NUMBERS = "".join(f"{n}\n" for n in range(1, 31))


def changed_numbers() -> str:
    return NUMBERS.replace("2\n", "two\n", 1).replace("15\n", "fifteen\n").replace("28\n", "twenty-eight\n")


@pytest.fixture
def repo(tmp_path: Path) -> GitService:
    return new_repo(tmp_path / "repo", {"numbers.txt": NUMBERS})


def hunks_of(service: GitService, path: str, staged: bool = False):
    files = [f for f in service.diff_files(staged=staged) if f.path == path]
    return files[0].hunks if files else []


def test_stage_unstage_and_discard_single_hunks(repo):
    write(repo.root, {"numbers.txt": changed_numbers()})
    first, second, third = hunks_of(repo, "numbers.txt")
    repo.stage_hunk(second.id, "numbers.txt")
    assert [h.lines for h in hunks_of(repo, "numbers.txt", staged=True)] == [second.lines]
    assert [h.id for h in hunks_of(repo, "numbers.txt")] == [first.id, third.id]
    repo.discard_hunk(third.id)  # without a path: looked up among every file
    assert (repo.root / "numbers.txt").read_text() == NUMBERS.replace("2\n", "two\n", 1).replace("15\n", "fifteen\n")
    repo.unstage_hunk(second.id, "numbers.txt")
    assert hunks_of(repo, "numbers.txt", staged=True) == []
    assert [h.id for h in hunks_of(repo, "numbers.txt")] == [first.id, second.id]


def test_a_hunk_that_changed_since_it_was_shown_is_refused(repo):
    write(repo.root, {"numbers.txt": changed_numbers()})
    first = hunks_of(repo, "numbers.txt")[0]
    write(repo.root, {"numbers.txt": changed_numbers().replace("two\n", "TWO\n")})
    for action in (repo.stage_hunk, repo.discard_hunk, repo.unstage_hunk):
        with pytest.raises(Conflict, match="changed since you looked"):
            action(first.id, "numbers.txt")
    assert "TWO" in (repo.root / "numbers.txt").read_text()


def test_untracked_files_are_one_hunk_that_stages_or_deletes_them_and_the_index_is_untouched(repo):
    write(repo.root, {"new dir/ünï côde.txt": "hello\nworld\n", "gone.txt": "bye\n"})
    before = git(repo.root, "status", "--porcelain")
    (hunk,) = hunks_of(repo, "new dir/ünï côde.txt")
    assert (hunk.header, hunk.lines) == ("@@ -0,0 +1,2 @@", ("+hello", "+world"))
    assert git(repo.root, "status", "--porcelain") == before  # listing did not touch the index
    repo.stage_hunk(hunk.id)
    assert git(repo.root, "diff", "--cached", "--name-only", "-z").split("\0")[0] == "new dir/ünï côde.txt"
    repo.discard_hunk(hunks_of(repo, "gone.txt")[0].id)
    assert not (repo.root / "gone.txt").exists()
    repo.unstage_hunk(hunk.id)
    assert "?? " in git(repo.root, "status", "--porcelain") and (repo.root / "new dir/ünï côde.txt").exists()


def test_a_file_without_newline_at_its_end(repo):
    write(repo.root, {"tail.txt": "a\nb"})
    git(repo.root, "add", "tail.txt")
    git(repo.root, "commit", "-q", "-m", "tail")
    write(repo.root, {"tail.txt": "a\nb\nc"})
    (hunk,) = hunks_of(repo, "tail.txt")
    assert "\\ No newline at end of file" in hunk.lines
    repo.stage_hunk(hunk.id)
    assert git(repo.root, "show", ":tail.txt") == "a\nb\nc"
    write(repo.root, {"tail.txt": "a\nb\nc\n"})
    repo.discard_hunk(hunks_of(repo, "tail.txt")[0].id)
    assert (repo.root / "tail.txt").read_bytes() == b"a\nb\nc"


def test_crlf_and_latin1_content_applies_byte_for_byte(repo):
    write(repo.root, {"dos.txt": b"one\r\ntwo\r\nthree\r\n", "latin.txt": "caf\xe9\n".encode("latin-1")})
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "odd bytes")
    write(repo.root, {"dos.txt": b"one\r\nTWO\r\nthree\r\n", "latin.txt": "caf\xe9 cr\xe8me\n".encode("latin-1")})
    repo.stage_hunk(hunks_of(repo, "dos.txt")[0].id)
    repo.discard_hunk(hunks_of(repo, "latin.txt")[0].id)
    assert subprocess.run(["git", "show", ":dos.txt"], cwd=repo.root, capture_output=True).stdout == \
        b"one\r\nTWO\r\nthree\r\n"
    assert (repo.root / "latin.txt").read_bytes() == "caf\xe9\n".encode("latin-1")


def test_binary_files_and_mode_changes(repo):
    write(repo.root, {"blob.bin": bytes(range(256))})
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "blob")
    write(repo.root, {"blob.bin": bytes(reversed(range(256)))})
    (item,) = hunks_of(repo, "blob.bin")
    assert item.kind == BINARY
    repo.stage_hunk(item.id)
    assert git(repo.root, "diff", "--cached", "--name-only").split() == ["blob.bin"]
    repo.unstage_hunk(hunks_of(repo, "blob.bin", staged=True)[0].id)
    repo.discard_hunk(hunks_of(repo, "blob.bin")[0].id)
    assert (repo.root / "blob.bin").read_bytes() == bytes(range(256))
    (repo.root / "numbers.txt").chmod(0o755)
    write(repo.root, {"numbers.txt": changed_numbers()})
    mode, *texts = hunks_of(repo, "numbers.txt")
    assert mode.kind == MODE and len(texts) == 3
    repo.stage_hunk(mode.id)
    assert git(repo.root, "diff", "--cached", "--summary").strip() == "mode change 100644 => 100755 numbers.txt"
    assert [h.id for h in hunks_of(repo, "numbers.txt")] == [h.id for h in texts]


def test_a_nested_repository_is_shown_but_not_acted_on(repo, tmp_path):
    new_repo(repo.root / "vendored", {"lib.txt": "lib\n"})
    (item,) = hunks_of(repo, "vendored")
    assert item.kind == SUBMODULE
    with pytest.raises(UserError, match="own repository"):
        repo.stage_hunk(item.id)
    assert git(repo.root, "status", "--porcelain").strip() == "?? vendored/"


def test_an_empty_new_file_is_staged_whole(repo):
    write(repo.root, {"empty": ""})
    (item,) = hunks_of(repo, "empty")
    assert item.kind == EMPTY
    repo.stage_hunk(item.id)
    assert git(repo.root, "status", "--porcelain").strip() == "A  empty"


def test_a_file_that_became_a_symbolic_link_is_staged_and_discarded_whole(repo):
    (repo.root / "numbers.txt").unlink()
    (repo.root / "numbers.txt").symlink_to("elsewhere.txt")
    (item,) = hunks_of(repo, "numbers.txt")
    assert item.kind == TYPECHANGE
    repo.stage_hunk(item.id)
    assert git(repo.root, "diff", "--cached", "--summary").split() == ["mode", "change", "100644", "=>", "120000",
                                                                        "numbers.txt"]
    repo.unstage_hunk(hunks_of(repo, "numbers.txt", staged=True)[0].id)
    repo.discard_hunk(hunks_of(repo, "numbers.txt")[0].id)
    assert not (repo.root / "numbers.txt").is_symlink() and (repo.root / "numbers.txt").read_text() == NUMBERS


def test_an_lfs_pointer_is_staged_whole(repo):
    write(repo.root, {"model.bin": "version https://git-lfs.github.com/spec/v1\noid sha256:aaa\nsize 3\n"})
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "pointer")
    write(repo.root, {"model.bin": "version https://git-lfs.github.com/spec/v1\noid sha256:bbb\nsize 4\n"})
    (item,) = hunks_of(repo, "model.bin")
    assert item.kind == LFS and "LFS" in item.note
    repo.stage_hunk(item.id)
    assert git(repo.root, "diff", "--cached", "--name-only").split() == ["model.bin"]


def test_hunks_before_the_first_commit(tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    service = GitService(root)
    write(root, {"a.txt": "a\n"})
    service.stage_hunk(hunks_of(service, "a.txt")[0].id)
    (staged,) = hunks_of(service, "a.txt", staged=True)
    service.unstage_hunk(staged.id)
    assert git(root, "status", "--porcelain").strip() == "?? a.txt"


def test_paths_leading_outside_are_refused(repo):
    with pytest.raises(UserError):
        repo.stage_hunk("0123456789ab", "../outside.txt")


# Lines that appear once each, so that git has one way only to line the versions up.
originals = st.lists(st.integers(0, 5), min_size=8, max_size=60).map(
    lambda gaps: [f"line {n}" for n in range(len(gaps))])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=originals, data=st.data())
def test_discarding_any_one_hunk_leaves_exactly_the_others(tmp_path_factory, lines, data):
    root = tmp_path_factory.mktemp("prop")
    service = new_repo(root, {"f.txt": "\n".join(lines) + "\n"})
    edited = list(lines)
    for index in sorted(data.draw(st.sets(st.integers(0, len(lines) - 1), min_size=1, max_size=6)), reverse=True):
        action = data.draw(st.sampled_from(["change", "delete", "insert"]))
        if action == "change":
            edited[index] = f"changed {index}"
        elif action == "delete":
            del edited[index]
        else:
            edited.insert(index, f"inserted {index}")
    write(root, {"f.txt": "\n".join(edited) + "\n"})
    hunks = hunks_of(service, "f.txt")
    if not hunks:
        return
    chosen = data.draw(st.sampled_from(hunks))
    service.discard_hunk(chosen.id, "f.txt")
    left = hunks_of(service, "f.txt")
    assert sorted(h.lines for h in left) == sorted(h.lines for h in hunks if h is not chosen)
    if left:
        staged = data.draw(st.sampled_from(left))
        service.stage_hunk(staged.id, "f.txt")
        assert [h.lines for h in hunks_of(service, "f.txt", staged=True)] == [staged.lines]
