"""One job's Claude Code CLI on a Ray node, and the git clone it works in (spec O2).

This class runs inside a Ray actor (`core/cluster/runner.py` wraps it with `ray.remote`), on
whichever machine Ray placed it; it imports nothing of Ray and nothing of the server. It
starts the bundled CLI with the SDK's own subprocess transport, so the command line, the
environment and the stream parsing are exactly those of a local job, and carries its stdio:
what the CLI prints waits in a numbered list until the server has read it (a read names the
last number it has, so a read lost in transit is simply asked for again), and writes are
numbered so a write sent twice is written once.

The job works in a clone of the server's branch, made from a git bundle. At the end of every
turn, before the turn's result goes out, what changed is committed and packed into a bundle
of the new commits, with the lines the CLI added to its session file: the server takes them
in before it sees the turn end, so its branch and its copy of the conversation are never
behind what the person was told. Paths in everything that crosses are the server's
(`core/cluster/paths.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.cluster.paths import PathMap, project_key

IDENTITY = ["-c", "user.name=Claude Code Server", "-c", "user.email=claude-code-server@localhost"]
STOP_TIMEOUT_S = 10.0
CONFIG_FILES = ("CLAUDE.md", "settings.json")  # the user memory and settings a job's CLI reads


@dataclass
class StartSpec:
    """What the server sends to start a job's CLI on a node."""

    job_id: str
    job_name: str
    options: Any  # the SDK's ClaudeAgentOptions without callbacks (they stay on the server)
    branch: str
    bundle: bytes  # the branch, as a git bundle
    server_cwd: str
    server_config: str
    session_id: str | None = None  # the conversation to resume, and its file (server paths)
    session_text: str = ""
    config_files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Sync:
    """What a turn left on the node: new commits (a bundle on top of `since`) and new session lines."""

    branch: str
    head: str
    since: str
    bundle: bytes | None = None
    session_id: str | None = None
    session_text: str = ""  # server paths
    session_replaced: bool = False  # the text is the whole file, not lines to add


def default_root() -> Path:
    return Path(os.environ.get("CCS_AGENT_ROOT") or Path.home() / ".cache" / "claude-code-server" / "agents")


def where() -> dict[str, str]:
    """This machine, as people will see it named next to a job."""
    host = socket.gethostname()
    try:
        address = socket.gethostbyname(host)
    except OSError:  # a machine whose own name does not resolve: Ray's address for it is used instead
        address = ""
    return {"host": host, "address": address}


