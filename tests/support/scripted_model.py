"""A local, scripted stand-in for the Anthropic Messages API.

The real Claude Code CLI (bundled with ``claude-agent-sdk``) is pointed at this
server with ``ANTHROPIC_BASE_URL``; it then runs for real - tools, files, session
transcripts - and only the model's answers come from a script::

    with ScriptedModel() as model:
        model.add_response(tool_use("Bash", {"command": "echo hi"}))
        model.add_response(text("Done."))
        ...  # run the CLI with ANTHROPIC_BASE_URL=model.base_url
        assert "hi" in model.tool_results()[0].content

Main requests (the body has ``tools``) take the next scripted response from a
FIFO queue, or ``default_text`` when the queue is empty. Side requests (no
``tools``: session titles, summaries, quota probes) get ``side_text`` and are
recorded apart in ``side_requests``. Everything else the CLI asks for is
answered with a harmless JSON body and logged in ``unknown_requests``.

The server runs in a daemon thread (``ThreadingHTTPServer``), so it does not care
which asyncio loop, if any, the test runs in.
"""

from __future__ import annotations

import itertools
import json
import secrets
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "Block",
    "ErrorResponse",
    "RecordedCall",
    "Response",
    "ScriptedModel",
    "ToolResult",
    "images",
    "is_cli_text",
    "system_text",
    "text",
    "thinking",
    "tool_names",
    "tool_results",
    "tool_use",
    "user_texts",
]

DEFAULT_CHUNK = 20
CLI_TEXT_PREFIXES = ("<system-reminder>", "# Environment")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    """An id shaped like the API's (``toolu_01...``, ``msg_01...``), unique per process."""
    return f"{prefix}_01{next(_ids):06d}{secrets.token_hex(8)}"


# --------------------------------------------------------------------------- script



# ------------------------------------------------------------------- the CLI's environment

# Variables that would make the CLI talk to something other than the scripted model,
# or read a real user's configuration.
LEAKY_ENV = (
    "CLAUDE_CONFIG_DIR", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_CUSTOM_HEADERS", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY", "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "HTTP_PROXY", "HTTPS_PROXY",
    "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
)


def offline_cli_env(home: Path, base_url: str, cli_tmp: Path, api_key: str = "test-key") -> dict[str, str]:
    """The variables under which a real CLI talks only to the scripted model at `base_url` (remove
    LEAKY_ENV from the rest of the environment too).

    ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` stops the CLI's side traffic: the ``HEAD /api/hello``
    preflight, the session-title request and the telemetry/DNS lookups of api.anthropic.com.
    """
    return {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        # API errors fail at once instead of being retried for minutes.
        "CLAUDE_CODE_MAX_RETRIES": "0",
        # As root the CLI refuses bypassPermissions outside a sandbox.
        "IS_SANDBOX": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # The CLI's scratch files (Bash cwd tracking, fswatch probes), else left in /tmp/claude-<uid>.
        "CLAUDE_CODE_TMPDIR": str(cli_tmp),
    }

@dataclass
class Block:
    """One content block of a scripted response. Build it with text(), thinking(), tool_use()."""

    type: str  # "text" | "thinking" | "tool_use"
    text: str = ""  # text or thinking
    chunk: int = DEFAULT_CHUNK  # characters per delta
    delay: float = 0.0  # seconds between deltas
    signature: str = ""  # thinking only
    name: str = ""  # tool_use only
    input: dict[str, Any] = field(default_factory=dict)  # tool_use only
    id: str = ""  # tool_use only
    stall: bool = False  # after its deltas, send nothing more until release(), stop() or the client leaves

    def as_content(self) -> dict[str, Any]:
        """The block as it appears in a complete (non-streamed) message."""
        if self.type == "text":
            return {"type": "text", "text": self.text}
        if self.type == "thinking":
            return {"type": "thinking", "thinking": self.text, "signature": self.signature}
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.input}


