"""The server's side of a workspace that travels (spec O2): what goes to a node, and what comes back.

A remote job keeps its isolated worktree and branch on the server (`core/jobs/isolation.py`).
Before its CLI starts on a node, what is uncommitted there is committed and the branch goes
out as a git bundle, with the conversation to resume. At each turn's end the node's new
commits come back as a bundle that is fetched and fast-forwarded into the worktree, and the
session file's new lines are added to the server's copy, so the Changes view, review, merge
and a later resume here or anywhere read the same files as for a local job.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.claude_home import claude_config_dir, find_session_file
from core.cluster.agent import CONFIG_FILES, Sync
from core.cluster.paths import project_key
from core.workspace.git.service import GitService

RECENT_BYTES = 4 * 1024 * 1024  # how far back a line sent again is looked for
_UUID = re.compile(r'"uuid":"([0-9a-f-]{36})"')
# The server's one GitService per folder (services.workspaces.git_at): its lock is also the Git tab's and the API's.
GitAt = Callable[[str], GitService]


def session_file(cwd: str, session_id: str) -> Path:
    """The server's copy of a conversation the CLI would keep for a job working in `cwd`."""
    return claude_config_dir() / "projects" / project_key(str(Path(cwd).resolve())) / f"{session_id}.jsonl"


def outgoing(git_at: GitAt, cwd: str, job_name: str,
             session_id: str | None) -> tuple[str, bytes, str, dict[str, bytes]]:
    """(branch, bundle of it, session text, config files) for a node to start from."""
    work = git_at(cwd)
    with work.lock:
        branch = work.current_branch()
        if branch is None:
            raise RuntimeError(f"The job's worktree {cwd} is not on a branch.")
        if work.git("status", "--porcelain")[1].strip():
            work.git("add", "-A")
            work.git(*work.fallback_identity(), "commit", "-q", "--no-verify", "-m",
                     f"{job_name}: changes made on the server before the job moved to the cluster")
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "branch.bundle"
            work.git("bundle", "create", "-q", str(target), f"refs/heads/{branch}")
            bundle = target.read_bytes()
    text = ""
    if session_id:
        path = session_file(cwd, session_id)
        if not path.is_file():  # a fork resumes its parent's conversation, filed under the parent's folder
            path = find_session_file(session_id) or path
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    config = {name: (claude_config_dir() / name).read_bytes() for name in CONFIG_FILES
              if (claude_config_dir() / name).is_file()}
    return branch, bundle, text, config


def apply(git_at: GitAt, cwd: str, sync: Sync) -> str | None:
    """Take in what a turn left on the node; returns what could not be taken in, in words, or None."""
    problem = None
    if sync.bundle:
        problem = _take_commits(git_at(cwd), sync)
    if sync.session_id and sync.session_text:
        path = session_file(cwd, sync.session_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = sync.session_text if sync.session_replaced else _not_yet_in(path, sync.session_text)
        with path.open("w" if sync.session_replaced else "a", encoding="utf-8") as handle:
            handle.write(text)
    return problem


def _not_yet_in(path: Path, text: str) -> str:
    """The lines of `text` the file does not have yet: lines sent again (a server that died before it said it had
    them) are known by their uuid."""
    if not path.is_file():
        return text
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - RECENT_BYTES))
        recent = handle.read().decode("utf-8", "replace")
    known = set(_UUID.findall(recent))
    return "".join(line for line in text.splitlines(keepends=True)
                   if not (found := _UUID.search(line)) or found.group(1) not in known)


def _take_commits(work: GitService, sync: Sync) -> str | None:
    with work.lock, tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "turn.bundle"
        target.write_bytes(sync.bundle or b"")
        code, _, err = work.git("fetch", "-q", str(target), f"refs/heads/{sync.branch}", ok=(0, 1, 128))
        if code != 0:
            return f"The job's commits from the cluster could not be fetched: {err.strip()[:300]}"
        code, _, err = work.git("merge", "-q", "--ff-only", sync.head, ok=(0, 1, 128))
        if code != 0:
            return (f"The job's commits from the cluster ({sync.head[:10]}) could not be laid over its worktree "
                    f"here, which changed meanwhile: {err.strip()[:300]} They are kept in git as {sync.head[:10]}.")
    return None
