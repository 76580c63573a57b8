"""What a client was shown of a streaming reply, and when: for kill -9 tests and benches (spec C12).

    follower = ShownText(server, job_id)      # follows GET /api/jobs/{id}/events in a thread
    follower.wait_for(800)                    # until that many characters of reply text were shown
    killed_at = kill_group(server)            # SIGKILL the server and its CLIs; the time of the kill
    follower.shown_by(killed_at - 0.1)        # the characters shown up to 100 ms before it

The text is the top-level reply's text deltas, in order, as the server published them over its
event stream; the time of each is when this process received it (so it was published before).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time

import httpx

from tests.support.main_process import MainProcess


class ShownText:
    def __init__(self, server: MainProcess, job_id: str) -> None:
        self.text = ""
        self.samples: list[tuple[float, int]] = []  # (time.monotonic() received, characters shown by then)
        self._grew = threading.Condition()
        self._client = server.bearer()
        self._path = f"/api/jobs/{job_id}/events"
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        event = None
        with contextlib.suppress(httpx.HTTPError), \
                self._client.stream("GET", self._path, timeout=httpx.Timeout(120.0, connect=10.0)) as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "delta":
                    delta = json.loads(line[5:])
                    if delta.get("delta_type") == "text_delta" and not delta.get("parent_tool_use_id"):
                        with self._grew:
                            self.text += delta.get("text") or ""
                            self.samples.append((time.monotonic(), len(self.text)))
                            self._grew.notify_all()
                elif not line:
                    event = None

    def wait_for(self, characters: int, timeout: float = 60.0) -> None:
        with self._grew:
            if not self._grew.wait_for(lambda: len(self.text) >= characters, timeout):
                raise TimeoutError(f"only {len(self.text)} of {characters} characters streamed in {timeout} s")

    def shown_by(self, moment: float) -> int:
        """Characters of reply text shown at or before `moment` (a time.monotonic())."""
        with self._grew:
            return max((n for t, n in self.samples if t <= moment), default=0)

    def shown_when(self, characters: int) -> float | None:
        """When the first `characters` characters had all been shown (None: never)."""
        with self._grew:
            return next((t for t, n in self.samples if n >= characters), None)

    def close(self) -> None:
        self._client.close()
        self._thread.join(5)


def kill_group(server: MainProcess) -> float:
    """kill -9 the server and everything in its process group (its CLIs); returns the moment of the kill."""
    killed_at = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    return killed_at
