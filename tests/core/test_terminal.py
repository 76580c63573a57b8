"""Project terminals through a PTY (spec G1): I/O, resize, exit, cleanup, scrollback, throughput."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

import pytest

from core.errors import UserError
from core.workspace.terminal import Terminal, TerminalManager, session_pids, shell_env
from tests.support.helpers import wait_until

# No rc files: the machine's own prompt and aliases are not what these tests are about.
SHELL = ["bash", "--norc", "--noprofile"]


@pytest.fixture
async def terminals():
    manager = TerminalManager(max_terminals=3, idle_timeout_s=60, shell=SHELL, close_grace_s=1.0)
    yield manager
    await manager.close_all()


class Screen:
    """Everything a subscriber received, with the batch count."""

    def __init__(self, terminal: Terminal) -> None:
        self.text = ""
        self.batches = 0
        self.unsubscribe = terminal.subscribe(self._receive)

    def _receive(self, chunk: str) -> None:
        self.text += chunk
        self.batches += 1

    async def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match:
        await wait_until(lambda: re.search(pattern, self.text), timeout, f"{pattern!r} on the screen")
        return re.search(pattern, self.text)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


async def test_echo_round_trip_in_the_project_directory(terminals, tmp_path):
    terminal = terminals.open("p1", tmp_path, 100, 30)
    screen = Screen(terminal)
    # Quotes split the marker so the echoed command line does not match the output.
    terminal.write('echo "hi-""there"; pwd; echo "$TERM"\n')
    await screen.wait_for(r"hi-there\r\n")
    await screen.wait_for(re.escape(str(tmp_path)) + r"\r\nxterm-256color")
    assert terminal.alive and terminals.get("p1") is terminal
    assert terminals.open("p1", tmp_path, 100, 30) is terminal, "reopening a key reconnects to the same shell"


async def test_resize_changes_stty_size(terminals, tmp_path):
    terminal = terminals.open("p1", tmp_path, 80, 24)
    screen = Screen(terminal)
    terminal.write("stty size; echo do''ne1\n")
    await screen.wait_for(r"24 80\r\n")
    await screen.wait_for("done1")
    terminal.resize(132, 43)
    terminal.write("stty size\n")
    await screen.wait_for(r"43 132\r\n")
    with pytest.raises(UserError):
        terminal.resize(0, 10)


async def test_a_shell_that_exits_reports_its_code(terminals, tmp_path):
    terminal = terminals.open("p1", tmp_path)
    codes = []
    terminal.on_exit(codes.append)
    terminal.write("exit 7\n")
    await wait_until(lambda: codes, 15, "exit notification")
    assert codes == [7] and terminal.exit_code == 7 and not terminal.alive
    late = []
    terminal.on_exit(late.append)
    await wait_until(lambda: late, 5, "late exit notification")
    assert late == [7]
    fresh = terminals.open("p1", tmp_path)
    assert fresh is not terminal and fresh.alive, "opening an exited key starts a new shell"


async def test_close_kills_background_children(terminals, tmp_path):
    terminal = terminals.open("p1", tmp_path)
    screen = Screen(terminal)
    # One plain background job (its own process group under job control) and one that ignores SIGHUP.
    terminal.write('sleep 1000 & echo "bg=$!"; nohup sleep 1001 >/dev/null 2>&1 & echo "nohup=$!"\n')
    plain = int((await screen.wait_for(r"bg=(\d+)")).group(1))
    stubborn = int((await screen.wait_for(r"nohup=(\d+)")).group(1))
    assert _alive(plain) and _alive(stubborn)
    assert os.getpgid(plain) != terminal.pid, "job control gave the child its own group"
    assert {plain, stubborn, terminal.pid} <= set(session_pids(terminal.pid))
    started = time.monotonic()
    terminals.close("p1")
    assert await terminal.wait_closed(timeout=10)
    took = time.monotonic() - started
    assert not _alive(plain) and not _alive(stubborn) and not _alive(terminal.pid)
    assert terminals.get("p1") is None
    print(f"\nclose with a SIGHUP-immune child took {took:.2f}s (grace 1.0s)")


async def test_close_after_exit_kills_what_the_shell_left_behind(terminals, tmp_path):
    terminal = terminals.open("p1", tmp_path)
    screen = Screen(terminal)
    terminal.write('nohup sleep 1002 >/dev/null 2>&1 & echo "orphan=$!"; exit 3\n')
    orphan = int((await screen.wait_for(r"orphan=(\d+)")).group(1))
    await wait_until(lambda: terminal.exit_code == 3, 15, "the shell to exit")
    assert _alive(orphan), "a SIGHUP-immune child outlives its shell"
    terminals.close("p1")
    assert await terminal.wait_closed(timeout=10)
    assert not _alive(orphan)


async def test_scrollback_replays_to_a_later_subscriber(terminals, tmp_path):
    terminal = terminals.open("p1", tmp_path)
    first = Screen(terminal)
    terminal.write("echo 'line-'{1..3}\n")
    await first.wait_for("line-3")
    first.unsubscribe()
    second = Screen(terminal)  # a reload: the page subscribes again
    assert "line-1 line-2 line-3" in second.text
    assert terminal.unused_since is None


async def test_scrollback_is_bounded(tmp_path):
    manager = TerminalManager(shell=SHELL, scrollback_bytes=10_000)
    try:
        terminal = manager.open("p1", tmp_path)
        screen = Screen(terminal)
        terminal.write("seq 1 20000; echo EN''D\n")
        await screen.wait_for(r"END\r\n")
        tail = terminal.scrollback()
        assert len(tail) <= 10_000 and "19999\r\n20000" in tail and "\r\n100\r\n" not in tail
    finally:
        await manager.close_all()


async def test_limits_and_idle_close(tmp_path):
    manager = TerminalManager(max_terminals=2, idle_timeout_s=0.3, shell=SHELL, close_grace_s=0.5)
    try:
        a = manager.open("a", tmp_path)
        manager.open("b", tmp_path)
        with pytest.raises(UserError, match="2 terminals"):
            manager.open("c", tmp_path)
        with pytest.raises(UserError):
            manager.open("d", tmp_path / "missing")
        watched = Screen(a)
        await wait_until(lambda: manager.get("b") is None, 10, "the unwatched terminal to be closed")
        assert manager.get("a") is a and a.alive, "a watched terminal stays"
        watched.unsubscribe()
        await wait_until(lambda: manager.get("a") is None, 10, "the terminal left unwatched to be closed")
    finally:
        await manager.close_all()


def test_the_shell_never_sees_server_secrets():
    env = shell_env({"ANTHROPIC_API_KEY": "sk-1", "CLAUDE_CODE_OAUTH_TOKEN": "t", "GITHUB_TOKEN": "g",
                     "AWS_SECRET_ACCESS_KEY": "a", "STORAGE_SECRET": "s", "DB_PASSWORD": "p",
                     "ANTHROPIC_BASE_URL": "http://x", "PATH": "/usr/bin", "SSH_AUTH_SOCK": "/tmp/agent",
                     "HOME": "/home/u", "COLUMNS": "80"})
    assert env == {"PATH": "/usr/bin", "SSH_AUTH_SOCK": "/tmp/agent", "HOME": "/home/u",
                   "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"}


async def test_the_server_key_does_not_reach_the_shell(terminals, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-do-not-leak")
    terminal = terminals.open("p1", tmp_path)
    screen = Screen(terminal)
    terminal.write('echo "key=[${ANTHROPIC_API_KEY}]"\n')
    await screen.wait_for(r"key=\[\]")
    assert "sk-do-not-leak" not in screen.text


async def test_large_output_arrives_complete_in_few_batches(terminals, tmp_path):
    terminal = terminals.open("p1", tmp_path, 200, 50)
    screen = Screen(terminal)
    terminal.write("echo ready''\n")
    await screen.wait_for(r"ready\r\n")
    start_text, start_batches = len(screen.text), screen.batches
    started = time.monotonic()
    terminal.write("head -c 5M /dev/urandom | base64; echo DO''NE\n")
    await screen.wait_for(r"\r\nDONE\r\n", timeout=120)
    elapsed = time.monotonic() - started
    output = screen.text[start_text:]
    body = output[output.index("\r\n") + 2:output.index("\r\nDONE\r\n") + 2]  # after the echoed command line
    body = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]\r?", "", body)  # bash switching bracketed paste off
    lines = body.split("\r\n")[:-1]
    # 5 MiB of base64 is 6,990,508 characters in lines of 76.
    assert sum(len(line) for line in lines) == 6_990_508
    assert all(len(line) == 76 for line in lines[:-1]) and re.fullmatch(r"[A-Za-z0-9+/=\r\n]*", body)
    batches = screen.batches - start_batches
    assert batches < len(output) / 16_000, f"{batches} batches for {len(output)} characters"
    print(f"\n5 MiB base64 ({len(output) / 1e6:.2f} MB on screen) in {elapsed:.2f}s = "
          f"{len(output) / 1e6 / elapsed:.1f} MB/s, {batches} batches (avg {len(output) / batches / 1024:.0f} KB)")
    await asyncio.sleep(0)
