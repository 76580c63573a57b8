"""docs/api.md's examples work (spec K1): its python and bash blocks run, in order, against `python main.py`.

Blocks fenced as `py` are illustrations and are not run. The scripted model asks a
question (AskUserQuestion) whenever a prompt mentions a colour, and answers the rest.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.test_api import QUESTION
from tests.support.main_process import ROOT, run_main
from tests.support.scripted_model import text, tool_results, tool_use, user_texts

DOC = ROOT / "docs" / "api.md"
RUN_TIMEOUT_S = 300


def _blocks(language: str) -> str:
    return "\n".join(re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), flags=re.M | re.S))


def _reply(body: dict):
    last = body["messages"][-1]
    content = last.get("content")
    if isinstance(content, list) and any(b.get("type") == "tool_result" for b in content):
        return text(f"Noted: {tool_results(body)[-1].content[:60]}")
    prompts = user_texts(body)
    if prompts and "colour" in prompts[-1]:
        return [text("One question first."), tool_use("AskUserQuestion", QUESTION)]
    return text("OK, done.")


@pytest.fixture
def server(claude_env, scripted_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for role in ("AUTHOR", "COMMITTER"):  # the examples commit; HOME is empty, so git has no identity there
        monkeypatch.setenv(f"GIT_{role}_NAME", "Docs Example")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "docs@example.com")
    for _ in range(40):
        scripted_model.add_response(_reply)
    with run_main(tmp_path, claude_env.projects_root) as server:
        yield server


def _run(command: list[str], url: str, server, tmp_path: Path) -> str:
    # Output goes to files, not pipes: a stream's curl left behind by `grep -m1 <(curl ...)` holds
    # its stderr open until the next heartbeat, and reading a pipe to its end would wait for that.
    out_path, err_path = tmp_path / "examples.out", tmp_path / "examples.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        # The examples log in as a reader of the docs would: with the token the server printed.
        env = {**os.environ, "CLAUDE_SERVER_URL": url, "CLAUDE_SERVER_TOKEN": server.token}
        done = subprocess.run(command, env=env, stdout=out, stderr=err,
                              text=True, timeout=RUN_TIMEOUT_S, cwd=ROOT)
    stdout, stderr = out_path.read_text(), err_path.read_text()
    assert done.returncode == 0, f"stdout:\n{stdout}\nstderr:\n{stderr}\nserver:\n{server.log()[-5000:]}"
    return stdout


def test_python_examples_run_against_a_live_server(server, tmp_path):
    code = _blocks("python")
    assert "run_turn" in code and "/fork" in code
    out = _run([sys.executable, "-c", code], server.url, server, tmp_path)
    assert out.count("[idle]") == 3, out
    # Every reply shows, also one written before the stream connected (deltas are never stored).
    lines = out.splitlines()
    assert lines.count("One question first.") == 2 and lines.count("OK, done.") == 1, out
    assert "Noted:" in out and "forked from" in out and "2 turns" in out
    assert "restoring would change no files" in out


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_curl_examples_run_against_a_live_server(server, tmp_path):
    script = _blocks("bash")
    assert "curl" in script
    out = _run(["bash", "-eu", "-c", script], server.url, server, tmp_path)
    assert '"allow": true' in out and '"archived"' in out
    assert "No project with id 'nope'" in out
    assert "Use tabs." in out and "Project conventions" in out and "no remote to push to" in out
