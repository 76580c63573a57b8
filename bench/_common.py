"""Shared set-up for the live benchmarks: an offline CLI environment, a scripted model, RSS readings.

Every bench runs the real bundled Claude Code CLI against ``tests.support.scripted_model.ScriptedModel``
in a temporary directory of its own (isolated HOME, CLI scratch dir, projects root).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.scripted_model import (  # noqa: E402
    LEAKY_ENV,
    ScriptedModel,
    offline_cli_env,
    text,
    tool_results,
    tool_use,
)

# Variables that would send the CLI elsewhere or make it read a real user's configuration
# (the same list as tests/conftest.py).


@contextmanager
def offline_env() -> Iterator[tuple[Path, ScriptedModel]]:
    """A temp dir and a started ScriptedModel; os.environ set so every CLI child talks only to it."""
    tmp = Path(tempfile.mkdtemp(prefix="ccs-bench-"))
    saved = dict(os.environ)
    try:
        with ScriptedModel() as model:
            for sub in ("home", "cli-tmp", "projects", "raw"):
                (tmp / sub).mkdir()
            for name in LEAKY_ENV:
                os.environ.pop(name, None)
            os.environ.update(offline_cli_env(tmp / "home", model.base_url, tmp / "cli-tmp", api_key="bench-key"))
            yield tmp, model
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(tmp, ignore_errors=True)


@asynccontextmanager
async def running_services(tmp: Path, model: ScriptedModel, **overrides: Any):
    """The app's Services on tmp/projects, started in the running loop and shut down afterwards."""
    from core.services import Services
    from core.settings import Settings

    values: dict[str, Any] = {"grace_period_s": 300, "max_running_jobs": 20, "hibernate_after_s": 1800}
    values.update(overrides)
    settings = Settings(projects_root=tmp / "projects", anthropic_api_key="bench-key",
                        anthropic_base_url=model.base_url, **values)
    services = Services.create(settings)
    services.start()
    try:
        yield services
    finally:
        await services.shutdown()


def raw_options(cwd: Path, **extra: Any):
    """ClaudeAgentOptions as a plain SDK user would set them (the manager's core options)."""
    from claude_agent_sdk import ClaudeAgentOptions

    return ClaudeAgentOptions(cwd=str(cwd), include_partial_messages=True,
                              permission_mode="bypassPermissions", **extra)


# ------------------------------------------------------------------------ scripted answers

TOOL_MARK = "[read]"  # a prompt containing this gets a Read tool call before its text answer


def answer_text(n_chars: int = 300) -> str:
    words = "the quick brown fox jumps over a lazy dog while benchmarks count every chunk "
    return (words * (n_chars // len(words) + 1))[:n_chars]


def responder(n_chars: int = 300, chunk: int = 20, delay: float = 0.0,
              read_path: Path | None = None) -> Callable[[dict[str, Any]], Any]:
    """A stateless script, safe with many CLIs sharing one model: text, or Read then text."""

    def respond(body: dict[str, Any]) -> Any:
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"] or [{}]
        last = users[-1]  # the CLI may append a system message (its environment) after it
        last_only = {"messages": [last]}
        if tool_results(last_only):
            return [text(answer_text(n_chars), chunk=chunk, delay=delay)]
        if read_path is not None and TOOL_MARK in str(last.get("content")):
            return [text("Let me look at the file first."), tool_use("Read", {"file_path": str(read_path)})]
        return [text(answer_text(n_chars), chunk=chunk, delay=delay)]

    return respond


def answer_forever(model: ScriptedModel, fn: Callable[[dict[str, Any]], Any], n: int = 5000) -> None:
    """Queue ``fn`` for the next ``n`` main requests (the queue is a FIFO shared by every CLI)."""
    for _ in range(n):
        model.add_response(fn)


def text_chunks(n_chars: int, chunk: int) -> int:
    return -(-n_chars // chunk)


# ------------------------------------------------------------------------------ waiting

async def wait_job(jobs, job_id: str, predicate: Callable[[Any], bool], timeout: float = 120.0) -> None:
    """Wait until ``predicate(job)`` holds, woken by the job's own events (no polling delay)."""
    if predicate(jobs.get(job_id)):
        return
    done = asyncio.Event()

    def on_event(_event: dict[str, Any]) -> None:
        if predicate(jobs.get(job_id)):
            done.set()

    unsubscribe = jobs.hub.subscribe(job_id, on_event)
    try:
        if not predicate(jobs.get(job_id)):
            await asyncio.wait_for(done.wait(), timeout)
    finally:
        unsubscribe()


def idle_after(turns: int) -> Callable[[Any], bool]:
    return lambda job: job.turns >= turns and job.status == "idle"


async def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(step)


# --------------------------------------------------------------------------------- memory

def rss_kb(pid: int | str = "self") -> int:
    """VmRSS of one process in kB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def descendants(pid: int | None = None) -> list[int]:
    """Every process below ``pid`` (default: this one), from /proc."""
    root = pid or os.getpid()
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parent_of[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        current = frontier.pop()
        kids = [p for p, pp in parent_of.items() if pp == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def children_rss_kb() -> tuple[int, int]:
    """(number of descendant processes, their summed VmRSS in kB)."""
    pids = descendants()
    return len(pids), sum(rss_kb(p) for p in pids)


def cli_pid(services, job_id: str) -> int | None:
    session = services.jobs.live.get(job_id)
    client = session.client if session else None
    process = getattr(getattr(client, "_transport", None), "_process", None)
    return getattr(process, "pid", None)


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


# ------------------------------------------------------------------------------ figures

def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def stats(values: list[float], unit: str = "ms") -> str:
    return (f"median {statistics.median(values):8.1f} {unit}, p95 {p95(values):8.1f} {unit}, "
            f"min {min(values):8.1f}, max {max(values):8.1f} (n={len(values)})")


def machine() -> str:
    """Cores and load: these benches share the machine with whatever else runs, so say what it was."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} at start"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
