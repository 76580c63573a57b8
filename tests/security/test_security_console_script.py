"""The installed `claude-code-server` command hands its secrets over as `python main.py` does (spec J6).

The console script imports main.py as a module, so main.py's own `if __name__ == "__main__"` guard does
not run: `main.cli` must re-exec the script itself, or /proc/<pid>/environ keeps every secret it was
started with, readable by any tool or terminal the server runs.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

from tests.support.main_process import run_main

SCRIPT = Path(sysconfig.get_path("scripts")) / "claude-code-server"  # where pip put it for this Python
SECRETS = {"AUTH_TOKEN": "console-token-0123456789", "ANTHROPIC_API_KEY": "sk-ant-console-key-0123456789"}


def _proc_text(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace").replace("\0", "\n")


def test_the_console_script_leaves_no_secret_in_its_start_environment(tmp_path: Path):
    assert SCRIPT.exists(), f"{SCRIPT} is missing: install the project (pip install -e '.[test]')"
    with run_main(tmp_path, tmp_path / "projects", env=SECRETS, program=[str(SCRIPT)]) as server, \
            server.bearer(SECRETS["AUTH_TOKEN"]) as client:
        assert str(SCRIPT) in _proc_text(server.proc.pid, "cmdline").splitlines(), "the script runs, re-exec'd"
        start_environment = _proc_text(server.proc.pid, "environ")
        assert "PATH=" in start_environment
        for name, value in SECRETS.items():
            assert value not in start_environment and f"{name}=" not in start_environment, name
        # ...and the token still arrived, through the pipe: it logs a script in.
        assert client.get("/api/projects").status_code == 200
        assert server.client().get("/api/projects").status_code == 401
