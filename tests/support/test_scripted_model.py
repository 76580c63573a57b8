"""The scripted model works: alone over HTTP, and with the real bundled CLI via the raw SDK."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ResultMessage,
    StreamEvent,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)

from tests.conftest import ClaudeEnv
from tests.support.scripted_model import ScriptedModel, text, thinking, tool_results, tool_use

TURN_TIMEOUT = 30


# ----------------------------------------------------------------------------- helpers


def _post(model: ScriptedModel, body: dict[str, Any]) -> tuple[int, str, str]:
    req = urllib.request.Request(
        model.base_url + "/v1/messages?beta=true",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def _sse(raw: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in raw.strip().split("\n\n"):
        name, data = chunk.split("\n")
        assert name.startswith("event: ") and data.startswith("data: ")
        events.append((name[7:], json.loads(data[6:])))
    return events


def _options(cwd: Path, **kw: Any) -> ClaudeAgentOptions:
    return ClaudeAgentOptions(cwd=str(cwd), include_partial_messages=True, permission_mode="bypassPermissions", **kw)


async def _turn(client: ClaudeSDKClient, prompt: str) -> list[Any]:
    """Send one prompt and collect every message up to and including its ResultMessage."""
    await client.query(prompt)
    async with asyncio.timeout(TURN_TIMEOUT):
        return [m async for m in client.receive_response()]


def _result(messages: list[Any]) -> ResultMessage:
    results = [m for m in messages if isinstance(m, ResultMessage)]
    assert len(results) == 1, messages
    return results[0]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


# ------------------------------------------------------------------ server, no CLI


def test_server_streams_the_api_event_sequence(scripted_model: ScriptedModel) -> None:
    call = tool_use("Bash", {"command": "echo hello"})
    scripted_model.add_response(thinking("hmm"), text("abcdefghij", chunk=4), call)
    status, ctype, raw = _post(
        scripted_model, {"model": "m-1", "stream": True, "tools": [{"name": "Bash"}], "messages": []}
    )
    assert status == 200 and ctype.startswith("text/event-stream")
    events = _sse(raw)
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert all(n == d["type"] for n, d in events)
    assert events[0][1]["message"]["model"] == "m-1"
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert [d["text"] for d in deltas if d["type"] == "text_delta"] == ["abcd", "efgh", "ij"]
    assert any(d["type"] == "signature_delta" for d in deltas)
    partial = "".join(d["partial_json"] for d in deltas if d["type"] == "input_json_delta")
    assert json.loads(partial) == {"command": "echo hello"}
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [s["type"] for s in starts] == ["thinking", "text", "tool_use"]
    assert starts[2]["id"] == call.id and call.id.startswith("toolu_01")
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"

    # Queue empty: the default answer, as a plain JSON message when not streaming.
    status, ctype, raw = _post(scripted_model, {"model": "m", "tools": [{"name": "X"}], "messages": []})
    assert status == 200 and ctype == "application/json"
    message = json.loads(raw)
    assert message["content"] == [{"type": "text", "text": "OK."}] and message["stop_reason"] == "end_turn"

    scripted_model.add_error(529, "busy")
    status, _, raw = _post(scripted_model, {"model": "m", "tools": [{"name": "X"}], "messages": []})
    assert status == 529 and json.loads(raw)["error"] == {"type": "overloaded_error", "message": "busy"}

    # No tools: a side request, answered apart, never from the script.
    scripted_model.add_response(text("scripted"))
    _, _, raw = _post(scripted_model, {"model": "m", "messages": []})
    assert json.loads(raw)["content"][0]["text"] == scripted_model.side_text
    assert len(scripted_model.side_requests) == 1 and len(scripted_model.requests) == 3
    assert scripted_model.pending == 1


# ------------------------------------------------------------------------ real CLI


async def test_text_reply_streams(claude_env: ClaudeEnv, workdir: Path) -> None:
    model = claude_env.model
    reply = "Hello from the scripted model, streamed in small pieces."
    model.add_response(thinking("The user greets me."), text(reply, chunk=8))
    async with ClaudeSDKClient(_options(workdir)) as client:
        messages = await _turn(client, "Say hello to me")

    deltas = [
        m.event["delta"]["text"]
        for m in messages
        if isinstance(m, StreamEvent)
        and m.event["type"] == "content_block_delta"
        and m.event["delta"]["type"] == "text_delta"
    ]
    assert len(deltas) > 1 and "".join(deltas) == reply
    blocks = [b for m in messages if isinstance(m, AssistantMessage) for b in m.content]
    assert [b.text for b in blocks if isinstance(b, TextBlock)] == [reply]
    assert [b.thinking for b in blocks if isinstance(b, ThinkingBlock)] == ["The user greets me."]
    result = _result(messages)
    assert result.subtype == "success" and not result.is_error and result.result == reply

    assert len(model.requests) == 1
    assert model.user_texts() == ["Say hello to me"]
    assert "Bash" in model.tool_names() and model.system_text()
    assert model.unknown_requests == []


async def test_write_tool_creates_file_and_returns_tool_result(claude_env: ClaudeEnv, workdir: Path) -> None:
    model = claude_env.model
    target = workdir / "hello.txt"
    call = tool_use("Write", {"file_path": str(target), "content": "hi there\n"})
    model.add_response(text("Writing the file."), call)
    model.add_response(text("Done."))
    async with ClaudeSDKClient(_options(workdir)) as client:
        messages = await _turn(client, "Create hello.txt")

    assert target.read_text() == "hi there\n"
    assert [
        b.id for m in messages if isinstance(m, AssistantMessage) for b in m.content if isinstance(b, ToolUseBlock)
    ] == [call.id]
    assert _result(messages).result == "Done."
    requests = model.wait_for_requests(2, timeout=1)
    assert len(requests) == 2
    assert model.tool_results(requests[0]) == []
    results = model.tool_results(requests[1])
    assert [r.tool_use_id for r in results] == [call.id]
    assert not results[0].is_error


async def test_bash_tool_output_reaches_the_model(claude_env: ClaudeEnv, workdir: Path) -> None:
    model = claude_env.model
    call = tool_use("Bash", {"command": "echo hello", "description": "Say hello"})
    model.add_response(call)
    # A callable answer sees the request: echo the tool output back.
    model.add_response(lambda body: text("Bash said: " + tool_results(body)[-1].content.strip()))
    async with ClaudeSDKClient(_options(workdir)) as client:
        messages = await _turn(client, "Run echo hello")

    (result,) = model.tool_results(model.wait_for_requests(2, timeout=1)[1])
    assert result.tool_use_id == call.id and "hello" in result.content and not result.is_error
    assert _result(messages).result == "Bash said: hello"


async def test_api_error_ends_the_turn_with_an_error_result(claude_env: ClaudeEnv, workdir: Path) -> None:
    model = claude_env.model
    model.add_error(401, "invalid x-api-key")
    started = time.monotonic()
    async with ClaudeSDKClient(_options(workdir)) as client:
        messages = await _turn(client, "Hello?")
    assert time.monotonic() - started < TURN_TIMEOUT
    result = _result(messages)
    assert result.is_error
    errors = [m.error for m in messages if isinstance(m, AssistantMessage) and m.error]
    assert errors == ["authentication_failed"]
    assert len(model.requests) == 1


async def test_interrupt_a_hanging_response(claude_env: ClaudeEnv, workdir: Path) -> None:
    model = claude_env.model
    model.add_response(text("never sent"), hang=True)
    model.add_response(text("Back again."))
    async with ClaudeSDKClient(_options(workdir)) as client:
        await client.query("Take your time")
        await asyncio.to_thread(model.wait_for_requests, 1, 10)
        await client.interrupt()
        async with asyncio.timeout(TURN_TIMEOUT):
            first = [m async for m in client.receive_response()]
        assert _result(first).subtype == "error_during_execution"
        second = await _turn(client, "Are you there?")
    assert _result(second).result == "Back again."
    assert model.user_texts()[-1] == "Are you there?"


async def test_slow_text_streams_live_and_can_be_interrupted(claude_env: ClaudeEnv, workdir: Path) -> None:
    model = claude_env.model
    model.add_response(text("0123456789" * 20, chunk=10, delay=0.3))  # ~6 s if not interrupted
    async with ClaudeSDKClient(_options(workdir)) as client:
        await client.query("Count slowly")
        seen: list[str] = []
        messages = []
        async with asyncio.timeout(TURN_TIMEOUT):
            async for m in client.receive_response():
                messages.append(m)
                if isinstance(m, StreamEvent) and m.event["type"] == "content_block_delta":
                    seen.append(m.event["delta"]["text"])
                    if len(seen) == 2:
                        await client.interrupt()
    assert _result(messages).subtype == "error_during_execution"
    assert 2 <= len(seen) < 20
    partial = [b.text for m in messages if isinstance(m, AssistantMessage) for b in m.content]
    assert partial == ["".join(seen)]


async def test_side_requests_get_a_title(claude_env: ClaudeEnv, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claude_agent_sdk import list_sessions

    monkeypatch.delenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")
    model = claude_env.model
    model.side_text = "Greeting session"
    async with ClaudeSDKClient(_options(workdir)) as client:
        messages = await _turn(client, "Say hello to the team")
    assert _result(messages).result == "OK."
    deadline = time.monotonic() + 10
    while not model.side_requests and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert "Say hello to the team" in model.side_requests[0]["messages"][0]["content"][0]["text"]
    assert len(model.requests) == 1 and model.unknown_requests == []
    (session,) = list_sessions(str(workdir))
    assert session.custom_title == "Greeting session"