def text(s: str, chunk: int | None = None, delay: float = 0.0, stall: bool = False) -> Block:
    """A text block, streamed as ``text_delta`` pieces of ``chunk`` chars, ``delay`` s apart.

    ``stall``: the block never ends; the reply stops after its last delta (a turn stuck mid-sentence)."""
    return Block("text", text=s, chunk=chunk or DEFAULT_CHUNK, delay=delay, stall=stall)


def thinking(s: str, signature: str | None = None, chunk: int | None = None, delay: float = 0.0) -> Block:
    """A thinking block: ``thinking_delta`` pieces then one ``signature_delta``."""
    return Block(
        "thinking",
        text=s,
        chunk=chunk or DEFAULT_CHUNK,
        delay=delay,
        signature=signature or "sig_" + secrets.token_hex(24),
    )


def tool_use(name: str, input: dict[str, Any], id: str | None = None, chunk: int | None = None) -> Block:
    """A tool_use block; its input is streamed as ``input_json_delta`` pieces."""
    return Block("tool_use", name=name, input=dict(input), id=id or _new_id("toolu"), chunk=chunk or DEFAULT_CHUNK)


@dataclass
class Response:
    """One scripted answer to a main request."""

    blocks: list[Block]
    stop_reason: str | None = None  # default: "tool_use" if any tool_use block else "end_turn"
    delay_before_first_byte: float = 0.0
    hang: bool = False  # send nothing until the client goes away, release() or stop()
    usage: dict[str, int] | None = None  # the tokens to report (default: estimated from the request and reply)

    def __post_init__(self) -> None:
        if self.stop_reason is None:
            has_tool = any(b.type == "tool_use" for b in self.blocks)
            self.stop_reason = "tool_use" if has_tool else "end_turn"


@dataclass
class ErrorResponse:
    """An HTTP error in the API's JSON error format."""

    status: int
    message: str
    type: str | None = None  # default: from the status (401 -> authentication_error ...)

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {
                "type": self.type or ERROR_TYPES.get(self.status, "api_error"),
                "message": self.message,
            },
            "request_id": _new_id("req"),
        }


ScriptItem = Response | ErrorResponse | Callable[[dict[str, Any]], Any]


@dataclass
class RecordedCall:
    """Any HTTP call the server received (for debugging: see ScriptedModel.calls)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, raw text, or None
    kind: str  # "main" | "side" | "other"
    at: float = field(default_factory=time.monotonic)


# ----------------------------------------------------------------- request helpers


@dataclass
class ToolResult:
    tool_use_id: str
    content: str  # the text of the result (text blocks joined with "\n")
    is_error: bool
    raw: dict[str, Any]  # the block as sent


def is_cli_text(s: str) -> bool:
    """True for text blocks the CLI adds itself (reminders, environment)."""
    return s.lstrip().startswith(CLI_TEXT_PREFIXES)


def _user_blocks(request: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for message in request.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            yield {"type": "text", "text": content}
        elif isinstance(content, list):
            yield from (b for b in content if isinstance(b, dict))


def user_texts(request: dict[str, Any]) -> list[str]:
    """Texts of the user messages' text blocks, in order, without the CLI's own blocks."""
    return [
        b.get("text", "")
        for b in _user_blocks(request)
        if b.get("type") == "text" and not is_cli_text(b.get("text", ""))
    ]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def tool_results(request: dict[str, Any]) -> list[ToolResult]:
    """The tool_result blocks of the request's user messages, in order."""
    return [
        ToolResult(
            tool_use_id=b.get("tool_use_id", ""),
            content=_content_text(b.get("content")),
            is_error=bool(b.get("is_error", False)),
            raw=b,
        )
        for b in _user_blocks(request)
        if b.get("type") == "tool_result"
    ]


def images(request: dict[str, Any], include_tool_results: bool = False) -> list[dict[str, Any]]:
    """Image blocks of the user messages (optionally also those inside tool_results)."""
    found = []
    for b in _user_blocks(request):
        if b.get("type") == "image":
            found.append(b)
        elif include_tool_results and b.get("type") == "tool_result" and isinstance(b.get("content"), list):
            found.extend(c for c in b["content"] if isinstance(c, dict) and c.get("type") == "image")
    return found


