"""Secrets out of the server's start environment (spec J6).

`/proc/<pid>/environ` shows a process's environment as it was at exec, whatever
the process later removes from `os.environ`; any tool or terminal running as the
same user can read it (`cat /proc/$PPID/environ`). So when `python main.py`
starts with a secret in its environment, it execs itself again at once with an
environment that holds none, and hands the secrets over through a pipe that
only the new program image reads (once, before anything else starts).

Stdlib only, and imported before anything heavy: the exec happens before the
first second of imports, so it costs almost nothing.
"""

from __future__ import annotations

import json
import os
import sys

# Everything in the environment that would let someone log in or spend the operator's money.
SERVER_SECRETS = ("AUTH_TOKEN", "CCS_PASSWORD", "CCS_PASSWORD_HASH", "STORAGE_SECRET")
SECRET_VARIABLES = (*SERVER_SECRETS, "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
HANDOFF_VARIABLE = "CCS_SECRETS_FD"  # the pipe's descriptor number: not a secret
_PIPE_CAPACITY = 60_000  # written before the exec, so it must fit the pipe's buffer (64 KiB on Linux)
_handed_over: dict[str, str] = {}


def exec_without_secrets(program: str) -> None:
    """Re-exec this very command with the secrets moved from the environment into a pipe; returns only when
    there is nothing to move (or this is the re-exec'd program, which then picks them up).

    Only when `program` is what was started (`python main.py`): run another way (runpy in NiceGUI's test
    fixture, say) the process is someone else's to replace.
    """
    _receive()
    found = {name: os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)}
    if not found or sys.platform == "win32" or not _started_as(program):
        return
    payload = json.dumps(found).encode()
    if len(payload) > _PIPE_CAPACITY:
        sys.exit("Configuration error: the secrets in the environment are too long.")
    read_end, write_end = os.pipe()
    os.write(write_end, payload)
    os.close(write_end)
    os.set_inheritable(read_end, True)
    environment = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
    environment[HANDOFF_VARIABLE] = str(read_end)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, sys.orig_argv, environment)


def _started_as(program: str) -> bool:
    try:
        return bool(sys.argv and sys.argv[0]) and os.path.samefile(sys.argv[0], program)
    except OSError:
        return False


def _receive() -> None:
    fd_text = os.environ.pop(HANDOFF_VARIABLE, None)
    if fd_text is None:
        return
    try:
        fd = int(fd_text)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        os.close(fd)
        received = json.loads(b"".join(chunks) or b"{}")
    except (ValueError, OSError) as exc:
        sys.exit(f"Configuration error: the secrets handed over at start could not be read ({exc}).")
    _handed_over.update({str(k): str(v) for k, v in received.items() if k in SECRET_VARIABLES})


def handed_over() -> dict[str, str]:
    """The secrets this process was started with (empty unless it came through `exec_without_secrets`)."""
    return dict(_handed_over)
