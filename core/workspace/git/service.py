"""The git panel's domain (spec G3), through GitPython's git command wrapper.

Every method blocks on a git subprocess: async callers use `asyncio.to_thread`.
Mutating calls are serialised per service so two clicks cannot race for
`.git/index.lock`. Every path argument goes through `resolve_in` (spec J3).

A project counts as a repository only when it is a work tree's top level:
PROJECTS_ROOT may itself sit inside a checkout (the server's own), and the
panel must never stage or discard in that enclosing repository.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from core.errors import Conflict, NotFound, UserError, describe_os_error
from core.workspace.git.hunks import (
    DIFF_OPTIONS,
    NOT_ACTIONABLE,
    FileDiff,
    Hunk,
    apply_patch,
    find_hunk,
    hunk_patch,
    parse_diff,
)
from core.workspace.git.status import GitStatus, LogEntry, parse_status, touched_marks
from core.workspace.paths import resolve_in

if TYPE_CHECKING:
    import git


def gitlib() -> Any:
    """GitPython, imported when the first repository is opened: some 30 ms that no first page needs."""
    import git

    return git


__all__ = ["GitService", "GitStatus", "LogEntry", "touched_marks"]

NETWORK_TIMEOUT_S = 120.0  # push and pull: a dead remote must not hold a worker forever
MAX_DIFF_CHARS = 1_000_000
MAX_UNTRACKED_DIFF_BYTES = 1_000_000
MAX_UNTRACKED_DIFF_FILES = 50
# No prompts (a server has nobody at its terminal), no editors, no pagers, stable English messages.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_PAGER": "cat", "GIT_ASKPASS": "",
        "SSH_ASKPASS": "", "LC_ALL": "C", "LANGUAGE": "C"}
_FIELD, _RECORD = "\x1f", "\x1e"


class GitService:
    """Git for one repository. `services.workspaces.git(project_id)` gives the server's one per repository:
    its lock serialises writes from every page and API client."""

    def __init__(self, project_path: str | os.PathLike[str]) -> None:
        self.root = Path(project_path).resolve()
        self.lock = threading.Lock()

    # ----------------------------------------------------------------- plumbing

    def is_repo(self) -> bool:
        """True when the project folder is a work tree's top level (NotFound if the folder is gone)."""
        try:
            self._open().close()
        except NotFound:
            raise
        except UserError:
            return False
        return True

    def _open(self) -> git.Repo:
        if not self.root.is_dir():
            raise NotFound(f"Project directory {self.root} does not exist.")
        if (self.root / ".git").exists():  # GitPython alone would accept a folder inside a repository
            try:
                return gitlib().Repo(self.root)
            except (gitlib().exc.InvalidGitRepositoryError, gitlib().exc.NoSuchPathError):
                pass
        raise _not_a_repository(self.root)

    def git(self, *args: str, timeout: float | None = None, ok: tuple[int, ...] = (0,),
            strip: bool = True, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of `git args` in this repository; an exit code not in `ok` becomes a
        UserError with git's own words. `env` adds variables (GIT_INDEX_FILE). Writers hold `lock`."""
        repo = self._open()
        # Literal pathspecs: a file named 'a*.txt' must not stage every a-something.txt.
        command = ["git", "--literal-pathspecs", "-c", "core.quotePath=false", *args]
        # The command's name, for messages: not the value of a leading `-c name=value`.
        name = next(arg for before, arg in zip(("", *args), args, strict=False)
                    if not arg.startswith("-") and before != "-c")
        try:
            # A new session has no controlling terminal: ssh cannot stop to ask for a passphrase.
            code, out, err = repo.git.execute(command, with_extended_output=True, with_exceptions=False,
                                              env={**_ENV, **(env or {})}, kill_after_timeout=timeout,
                                              strip_newline_in_stdout=strip, start_new_session=True)
        except gitlib().exc.GitCommandNotFound:
            raise UserError("git is not installed on the server.") from None
        except gitlib().exc.GitCommandError as exc:  # GitPython's own failures (a git that cannot start, say)
            raise UserError(f"git {name} failed: {_message(str(exc.stderr or exc))}") from None
        finally:
            repo.close()
        if code not in ok:
            if timeout is not None and err.startswith("Timeout:"):  # GitPython's words for its own kill
                raise UserError(f"git {name} gave no answer within {timeout:.0f} s and was stopped; "
                                "is the remote reachable?")
            raise UserError(f"git {name} failed: {_message(err or out) or f'exit code {code}'}")
        return code, out, err

    def _paths(self, paths: list[str] | tuple[str, ...]) -> list[str]:
        """Confined, normalised relative paths; the literal path, not its symlink target, is what git knows."""
        if isinstance(paths, str) or not paths:
            raise UserError("Give at least one file (a list of paths relative to the project).")
        result = []
        for path in paths:
            try:
                target = resolve_in(self.root, path)
            except RuntimeError:  # Path.resolve on a symlink loop (Python 3.11)
                raise UserError(f"{path!r} is a loop of symbolic links.") from None
            if target == self.root:
                raise UserError("Give files or folders inside the project, not the project itself.")
            result.append(PurePosixPath(path).as_posix())
        return result

    def _repo_status(self) -> GitStatus:
        """The status, for actions that need a repository: they say so rather than find nothing to do."""
        status = self.status()
        if not status.is_repo:
            raise _not_a_repository(self.root)
        return status

    def has_commits(self) -> bool:
        return self.git("rev-parse", "--verify", "-q", "HEAD", ok=(0, 1))[0] == 0

    # ----------------------------------------------------------------- reading

    def status(self) -> GitStatus:
        if not self.is_repo():
            return GitStatus(root=str(self.root), is_repo=False)
        # --no-optional-locks: a status refresh must not take index.lock from a running `git commit`.
        _, out, _ = self.git("--no-optional-locks", "status", "--porcelain=v2", "--branch", "-z",
                              "--untracked-files=all")
        return parse_status(str(self.root), out)

    def diff(self, path: str, staged: bool = False) -> str:
        """The unified diff of one file; an untracked file shows as entirely added."""
        (relative,) = self._paths([path])
        if staged:
            text = self.git("diff", "--cached", "--no-color", "--no-ext-diff", "--", relative, strip=False)[1]
        elif self._is_untracked(relative):
            text = self._untracked_diff(relative)
        else:
            text = self.git("diff", "--no-color", "--no-ext-diff", "--", relative, strip=False)[1]
        if len(text) > MAX_DIFF_CHARS:
            text = text[:MAX_DIFF_CHARS] + f"\n... diff cut at {MAX_DIFF_CHARS:,} characters\n"
        return text

    def _is_untracked(self, relative: str) -> bool:
        out = self.git("ls-files", "--others", "--exclude-standard", "-z", "--", relative)[1]
        return bool(out.strip("\0"))

    def _untracked_diff(self, relative: str) -> str:
        """Each untracked file under `relative` (a file or a folder) against /dev/null."""
        listed = self.git("ls-files", "--others", "--exclude-standard", "-z", "--", relative)[1]
        parts = []
        for file in [f for f in listed.split("\0") if f][:MAX_UNTRACKED_DIFF_FILES]:
            size = (self.root / file).stat().st_size
            if size > MAX_UNTRACKED_DIFF_BYTES:
                parts.append(f"new file {file}: {size:,} bytes, too large to show\n")
            else:  # --no-index exits 1 when the files differ, which here is always
                parts.append(self.git("diff", "--no-index", "--no-color", "--no-ext-diff", "--", os.devnull, file,
                                       ok=(0, 1), strip=False)[1])
        return "".join(parts)

    def diff_files(self, against: str | None = None, *, staged: bool = False,
                   paths: list[str] | None = None) -> list[FileDiff]:
        """Changed files with their hunks: the work tree against the index (or against the commit `against`),
        untracked files included as entirely added; with `staged`, the index against HEAD (or `against`)."""
        relative = self._paths(paths) if paths else []
        revision = [against] if against else []
        if staged:
            return parse_diff(self.git("diff", "--cached", *DIFF_OPTIONS, *revision, "--", *relative, strip=False)[1])
        with self.untracked_as_intended() as env:
            return parse_diff(self.git("diff", *DIFF_OPTIONS, *revision, "--", *relative, strip=False, env=env)[1])

    @contextlib.contextmanager
    def untracked_as_intended(self) -> Iterator[dict[str, str]]:
        """An environment whose index is a copy of this one with every untracked file added as intended
        (`git add -N`): diffs then show new files too, while the index that git, the Git tab and a job's agent
        use stays as it is."""
        try:
            folder = Path(tempfile.mkdtemp(prefix="ccs-index-"))
        except OSError as exc:
            raise UserError(f"Could not make a scratch index to compare with: {describe_os_error(exc)}") from None
        try:
            index = self.root / self.git("rev-parse", "--git-path", "index")[1].strip()
            scratch = folder / "index"
            try:
                if index.is_file():
                    shutil.copyfile(index, scratch)
            except OSError as exc:
                raise UserError(f"Could not copy the index to compare with: {describe_os_error(exc)}") from None
            env = {"GIT_INDEX_FILE": str(scratch)}
            self.git("add", "--intent-to-add", "--ignore-errors", "--", ".", env=env, ok=(0, 1))
            yield env
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def log(self, limit: int = 20) -> list[LogEntry]:
        if not self.has_commits():
            return []
        fmt = _FIELD.join(("%H", "%h", "%an", "%ae", "%aI", "%s")) + _RECORD
        out = self.git("log", f"-n{max(1, min(limit, 1000))}", f"--format={fmt}")[1]
        return [LogEntry(*record.strip("\n").split(_FIELD, 5)) for record in out.split(_RECORD) if record.strip()]

    # ----------------------------------------------------------------- changing

    def init(self, first_commit: bool = False) -> GitStatus:
        """`git init` for a project that is not a repository yet; with `first_commit`, everything in it (but what
        .gitignore leaves out) is committed too, so that branches and worktrees have something to start from."""
        if not self.root.is_dir():
            raise NotFound(f"Project directory {self.root} does not exist.")
        with self.lock:
            if self.is_repo():
                raise Conflict(f"{self.root.name} is already a git repository.")
            gitlib().Repo.init(self.root).close()
            if first_commit:
                self.git("add", "-A")
                self.git(*self.fallback_identity(), "commit", "-q", "--allow-empty", "-m", "Initial commit")
        return self.status()

    def fallback_identity(self) -> list[str]:
        """`-c` options naming the server as author when git knows nobody: commits the server makes on a person's
        behalf (a first commit, an archived job's work) must not fail for want of an identity."""
        if self.git("config", "user.email", ok=(0, 1))[0] == 0:
            return []
        return ["-c", "user.name=Claude Code Server", "-c", "user.email=claude-code-server@localhost"]

    def current_branch(self) -> str | None:
        """The checked-out branch; None on a detached HEAD."""
        code, out, _ = self.git("symbolic-ref", "-q", "--short", "HEAD", ok=(0, 1))
        return out.strip() if code == 0 else None

    def commit_of(self, revision: str) -> str:
        return self.git("rev-parse", "--verify", "-q", f"{revision}^{{commit}}")[1].strip()

    def stage(self, paths: list[str]) -> None:
        relative = self._paths(paths)
        with self.lock:
            self.git("add", "-A", "--", *relative)  # -A: a deleted file's removal is staged too

    def stage_all(self) -> None:
        with self.lock:
            self.git("add", "-A")

    def unstage(self, paths: list[str]) -> None:
        relative = self._paths(paths)
        with self.lock:
            self._unstage(relative)

    def _unstage(self, relative: list[str]) -> None:
        if self.has_commits():
            self.git("restore", "--staged", "--", *relative)
        else:  # nothing to restore from before the first commit: take the paths out of the index
            self.git("rm", "--cached", "-r", "-q", "--ignore-unmatch", "--", *relative)

    def discard(self, paths: list[str]) -> None:
        """Throw away unstaged changes: tracked files go back to their staged (or committed) content,
        untracked files and folders are deleted. Staged changes stay. The UI asks first."""
        relative = self._paths(paths)
        with self.lock:
            self._discard(relative)

    def _discard(self, relative: list[str]) -> None:
        status = self._repo_status()
        changed = [c.path for c in status.modified]
        untracked = [c.path for c in status.untracked]
        restore = [p for p in relative if _covers(p, changed)]
        clean = [p for p in relative if _covers(p, untracked)]
        nothing = [p for p in relative if p not in restore and p not in clean]
        if nothing:
            raise UserError(f"No unstaged changes to discard in {', '.join(nothing)}.")
        if restore:
            self.git("checkout", "--", *restore)  # from the index; works before the first commit too
        if clean:
            self.git("clean", "-f", "-d", "-q", "--", *clean)  # never -x: ignored files are not ours

    # -- one hunk at a time: the Git tab's diff view. A whole-file item (a binary file...) acts on its file.

    def stage_hunk(self, hunk_id: str, path: str | None = None) -> None:
        """Stage one hunk of the unstaged changes (of `path`, when given: faster than looking everywhere)."""
        with self.lock:
            file, hunk = self._locate(hunk_id, path, staged=False)
            if hunk.whole_file:
                self.git("add", "-A", "--", file.path)
            else:
                apply_patch(self, hunk_patch(file, hunk), "--cached")

    def unstage_hunk(self, hunk_id: str, path: str | None = None) -> None:
        with self.lock:
            file, hunk = self._locate(hunk_id, path, staged=True)
            if hunk.whole_file:
                self._unstage([file.path])
            else:
                apply_patch(self, hunk_patch(file, hunk), "--cached", "--reverse")

    def discard_hunk(self, hunk_id: str, path: str | None = None) -> None:
        """Throw one unstaged hunk away in the work tree (a new file's only hunk deletes it). The UI asks first."""
        with self.lock:
            file, hunk = self._locate(hunk_id, path, staged=False)
            if hunk.whole_file:
                self._discard([file.path])
            else:
                apply_patch(self, hunk_patch(file, hunk), "--reverse")

    def _locate(self, hunk_id: str, path: str | None, staged: bool) -> tuple[FileDiff, Hunk]:
        self._repo_status()
        found = find_hunk(self.diff_files(staged=staged, paths=[path] if path else None), hunk_id)
        if found is None:
            side = "staged" if staged else "unstaged"
            raise Conflict(f"There is no such {side} hunk any more: the file changed since you looked. "
                           "Reload and try again.")
        file, hunk = found
        if hunk.kind in NOT_ACTIONABLE:
            raise UserError(f"{file.path}: {hunk.note}")
        return found

    def commit(self, message: str) -> str:
        """Commit what is staged; returns the new commit's sha."""
        message = (message or "").strip()
        if not message:
            raise UserError("A commit needs a message.")
        if "\x00" in message:  # a command line cannot carry it
            raise UserError("A commit message cannot contain NUL characters.")
        with self.lock:
            if not self._repo_status().staged:
                raise UserError("Nothing is staged: stage the changes to commit first.")
            self.git("commit", "-q", "-m", message)
            return self.git("rev-parse", "HEAD")[1].strip()

    def push(self) -> str:
        """Push the current branch; a branch without upstream is pushed to the only (or origin) remote."""
        with self.lock:
            remotes = self.git("remote")[1].split()
            if not remotes:
                raise UserError("This repository has no remote to push to. Add one first, for example "
                                "`git remote add origin <url>` in the terminal.")
            status = self.status()
            args = ["push"]
            if status.upstream is None and status.branch is not None:
                remote = "origin" if "origin" in remotes else remotes[0] if len(remotes) == 1 else None
                if remote is not None:
                    args += ["--set-upstream", remote, "HEAD"]
            _, out, err = self.git(*args, timeout=NETWORK_TIMEOUT_S)
            return _combined(out, err)

    def pull(self) -> str:
        with self.lock:
            # --no-edit: a merge commit must not wait for an editor nobody sees.
            _, out, err = self.git("pull", "--no-edit", timeout=NETWORK_TIMEOUT_S)
            return _combined(out, err)


def _not_a_repository(root: Path) -> UserError:
    return UserError(f"{root.name} is not a git repository; initialise one first.")


def _covers(path: str, changed: list[str]) -> bool:
    prefix = path.rstrip("/") + "/"
    return any(c == path or c.startswith(prefix) for c in changed)


def _combined(out: str, err: str) -> str:
    return "\n".join(part for part in (out.strip(), err.strip()) if part)


def _message(text: str) -> str:
    """git's own words without GitPython's quoting and the 'fatal: ' prefixes."""
    text = text.strip().strip("'").strip()
    lines = [line.strip().removeprefix("stderr: ").removeprefix("fatal: ").removeprefix("error: ")
             for line in text.splitlines() if line.strip()]
    return "\n".join(lines)