def system_text(request: dict[str, Any]) -> str:
    """The system prompt as one string (``system`` may be a string or a list of text blocks)."""
    system = request.get("system")
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    return ""


def tool_names(request: dict[str, Any]) -> list[str]:
    """Names of the tools offered to the model in this request."""
    return [t.get("name", "") for t in request.get("tools") or []]


# -------------------------------------------------------------------------- server


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    server_version = "ScriptedModel/1.0"
    protocol_version = "HTTP/1.1"
    model: ScriptedModel  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", _new_id("req"))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _client_gone(self) -> bool:
        """True if the client closed its end (peek without consuming)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _wait(self, seconds: float | None) -> None:
        """Sleep ``seconds`` (None: until release()/stop()); raise _ClientGone if the client leaves."""
        model = self.model
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            if self._client_gone():
                raise _ClientGone
            if model._stopping.is_set():
                raise _ClientGone
            if deadline is None:
                if model._release.is_set():
                    return
                step = 0.05
            else:
                step = min(0.05, deadline - time.monotonic())
                if step <= 0:
                    return
            time.sleep(step)

    # -- verbs

    def do_POST(self) -> None:
        raw = self._read_body()
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = dict(self.headers.items())
        try:
            if path == "/v1/messages" and isinstance(body, dict):
                if body.get("tools"):
                    self.model._record(RecordedCall("POST", self.path, headers, body, "main"))
                    self._answer(body, self.model._next_item(body))
                else:
                    self.model._record(RecordedCall("POST", self.path, headers, body, "side"))
                    self._answer(body, Response([text(self.model._side_answer(body))]))
            elif path == "/v1/messages/count_tokens":
                self.model._record(RecordedCall("POST", self.path, headers, body, "other"))
                self._send_json(200, {"input_tokens": _estimate_tokens(raw)})
            else:
                self.model._record(RecordedCall("POST", self.path, headers, body, "other"), unknown=True)
                self._send_json(200, {})
        except (_ClientGone, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _other(self) -> None:
        self._read_body()
        path = self.path.split("?", 1)[0].rstrip("/")
        call = RecordedCall(self.command, self.path, dict(self.headers.items()), None, "other")
        try:
            if path == "/v1/models":
                self.model._record(call)
                models = [
                    {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                    for m in self.model.model_ids
                ]
                self._send_json(
                    200,
                    {
                        "data": models,
                        "has_more": False,
                        "first_id": models[0]["id"],
                        "last_id": models[-1]["id"],
                    },
                )
            elif path.startswith("/v1/models/"):
                self.model._record(call)
                m = path.rsplit("/", 1)[1]
                self._send_json(
                    200, {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                )
            elif path == "/api/hello":  # the CLI's connectivity preflight (HEAD)
                self.model._record(call)
                self._send_json(200, {"message": "hello"})
            else:
                self.model._record(call, unknown=True)
                self._send_json(200, {})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _other

    # -- answers

    def _answer(self, body: dict[str, Any], item: Response | ErrorResponse) -> None:
        if isinstance(item, ErrorResponse):
            self._send_json(item.status, item.as_json(), {"x-should-retry": "false"})
            return
        if item.hang:
            self._wait(None)
        if item.delay_before_first_byte:
            self._wait(item.delay_before_first_byte)
        for b in item.blocks:
            if b.type == "tool_use" and not b.id:
                b.id = _new_id("toolu")
        message_id = _new_id("msg")
        model_name = body.get("model") or "claude-scripted"
        input_tokens = _estimate_tokens(json.dumps(body.get("messages", [])))
        output_tokens = max(1, sum(len(b.text) + len(json.dumps(b.input)) for b in item.blocks) // 4)
        usage = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }
        if item.usage:
            usage.update(item.usage)
            output_tokens = usage["output_tokens"]
        if not body.get("stream"):
            self._send_json(
                200,
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model_name,
                    "content": [b.as_content() for b in item.blocks],
                    "stop_reason": item.stop_reason,
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
            return

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("request-id", _new_id("req"))
        self.end_headers()
        self.close_connection = True

        self._event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model_name,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": 1},
                },
            },
        )
        self._event("ping", {"type": "ping"})
        for index, b in enumerate(item.blocks):
            self._stream_block(index, b)
        self._event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": item.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
        self._event("message_stop", {"type": "message_stop"})

    def _stream_block(self, index: int, b: Block) -> None:
        def delta(d: dict[str, Any]) -> None:
            self._event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})

        if b.type == "text":
            start = {"type": "text", "text": ""}
        elif b.type == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            start = {"type": "tool_use", "id": b.id, "name": b.name, "input": {}}
        self._event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})

        if b.type == "tool_use":
            payload = json.dumps(b.input)
            for piece in _chunks(payload, b.chunk):
                delta({"type": "input_json_delta", "partial_json": piece})
        else:
            kind = "text_delta" if b.type == "text" else "thinking_delta"
            key = "text" if b.type == "text" else "thinking"
            for i, piece in enumerate(_chunks(b.text, b.chunk)):
                if i and b.delay:
                    self._wait(b.delay)
                delta({"type": kind, key: piece})
            if b.type == "thinking":
                delta({"type": "signature_delta", "signature": b.signature})
        if b.stall:
            self._wait(None)
        self._event("content_block_stop", {"type": "content_block_stop", "index": index})

    def _event(self, name: str, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def _chunks(s: str, size: int) -> list[str]:
    return [s[i : i + size] for i in range(0, len(s), size)] or [""]


def _estimate_tokens(raw: bytes | str) -> int:
    return max(1, len(raw) // 4)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ScriptedModel:
    """A scripted Anthropic Messages API on 127.0.0.1 (see the module docstring)."""

    handler_class: type[_Handler] = _Handler  # a subclass may answer with a handler of its own

    def __init__(self, default_text: str = "OK.", side_text: str = "Scripted title") -> None:
        self.default_text = default_text
        self.side_text = side_text
        self.model_ids = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"]
        self.requests: list[dict[str, Any]] = []  # main requests (bodies), in arrival order
        self.side_requests: list[dict[str, Any]] = []  # bodies without tools
        self.unknown_requests: list[RecordedCall] = []  # endpoints we do not know
        self.calls: list[RecordedCall] = []  # every call, for debugging
        self._script: deque[ScriptItem] = deque()
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle

    def start(self) -> ScriptedModel:
        if self._server is not None:
            return self
        handler = type("Handler", (self.handler_class,), {"model": self})
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- script

    def add_response(
        self,
        *blocks: Block | str | Callable[[dict[str, Any]], Any],
        stop_reason: str | None = None,
        delay_before_first_byte: float = 0.0,
        hang: bool = False,
    ) -> None:
        """Queue one answer. Blocks are text()/thinking()/tool_use() (a str means text(str)).

        A single callable ``fn(request_body)`` is evaluated when the request arrives and may
        return a list of blocks, a Block, a str, a Response or an ErrorResponse.
        """
        if len(blocks) == 1 and callable(blocks[0]) and not isinstance(blocks[0], Block):
            fn = blocks[0]
            if stop_reason is None and not delay_before_first_byte and not hang:
                self._push(fn)
            else:

                def wrapped(body: dict[str, Any]) -> Response | ErrorResponse:
                    r = _coerce(fn(body))
                    if isinstance(r, Response):
                        r = Response(
                            r.blocks,
                            stop_reason=stop_reason or r.stop_reason,
                            delay_before_first_byte=delay_before_first_byte or r.delay_before_first_byte,
                            hang=hang or r.hang,
                        )
                    return r

                self._push(wrapped)
            return
        self._push(
            Response(
                [_as_block(b) for b in blocks],
                stop_reason=stop_reason,
                delay_before_first_byte=delay_before_first_byte,
                hang=hang,
            )
        )

    def add(self, item: ScriptItem) -> None:
        """Queue a prepared Response, ErrorResponse or callable."""
        self._push(item)

    def add_error(self, status: int, message: str, type: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` main requests with an HTTP error in the API's JSON format.

        The CLI (MAX_RETRIES=0) gives up on 401/403/429/500/529 at once, but answers a 400 by
        retrying up to 5 more times with fewer beta features: queue ``times=6`` to surface one.
        """
        for _ in range(times):
            self._push(ErrorResponse(status, message, type))

    def release(self) -> None:
        """Let responses queued with ``hang=True`` go on (now and in the future)."""
        self._release.set()

    @property
    def pending(self) -> int:
        """Scripted responses not yet consumed."""
        with self._cond:
            return len(self._script)

    def clear(self) -> None:
        """Forget the script and everything recorded."""
        with self._cond:
            self._script.clear()
            self.requests.clear()
            self.side_requests.clear()
            self.unknown_requests.clear()
            self.calls.clear()
            self._release.clear()

    def _push(self, item: ScriptItem) -> None:
        with self._cond:
            self._script.append(item)

    def _next_item(self, body: dict[str, Any]) -> Response | ErrorResponse:
        with self._cond:
            item = self._script.popleft() if self._script else None
        if item is None:
            return Response([text(self.default_text)])
        if callable(item) and not isinstance(item, Response | ErrorResponse):
            try:
                return _coerce(item(body))
            except Exception as e:  # a broken test callback: make it visible to the CLI and the test
                return ErrorResponse(500, f"scripted callback failed: {e!r}")
        return item

    def _side_answer(self, body: dict[str, Any]) -> str:
        """side_text, or a JSON object made from it when the request asks for structured output."""
        fmt = (body.get("output_config") or {}).get("format") or {}
        if fmt.get("type") == "json_schema":
            return json.dumps(_example(fmt.get("schema") or {}, self.side_text))
        return self.side_text

    def _record(self, call: RecordedCall, unknown: bool = False) -> None:
        with self._cond:
            self.calls.append(call)
            if call.kind == "main":
                self.requests.append(call.body)
            elif call.kind == "side":
                self.side_requests.append(call.body)
            if unknown:
                self.unknown_requests.append(call)
            self._cond.notify_all()

    # -- assertions

    def wait_for_requests(self, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block until ``n`` main requests arrived; return them (TimeoutError otherwise)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise TimeoutError(f"expected {n} main requests within {timeout}s, got {len(self.requests)}")
            return list(self.requests)

    def last_request(self) -> dict[str, Any]:
        """The most recent main request body."""
        with self._cond:
            if not self.requests:
                raise AssertionError("the scripted model has received no main request")
            return self.requests[-1]

    def _req(self, request: dict[str, Any] | None) -> dict[str, Any]:
        return self.last_request() if request is None else request

    def user_texts(self, request: dict[str, Any] | None = None) -> list[str]:
        return user_texts(self._req(request))

    def tool_results(self, request: dict[str, Any] | None = None) -> list[ToolResult]:
        return tool_results(self._req(request))

    def images(self, request: dict[str, Any] | None = None, include_tool_results: bool = False) -> list[dict]:
        return images(self._req(request), include_tool_results)

    def system_text(self, request: dict[str, Any] | None = None) -> str:
        return system_text(self._req(request))

    def tool_names(self, request: dict[str, Any] | None = None) -> list[str]:
        return tool_names(self._req(request))


def _as_block(b: Block | str) -> Block:
    if isinstance(b, Block):
        return b
    if isinstance(b, str):
        return text(b)
    raise TypeError(f"not a block: {b!r}")


def _example(schema: dict[str, Any], s: str) -> Any:
    """A value matching a (simple) JSON schema, with ``s`` for every string."""
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {k: _example(v, s) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_example(schema.get("items") or {}, s)]
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": 0, "number": 0, "boolean": False, "null": None}.get(kind, s)


def _coerce(result: Any) -> Response | ErrorResponse:
    if isinstance(result, Response | ErrorResponse):
        return result
    if isinstance(result, Block | str):
        return Response([_as_block(result)])
    return Response([_as_block(b) for b in result])