class Agent:
    def __init__(self, job_id: str, root: str | None = None) -> None:
        self.home = Path(root or default_root()) / job_id
        self.work = self.home / "work"
        self.config = self.home / "config"
        self.items: list[tuple[int, str, Any]] = []
        self.last_seq = 0
        self.arrived = asyncio.Event()
        self.written = 0
        self.write_turn = asyncio.Condition()  # writes go to the CLI in their numbers' order
        self.transport: Any = None
        self.pump: asyncio.Task | None = None
        self.spec: StartSpec | None = None
        self.paths = PathMap(())
        self.sent_head = ""
        self.session_id: str | None = None
        self.session_sent: dict[str, int] = {}  # bytes of each session file already sent
        # What the server has confirmed it has (by reading past it): a final sync starts from there, so a sync
        # that never reached it (the server died before reading it) is sent again, whole.
        self.acked: tuple[str, dict[str, int]] = ("", {})
        self.marks: dict[int, tuple[str, dict[str, int]]] = {}  # sync item number -> state after it
        self.turn_active = False
        self.files_may_have_changed = True  # a turn that used no tool changed nothing: its sync skips git

    # -- called by the server ----------------------------------------------------------------

    async def start(self, spec: StartSpec) -> dict[str, str]:
        self.spec = spec
        self.paths = PathMap.of((spec.server_cwd, str(self.work)), (spec.server_config, str(self.config)))
        await asyncio.to_thread(self._make_workspace, spec)
        options = dataclasses.replace(
            spec.options, cwd=str(self.work), stderr=lambda line: self._push("stderr", line.rstrip()),
            env={**spec.options.env, "CLAUDE_CONFIG_DIR": str(self.config)})
        from claude_agent_sdk._internal.transport.subprocess_cli import SubprocessCLITransport

        async def no_prompt():  # the server writes every prompt itself
            return
            yield {}

        self.transport = SubprocessCLITransport(prompt=no_prompt(), options=options)
        await self.transport.connect()
        self.pump = asyncio.create_task(self._pump())
        return {**where(), "pid": str(os.getpid())}

    async def read(self, after: int, wait_s: float) -> list[tuple[int, str, Any]]:
        """Everything numbered after `after` (which the server therefore has), waiting up to `wait_s` for some."""
        self._acknowledge(after)
        if not self.items:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), wait_s)
        return list(self.items)

    async def write(self, number: int, data: str) -> None:
        """Write the server's `number`th line to the CLI, after every earlier one (the server does not wait for
        one write before it sends the next, and Ray may start them out of order)."""
        async with self.write_turn:
            await self.write_turn.wait_for(lambda: number <= self.written + 1)
            if number <= self.written:
                return  # sent again after a lost answer: it was written
            await self.transport.write(self.paths.to_node(data))
            self.written = number
            self.write_turn.notify_all()
            if '"type":"user"' in data.replace(" ", ""):
                self.turn_active = True

    async def end_input(self) -> None:
        await self.transport.end_input()

    async def sync(self, check_files: bool = True) -> Sync:
        return await asyncio.to_thread(self._sync, check_files)

    async def stop(self, after: int = 0) -> Sync | None:
        """End the CLI, hand back what it left since what the server has (it has read up to `after`), and
        remove the job's folders from this machine."""
        self._acknowledge(after)
        self.sent_head, self.session_sent = self.acked[0], dict(self.acked[1])
        final = None
        try:
            if self.transport is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.transport.close(), STOP_TIMEOUT_S)
            if self.pump is not None:
                self.pump.cancel()
            if self.spec is not None and (self.work / ".git").exists():
                final = await self.sync()
        finally:
            await asyncio.to_thread(shutil.rmtree, self.home, True)
        return final

    def state(self) -> dict[str, Any]:
        return {"job_id": self.spec.job_id if self.spec else None, "turn_active": self.turn_active,
                "session_id": self.session_id, **where()}

    # -- the CLI's output --------------------------------------------------------------------

    def _push(self, kind: str, payload: Any) -> None:
        self.last_seq += 1
        self.items.append((self.last_seq, kind, payload))
        self.arrived.set()

    def _acknowledge(self, after: int) -> None:
        for number, _, _ in self.items:
            if number <= after and number in self.marks:
                self.acked = self.marks.pop(number)
        self.items = [item for item in self.items if item[0] > after]

    async def _pump(self) -> None:
        try:
            async for message in self.transport.read_messages():
                message = self.paths.message_to_server(message)
                if message.get("session_id"):
                    self.session_id = message["session_id"]
                if message.get("type") == "assistant" and _uses_a_tool(message):
                    self.files_may_have_changed = True
                if message.get("type") == "result":
                    self.turn_active = False
                    try:
                        self._push("sync", await self.sync(self.files_may_have_changed))
                        self.marks[self.last_seq] = (self.sent_head, dict(self.session_sent))
                    except Exception as exc:  # the turn's words still go out; the server says what did not
                        self._push("sync_failed", f"{type(exc).__name__}: {exc}")
                self._push("message", message)
            self._push("end", None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._push("end", f"{type(exc).__name__}: {exc}")

    # -- the workspace -----------------------------------------------------------------------

    def _make_workspace(self, spec: StartSpec) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        self.config.mkdir(parents=True)
        with tempfile.NamedTemporaryFile(dir=self.home, suffix=".bundle", delete=False) as handle:
            handle.write(spec.bundle)
        try:
            _git(self.home, "clone", "-q", "--branch", spec.branch, handle.name, str(self.work))
        finally:
            os.unlink(handle.name)
        self.sent_head = _git(self.work, "rev-parse", "HEAD").strip()
        self.acked = (self.sent_head, {})
        for name, content in spec.config_files.items():
            if name in CONFIG_FILES:
                (self.config / name).write_bytes(content)
        if spec.session_id and spec.session_text:
            folder = self.config / "projects" / project_key(str(self.work))
            folder.mkdir(parents=True, exist_ok=True)
            data = self.paths.to_node(spec.session_text).encode()
            (folder / f"{spec.session_id}.jsonl").write_bytes(data)
            self.session_sent[spec.session_id] = len(data)
            self.acked = (self.sent_head, dict(self.session_sent))

    def _sync(self, check_files: bool = True) -> Sync:
        assert self.spec is not None
        branch = self.spec.branch
        head = self.sent_head
        if check_files:
            self.files_may_have_changed = False
            head = self._commit_turn(branch)
        sync = Sync(branch=branch, head=head, since=self.sent_head)
        if head != self.sent_head:
            with tempfile.NamedTemporaryFile(dir=self.home, suffix=".bundle") as handle:
                _git(self.work, "bundle", "create", "-q", handle.name, f"{self.sent_head}..refs/heads/{branch}")
                sync.bundle = Path(handle.name).read_bytes()
        self.sent_head = head
        self._session_lines(sync)
        return sync

    def _commit_turn(self, branch: str) -> str:
        """Commit what the turn changed (one git status when nothing did); the branch's head."""
        status = _git(self.work, "status", "--porcelain=v2", "--branch", "--untracked-files=all").splitlines()
        headers = dict(line[2:].split(" ", 1) for line in status if line.startswith("# ") and " " in line[2:])
        if any(not line.startswith("#") for line in status):
            _git(self.work, "add", "-A")
            _git(self.work, *IDENTITY, "commit", "-q", "--no-verify", "-m",
                 f"{self.spec.job_name if self.spec else 'A job'}: work of a turn on {socket.gethostname()}")
        elif headers.get("branch.head") == branch and headers.get("branch.oid", "").strip():
            return headers["branch.oid"].strip()
        return _git(self.work, "rev-parse", f"refs/heads/{branch}").strip()

    def _session_lines(self, sync: Sync) -> None:
        if not self.session_id:
            return
        path = self.config / "projects" / project_key(str(self.work)) / f"{self.session_id}.jsonl"
        if not path.is_file():
            return
        sent = self.session_sent.get(self.session_id, 0)
        if path.stat().st_size < sent:  # rewritten, not added to: send it whole
            sent, sync.session_replaced = 0, True
        with path.open("rb") as handle:
            handle.seek(sent)
            data = handle.read()
        whole = data.rfind(b"\n") + 1  # only complete lines: the CLI may be writing the next one
        if whole <= 0:
            return
        sync.session_id = self.session_id
        sync.session_text = self.paths.to_server(data[:whole].decode("utf-8", "replace"))
        self.session_sent[self.session_id] = sent + whole


def _uses_a_tool(message: dict[str, Any]) -> bool:
    content = (message.get("message") or {}).get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content)


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {(result.stderr or result.stdout).strip()[:500]}")
    return result.stdout
