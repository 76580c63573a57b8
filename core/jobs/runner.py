"""Where a live session's CLI runs and how its stdio is carried (spec O1).

A live session asks its `Runner` for a connected `sdk.ClaudeSDKClient` and knows nothing else
about where the CLI came from: a process started for it here (`LocalRunner`), one started
ahead of time by the warm pool (`core/jobs/warm_pool.py`), or a CLI on a machine of a Ray
cluster whose stdio travels through the SDK's `Transport` (`core/cluster/runner.py`). The
client arrives with the options' model and permission mode in force and leaves when the
session's `async with` ends; whoever connected it disconnects it, from the task that
connected it, as the SDK asks.

A runner may also hold CLIs no session owns yet: they count against the live-session cap
(`Liveness.make_room`), which asks for one back before it hibernates any session.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from core import sdk
from core.errors import UserError


class RunnerLost(UserError):
    """The place a session's CLI ran is gone (a machine of the cluster, spec O2): said in these words."""


@dataclass(frozen=True)
class RunTicket:
    """Which job a CLI is for, and how a runner that places CLIs elsewhere tells it what happens (spec O2)."""

    job_id: str
    job_name: str
    report: Callable[[str | None, str | None], None]  # (what it waits for, where it runs): None when not
    warn: Callable[[str], None]  # something the person should know, said on the job


class Runner(Protocol):
    def connect(self, options: sdk.ClaudeAgentOptions,
                ticket: RunTicket | None = None) -> AbstractAsyncContextManager[sdk.ClaudeSDKClient]:
        """A client connected with `options` (model and permission mode in force), disconnected on exit."""
        ...

    def alive(self, client: sdk.ClaudeSDKClient) -> bool:
        """Whether the CLI behind a client this runner connected is still there."""
        ...

    def expect(self, options: sdk.ClaudeAgentOptions) -> None:
        """A session with these options is likely soon (someone opened a project's page): get ready for it."""
        ...

    def spare(self, directory: str | None = None) -> int:
        """CLIs held that no session owns, beyond one that a new session in `directory` would take."""
        ...

    def release_spare(self, directory: str | None = None) -> bool:
        """Give back one held CLI (not the one `directory` would take) to make room; False: none."""
        ...

    async def close(self) -> None:
        """Server shutdown: end every CLI the runner holds."""
        ...


class LocalRunner:
    """Today's way: a CLI process started on this machine for each session, when it connects."""

    def connect(self, options: sdk.ClaudeAgentOptions,
                ticket: RunTicket | None = None) -> AbstractAsyncContextManager[sdk.ClaudeSDKClient]:
        return sdk.ClaudeSDKClient(options)  # its own context manager: connects on entry, disconnects on exit

    def alive(self, client: sdk.ClaudeSDKClient) -> bool:
        process = _process(client)
        return process is not None and process.returncode is None

    def expect(self, options: sdk.ClaudeAgentOptions) -> None:
        return None

    def spare(self, directory: str | None = None) -> int:
        return 0

    def release_spare(self, directory: str | None = None) -> bool:
        return False

    async def close(self) -> None:
        return None


def cli_pid(client: sdk.ClaudeSDKClient | None) -> int | None:
    """The process id of a locally started CLI (None for another transport, or before it started)."""
    process = _process(client) if client is not None else None
    return getattr(process, "pid", None)


def _process(client: sdk.ClaudeSDKClient) -> Any:
    # The SDK's subprocess transport keeps its process privately; this is the one place that reads it.
    return getattr(getattr(client, "_transport", None), "_process", None)
